-- Live meeting rooms (issue 11). A meeting's room row is made the first
-- time something happens to it (settings saved, opened, joined); a meeting
-- without one is a public room, scheduled from the meeting's own times.
-- Times are unix milliseconds.
CREATE TABLE rooms (
    meeting_id   INTEGER PRIMARY KEY REFERENCES meetings(id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    access       TEXT NOT NULL DEFAULT 'public' CHECK (access IN ('public', 'audience')),
    video_url    TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'open', 'ended')),
    opened_at    INTEGER,
    ended_at     INTEGER,
    -- Set when the organiser extends the room past the meeting's end.
    closes_at    INTEGER
);
-- Open rooms: the "live now" list and the scheduler's rebuild.
CREATE INDEX rooms_state ON rooms(workspace_id, state);

-- The scheduler finds the meetings whose room opens soon by their start
-- (store.RoomsDue).
CREATE INDEX meetings_room_start ON meetings(workspace_id, starts_at);

-- Who may join a restricted room, by e-mail address.
CREATE TABLE room_audience (
    meeting_id INTEGER NOT NULL REFERENCES rooms(meeting_id) ON DELETE CASCADE,
    email      TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (meeting_id, email)
) WITHOUT ROWID;

-- Who is in an open room now. Redis knows their connections; this is the
-- record that survives a restart, so a room ended while the server was
-- down can still log its participants as having left.
CREATE TABLE room_participants (
    meeting_id INTEGER NOT NULL REFERENCES rooms(meeting_id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    joined_at  INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, user_id)
) WITHOUT ROWID;

-- The events log. Ordered by id; a stream resumes after the last id it sent.
CREATE TABLE room_events (
    id         INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES rooms(meeting_id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('opened', 'joined', 'left', 'ended')),
    user_id    INTEGER,
    name       TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '' CHECK (reason IN ('', 'left', 'disconnected', 'removed', 'ended')),
    at         INTEGER NOT NULL
);
CREATE INDEX room_events_room ON room_events(meeting_id, id);

-- Chat. Ordered by id, never by clock. The second index pages one
-- person's messages and counts their latest for the rate limit.
CREATE TABLE room_messages (
    id         INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES rooms(meeting_id) ON DELETE CASCADE,
    user_id    INTEGER,
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX room_messages_room ON room_messages(meeting_id, id);
CREATE INDEX room_messages_author ON room_messages(meeting_id, user_id, id);
