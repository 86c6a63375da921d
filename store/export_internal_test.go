package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestStaffExportWays: a staff user's export, started from their
// assignments (few rows) or walking the workspace's index (many), is the
// same rows in the same order, over several pages, and only theirs.
func TestStaffExportWays(t *testing.T) {
	ctx := context.Background()
	s, exec := openRaw(t)
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

// TestMeetingAttendeesOnEveryPath: every path that answers a page of
// meetings gives each its attendees: the timeline, a company's items of
// one type, and an export across its pages.
func TestMeetingAttendeesOnEveryPath(t *testing.T) {
	ctx := context.Background()
	s, exec := openRaw(t)
	exec(`INSERT INTO users (id, workspace_id, email, name, password_hash, role, created_at) VALUES (1, 1, 'staff@example.com', 'u', '', 'staff', 0)`)
	exec(`INSERT INTO companies (id, workspace_id, name, created_at, updated_at) VALUES (1, 1, 'Acme', 0, 0)`)
	exec(`INSERT INTO user_clients (workspace_id, user_id, company_id) VALUES (1, 1, 1)`)
	exec(`INSERT INTO contacts (id, workspace_id, company_id, name, email, created_at, updated_at) VALUES (1, 1, 1, 'Ann', '', 0, 0), (2, 1, 1, 'Bob', '', 0, 0)`)
	const n = exportPage + 1 // past the first page
	for id := int64(1); id <= n; id++ {
		exec(`INSERT INTO meetings (id, workspace_id, company_id, type, status, subject, details, starts_at, created_at, updated_at) VALUES (?, 1, 1, 'call', 'open', 's', '', 1, ?, ?)`, id, id, id)
		exec(`INSERT INTO meeting_attendees (meeting_id, contact_id) VALUES (?, ?)`, id, 1+id%2)
	}
	staff := &User{ID: 1, WorkspaceID: 1, Role: RoleStaff}
	check := func(path string, m *Meeting) {
		t.Helper()
		if want := []int64{1 + m.ID%2}; !slices.Equal(m.AttendeeIDs, want) {
			t.Fatalf("%s: meeting %d has attendees %v, want %v", path, m.ID, m.AttendeeIDs, want)
		}
	}
	items, _, err := s.Timeline(ctx, staff, 1, TimelineQuery{})
	if err != nil || len(items) == 0 {
		t.Fatalf("timeline: %d items, %v", len(items), err)
	}
	for _, it := range items {
		check("timeline", it.Meeting)
		if len(it.Attendees) != 1 {
			t.Fatalf("timeline: meeting %d names %+v", it.ID, it.Attendees)
		}
	}
	items, _, err = s.CompanyItems(ctx, staff, 1, TypeMeeting, "", 200)
	if err != nil || len(items) != 200 {
		t.Fatalf("company items: %d, %v", len(items), err)
	}
	for _, it := range items {
		check("company items", it.Meeting)
	}
	seen := 0
	err = s.ExportMeetings(ctx, staff, 0, func(m *MeetingExport) error {
		check("export", &m.Meeting)
		seen++
		return nil
	})
	if err != nil || seen != n {
		t.Fatalf("export: %d of %d, %v", seen, n, err)
	}
}
