-- Guests of live rooms (issue 11): client contacts in a restricted room's
-- audience, who join through a signed invite link without an account.
-- Users in a room are in room_participants; guests are here, since they
-- are no users. Elsewhere (presence in Redis, room_events.user_id,
-- room_messages.user_id) a guest is minus their contact id
-- (store.GuestID), so the log, the chat and the rate limit treat them
-- like anyone else.
CREATE TABLE room_guests (
    meeting_id INTEGER NOT NULL REFERENCES rooms(meeting_id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    joined_at  INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, contact_id)
) WITHOUT ROWID;
