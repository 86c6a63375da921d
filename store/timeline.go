package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Note is a Markdown note on a company's timeline.
type Note struct {
	ID        int64  `json:"id"`
	CompanyID int64  `json:"company_id"`
	Title     string `json:"title"`
	Body      string `json:"body"`
	CreatedAt int64  `json:"created_at"`
	UpdatedAt int64  `json:"updated_at"`
	Author
}

// Author is who added an item: nil when unknown (an import, the demo, a
// user who no longer exists).
type Author struct {
	AuthorID   *int64  `json:"author_id"`
	AuthorName *string `json:"author_name"`
}

// authorOf is u as an item's author; system writers (ID 0) are nobody.
func authorOf(u *User) Author {
	if u.ID <= 0 {
		return Author{}
	}
	return Author{AuthorID: &u.ID, AuthorName: &u.Name}
}

// authorCols reads an Author from a table's author column col.
func authorCols(col string) string {
	return col + `, (SELECT name FROM users WHERE id = ` + col + `)`
}

// Contact is a person at a company.
type Contact struct {
	ID        int64  `json:"id"`
	CompanyID int64  `json:"company_id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
	Title     string `json:"title"`
	CreatedAt int64  `json:"created_at"`
	UpdatedAt int64  `json:"updated_at"`
	Author
}

// Link is a web address kept for a company.
type Link struct {
	ID        int64  `json:"id"`
	CompanyID int64  `json:"company_id"`
	Title     string `json:"title"`
	URL       string `json:"url"`
	CreatedAt int64  `json:"created_at"`
	UpdatedAt int64  `json:"updated_at"`
	Author
}

// TimelineItem is one entry of a company's timeline; exactly one of the
// pointers is set, the one Type names.
type TimelineItem struct {
	Type      string   `json:"type"`
	ID        int64    `json:"id"`
	CompanyID int64    `json:"company_id"`
	CreatedAt int64    `json:"created_at"`
	Note      *Note    `json:"note,omitempty"`
	Contact   *Contact `json:"contact,omitempty"`
	Link      *Link    `json:"link,omitempty"`
	Meeting   *Meeting `json:"meeting,omitempty"`
	// Held is a meeting's room once it has ended.
	Held *RoomSummary `json:"held,omitempty"`
	// Author is who added the item (a meeting's is its owner, who
	// created it).
	Author
	// Attendees name a meeting's attendees (Meeting.AttendeeIDs).
	Attendees []Attendee `json:"attendees,omitempty"`
}

// Item is the note, contact, link or meeting of the entry.
func (it *TimelineItem) Item() any {
	switch {
	case it.Note != nil:
		return it.Note
	case it.Contact != nil:
		return it.Contact
	case it.Link != nil:
		return it.Link
	}
	return it.Meeting
}

// Timeline item types.
const (
	TypeNote    = "note"
	TypeContact = "contact"
	TypeLink    = "link"
	TypeMeeting = "meeting"
)

// timelineSource is one table that feeds the timeline. rank breaks ties
// between tables at the same millisecond so the order is total. A page is
// one UNION ALL query over the sources, so every source is selected into
// one row shape (timelineRow): cols lists the source's columns for it,
// author names its author column, and item turns a row back into the
// source's type.
type timelineSource struct {
	typ    string
	rank   int
	table  string
	cols   string // r (rank), id, company_id, t (created_at), updated_at, n1, n2, n3, s1, s2, s3, s4, held
	author string
	item   func(r *timelineRow) TimelineItem
}

// timelineRow is the shape every source is read into: integers that may be
// NULL in n1..n3, text in s1..s4; held is a meeting's room summary;
// author is the item's author (its name is filled in from userNames).
type timelineRow struct {
	rank                                int
	id, companyID, createdAt, updatedAt int64
	n1, n2, n3                          *int64
	s1, s2, s3, s4                      string
	held                                *string
	author                              Author
}

var timelineSources = []timelineSource{
	{TypeNote, 1, "notes", "1 AS r, id, company_id, created_at AS t, updated_at, NULL, NULL, NULL, title, body, '', '', NULL", "author_id", func(r *timelineRow) TimelineItem {
		n := &Note{ID: r.id, CompanyID: r.companyID, Title: r.s1, Body: r.s2, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt, Author: r.author}
		return TimelineItem{Type: TypeNote, ID: n.ID, CompanyID: n.CompanyID, CreatedAt: n.CreatedAt, Note: n, Author: r.author}
	}},
	{TypeContact, 2, "contacts", "2 AS r, id, company_id, created_at AS t, updated_at, NULL, NULL, NULL, name, email, phone, title, NULL", "author_id", func(r *timelineRow) TimelineItem {
		c := &Contact{ID: r.id, CompanyID: r.companyID, Name: r.s1, Email: r.s2, Phone: r.s3, Title: r.s4, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt, Author: r.author}
		return TimelineItem{Type: TypeContact, ID: c.ID, CompanyID: c.CompanyID, CreatedAt: c.CreatedAt, Contact: c, Author: r.author}
	}},
	{TypeLink, 3, "links", "3 AS r, id, company_id, created_at AS t, updated_at, NULL, NULL, NULL, title, url, '', '', NULL", "author_id", func(r *timelineRow) TimelineItem {
		l := &Link{ID: r.id, CompanyID: r.companyID, Title: r.s1, URL: r.s2, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt, Author: r.author}
		return TimelineItem{Type: TypeLink, ID: l.ID, CompanyID: l.CompanyID, CreatedAt: l.CreatedAt, Link: l, Author: r.author}
	}},
	{TypeMeeting, 4, "meetings", "4 AS r, id, company_id, created_at AS t, updated_at, starts_at, ends_at, owner_id, type, status, subject, details, (SELECT summary FROM room_summaries WHERE meeting_id = meetings.id)", "owner_id", func(r *timelineRow) TimelineItem {
		m := &Meeting{ID: r.id, CompanyID: r.companyID, Type: r.s1, Status: r.s2, Subject: r.s3, Details: r.s4, EndsAt: r.n2, OwnerID: r.n3, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt}
		if r.n1 != nil {
			m.StartsAt = *r.n1
		}
		return TimelineItem{Type: TypeMeeting, ID: m.ID, CompanyID: m.CompanyID, CreatedAt: m.CreatedAt, Meeting: m, Author: r.author}
	}},
}

// nameAuthor names its author (and its row's) from names; an author
// names lacks is nobody.
func (it *TimelineItem) nameAuthor(names map[int64]*string) {
	if it.AuthorID == nil {
		return
	}
	it.AuthorName = names[*it.AuthorID]
	switch {
	case it.Note != nil:
		it.Note.AuthorName = it.AuthorName
	case it.Contact != nil:
		it.Contact.AuthorName = it.AuthorName
	case it.Link != nil:
		it.Link.AuthorName = it.AuthorName
	}
}

// TimelineTypes lists the types a timeline can be filtered by.
func TimelineTypes() []string {
	out := make([]string, len(timelineSources))
	for i, src := range timelineSources {
		out[i] = src.typ
	}
	return out
}

// TimelineQuery selects a page of a company's timeline.
type TimelineQuery struct {
	Types  []string // empty means all
	Cursor string
	Limit  int // default 20, at most 100
	// sizes, when set, are the default and the largest Limit instead of
	// 20 and 100: the API's lists' (CompanyItems).
	sizes [2]int
}

type timelineCursor struct {
	T  int64 `json:"t"`
	R  int   `json:"r"`
	ID int64 `json:"id"`
}

// timelineQueries holds the page query of every shape, built once:
// [mask of wanted sources][cursorShape]. One query: each source is read by
// its (company_id, created_at, id) index from the cursor on, and SQLite
// merges the sources (MERGE UNION ALL, no sorter) and stops at Limit+1
// rows. The order is (created_at, id, rank), newest first: the index order
// of every source, with the rank only breaking ties between tables.
var timelineQueries = func() [][]string {
	qs := make([][]string, 1<<len(timelineSources))
	for mask := 1; mask < len(qs); mask++ {
		qs[mask] = make([]string, len(timelineSources)+2)
		for shape := range qs[mask] {
			var parts []string
			for i, src := range timelineSources {
				if mask&(1<<i) == 0 {
					continue
				}
				where := `company_id = ?`
				switch {
				case shape == 0: // no cursor
				case src.rank < shape: // shape is the cursor's rank
					where += ` AND (created_at, id) <= (?, ?)`
				default:
					where += ` AND (created_at, id) < (?, ?)`
				}
				parts = append(parts, `SELECT `+src.cols+`, `+src.author+` FROM `+src.table+` WHERE `+where)
			}
			qs[mask][shape] = strings.Join(parts, ` UNION ALL `) + ` ORDER BY t DESC, id DESC, r DESC LIMIT ?`
		}
	}
	return qs
}()

// cursorShape is the column of timelineQueries for a cursor: 0 for none,
// else its rank, clamped to where the comparisons stop changing (a rank
// at or below the lowest source's means "<" for all, above the highest
// "<=" for all).
func cursorShape(cur *timelineCursor) int {
	if cur == nil {
		return 0
	}
	return min(max(cur.R, 1), len(timelineSources)+1)
}

// Timeline returns a page of a company's items, newest first, in one
// query (timelineQueries): a page costs the same however far back it is.
func (s *Store) Timeline(ctx context.Context, u *User, companyID int64, q TimelineQuery) ([]TimelineItem, string, error) {
	_, items, next, err := s.CompanyTimeline(ctx, u, companyID, q)
	return items, next, err
}

// CompanyTimeline is Timeline with the company itself, for a page that
// shows both: client security is checked once, here.
func (s *Store) CompanyTimeline(ctx context.Context, u *User, companyID int64, q TimelineQuery) (*Company, []TimelineItem, string, error) {
	c, err := s.Company(ctx, u, companyID)
	if err != nil {
		return nil, nil, "", err
	}
	items, next, err := s.companyTimeline(ctx, u, c, q)
	if err != nil {
		return nil, nil, "", err
	}
	return c, items, next, nil
}

// CompanyItems returns a page of a company's items of one type (TypeNote,
// TypeContact, TypeLink or TypeMeeting), newest first: its timeline of
// that type alone, with the API's page sizes (default 50, at most 200).
func (s *Store) CompanyItems(ctx context.Context, u *User, companyID int64, typ, cursor string, limit int) ([]TimelineItem, string, error) {
	c, err := s.Company(ctx, u, companyID)
	if err != nil {
		return nil, "", err
	}
	return s.companyTimeline(ctx, u, c, TimelineQuery{Types: []string{typ}, Cursor: cursor, Limit: limit, sizes: [2]int{50, 200}})
}

// companyTimeline reads a page of c's timeline for u, who may see c. Its
// meetings name their attendees: one query for the page's meetings.
func (s *Store) companyTimeline(ctx context.Context, u *User, c *Company, q TimelineQuery) ([]TimelineItem, string, error) {
	items, next, err := s.timelinePage(ctx, c, q)
	if err != nil {
		return nil, "", err
	}
	byMeeting, err := s.fillAttendees(ctx, u, len(items), func(i int) *Meeting { return items[i].Meeting })
	if err != nil {
		return nil, "", err
	}
	for i := range items {
		if m := items[i].Meeting; m != nil {
			items[i].Attendees = byMeeting[m.ID]
		}
	}
	return items, next, nil
}

// timelinePage reads a page of c's timeline in one query, without the
// meetings' attendees.
func (s *Store) timelinePage(ctx context.Context, c *Company, q TimelineQuery) ([]TimelineItem, string, error) {
	companyID := c.ID
	p := Problems{}
	if checkLimit(p, &q.Limit, cmp.Or(q.sizes[0], 20), cmp.Or(q.sizes[1], 100)); len(p) > 0 {
		return nil, "", p.Err()
	}
	var mask uint8 // bit i: timelineSources[i] is wanted; 0 means all
	for _, t := range q.Types {
		if t == "" {
			continue
		}
		i := slices.IndexFunc(timelineSources, func(src timelineSource) bool { return src.typ == t })
		if i < 0 {
			return nil, "", &Error{Code: EInvalid, Message: "Choose what to show.", Fields: map[string]string{"type": "Choose one of " + strings.Join(TimelineTypes(), ", ") + "."}}
		}
		mask |= 1 << i
	}
	if mask == 0 {
		mask = 1<<len(timelineSources) - 1
	}
	var cur *timelineCursor
	if q.Cursor != "" {
		cur = &timelineCursor{}
		if err := decodeCursor(q.Cursor, cur); err != nil {
			return nil, "", err
		}
	}
	args := make([]any, 0, 3*len(timelineSources)+1)
	for i := range timelineSources {
		if mask&(1<<i) == 0 {
			continue
		}
		args = append(args, companyID)
		if cur != nil {
			args = append(args, cur.T, cur.ID)
		}
	}
	args = append(args, q.Limit+1)
	rows, err := s.r.QueryContext(ctx, timelineQueries[mask][cursorShape(cur)], args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	items := make([]TimelineItem, 0, q.Limit+1)
	var r timelineRow
	for rows.Next() {
		r = timelineRow{}
		if err := rows.Scan(&r.rank, &r.id, &r.companyID, &r.createdAt, &r.updatedAt, &r.n1, &r.n2, &r.n3, &r.s1, &r.s2, &r.s3, &r.s4, &r.held, &r.author.AuthorID); err != nil {
			return nil, "", err
		}
		src := sourceOfRank(r.rank)
		if src == nil {
			return nil, "", fmt.Errorf("timeline: row of unknown rank %d", r.rank)
		}
		it := src.item(&r)
		if r.held != nil {
			if it.Held, err = parseSummary(*r.held); err != nil {
				return nil, "", err
			}
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	names, err := s.userNameMap(ctx, c.WorkspaceID, func(names map[int64]*string) bool {
		for _, it := range items {
			if it.AuthorID != nil && names[*it.AuthorID] == nil {
				return false
			}
		}
		return true
	})
	if err != nil {
		return nil, "", err
	}
	for i := range items {
		items[i].nameAuthor(names)
	}
	var next string
	if len(items) > q.Limit {
		items = items[:q.Limit]
		last := items[len(items)-1]
		next = encodeCursor(timelineCursor{T: last.CreatedAt, R: timelineRank(last.Type), ID: last.ID})
	}
	return items, next, nil
}

// timelineRank is the rank of an item type.
func timelineRank(typ string) int {
	for _, src := range timelineSources {
		if src.typ == typ {
			return src.rank
		}
	}
	return 0
}

func sourceOfRank(rank int) *timelineSource {
	for i := range timelineSources {
		if timelineSources[i].rank == rank {
			return &timelineSources[i]
		}
	}
	return nil
}

// NoteInput is what adding or editing a note takes.
type NoteInput struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

func (in *NoteInput) normalize() error {
	in.Title = strings.TrimSpace(in.Title)
	p := Problems{}
	checkLen(p, "title", in.Title, 1, 200)
	checkLen(p, "body", in.Body, 0, 100000)
	return p.Err()
}

// ContactInput is what adding or editing a contact takes.
type ContactInput struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
	Title string `json:"title"`
}

func (in *ContactInput) normalize() error {
	in.Name, in.Email, in.Phone, in.Title = strings.TrimSpace(in.Name), strings.TrimSpace(in.Email), strings.TrimSpace(in.Phone), strings.TrimSpace(in.Title)
	p := Problems{}
	if in.Name == "" && in.Email == "" {
		p.Add("name", "Enter a name or an e-mail address.")
	}
	checkLen(p, "name", in.Name, 0, 200)
	if in.Email != "" && !validEmail(in.Email) {
		p.Add("email", "Enter a valid e-mail address.")
	}
	checkLen(p, "phone", in.Phone, 0, 50)
	checkLen(p, "title", in.Title, 0, 200)
	return p.Err()
}

// LinkInput is what adding or editing a link takes.
type LinkInput struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

func (in *LinkInput) normalize() error {
	in.Title, in.URL = strings.TrimSpace(in.Title), strings.TrimSpace(in.URL)
	p := Problems{}
	checkLen(p, "title", in.Title, 1, 200)
	if !validWebURL(in.URL) {
		p.Add("url", "Enter an http:// or https:// address.")
	}
	return p.Err()
}

const contactCols = "id, company_id, name, email, phone, title, created_at, updated_at"

func scanContact(row interface{ Scan(...any) error }, c *Contact) error {
	return row.Scan(&c.ID, &c.CompanyID, &c.Name, &c.Email, &c.Phone, &c.Title, &c.CreatedAt, &c.UpdatedAt)
}

// input is the contact as an edit would give it.
func (c *Contact) input() ContactInput {
	return ContactInput{Name: c.Name, Email: c.Email, Phone: c.Phone, Title: c.Title}
}

var errContactEmailTaken = &Error{Code: EConflict, Message: "A contact with this e-mail address exists.",
	Fields: map[string]string{"email": "A contact with this e-mail address exists."}}

// onCompany runs fn in a write transaction after checking that u may see
// company companyID; every timeline write goes through it.
func (s *Store) onCompany(ctx context.Context, u *User, companyID int64, fn func(tx *Tx, c *Company) error) error {
	return s.tx(ctx, func(tx *Tx) error {
		c, err := s.company(ctx, tx, u, companyID)
		if err != nil {
			return err
		}
		if err := fn(tx, c); err != nil {
			return err
		}
		// The company list can sort by last update; activity counts.
		_, err = tx.Exec(`UPDATE companies SET updated_at = ? WHERE id = ?`, now(), c.ID)
		return err
	})
}

// itemCompany finds the company of item id in table, if u may see it.
func (s *Store) itemCompany(ctx context.Context, q querier, u *User, table string, id int64) (int64, error) {
	cond, args := visible(u, "c")
	var cid int64
	err := q.QueryRowContext(ctx, `SELECT c.id FROM `+table+` t JOIN companies c ON c.id = t.company_id WHERE t.id = ? AND `+cond,
		append([]any{id}, args...)...).Scan(&cid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, Errorf(ENotFound, "Not found.")
	}
	return cid, err
}

// AddNote adds a note to a company's timeline.
func (s *Store) AddNote(ctx context.Context, u *User, companyID int64, in NoteInput) (*Note, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	t := now()
	n := &Note{CompanyID: companyID, Title: in.Title, Body: in.Body, CreatedAt: t, UpdatedAt: t, Author: authorOf(u)}
	err := s.onCompany(ctx, u, companyID, func(tx *Tx, c *Company) error {
		res, err := tx.Exec(`INSERT INTO notes (workspace_id, company_id, author_id, title, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.WorkspaceID, c.ID, n.AuthorID, n.Title, n.Body, t, t)
		if err != nil {
			return err
		}
		n.ID, _ = res.LastInsertId()
		return tx.record(u, c.WorkspaceID, c.ID, ActivityNoteCreated, n.ID, said(u, "added a note", n.Title))
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

const noteCols = "id, company_id, title, body, created_at, updated_at"

func scanNote(row interface{ Scan(...any) error }, n *Note) error {
	return row.Scan(&n.ID, &n.CompanyID, &n.Title, &n.Body, &n.CreatedAt, &n.UpdatedAt)
}

// input is the note as an edit would give it.
func (n *Note) input() NoteInput { return NoteInput{Title: n.Title, Body: n.Body} }

// Note returns a note u may see.
func (s *Store) Note(ctx context.Context, u *User, id int64) (*Note, error) {
	if _, err := s.itemCompany(ctx, s.r, u, "notes", id); err != nil {
		return nil, err
	}
	n := &Note{}
	err := scanNote(scanPlus{s.r.QueryRowContext(ctx, `SELECT `+noteCols+`, `+authorCols("author_id")+` FROM notes WHERE id = ?`, id), []any{&n.AuthorID, &n.AuthorName}}, n)
	return n, err
}

// UpdateNote replaces a note's fields.
func (s *Store) UpdateNote(ctx context.Context, u *User, id int64, in NoteInput) (*Note, error) {
	return s.ChangeNote(ctx, u, id, func(*Note) (NoteInput, error) { return in, nil })
}

// ChangeNote edits a note with what change makes of it (changeItem).
func (s *Store) ChangeNote(ctx context.Context, u *User, id int64, change func(cur *Note) (NoteInput, error)) (*Note, error) {
	err := changeItem(ctx, s, u, TypeNote, id, noteCols, scanNote, change, func(tx *Tx, _ int64, in NoteInput) error {
		_, err := tx.Exec(`UPDATE notes SET title = ?, body = ?, updated_at = ? WHERE id = ?`, in.Title, in.Body, now(), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Note(ctx, u, id)
}

// changeItem edits item id of type typ (TypeNote, TypeContact or
// TypeLink; a T read with cols and scan) with what change makes of it.
// change gets the item as it is, read in the transaction that writes its
// answer, so that a partial update (PATCH) cannot undo a write made
// meanwhile. write stores the normalised answer, unless it is the item as
// it is: an edit that changes nothing writes and records nothing.
func changeItem[T any, I comparable, PT interface {
	*T
	input() I
}, PI interface {
	*I
	normalize() error
}](ctx context.Context, s *Store, u *User, typ string, id int64, cols string, scan func(row interface{ Scan(...any) error }, v PT) error,
	change func(cur PT) (I, error), write func(tx *Tx, ws int64, in I) error) error {
	return s.editItem(ctx, u, typ, id, false, func(tx *Tx, ws int64) (bool, error) {
		cur := PT(new(T))
		if err := scan(tx.QueryRow(`SELECT `+cols+` FROM `+editedItems[typ].table+` WHERE id = ?`, id), cur); err != nil {
			return false, err
		}
		in, err := change(cur)
		if err == nil {
			err = PI(&in).normalize()
		}
		if err != nil || in == cur.input() {
			return false, err
		}
		return true, write(tx, ws, in)
	})
}

// editedItems is, for each item type editItem changes, its table, how an
// activity names one, and the activity kinds of a change and a deletion.
var editedItems = map[string]struct{ table, label, updated, deleted string }{
	TypeNote:    {"notes", `title`, ActivityNoteUpdated, ActivityNoteDeleted},
	TypeContact: {"contacts", `coalesce(nullif(name, ''), email)`, ActivityContactUpdated, ActivityContactDeleted},
	TypeLink:    {"links", `coalesce(nullif(title, ''), url)`, ActivityLinkUpdated, ActivityLinkDeleted},
}

// editItem runs fn on item id of type typ (TypeNote, TypeContact or
// TypeLink) after checking that u may see its company and, unless fn
// reports that it changed nothing, records the change (a deletion when
// deleted) as an activity and marks the company updated.
func (s *Store) editItem(ctx context.Context, u *User, typ string, id int64, deleted bool, fn func(tx *Tx, ws int64) (changed bool, err error)) error {
	item, ok := editedItems[typ]
	if !ok {
		return Errorf(ENotFound, "Not found.")
	}
	return s.tx(ctx, func(tx *Tx) error {
		cid, err := s.itemCompany(ctx, tx, u, item.table, id)
		if err != nil {
			return err
		}
		// The summary names the item as it is after a change, as it was
		// before a deletion.
		var label string
		labelOf := func() error {
			return tx.QueryRow(`SELECT `+item.label+` FROM `+item.table+` WHERE id = ?`, id).Scan(&label)
		}
		if deleted {
			if err := labelOf(); err != nil {
				return err
			}
		}
		if changed, err := fn(tx, u.WorkspaceID); err != nil || !changed {
			return err
		}
		kind, did := item.updated, "changed the "+typ
		if deleted {
			kind, did = item.deleted, "deleted the "+typ
		} else if err := labelOf(); err != nil {
			return err
		}
		if err := tx.record(u, u.WorkspaceID, cid, kind, id, said(u, did, label)); err != nil {
			return err
		}
		_, err = tx.Exec(`UPDATE companies SET updated_at = ? WHERE id = ?`, now(), cid)
		return err
	})
}

// DeleteItem deletes a note, contact or link (typ is TypeNote, TypeContact
// or TypeLink) that u may see.
func (s *Store) DeleteItem(ctx context.Context, u *User, typ string, id int64) error {
	return s.editItem(ctx, u, typ, id, true, func(tx *Tx, ws int64) (bool, error) {
		if _, err := tx.Exec(`DELETE FROM `+editedItems[typ].table+` WHERE id = ?`, id); err != nil {
			return false, err
		}
		if typ == TypeContact {
			return true, tx.queue(ws, OutboxContact, id)
		}
		return true, nil
	})
}

// AddContact adds a contact to a company.
func (s *Store) AddContact(ctx context.Context, u *User, companyID int64, in ContactInput) (*Contact, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	t := now()
	c := &Contact{CompanyID: companyID, Name: in.Name, Email: in.Email, Phone: in.Phone, Title: in.Title, CreatedAt: t, UpdatedAt: t, Author: authorOf(u)}
	err := s.onCompany(ctx, u, companyID, func(tx *Tx, co *Company) error {
		res, err := tx.Exec(`INSERT INTO contacts (workspace_id, company_id, name, email, phone, title, created_at, updated_at, author_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			co.WorkspaceID, co.ID, c.Name, c.Email, c.Phone, c.Title, t, t, c.AuthorID)
		if isUnique(err) {
			return errContactEmailTaken
		}
		if err != nil {
			return err
		}
		c.ID, _ = res.LastInsertId()
		if err := tx.record(u, co.WorkspaceID, co.ID, ActivityContactCreated, c.ID, said(u, "added a contact", cmp.Or(c.Name, c.Email))); err != nil {
			return err
		}
		return tx.queue(co.WorkspaceID, OutboxContact, c.ID)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Contact returns a contact u may see.
func (s *Store) Contact(ctx context.Context, u *User, id int64) (*Contact, error) {
	if _, err := s.itemCompany(ctx, s.r, u, "contacts", id); err != nil {
		return nil, err
	}
	c := &Contact{}
	err := scanContact(scanPlus{s.r.QueryRowContext(ctx, `SELECT `+contactCols+`, `+authorCols("author_id")+` FROM contacts WHERE id = ?`, id), []any{&c.AuthorID, &c.AuthorName}}, c)
	return c, err
}

// UpdateContact replaces a contact's fields.
func (s *Store) UpdateContact(ctx context.Context, u *User, id int64, in ContactInput) (*Contact, error) {
	return s.ChangeContact(ctx, u, id, func(*Contact) (ContactInput, error) { return in, nil })
}

// ChangeContact edits a contact with what change makes of it as it is
// (changeItem).
func (s *Store) ChangeContact(ctx context.Context, u *User, id int64, change func(cur *Contact) (ContactInput, error)) (*Contact, error) {
	err := changeItem(ctx, s, u, TypeContact, id, contactCols, scanContact, change, func(tx *Tx, ws int64, in ContactInput) error {
		_, err := tx.Exec(`UPDATE contacts SET name = ?, email = ?, phone = ?, title = ?, updated_at = ? WHERE id = ?`,
			in.Name, in.Email, in.Phone, in.Title, now(), id)
		if isUnique(err) {
			return errContactEmailTaken
		}
		if err != nil {
			return err
		}
		return tx.queue(ws, OutboxContact, id)
	})
	if err != nil {
		return nil, err
	}
	return s.Contact(ctx, u, id)
}

// AddLink adds a link to a company.
func (s *Store) AddLink(ctx context.Context, u *User, companyID int64, in LinkInput) (*Link, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	t := now()
	l := &Link{CompanyID: companyID, Title: in.Title, URL: in.URL, CreatedAt: t, UpdatedAt: t, Author: authorOf(u)}
	err := s.onCompany(ctx, u, companyID, func(tx *Tx, c *Company) error {
		res, err := tx.Exec(`INSERT INTO links (workspace_id, company_id, title, url, created_at, updated_at, author_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.WorkspaceID, c.ID, l.Title, l.URL, t, t, l.AuthorID)
		if err != nil {
			return err
		}
		l.ID, _ = res.LastInsertId()
		return tx.record(u, c.WorkspaceID, c.ID, ActivityLinkCreated, l.ID, said(u, "added a link", cmp.Or(l.Title, l.URL)))
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

const linkCols = "id, company_id, title, url, created_at, updated_at"

func scanLink(row interface{ Scan(...any) error }, l *Link) error {
	return row.Scan(&l.ID, &l.CompanyID, &l.Title, &l.URL, &l.CreatedAt, &l.UpdatedAt)
}

// input is the link as an edit would give it.
func (l *Link) input() LinkInput { return LinkInput{Title: l.Title, URL: l.URL} }

// Link returns a link u may see.
func (s *Store) Link(ctx context.Context, u *User, id int64) (*Link, error) {
	if _, err := s.itemCompany(ctx, s.r, u, "links", id); err != nil {
		return nil, err
	}
	l := &Link{}
	err := scanLink(scanPlus{s.r.QueryRowContext(ctx, `SELECT `+linkCols+`, `+authorCols("author_id")+` FROM links WHERE id = ?`, id), []any{&l.AuthorID, &l.AuthorName}}, l)
	return l, err
}

// UpdateLink replaces a link's fields.
func (s *Store) UpdateLink(ctx context.Context, u *User, id int64, in LinkInput) (*Link, error) {
	return s.ChangeLink(ctx, u, id, func(*Link) (LinkInput, error) { return in, nil })
}

// ChangeLink edits a link with what change makes of it as it is
// (changeItem).
func (s *Store) ChangeLink(ctx context.Context, u *User, id int64, change func(cur *Link) (LinkInput, error)) (*Link, error) {
	err := changeItem(ctx, s, u, TypeLink, id, linkCols, scanLink, change, func(tx *Tx, _ int64, in LinkInput) error {
		_, err := tx.Exec(`UPDATE links SET title = ?, url = ?, updated_at = ? WHERE id = ?`, in.Title, in.URL, now(), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Link(ctx, u, id)
}
