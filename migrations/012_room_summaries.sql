-- What a meeting's room came to, written once when the room ends (issue
-- 11): the company timeline shows it as the meeting's "held" line without
-- reading the room's events or messages. summary is a JSON object
-- (store.RoomSummary): from, to, attendees (names, in order of first
-- joining), messages (a count).
CREATE TABLE room_summaries (
    meeting_id INTEGER PRIMARY KEY REFERENCES rooms(meeting_id) ON DELETE CASCADE,
    summary    TEXT NOT NULL
);
