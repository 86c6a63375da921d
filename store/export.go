package store

import (
	"context"
)

// Exports read everything a viewer may see of one kind, a page at a time
// by keyset (never OFFSET, never the whole set in memory). Each page is
// read whole and its statement closed before the caller sees a row, so a
// slow download holds no read connection, and no read transaction keeps
// SQLite from checkpointing its WAL, while the client catches up. A row
// changed during an export may be missed or seen twice, as with any paged
// read.

// exportPage is how many rows an export reads per query: large enough that
// the queries cost little beside the rows, small enough to hold.
const exportPage = 1000

// ContactExport is a contact with the company it belongs to, as an export
// writes it.
type ContactExport struct {
	Contact Contact
	Company Company // Name, Street, Town, State, Zip and Website only
}

// MeetingExport is a meeting with its company's name.
type MeetingExport struct {
	Meeting     Meeting
	CompanyName string
}

// exportEach reads pages until one comes back short. page gives the query
// and arguments of the page after row last (nil for the first); exportEach
// appends the LIMIT. fill, unless nil, completes each page read before fn
// sees its rows.
func exportEach[T any](ctx context.Context, s *Store, scan func(row interface{ Scan(...any) error }, v *T) error,
	page func(last *T) (string, []any), fill func(page []T) error, fn func(v *T) error) error {
	buf := make([]T, 0, exportPage)
	var last T
	for first := true; ; first = false {
		var q string
		var args []any
		if first {
			q, args = page(nil)
		} else {
			q, args = page(&last)
		}
		buf = buf[:0]
		err := queryEach(ctx, s.r, scan, func(v *T) error { buf = append(buf, *v); return nil }, q, append(args, exportPage)...)
		if err == nil && fill != nil {
			err = fill(buf)
		}
		if err != nil {
			return err
		}
		if fill != nil {
			if err := fill(buf); err != nil {
				return err
			}
		}
		for i := range buf {
			if err := fn(&buf[i]); err != nil {
				return err
			}
		}
		if len(buf) < exportPage {
			return nil
		}
		last = buf[len(buf)-1]
	}
}

// ExportCompanies calls fn for every company u may see, by name (then id).
func (s *Store) ExportCompanies(ctx context.Context, u *User, fn func(c *Company) error) error {
	// Staff start from their assignments, as the company list does.
	from := `companies c`
	cond, args := visible(u, "c")
	if !u.IsAdmin() {
		from, cond, args = staffClientsFrom, staffClientsCond, staffClientsArgs(u)
	}
	q := `SELECT ` + companyCols + ` FROM ` + from + ` WHERE ` + cond +
		` AND (c.name COLLATE NOCASE, c.id) > (?, ?) ORDER BY c.name COLLATE NOCASE, c.id LIMIT ?`
	return exportEach(ctx, s, scanCompany, func(last *Company) (string, []any) {
		if last == nil {
			return q, concat(args, []any{"", 0})
		}
		return q, concat(args, []any{last.Name, last.ID})
	}, nil, fn)
}

// scanPlus scans a row of an entity's columns followed by more: the
// entity's own scan function keeps the one list of its columns.
type scanPlus struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (p scanPlus) Scan(dest ...any) error { return p.row.Scan(append(dest, p.extra...)...) }

// contactExportCols are contactCols with the x. alias, then the company's.
const contactExportCols = `x.id, x.company_id, x.name, x.email, x.phone, x.title, x.created_at, x.updated_at,
	c.name, c.street, c.town, c.state, c.zip, c.website`

func scanContactExport(row interface{ Scan(...any) error }, e *ContactExport) error {
	c := &e.Company
	return scanContact(scanPlus{row, []any{&c.Name, &c.Street, &c.Town, &c.State, &c.Zip, &c.Website}}, &e.Contact)
}

// staffDirectMax is how many rows of a kind a staff user's export may
// have for it to start from their assignments (staffClientsFrom): each
// page then finds all of their rows by company and sorts the next page's
// worth, which beats walking the workspace's whole index for the few that
// are theirs while their rows are few (pages times rows grows with the
// square). A variable for the tests.
var staffDirectMax = 20_000

// staffDirect reports whether u's export of the rows that join (a table
// aliased and joined on c.id) should start from their assignments.
func (s *Store) staffDirect(ctx context.Context, u *User, join string) (bool, error) {
	if u.IsAdmin() {
		return false, nil
	}
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+staffClientsFrom+` CROSS JOIN `+join+
		` WHERE `+staffClientsCond+` LIMIT ?)`, concat(staffClientsArgs(u), []any{staffDirectMax + 1})...).Scan(&n)
	return n <= staffDirectMax, err
}

// exportFrom is the FROM clause, condition and arguments of an export of
// the rows of table (aliased a, with a workspace_id and a company_id) for
// u: one company's rows (companyID, which answers ENotFound if u may not
// see it), the workspace's rows joined to their companies and checked, or
// a staff user's few rows from their assignments.
func (s *Store) exportFrom(ctx context.Context, u *User, table, a string, companyID int64) (from, cond string, args []any, err error) {
	if companyID != 0 {
		if _, err := s.company(ctx, s.r, u, companyID); err != nil {
			return "", "", nil, err
		}
		cond, args = visible(u, "c")
		return `companies c CROSS JOIN ` + table + ` ` + a + ` ON ` + a + `.company_id = c.id`, `c.id = ? AND ` + cond,
			concat([]any{companyID}, args), nil
	}
	direct, err := s.staffDirect(ctx, u, table+` `+a+` ON `+a+`.company_id = c.id`)
	if direct {
		return staffClientsFrom + ` CROSS JOIN ` + table + ` ` + a + ` ON ` + a + `.company_id = c.id`, staffClientsCond, staffClientsArgs(u), err
	}
	cond, args = visible(u, "c")
	// CROSS JOIN: the rows drive the loop, in the order of the keyset.
	return table + ` ` + a + ` CROSS JOIN companies c ON c.id = ` + a + `.company_id`, a + `.workspace_id = ? AND ` + cond,
		concat([]any{u.WorkspaceID}, args), err
}

// ExportContacts calls fn for every contact u may see, with its company:
// first those with an e-mail address, by address (the workspace's unique
// index on it, case-insensitive, is the keyset), then those without, by
// id. The order does not depend on ids, which an import gives out in its
// own order, so an export imported into an empty workspace exports the
// same again. A companyID other than 0 limits it to that company's.
func (s *Store) ExportContacts(ctx context.Context, u *User, companyID int64, fn func(c *ContactExport) error) error {
	from, cond, args, err := s.exportFrom(ctx, u, "contacts", "x", companyID)
	if err != nil {
		return err
	}
	withEmail := `SELECT ` + contactExportCols + ` FROM ` + from + ` WHERE ` + cond + ` AND x.email <> '' AND x.email > ? ORDER BY x.email LIMIT ?`
	err = exportEach(ctx, s, scanContactExport, func(last *ContactExport) (string, []any) {
		after := ""
		if last != nil {
			after = last.Contact.Email
		}
		return withEmail, concat(args, []any{after})
	}, nil, fn)
	if err != nil {
		return err
	}
	without := `SELECT ` + contactExportCols + ` FROM ` + from + ` WHERE ` + cond + ` AND x.email = '' AND x.id > ? ORDER BY x.id LIMIT ?`
	return exportEach(ctx, s, scanContactExport, func(last *ContactExport) (string, []any) {
		var after int64
		if last != nil {
			after = last.Contact.ID
		}
		return without, concat(args, []any{after})
	}, nil, fn)
}

func scanMeetingExport(row interface{ Scan(...any) error }, e *MeetingExport) error {
	return scanMeeting(scanPlus{row, []any{&e.CompanyName}}, &e.Meeting)
}

// ExportMeetings calls fn for every meeting u may see, by id, with its
// company's name and its attendees. A companyID other than 0 limits it to that company's.
func (s *Store) ExportMeetings(ctx context.Context, u *User, companyID int64, fn func(m *MeetingExport) error) error {
	from, cond, args, err := s.exportFrom(ctx, u, "meetings", "m", companyID)
	if err != nil {
		return err
	}
	q := `SELECT ` + meetingColsM + `, c.name FROM ` + from + ` WHERE ` + cond + ` AND m.id > ? ORDER BY m.id LIMIT ?`
	return exportEach(ctx, s, scanMeetingExport, func(last *MeetingExport) (string, []any) {
		var after int64
		if last != nil {
			after = last.Meeting.ID
		}
		return q, concat(args, []any{after})
	}, func(page []MeetingExport) error {
		_, err := s.fillAttendees(ctx, u, len(page), func(i int) *Meeting { return &page[i].Meeting })
		return err
	}, fn)
}
