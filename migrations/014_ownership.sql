-- Ownership and authors (issue 13): who looks after a client, and who
-- added each contact and link (notes.author_id and meetings.owner_id
-- already say it for notes and meetings). NULL means nobody, or a user
-- who no longer exists; the CSV import writes contacts without an author.
ALTER TABLE companies ADD COLUMN owner_id INTEGER REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE contacts ADD COLUMN author_id INTEGER REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE links ADD COLUMN author_id INTEGER REFERENCES users(id) ON DELETE SET NULL;
-- "My clients" starts from the companies a user owns. Users are never
-- deleted (an admin deactivates them), so the author columns need no index
-- for ON DELETE.
CREATE INDEX companies_owner ON companies(owner_id);
