-- Meeting types are per workspace; admins may add more. The name is used in
-- Redis key names (meetindex/index.go), so it is a lowercase slug.
CREATE TABLE meeting_types (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

INSERT INTO meeting_types (workspace_id, name, created_at) VALUES
    (1, 'email',     CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    (1, 'sms',       CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    (1, 'call',      CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    (1, 'video',     CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    (1, 'in-person', CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- Meetings hang off a company like notes do, and show on its timeline.
-- AUTOINCREMENT: an id is never reused, so a Redis tombstone of a deleted
-- meeting can never hide a new one. starts_at, ends_at, created_at and
-- updated_at are unix milliseconds; updated_at grows strictly with every
-- write of a row (the Redis apply uses it as the row's version).
CREATE TABLE meetings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    company_id   INTEGER NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    owner_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    type         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    subject      TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '',
    starts_at    INTEGER NOT NULL,
    ends_at      INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    FOREIGN KEY (workspace_id, type) REFERENCES meeting_types(workspace_id, name),
    CHECK (ends_at IS NULL OR ends_at >= starts_at)
);
-- The meetings list when it is answered from SQLite (store.ListMeetingsSQL):
-- each (type, status) is walked in order from the cursor and the walks are
-- merged (admins, and staff who have much of the workspace)...
CREATE INDEX meetings_list_date ON meetings(workspace_id, type, status, starts_at, id);
CREATE INDEX meetings_list_updated ON meetings(workspace_id, type, status, updated_at, id);
-- ...or, for staff with few clients, read per client from this covering
-- index, sorted, and only the page's rows fetched.
CREATE INDEX meetings_client ON meetings(company_id, type, status, starts_at, updated_at);
-- The company timeline.
CREATE INDEX meetings_company ON meetings(company_id, created_at, id);
