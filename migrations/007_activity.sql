-- Activity (issue 12): every change a person makes to a client, written in
-- the same transaction as the change, so none is ever missing. The
-- notification pipeline is fed from it through the outbox (kind
-- 'activity'). Times are unix milliseconds.
CREATE TABLE activities (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    -- NULL for what concerns no one client (an import): admins only.
    company_id   INTEGER REFERENCES companies(id) ON DELETE CASCADE,
    -- NULL when the system made the change (a room ending on schedule).
    actor_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    kind         TEXT NOT NULL,     -- store.Activity* constants
    ref_id       INTEGER NOT NULL,  -- what changed: a note, meeting, user, bulk action...
    summary      TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
-- Newest first per workspace (admins) and per company (a company's feed,
-- and a staff user's clients one by one).
CREATE INDEX activities_workspace ON activities(workspace_id, id);
CREATE INDEX activities_company ON activities(company_id, id);
