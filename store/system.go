package store

import (
	"context"
	"database/sql"
	"errors"
)

// The functions in this file read without a viewer. They serve the
// background jobs that keep Redis and the search index in step with SQLite
// and must never back a user-facing read path.

// CompanyByID returns a company regardless of who may see it, or nil.
func (s *Store) CompanyByID(ctx context.Context, id int64) (*Company, error) {
	c := &Company{}
	err := scanCompany(s.r.QueryRowContext(ctx, `SELECT `+companyCols+` FROM companies c WHERE c.id = ?`, id), c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

// ContactRecord is a contact with its workspace, as the indexer needs it.
type ContactRecord struct {
	Contact
	WorkspaceID int64
}

// ContactByID returns a contact regardless of who may see it, or nil.
func (s *Store) ContactByID(ctx context.Context, id int64) (*ContactRecord, error) {
	c := &ContactRecord{}
	err := scanContactRecord(s.r.QueryRowContext(ctx, `SELECT `+contactCols+`, workspace_id FROM contacts WHERE id = ?`, id), c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

func scanContactRecord(row interface{ Scan(...any) error }, c *ContactRecord) error {
	return row.Scan(&c.ID, &c.CompanyID, &c.Name, &c.Email, &c.Phone, &c.Title, &c.CreatedAt, &c.UpdatedAt, &c.WorkspaceID)
}

// EachCompany calls fn for every company, in id order, streaming.
func (s *Store) EachCompany(ctx context.Context, fn func(c *Company) error) error {
	return queryEach(ctx, s.r, scanCompany, fn, `SELECT `+companyCols+` FROM companies c ORDER BY c.id`)
}

// EachContact calls fn for every contact, in id order, streaming.
func (s *Store) EachContact(ctx context.Context, fn func(c *ContactRecord) error) error {
	return queryEach(ctx, s.r, scanContactRecord, fn, `SELECT `+contactCols+`, workspace_id FROM contacts ORDER BY id`)
}

// Workspaces returns the ids of all workspaces.
func (s *Store) Workspaces(ctx context.Context) ([]int64, error) {
	return queryColumn[int64](ctx, s.r, `SELECT id FROM workspaces ORDER BY id`)
}
