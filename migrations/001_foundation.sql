-- Workspaces scope every row: one install starts with workspace 1.
CREATE TABLE workspaces (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces(id),
    email           TEXT NOT NULL COLLATE NOCASE,
    name            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'staff')),
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);
-- Sign-in is by e-mail alone, so an address names one user across workspaces.
CREATE UNIQUE INDEX users_email ON users(email);

CREATE TABLE companies (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    street       TEXT NOT NULL DEFAULT '',
    town         TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT '',
    zip          TEXT NOT NULL DEFAULT '',
    website      TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
-- The list page sorts by name, by creation or by last update; each has an
-- index so that keyset paging never scans.
CREATE INDEX companies_name ON companies(workspace_id, name COLLATE NOCASE, id);
CREATE INDEX companies_created ON companies(workspace_id, created_at, id);
CREATE INDEX companies_updated ON companies(workspace_id, updated_at, id);

-- Client security: the truth of which staff user may see which company.
CREATE TABLE user_clients (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    company_id   INTEGER NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, company_id)
) WITHOUT ROWID;
CREATE INDEX user_clients_company ON user_clients(company_id, user_id);

-- Timeline items. created_at is unix milliseconds; (created_at, id) orders
-- each table and the timeline merges them (see store/timeline.go).
CREATE TABLE notes (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    company_id   INTEGER NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    author_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX notes_company ON notes(company_id, created_at, id);

CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    company_id   INTEGER NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    phone        TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX contacts_company ON contacts(company_id, created_at, id);
-- One contact per e-mail address in a workspace (the import dedupes on it);
-- contacts without an address are allowed any number of times.
CREATE UNIQUE INDEX contacts_email ON contacts(workspace_id, email) WHERE email <> '';

CREATE TABLE links (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    company_id   INTEGER NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    url          TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX links_company ON links(company_id, created_at, id);

-- Changes still to be applied to Redis and the search index. A row is
-- written in the same transaction as the change it describes and deleted
-- once applied; the relay retries whatever is left.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    ref_id       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0
);

INSERT INTO workspaces (id, name, created_at) VALUES (1, 'Rolodex', CAST(unixepoch('subsec') * 1000 AS INTEGER));
