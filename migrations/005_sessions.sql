-- Server-side sessions. The cookie carries a random token; only its
-- SHA-256 is kept here, so a copy of the database signs nobody in. id is
-- what the session list and its delete buttons name.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    address      TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id, last_seen_at);

-- A deactivated user keeps their row and history but cannot sign in;
-- 0 means active.
ALTER TABLE users ADD COLUMN deactivated_at INTEGER NOT NULL DEFAULT 0;

-- Sign-in attempts, counted before the password is checked: one row per
-- (e-mail address, source address) pair and one per e-mail address, keyed
-- by a SHA-256 of them, for addresses with and without an account alike.
-- A row counts the attempts of the window that started at window_start.
-- (users.failed_logins and locked_until are no longer used.)
CREATE TABLE login_attempts (
    key          BLOB PRIMARY KEY,
    attempts     INTEGER NOT NULL,
    window_start INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX login_attempts_window ON login_attempts(window_start);
