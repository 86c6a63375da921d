-- Notifications and digests (issue 12). Times are unix milliseconds.

-- A user's choice; no row means the default (a digest after the default
-- quiet period, with e-mail), which the operator's configured periods
-- decide, so it is not written here.
CREATE TABLE notification_settings (
    user_id  INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    mode     TEXT NOT NULL CHECK (mode IN ('off', 'immediate', 'digest')),
    quiet_ms INTEGER NOT NULL,
    email    INTEGER NOT NULL
);

-- What each recipient has yet to hear about: the record the Redis
-- schedule is rebuilt from after it loses everything. created_at is the
-- activity's time, so a rebuilt window keeps its original deadline.
CREATE TABLE digest_pending (
    workspace_id INTEGER NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    activity_id  INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id, activity_id)
) WITHOUT ROWID;

-- The inbox: one row per digest (an immediate notification is a digest of
-- what arrived at once). digest_key is the digest's id, deterministic from
-- recipient and window, so a window is delivered once however often a
-- replaced worker retries it.
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    digest_key   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    read_at      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE INDEX notifications_unread ON notifications(user_id) WHERE read_at = 0;

-- Activity first: delivering checks that an activity has not already
-- reached a user through another notification.
CREATE TABLE notification_items (
    activity_id     INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    PRIMARY KEY (activity_id, notification_id)
) WITHOUT ROWID;
CREATE INDEX notification_items_notification ON notification_items(notification_id, activity_id);

-- Digest e-mail waiting to go out, keyed by the digest's id (also its
-- Message-ID), written in the digest's transaction.
CREATE TABLE mail_outbox (
    digest_key   TEXT PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    subject      TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL DEFAULT 0, -- after a failure: not before
    last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mail_outbox_unsent ON mail_outbox(next_at) WHERE sent_at = 0;
CREATE INDEX mail_outbox_sent ON mail_outbox(workspace_id, sent_at);
