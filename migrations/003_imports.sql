-- Bulk CSV imports (store/imports.go, jobs/importer.go). A bulk action is
-- one uploaded file and its progress; SQLite is its record, the Redis stream
-- only says "work on this". AUTOINCREMENT: the upload is stored as
-- <data>/imports/<id>.csv, so an id must never name two files.
CREATE TABLE bulk_actions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    kind         TEXT NOT NULL CHECK (kind IN ('contacts', 'companies')),
    mode         TEXT NOT NULL CHECK (mode IN ('create', 'upsert', 'update')),
    -- draft: uploaded from the admin page, waiting for the mapping to be
    -- confirmed; queued and running are the open states a worker picks up.
    status       TEXT NOT NULL CHECK (status IN ('draft', 'queued', 'running', 'done', 'failed', 'cancelled')),
    file_name    TEXT NOT NULL,
    file_path    TEXT NOT NULL,
    file_size    INTEGER NOT NULL,
    delimiter    TEXT NOT NULL,
    header       TEXT NOT NULL,              -- JSON array: the file's column names
    mapping      TEXT NOT NULL,              -- JSON object: import field -> column index
    -- Set by the worker's first pass over the whole file: '' until then.
    encoding     TEXT NOT NULL DEFAULT '',
    total        INTEGER NOT NULL DEFAULT 0, -- data rows in the file
    processed    INTEGER NOT NULL DEFAULT 0,
    created      INTEGER NOT NULL DEFAULT 0,
    updated      INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    -- The checkpoint: where the next batch starts. Written in the same
    -- transaction as the rows of the batch before it.
    next_offset  INTEGER NOT NULL DEFAULT 0,
    next_line    INTEGER NOT NULL DEFAULT 0,
    -- Which worker holds a running action, and when it last said so; a
    -- stale heartbeat lets another worker take over.
    worker       TEXT NOT NULL DEFAULT '',
    heartbeat_at INTEGER NOT NULL DEFAULT 0,
    created_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX bulk_actions_workspace ON bulk_actions(workspace_id, id);
CREATE INDEX bulk_actions_open ON bulk_actions(status) WHERE status IN ('queued', 'running');

-- Rows an import did not take (failed or skipped), for the rejected-rows
-- download. raw is the row as one CSV record (the original fields, or the
-- original line when it could not be split into fields).
CREATE TABLE bulk_action_errors (
    bulk_action_id INTEGER NOT NULL REFERENCES bulk_actions(id) ON DELETE CASCADE,
    line           INTEGER NOT NULL,
    reason         TEXT NOT NULL,
    raw            TEXT NOT NULL,
    PRIMARY KEY (bulk_action_id, line)
) WITHOUT ROWID;

-- What one committed batch changed, for the search index to catch up on:
-- one outbox row (kind 'import') names one of these instead of one outbox
-- row per contact. Id lists are delta-varint encoded (store/imports.go).
CREATE TABLE bulk_action_batches (
    id             INTEGER PRIMARY KEY,
    bulk_action_id INTEGER NOT NULL REFERENCES bulk_actions(id) ON DELETE CASCADE,
    workspace_id   INTEGER NOT NULL,
    contacts       BLOB NOT NULL,
    companies      BLOB NOT NULL
);
