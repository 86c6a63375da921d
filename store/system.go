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
	err := s.r.QueryRowContext(ctx, `SELECT `+contactCols+`, workspace_id FROM contacts WHERE id = ?`, id).
		Scan(&c.ID, &c.CompanyID, &c.Name, &c.Email, &c.Phone, &c.Title, &c.CreatedAt, &c.UpdatedAt, &c.WorkspaceID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

// EachCompany calls fn for every company, in id order, streaming.
func (s *Store) EachCompany(ctx context.Context, fn func(c *Company) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT `+companyCols+` FROM companies c ORDER BY c.id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c Company
		if err := scanCompany(rows, &c); err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EachContact calls fn for every contact, in id order, streaming.
func (s *Store) EachContact(ctx context.Context, fn func(c *ContactRecord) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT `+contactCols+`, workspace_id FROM contacts ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c ContactRecord
		if err := rows.Scan(&c.ID, &c.CompanyID, &c.Name, &c.Email, &c.Phone, &c.Title, &c.CreatedAt, &c.UpdatedAt, &c.WorkspaceID); err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Workspaces returns the ids of all workspaces.
func (s *Store) Workspaces(ctx context.Context) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM workspaces ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
