-- A room's audience names the workspace's users by id, fixed when the
-- audience is saved: a user who later changes their own e-mail address to
-- one on a list must not be let in by it. An address that is no user's
-- (a client's contact) keeps user_id NULL and lets in only a guest with a
-- signed link.
ALTER TABLE room_audience ADD COLUMN user_id INTEGER REFERENCES users(id) ON DELETE CASCADE;
UPDATE room_audience SET user_id = (
    SELECT u.id FROM users u JOIN meetings m ON m.workspace_id = u.workspace_id
    WHERE m.id = room_audience.meeting_id AND u.email = room_audience.email);
CREATE INDEX room_audience_user ON room_audience(meeting_id, user_id);
