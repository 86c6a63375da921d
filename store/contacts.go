package store

import (
	"context"
	"slices"
	"strings"
)

// The contacts list, a contact's page and a meeting's attendees (issue
// 13). Contacts themselves are timeline items (timeline.go).

// ContactQuery selects a page of the contacts list.
type ContactQuery struct {
	CompanyID int64  // 0: every company the viewer may see
	Q         string // the start of the name or of the e-mail address, any case
	Mine      bool   // only the viewer's own clients (myClients)
	Sort      string // "name" (default), "company", "updated"
	Desc      bool
	Cursor    string // from a previous page's Next or Prev
	Limit     int    // default 50, at most 200
}

// ListedContact is a contact as the list shows it: with its company's name.
type ListedContact struct {
	Contact
	CompanyName string `json:"company_name"`
}

// ContactPage is one page of contacts with cursors to its neighbours.
type ContactPage struct {
	Items []ListedContact `json:"items"`
	Next  string          `json:"next_cursor,omitempty"`
	Prev  string          `json:"prev_cursor,omitempty"`
}

// contactCursor is the keyset position of a page boundary in one sort: the
// contact's name (name and company sorts), its company's name and id
// (company sort) or its last update (updated sort), and its id.
type contactCursor struct {
	Sort      string `json:"o"`
	Name      string `json:"s,omitempty"`
	Company   string `json:"c,omitempty"`
	CompanyID int64  `json:"ci,omitempty"`
	N         int64  `json:"n,omitempty"`
	ID        int64  `json:"id"`
	Back      bool   `json:"b,omitempty"`
}

// prefixRange is the bounds of the strings that start with p under NOCASE:
// [p, p + the highest code point).
func prefixRange(p string) (string, string) { return p, p + "\U0010FFFF" }

// contactSorts are the list's orders: the ORDER BY terms (ascending) and
// the cursor's values for them.
var contactSorts = map[string]struct {
	cols []string
	at   func(c *ListedContact) contactCursor
}{
	"name": {[]string{"ct.name COLLATE NOCASE", "ct.id"}, func(c *ListedContact) contactCursor {
		return contactCursor{Name: c.Name, ID: c.ID}
	}},
	"company": {[]string{"c.name COLLATE NOCASE", "c.id", "ct.name COLLATE NOCASE", "ct.id"}, func(c *ListedContact) contactCursor {
		return contactCursor{Company: c.CompanyName, CompanyID: c.CompanyID, Name: c.Name, ID: c.ID}
	}},
	"updated": {[]string{"ct.updated_at", "ct.id"}, func(c *ListedContact) contactCursor {
		return contactCursor{N: c.UpdatedAt, ID: c.ID}
	}},
}

// args are the cursor's values in the order of its sort's columns.
func (c contactCursor) args() []any {
	switch c.Sort {
	case "company":
		return []any{c.Company, c.CompanyID, c.Name, c.ID}
	case "updated":
		return []any{c.N, c.ID}
	}
	return []any{c.Name, c.ID}
}

// ListContacts returns a page of the contacts u may see, by keyset on the
// sort so that a page costs the same however deep it is (the indexes are
// migration 013's). The text filter is a prefix of the name or of the
// e-mail address: both are index ranges, where a match inside the text
// (or the title, which has no index) would read every contact.
func (s *Store) ListContacts(ctx context.Context, u *User, q ContactQuery) (*ContactPage, error) {
	p := Problems{}
	checkLimit(p, &q.Limit, 50, 200)
	if q.Sort == "" {
		q.Sort = "name"
	}
	sort, ok := contactSorts[q.Sort]
	if !ok {
		p.Add("sort", "Sort by name, company or updated.")
	}
	q.Q = strings.TrimSpace(q.Q)
	checkLen(p, "q", q.Q, 0, 200)
	var cur contactCursor
	if q.Cursor != "" {
		err := decodeCursor(q.Cursor, &cur)
		if err == nil && (cur.Sort != q.Sort || cur.ID <= 0) {
			err = errBadCursor()
		}
		if err != nil {
			p.Add("cursor", ErrorFields(err)["cursor"])
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}

	// Where the rows come from decides the cost. CROSS JOIN fixes SQLite's
	// loop order, which (without statistics) would often walk the whole
	// workspace's index of another order, or sort it all:
	//   - a staff user's list, or "My clients", starts from those
	//     companies and sorts their contacts when that is cheaper than
	//     walking the sort's index until a page of them turns up
	//     (readByClient);
	//   - a text filter otherwise starts from its two prefix ranges and
	//     sorts what matched, so a rare prefix does not walk an index;
	//   - otherwise the sort's index is walked from the cursor: by company,
	//     the companies' name index and each one's contacts in name order.
	cond, args := `ct.workspace_id = ?`, []any{u.WorkspaceID}
	vis, vargs := visible(u, "c")
	cond, args = cond+` AND `+vis, append(args, vargs...)
	var clients string // the subquery of the companies to start from, if any
	var cargs []any
	switch {
	case q.Mine:
		clients, cargs = myClients(u)
	case !u.IsAdmin():
		clients, cargs = `SELECT company_id FROM user_clients WHERE user_id = ?`, []any{u.ID}
	}
	byClient := false
	if clients != "" && q.CompanyID == 0 {
		var err error
		if byClient, err = s.readByClient(ctx, clients, cargs, q.Limit); err != nil {
			return nil, err
		}
	}
	var from string
	var fargs []any // the arguments of from, which come before cond's
	switch {
	case byClient:
		from, fargs = `(`+clients+`) mc CROSS JOIN companies c ON c.id = mc.company_id CROSS JOIN `+companyContacts, cargs
	case q.Q != "":
		lo, hi := prefixRange(q.Q)
		from = `(SELECT id FROM contacts WHERE workspace_id = ? AND name COLLATE NOCASE >= ? AND name COLLATE NOCASE < ?
			UNION SELECT id FROM contacts WHERE workspace_id = ? AND email <> '' AND email >= ? AND email < ?) m
			CROSS JOIN contacts ct ON ct.id = m.id CROSS JOIN companies c ON c.id = ct.company_id`
		fargs = []any{u.WorkspaceID, lo, hi, u.WorkspaceID, lo, hi}
	case q.Sort == "company":
		from = `companies c CROSS JOIN ` + companyContacts
	default:
		from = `contacts ct JOIN companies c ON c.id = ct.company_id`
	}
	if clients != "" && !byClient {
		cond, args = cond+` AND c.id IN (`+clients+`)`, append(args, cargs...)
	}
	if q.Q != "" && byClient {
		lo, hi := prefixRange(q.Q)
		cond += ` AND ((ct.name COLLATE NOCASE >= ? AND ct.name COLLATE NOCASE < ?) OR (ct.email <> '' AND ct.email >= ? AND ct.email < ?))`
		args = append(args, lo, hi, lo, hi)
	}
	if q.CompanyID != 0 {
		// A company u may not see is not found, not an empty list.
		if _, err := s.Company(ctx, u, q.CompanyID); err != nil {
			return nil, err
		}
		cond, args = cond+` AND c.id = ? AND ct.company_id = ?`, append(args, q.CompanyID, q.CompanyID)
	}
	args = concat(fargs, args)
	// Reading backwards flips the order; the page is reversed afterwards.
	desc := q.Desc != cur.Back
	op, dir := ">", " ASC"
	if desc {
		op, dir = "<", " DESC"
	}
	if q.Cursor != "" {
		// An index range can start at the leading column alone (the row
		// value below, spanning two tables for the company sort, cannot
		// be used for one), so that column's bound is given by itself too.
		switch q.Sort {
		case "name":
			cond, args = cond+` AND ct.name COLLATE NOCASE `+op+`= ?`, append(args, cur.Name)
		case "company":
			cond, args = cond+` AND c.name COLLATE NOCASE `+op+`= ?`, append(args, cur.Company)
		}
		cond += ` AND (` + strings.Join(sort.cols, ", ") + `) ` + op + ` (` + placeholders(len(sort.cols)) + `)`
		args = append(args, cur.args()...)
	}
	order := strings.Join(sort.cols, dir+", ") + dir
	args = append(args, q.Limit+1)
	rows, err := s.r.QueryContext(ctx, `SELECT ct.id, ct.company_id, ct.name, ct.email, ct.phone, ct.title, ct.created_at, ct.updated_at, c.name, `+authorCols("ct.author_id")+`
		FROM `+from+` WHERE `+cond+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := &ContactPage{Items: []ListedContact{}}
	for rows.Next() {
		var c ListedContact
		if err := rows.Scan(&c.ID, &c.CompanyID, &c.Name, &c.Email, &c.Phone, &c.Title, &c.CreatedAt, &c.UpdatedAt, &c.CompanyName, &c.AuthorID, &c.AuthorName); err != nil {
			return nil, err
		}
		page.Items = append(page.Items, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var more bool
	page.Items, more = pageOf(page.Items, q.Limit, cur.Back)
	if len(page.Items) == 0 {
		return page, nil
	}
	at := func(c *ListedContact, back bool) string {
		lc := sort.at(c)
		lc.Sort, lc.Back = q.Sort, back
		return encodeCursor(lc)
	}
	// Forward: a next page exists if we over-read; a previous one if we
	// came from a cursor. Backward: the mirror image.
	if (!cur.Back && more) || (cur.Back && q.Cursor != "") {
		page.Next = at(&page.Items[len(page.Items)-1], false)
	}
	if (!cur.Back && q.Cursor != "") || (cur.Back && more) {
		page.Prev = at(&page.Items[0], true)
	}
	return page, nil
}

// companyContacts joins a company's contacts by their company. The index
// is named: a cursor's range on a sort column would otherwise tempt SQLite
// into that column's workspace-wide index for every company.
const companyContacts = `contacts ct INDEXED BY contacts_company_name ON ct.company_id = c.id`

// readByClient reports whether a list limited to the companies of the
// subquery clients is cheaper read from those companies, sorting all their
// contacts (their number times the contacts a company has on average),
// than by walking the workspace's index of the sort, which meets one of
// theirs every companies/clients rows, until a page turns up. Sorting
// costs more a row than walking, hence the factor. Ids stand in for
// counts, as in listMeetingsSQL.
func (s *Store) readByClient(ctx context.Context, clients string, args []any, limit int) (bool, error) {
	var mine, companies, contacts float64
	err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM (`+clients+`)),
		(SELECT coalesce(max(id), 1) FROM companies), (SELECT coalesce(max(id), 0) FROM contacts)`, args...).Scan(&mine, &companies, &contacts)
	walk := float64(limit+1) * companies / max(mine, 1)
	return mine*contacts/companies <= 4*walk, err
}

// contactPageItems bounds the meetings and the notes a contact's page
// lists: the newest, enough to see who they are to the client.
const contactPageItems = 20

// ContactDetail is a contact's page: the contact, its company, the
// meetings they attend and the notes of the company that mention them,
// newest first, at most contactPageItems of each.
type ContactDetail struct {
	Contact  *Contact
	Company  *Company
	Meetings []Meeting
	Notes    []Note
}

// ContactDetail reads contact id's page if u may see the contact.
func (s *Store) ContactDetail(ctx context.Context, u *User, id int64) (*ContactDetail, error) {
	c, err := s.Contact(ctx, u, id)
	if err != nil {
		return nil, err
	}
	d := &ContactDetail{Contact: c}
	if d.Company, err = s.Company(ctx, u, c.CompanyID); err != nil {
		return nil, err
	}
	d.Meetings = []Meeting{}
	err = queryEach(ctx, s.r, scanMeeting, func(m *Meeting) error { d.Meetings = append(d.Meetings, *m); return nil },
		`SELECT `+meetingColsM+` FROM meeting_attendees a JOIN meetings m ON m.id = a.meeting_id
		WHERE a.contact_id = ? AND m.company_id = ? ORDER BY m.starts_at DESC, m.id DESC LIMIT ?`, c.ID, c.CompanyID, contactPageItems)
	if err != nil {
		return nil, err
	}
	// A note mentions the contact when its title or body holds their name
	// or address, in any case (LIKE folds ASCII). The company's notes are
	// read newest first by notes_company until enough match.
	var terms []string
	var args []any
	args = append(args, c.CompanyID)
	for _, t := range []string{c.Name, c.Email} {
		if t != "" {
			terms = append(terms, `title LIKE ? ESCAPE '\' OR body LIKE ? ESCAPE '\'`)
			pat := "%" + likeEscaper.Replace(t) + "%"
			args = append(args, pat, pat)
		}
	}
	args = append(args, contactPageItems)
	d.Notes = []Note{}
	err = queryEach(ctx, s.r, func(row interface{ Scan(...any) error }, n *Note) error {
		return row.Scan(&n.ID, &n.CompanyID, &n.AuthorID, &n.Title, &n.Body, &n.CreatedAt, &n.UpdatedAt)
	}, func(n *Note) error { d.Notes = append(d.Notes, *n); return nil },
		`SELECT id, company_id, author_id, title, body, created_at, updated_at FROM notes
		WHERE company_id = ? AND (`+strings.Join(terms, ` OR `)+`) ORDER BY created_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// likeEscaper makes text match itself in a LIKE pattern with ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Attendee is a contact who attends a meeting, as the meeting names them.
type Attendee struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Label is how a page names the attendee: their name, or their address.
func (a Attendee) Label() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Email
}

// attendeesOf reads the attendees of the meetings ids that u may see,
// keyed by meeting, each meeting's in id order. Attendees are contacts of
// the meeting's company (setAttendees, and an import that moves a contact
// detaches it), so the meeting's check is theirs; the join on the
// meeting's company keeps it so should a row be left behind.
func attendeesOf(ctx context.Context, q querier, u *User, ids []int64) (map[int64][]Attendee, error) {
	out := map[int64][]Attendee{}
	// Chunks of an export page: one query per page.
	for start := 0; start < len(ids); start += exportPage {
		chunk := ids[start:min(start+exportPage, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		cond, cargs := visible(u, "c")
		var mid int64
		err := queryEach(ctx, q, func(row interface{ Scan(...any) error }, a *Attendee) error {
			return row.Scan(&mid, &a.ID, &a.Name, &a.Email)
		}, func(a *Attendee) error { out[mid] = append(out[mid], *a); return nil },
			`SELECT a.meeting_id, ct.id, ct.name, ct.email FROM meeting_attendees a JOIN contacts ct ON ct.id = a.contact_id
			JOIN meetings m ON m.id = a.meeting_id AND m.company_id = ct.company_id
			JOIN companies c ON c.id = ct.company_id
			WHERE a.meeting_id IN (`+placeholders(len(chunk))+`) AND `+cond+` ORDER BY a.meeting_id, ct.id`, append(args, cargs...)...)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// idsOf is the ids of attendees; nil for none, as Meeting keeps them.
func idsOf(attendees []Attendee) []int64 {
	var ids []int64
	for _, a := range attendees {
		ids = append(ids, a.ID)
	}
	return ids
}

// FillAttendees sets AttendeeIDs on meetings of the list (which leaves
// them out: its rows come from Redis as often as not), in one query.
func (s *Store) FillAttendees(ctx context.Context, u *User, meetings []Meeting) error {
	_, err := s.fillAttendees(ctx, u, len(meetings), func(i int) *Meeting { return &meetings[i] })
	return err
}

// fillAttendees is the one home of filling AttendeeIDs (and the
// organiser's name), for every path that answers a page of meetings (the
// list, timelines, exports): it sets them on meeting(i) for i < n (nil:
// not a meeting) in one query, and returns the attendees by meeting id
// for callers that name them.
func (s *Store) fillAttendees(ctx context.Context, u *User, n int, meeting func(i int) *Meeting) (map[int64][]Attendee, error) {
	var ids []int64
	for i := range n {
		if m := meeting(i); m != nil {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	byMeeting, err := attendeesOf(ctx, s.r, u, ids)
	if err != nil {
		return nil, err
	}
	var named []*Meeting
	for i := range n {
		if m := meeting(i); m != nil {
			m.AttendeeIDs = idsOf(byMeeting[m.ID])
			named = append(named, m)
		}
	}
	return byMeeting, s.nameOrganisers(ctx, u.WorkspaceID, named)
}

// setAttendees makes ids the attendees of meeting m, in tx. Each must be a
// contact of the meeting's company; any other (another company's contact,
// one that does not exist) is refused beside the field.
func setAttendees(ctx context.Context, tx *Tx, m *Meeting, ids []int64) error {
	ids = sortedUnique(ids)
	if len(ids) > 0 {
		args := []any{m.CompanyID}
		for _, id := range ids {
			args = append(args, id)
		}
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM contacts WHERE company_id = ? AND id IN (`+placeholders(len(ids))+`)`, args...).Scan(&n); err != nil {
			return err
		}
		if n != len(ids) {
			return &Error{Code: EInvalid, Message: "Please correct the highlighted fields.",
				Fields: map[string]string{"attendee_ids": "Choose attendees among this client's contacts."}}
		}
	}
	if _, err := tx.Exec(`DELETE FROM meeting_attendees WHERE meeting_id = ?`, m.ID); err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.Exec(`INSERT INTO meeting_attendees (meeting_id, contact_id) VALUES (?, ?)`, m.ID, id); err != nil {
			return err
		}
	}
	m.AttendeeIDs = ids
	return nil
}

// sortedUnique is ids in ascending order without repeats; nil for none.
func sortedUnique(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// CompanyContacts lists the contacts of company companyID, which u must
// see, by name: what a meeting's attendees are picked from.
func (s *Store) CompanyContacts(ctx context.Context, u *User, companyID int64) ([]Contact, error) {
	if _, err := s.Company(ctx, u, companyID); err != nil {
		return nil, err
	}
	out := []Contact{}
	err := queryEach(ctx, s.r, scanContact, func(c *Contact) error { out = append(out, *c); return nil },
		`SELECT `+contactCols+` FROM contacts WHERE company_id = ? ORDER BY name COLLATE NOCASE, id`, companyID)
	return out, err
}
