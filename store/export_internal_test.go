package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// TestStaffExportWays: a staff user's export, started from their
// assignments (few rows) or walking the workspace's index (many), is the
// same rows in the same order, over several pages, and only theirs.
func TestStaffExportWays(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "rolodex.db"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.w.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO users (id, workspace_id, email, name, password_hash, role, created_at) VALUES (1, 1, 'staff@example.com', 'u', '', 'staff', 0)`)
	for id := int64(1); id <= 10; id++ {
		exec(`INSERT INTO companies (id, workspace_id, name, created_at, updated_at) VALUES (?, 1, ?, 0, 0)`, id, fmt.Sprint("c", id))
		if id%2 == 0 {
			exec(`INSERT INTO user_clients (workspace_id, user_id, company_id) VALUES (1, 1, ?)`, id)
		}
	}
	// 6,000 contacts and meetings over the ten companies: 3,000 of each are
	// the staff user's, a third of the contacts without an address.
	for id := int64(1); id <= 6000; id++ {
		email := fmt.Sprintf("p%d@example.com", (id*7919)%6000)
		if id%3 == 0 {
			email = ""
		}
		exec(`INSERT INTO contacts (id, workspace_id, company_id, name, email, created_at, updated_at) VALUES (?, 1, ?, 'p', ?, 0, 0)`, id, 1+id%10, email)
		exec(`INSERT INTO meetings (id, workspace_id, company_id, type, status, subject, details, starts_at, created_at, updated_at) VALUES (?, 1, ?, 'call', 'open', 's', '', 1, 0, 0)`, id, 1+id%10)
	}
	staff := &User{ID: 1, WorkspaceID: 1, Role: RoleStaff}
	read := func(max int) (contacts, meetings []int64) {
		staffDirectMax = max
		defer func() { staffDirectMax = 20_000 }()
		err := s.ExportContacts(ctx, staff, 0, func(c *ContactExport) error {
			if c.Contact.CompanyID%2 != 0 || c.Company.Name != fmt.Sprint("c", c.Contact.CompanyID) {
				t.Fatalf("contact %d of company %d (%q)", c.Contact.ID, c.Contact.CompanyID, c.Company.Name)
			}
			contacts = append(contacts, c.Contact.ID)
			return nil
		})
		if err == nil {
			err = s.ExportMeetings(ctx, staff, 0, func(m *MeetingExport) error {
				if m.Meeting.CompanyID%2 != 0 {
					t.Fatalf("meeting %d of company %d", m.Meeting.ID, m.Meeting.CompanyID)
				}
				meetings = append(meetings, m.Meeting.ID)
				return nil
			})
		}
		if err != nil {
			t.Fatal(err)
		}
		return contacts, meetings
	}
	directC, directM := read(1_000_000)
	walkC, walkM := read(0)
	if len(directC) != 3000 || len(directM) != 3000 || !slices.Equal(directC, walkC) || !slices.Equal(directM, walkM) {
		t.Errorf("from the assignments: %d contacts, %d meetings; walking: %d, %d; or in another order",
			len(directC), len(directM), len(walkC), len(walkM))
	}
}
