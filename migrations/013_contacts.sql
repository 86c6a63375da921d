-- Contacts as records (issue 13). The /contacts list sorts a workspace's
-- contacts by name, by company or by last update and pages by keyset, so
-- each order has an index that ends in id; the name index also serves the
-- name prefix filter, contacts_email (001) the e-mail one. By company is
-- the companies_name index walked company by company, each company's
-- contacts read in name order by contacts_company_name.
CREATE INDEX contacts_name ON contacts(workspace_id, name COLLATE NOCASE, id);
CREATE INDEX contacts_updated ON contacts(workspace_id, updated_at, id);
CREATE INDEX contacts_company_name ON contacts(company_id, name COLLATE NOCASE, id);

-- Which of the client's contacts attend a meeting. The store checks that
-- an attendee is a contact of the meeting's company; deleting either side
-- takes the row with it. The second index lists a contact's meetings.
CREATE TABLE meeting_attendees (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (meeting_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX meeting_attendees_contact ON meeting_attendees(contact_id, meeting_id);
