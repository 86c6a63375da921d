package store

import (
	"context"
	"fmt"
	"math"
	"strings"
)

// Activity kinds: what happened, as "<thing>.<change>". They are stored,
// sent over the API and read by the notification pipeline, so they never
// change once released.
const (
	ActivityCompanyCreated   = "company.created"
	ActivityCompanyUpdated   = "company.updated"
	ActivityCompanyDeleted   = "company.deleted" // ref: the company's id; no company (it is gone)
	ActivityNoteCreated      = "note.created"
	ActivityNoteUpdated      = "note.updated"
	ActivityNoteDeleted      = "note.deleted"
	ActivityContactCreated   = "contact.created"
	ActivityContactUpdated   = "contact.updated"
	ActivityContactDeleted   = "contact.deleted"
	ActivityLinkCreated      = "link.created"
	ActivityLinkUpdated      = "link.updated"
	ActivityLinkDeleted      = "link.deleted"
	ActivityMeetingCreated   = "meeting.created"
	ActivityMeetingUpdated   = "meeting.updated"
	ActivityMeetingDeleted   = "meeting.deleted"
	ActivityMeetingClosed    = "meeting.closed"
	ActivityMeetingReopened  = "meeting.reopened"
	ActivityRoomHeld         = "room.held"         // ref: meeting id
	ActivityClientAssigned   = "client.assigned"   // ref: the staff user's id
	ActivityClientUnassigned = "client.unassigned" // ref: the staff user's id
	ActivityImportFinished   = "import.finished"   // ref: bulk action id; no company
)

// ActivityCompanyOwnerChanged is a company given another owner (ref: the
// new owner's id, 0 for nobody).
const ActivityCompanyOwnerChanged = "company.owner_changed"

// OutboxActivity rows (ref: activity id) hand each committed activity to
// the notification pipeline (Store.ActivitySink).
const OutboxActivity = "activity"

// Activity is one change a person (or, with no actor, the system) made to
// a client.
type Activity struct {
	ID          int64  `json:"id"`
	WorkspaceID int64  `json:"workspace_id"`
	CompanyID   *int64 `json:"company_id"` // nil for an import or a deleted company
	CompanyName string `json:"company_name,omitempty"`
	ActorID     *int64 `json:"actor_id"` // nil for the system
	Kind        string `json:"kind"`
	RefID       int64  `json:"ref_id"`
	Summary     string `json:"summary"`
	CreatedAt   int64  `json:"created_at"`
}

// ActivitySink takes committed activities (outbox rows of kind
// OutboxActivity) after their transaction commits: the notification
// pipeline. It must be idempotent, like every outbox applier: the relay
// may hand it a row twice.
type ActivitySink interface {
	ApplyActivities(ctx context.Context, items []OutboxItem) error
}

// record writes an activity and its outbox row in the transaction of the
// change it describes. u is the actor; a system writer (ID 0) is none.
// companyID 0 means no company (an import).
func (t *Tx) record(u *User, ws, companyID int64, kind string, ref int64, summary string) error {
	var company, actor *int64
	if companyID > 0 {
		company = &companyID
	}
	if u != nil && u.ID > 0 {
		actor = &u.ID
	}
	res, err := t.Exec(`INSERT INTO activities (workspace_id, company_id, actor_id, kind, ref_id, summary, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ws, company, actor, kind, ref, summary, now())
	if err != nil {
		return err
	}
	id, _ := res.LastInsertId()
	return t.queue(ws, OutboxActivity, id)
}

// said is an activity's summary: who did what to the thing named label,
// as in `Alice added a note “Pricing call”`.
func said(u *User, did, label string) string {
	return actorName(u) + " " + did + " “" + shortLabel(label) + "”"
}

// actorName is how a summary names its actor.
func actorName(u *User) string {
	if u == nil || u.ID <= 0 || u.Name == "" {
		return "Rolodex"
	}
	return u.Name
}

// shortLabel keeps a summary short: titles are cut at 80 characters.
func shortLabel(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 80 {
		return string(r[:79]) + "…"
	}
	return s
}

// ActivityQuery selects a page of activity, newest first.
type ActivityQuery struct {
	CompanyID int64  // 0: every company the viewer may see (and imports, for admins)
	NotBy     int64  // leave out what this user did (0: leave nothing out)
	Cursor    string // from a previous page's Next
	Limit     int    // 1 to 200; 0 means 50
}

// ActivityPage is one page of activity and the cursor to the next, "" at
// the end.
type ActivityPage struct {
	Items []Activity `json:"items"`
	Next  string     `json:"next_cursor,omitempty"`
}

const activityCols = `a.id, a.workspace_id, a.company_id, coalesce(c.name, ''), a.actor_id, a.kind, a.ref_id, a.summary, a.created_at`

func scanActivity(row interface{ Scan(...any) error }, a *Activity) error {
	return row.Scan(&a.ID, &a.WorkspaceID, &a.CompanyID, &a.CompanyName, &a.ActorID, &a.Kind, &a.RefID, &a.Summary, &a.CreatedAt)
}

// Activities returns a page of the activity u may see: on one company
// (ENotFound when u may not see it), or on all of u's clients. Import
// activities concern no one client and are shown to admins only.
func (s *Store) Activities(ctx context.Context, u *User, q ActivityQuery) (*ActivityPage, error) {
	if q.Limit == 0 {
		q.Limit = 50
	}
	if q.Limit < 1 || q.Limit > 200 {
		return nil, &Error{Code: EInvalid, Message: "Ask for 1 to 200 items.", Fields: map[string]string{"limit": "Use a number from 1 to 200."}}
	}
	before := int64(math.MaxInt64)
	if q.Cursor != "" {
		var cur listCursor
		if err := decodeCursor(q.Cursor, &cur); err != nil || cur.ID <= 0 {
			return nil, errBadCursor()
		}
		before = cur.ID
	}
	notBy, notByArgs := "", []any{}
	if q.NotBy > 0 {
		notBy, notByArgs = ` AND (a.actor_id IS NULL OR a.actor_id <> ?)`, []any{q.NotBy}
	}
	// read replaces the page's rows with the answer to query and says how
	// many there are.
	page := &ActivityPage{Items: []Activity{}}
	read := func(query string, args ...any) (int, error) {
		page.Items = page.Items[:0]
		err := queryEach(ctx, s.r, scanActivity, func(a *Activity) error { page.Items = append(page.Items, *a); return nil }, query, args...)
		return len(page.Items), err
	}
	var err error
	switch {
	case q.CompanyID > 0:
		if _, err := s.company(ctx, s.r, u, q.CompanyID); err != nil {
			return nil, err
		}
		_, err = read(`SELECT `+activityCols+` FROM activities a JOIN companies c ON c.id = a.company_id
			WHERE a.company_id = ? AND a.id < ?`+notBy+` ORDER BY a.id DESC LIMIT ?`,
			concat([]any{q.CompanyID, before}, notByArgs, []any{q.Limit + 1})...)
	case u.IsAdmin():
		_, err = read(`SELECT `+activityCols+` FROM activities a LEFT JOIN companies c ON c.id = a.company_id
			WHERE a.workspace_id = ? AND a.id < ?`+notBy+` ORDER BY a.id DESC LIMIT ?`,
			concat([]any{u.WorkspaceID, before}, notByArgs, []any{q.Limit + 1})...)
	default:
		err = s.staffActivities(ctx, u, q, before, notBy, notByArgs, read)
	}
	if err != nil {
		return nil, err
	}
	if len(page.Items) > q.Limit {
		page.Items = page.Items[:q.Limit]
		page.Next = encodeCursor(listCursor{ID: page.Items[q.Limit-1].ID})
	}
	return page, nil
}

// activityWalk is how many of the workspace's newest activities a staff
// user's feed reads before it looks client by client instead.
var activityWalk = 2000 // a variable for tests

// staffActivities reads a page (Limit+1 rows) of the activity on a staff
// user's clients into page through read, one of two ways. Walking the
// workspace's activity newest first and keeping their clients' costs the
// rows walked: cheap while their clients are a fair share of what
// happens. Taking each client's newest page from its index and merging
// them costs their clients times the page, however quiet those clients
// are. A user with few clients goes client by client; the others walk up
// to activityWalk rows, and only a walk that ends short of a page with
// rows left unread is answered client by client.
func (s *Store) staffActivities(ctx context.Context, u *User, q ActivityQuery, before int64, notBy string, notByArgs []any, read func(string, ...any) (int, error)) error {
	var clients int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM user_clients WHERE user_id = ?`, u.ID).Scan(&clients); err != nil {
		return err
	}
	if clients*(q.Limit+1) > activityWalk {
		// The walk ends at the activityWalk-th row from the cursor, or
		// at the workspace's oldest (floor 0).
		floor, err := queryColumn[int64](ctx, s.r, `SELECT id FROM activities WHERE workspace_id = ? AND id < ? ORDER BY id DESC LIMIT 1 OFFSET ?`,
			u.WorkspaceID, before, activityWalk-1)
		if err != nil {
			return err
		}
		floor = append(floor, 0)
		n, err := read(`SELECT `+activityCols+` FROM activities a CROSS JOIN companies c ON c.id = a.company_id
			WHERE a.workspace_id = ? AND a.id < ? AND a.id >= ?
			AND EXISTS (SELECT 1 FROM user_clients uc WHERE uc.user_id = ? AND uc.company_id = a.company_id)`+notBy+`
			ORDER BY a.id DESC LIMIT ?`,
			concat([]any{u.WorkspaceID, before, floor[0], u.ID}, notByArgs, []any{q.Limit + 1})...)
		if err != nil || n > q.Limit || floor[0] == 0 {
			return err
		}
	}
	// The ids are merged first (from the covering index), and only the
	// page's rows are read.
	_, err := read(`SELECT `+activityCols+` FROM activities a CROSS JOIN companies c ON c.id = a.company_id WHERE a.id IN (
		SELECT x.id FROM `+staffClientsFrom+`
		CROSS JOIN activities x ON x.id IN (SELECT a.id FROM activities a WHERE a.company_id = uc.company_id AND a.id < ?`+notBy+` ORDER BY a.id DESC LIMIT ?)
		WHERE `+staffClientsCond+` ORDER BY x.id DESC LIMIT ?) ORDER BY a.id DESC`,
		concat([]any{before}, notByArgs, []any{q.Limit + 1}, staffClientsArgs(u), []any{q.Limit + 1})...)
	return err
}

// ActivitiesByID returns the activities with the given ids that still
// exist (a deleted company takes its activity with it), for background
// jobs such as the notification pipeline: no viewer, no client security.
func (s *Store) ActivitiesByID(ctx context.Context, ids []int64) (map[int64]*Activity, error) {
	out := make(map[int64]*Activity, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		err := queryEach(ctx, s.r, scanActivity, func(a *Activity) error { out[a.ID] = a; return nil },
			`SELECT `+activityCols+` FROM activities a LEFT JOIN companies c ON c.id = a.company_id WHERE a.id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("activities by id: %w", err)
		}
	}
	return out, nil
}
