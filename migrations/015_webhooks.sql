-- Webhooks (issue 13): an admin's URLs that hear about the workspace's
-- activity. Times are unix milliseconds.

-- The secret signs each delivery (HMAC-SHA256), so it is kept as given.
-- events: the activity kinds it hears, space-separated, or '*' for all.
-- after_activity: the newest activity when it was made; it hears only
-- what comes after.
CREATE TABLE webhooks (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    url            TEXT NOT NULL,
    secret         TEXT NOT NULL,
    events         TEXT NOT NULL,
    after_activity INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX webhooks_workspace ON webhooks(workspace_id, id);

-- The dispatcher's cursor: every activity up to activity_id has its
-- deliveries. It moves in the transaction that inserts them, so a crash
-- neither loses nor doubles one. Existing activity is not sent.
CREATE TABLE webhook_cursor (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    activity_id INTEGER NOT NULL
);
INSERT INTO webhook_cursor (id, activity_id) SELECT 1, coalesce(max(id), 0) FROM activities;

-- One event for one webhook. The event is copied here (data: JSON), so
-- it still goes out when its activity is gone with its company.
-- next_at: when the next attempt is due; a deliverer that claims it moves
-- it on by its lease, so one that dies lets it fall due again.
-- give_up_at: 24 h after the event (or a resend); past it, failed.
CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY,
    webhook_id   INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL,
    activity_id  INTEGER NOT NULL,
    event        TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    data         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0, -- every attempt, ever
    failures     INTEGER NOT NULL DEFAULT 0, -- since queued: the backoff's step
    next_at      INTEGER NOT NULL,
    give_up_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);

-- The delivery log: one row per attempt. status 0: no answer (error says
-- why: timeout, refused...).
CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    error       TEXT NOT NULL,
    response    TEXT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);
