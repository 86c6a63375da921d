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

// MeetingsByID returns the meetings among ids that exist, by id.
func (s *Store) MeetingsByID(ctx context.Context, ids []int64) (map[int64]*Meeting, error) {
	found := make(map[int64]*Meeting, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		err := queryEach(ctx, s.r, scanMeeting, func(m *Meeting) error {
			found[m.ID] = m
			return nil
		}, `SELECT `+meetingCols+` FROM meetings WHERE id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

// StaffClientIDs returns the companies assigned to user id if it is a
// staff user; nil for an admin (who sees the workspace) or a user that is
// gone.
func (s *Store) StaffClientIDs(ctx context.Context, id int64) ([]int64, error) {
	var role string
	err := s.r.QueryRowContext(ctx, `SELECT role FROM users WHERE id = ?`, id).Scan(&role)
	switch {
	case err == nil && role == RoleStaff:
		return s.clientIDsSQL(ctx, id)
	case err == nil || isNoRows(err):
		return nil, nil
	}
	return nil, err
}

// MeetingSnapshot receives, from one consistent read of SQLite, what the
// meetings index is built from (ReadMeetingSnapshot).
type MeetingSnapshot struct {
	Meeting        func(m *Meeting) error              // every meeting of the workspace
	CompanyMeeting func(companyID, id int64) error     // each company's meeting ids, a company at a time
	Assignment     func(userID, companyID int64) error // which companies each staff user has
	// UserMeeting: each staff user's meetings, with only ID, Type, Status,
	// StartsAt and UpdatedAt set.
	UserMeeting func(userID int64, m *Meeting) error
}

// ReadMeetingSnapshot streams workspace ws's meetings and staff
// assignments to f, all from one read transaction.
func (s *Store) ReadMeetingSnapshot(ctx context.Context, ws int64, f MeetingSnapshot) error {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// By a table scan (+workspace_id: not by walking a list index).
	err = queryEach(ctx, tx, scanMeeting, f.Meeting, `SELECT `+meetingCols+` FROM meetings WHERE +workspace_id = ?`, ws)
	if err != nil {
		return err
	}
	type pair struct{ a, b int64 }
	scanPair := func(row interface{ Scan(...any) error }, p *pair) error { return row.Scan(&p.a, &p.b) }
	// A company at a time (covering index).
	err = queryEach(ctx, tx, scanPair, func(p *pair) error { return f.CompanyMeeting(p.a, p.b) },
		`SELECT m.company_id, m.id FROM companies c JOIN meetings m ON m.company_id = c.id WHERE c.workspace_id = ? ORDER BY m.company_id`, ws)
	if err != nil {
		return err
	}
	err = queryEach(ctx, tx, scanPair, func(p *pair) error { return f.Assignment(p.a, p.b) },
		`SELECT uc.user_id, uc.company_id FROM user_clients uc JOIN users u ON u.id = uc.user_id WHERE u.workspace_id = ? AND u.role = ?`, ws, RoleStaff)
	if err != nil {
		return err
	}
	type userMeeting struct {
		user int64
		m    Meeting
	}
	scanUM := func(row interface{ Scan(...any) error }, um *userMeeting) error {
		return row.Scan(&um.user, &um.m.ID, &um.m.Type, &um.m.Status, &um.m.StartsAt, &um.m.UpdatedAt)
	}
	// From the covering meetings_client index.
	return queryEach(ctx, tx, scanUM, func(um *userMeeting) error { return f.UserMeeting(um.user, &um.m) },
		`SELECT uc.user_id, m.id, m.type, m.status, m.starts_at, m.updated_at
		FROM users u JOIN user_clients uc ON uc.user_id = u.id JOIN meetings m ON m.company_id = uc.company_id
		WHERE u.workspace_id = ? AND u.role = ?`, ws, RoleStaff)
}

// CreateWorkspaceUser adds a user to workspace ws with no admin behind it:
// the first admin of an install, the demo, tests.
func (s *Store) CreateWorkspaceUser(ctx context.Context, ws int64, in UserInput) (*User, error) {
	return s.createUser(ctx, ws, in)
}

// CreateWorkspace adds a workspace (another account on the same install)
// with the default meeting types, as migrations gave the first one, and
// returns its id.
func (s *Store) CreateWorkspace(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *Tx) error {
		t := now()
		res, err := tx.Exec(`INSERT INTO workspaces (name, created_at) VALUES (?, ?)`, name, t)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		for _, typ := range defaultMeetingTypes {
			if _, err := tx.Exec(`INSERT INTO meeting_types (workspace_id, name, created_at) VALUES (?, ?, ?)`, id, typ, t); err != nil {
				return err
			}
		}
		return nil
	})
	return id, err
}
