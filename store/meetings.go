package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Meeting is an e-mail, call, visit... with a client, on its company's
// timeline and in the meetings list.
type Meeting struct {
	ID        int64  `json:"id"`
	CompanyID int64  `json:"company_id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Subject   string `json:"subject"`
	Details   string `json:"details"` // Markdown
	StartsAt  int64  `json:"starts_at"`
	EndsAt    *int64 `json:"ends_at"`
	OwnerID   *int64 `json:"owner_id"`
	CreatedAt int64  `json:"created_at"`
	UpdatedAt int64  `json:"updated_at"`
	// AttendeeIDs are the contacts of the client who attend, ascending,
	// nil for none. A single meeting read or written carries them; the
	// meetings list leaves them out (FillAttendees).
	AttendeeIDs []int64 `json:"attendee_ids"`
	// AuthorName names the organiser, who added the meeting (OwnerID), as
	// other items name their author; filled with the attendees.
	AuthorName *string `json:"-"`
}

// MarshalJSON writes no attendees as [], which clients can iterate, while
// the store keeps nil for none: a meeting read alone then equals the same
// meeting in the list. Like every item it says who added it (author_id,
// author_name: the organiser).
func (m Meeting) MarshalJSON() ([]byte, error) {
	type plain Meeting
	if m.AttendeeIDs == nil {
		m.AttendeeIDs = []int64{}
	}
	return json.Marshal(struct {
		plain
		AuthorID   *int64  `json:"author_id"`
		AuthorName *string `json:"author_name"`
	}{plain(m), m.OwnerID, m.AuthorName})
}

// nameOrganisers sets AuthorName on the meetings from their workspace's
// user names in memory (authors.go).
func (s *Store) nameOrganisers(ctx context.Context, ws int64, meetings []*Meeting) error {
	names, err := s.userNameMap(ctx, ws, func(names map[int64]*string) bool {
		for _, m := range meetings {
			if m.OwnerID != nil && names[*m.OwnerID] == nil {
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, m := range meetings {
		if m.OwnerID != nil {
			m.AuthorName = names[*m.OwnerID]
		}
	}
	return nil
}

// Meeting statuses.
const (
	MeetingOpen   = "open"
	MeetingClosed = "closed"
)

// MeetingStatuses lists the statuses a meeting can have.
func MeetingStatuses() []string { return []string{MeetingOpen, MeetingClosed} }

// maxMeetingTime bounds every meeting timestamp (the end of year 9999):
// the Redis index writes times as 15 fixed-width digits.
const maxMeetingTime int64 = 253402300799999

// MeetingInput is what creating or editing a meeting takes.
type MeetingInput struct {
	Type     string `json:"type"`
	Status   string `json:"status"` // "" means open for a new meeting, unchanged for an edit
	Subject  string `json:"subject"`
	Details  string `json:"details"`
	StartsAt int64  `json:"starts_at"`
	EndsAt   *int64 `json:"ends_at"`
	// Room, when set, saves the live room's settings in the same
	// transaction; only the meeting's organiser or an admin may.
	Room *RoomInput `json:"room,omitempty"`
	// Attendees, when set, become the meeting's attendees (contacts of its
	// company). Unset is none for a new meeting and no change for an edit.
	Attendees *[]int64 `json:"attendee_ids,omitempty"`
}

// normalize checks in against the workspace's types; edit says whether an
// empty status means "unchanged".
func (in *MeetingInput) normalize(types []string, edit bool) error {
	in.Type = typeNamed(types, in.Type)
	in.Status = strings.ToLower(strings.TrimSpace(in.Status))
	in.Subject = strings.TrimSpace(in.Subject)
	p := Problems{}
	if !slices.Contains(types, in.Type) {
		p.Add("type", "Choose one of "+strings.Join(types, ", ")+".")
	}
	if in.Status == "" && !edit {
		in.Status = MeetingOpen
	}
	if in.Status != "" && !slices.Contains(MeetingStatuses(), in.Status) {
		p.Add("status", "Choose open or closed.")
	}
	checkLen(p, "subject", in.Subject, 1, 200)
	checkLen(p, "details", in.Details, 0, 20000)
	if in.StartsAt <= 0 || in.StartsAt > maxMeetingTime {
		p.Add("starts_at", "Enter the date and time of the meeting.")
	}
	if in.EndsAt != nil {
		switch {
		case *in.EndsAt <= 0 || *in.EndsAt > maxMeetingTime:
			p.Add("ends_at", "Enter a valid end date and time, or none.")
		case *in.EndsAt < in.StartsAt:
			p.Add("ends_at", "The meeting cannot end before it starts.")
		}
	}
	if in.Room != nil {
		in.Room.check(p)
	}
	if in.Attendees != nil && len(*in.Attendees) > maxAttendees {
		p.Add("attendee_ids", fmt.Sprintf("Choose at most %d attendees.", maxAttendees))
	}
	return p.Err()
}

// maxAttendees caps a meeting's attendees: setAttendees checks them in one
// statement, which SQLite refuses beyond 32766 variables, and no meeting
// of a client's contacts needs more.
const maxAttendees = 200

// typeNamed is the meeting type of types that t names, whatever its case
// and surrounding spaces, or t trimmed when none does.
func typeNamed(types []string, t string) string {
	t = strings.TrimSpace(t)
	for _, name := range types {
		if strings.EqualFold(name, t) {
			return name
		}
	}
	return t
}

// meetingCols are the columns of a meeting, in scanMeeting's order;
// meetingColsM the same with the m. alias.
const (
	meetingCols  = "id, company_id, type, status, subject, details, starts_at, ends_at, owner_id, created_at, updated_at"
	meetingColsM = "m.id, m.company_id, m.type, m.status, m.subject, m.details, m.starts_at, m.ends_at, m.owner_id, m.created_at, m.updated_at"
)

func scanMeeting(row interface{ Scan(...any) error }, m *Meeting) error {
	return row.Scan(&m.ID, &m.CompanyID, &m.Type, &m.Status, &m.Subject, &m.Details, &m.StartsAt, &m.EndsAt, &m.OwnerID, &m.CreatedAt, &m.UpdatedAt)
}

var errMeetingNotFound = Errorf(ENotFound, "Meeting not found.")

// defaultMeetingTypes are a new workspace's meeting types. The first
// workspace got them from migrations/002_meetings.sql, which, being
// applied history, cannot read this list.
var defaultMeetingTypes = []string{"email", "sms", "call", "video", "in-person"}

// MeetingTypes returns the meeting types of u's workspace in the order
// they were added.
func (s *Store) MeetingTypes(ctx context.Context, u *User) ([]string, error) {
	return meetingTypes(ctx, s.r, u.WorkspaceID)
}

func meetingTypes(ctx context.Context, q querier, ws int64) ([]string, error) {
	return queryColumn[string](ctx, q, `SELECT name FROM meeting_types WHERE workspace_id = ? ORDER BY id`, ws)
}

// AddMeetingType adds a meeting type to the admin's workspace and returns
// its name as stored: as entered, with runs of spaces made one. People see
// the name as it is ("SMS", "In-person demo"), so it keeps its case; a
// name that differs from another only in case is the same type.
func (s *Store) AddMeetingType(ctx context.Context, admin *User, name string) (string, error) {
	if !admin.IsAdmin() {
		return "", Errorf(EForbidden, "Only an admin can add meeting types.")
	}
	name = strings.Join(strings.Fields(name), " ")
	if !validTypeName(name) {
		return "", &Error{Code: EInvalid, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"name": "Use up to 32 letters, digits, spaces or hyphens, starting with a letter or digit."}}
	}
	exists := &Error{Code: EConflict, Message: "That meeting type exists.", Fields: map[string]string{"name": "That meeting type exists."}}
	err := s.tx(ctx, func(tx *Tx) error {
		types, err := meetingTypes(ctx, tx, admin.WorkspaceID)
		if err != nil {
			return err
		}
		for _, t := range types {
			if strings.EqualFold(t, name) {
				return exists
			}
		}
		_, err = tx.Exec(`INSERT INTO meeting_types (workspace_id, name, created_at) VALUES (?, ?, ?)`, admin.WorkspaceID, name, now())
		if isUnique(err) {
			return exists
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return name, nil
}

// validTypeName accepts what may stand in a Redis key between colons (no
// colons, no braces that could pass for a hash tag) and in a URL's query.
func validTypeName(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > 32 || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == ' ' || c == '-') {
			return false
		}
	}
	return true
}

// CreateMeeting adds a meeting to a company u may see; u is its owner.
func (s *Store) CreateMeeting(ctx context.Context, u *User, companyID int64, in MeetingInput) (*Meeting, error) {
	var m *Meeting
	err := s.onCompany(ctx, u, companyID, func(tx *Tx, c *Company) error {
		types, err := meetingTypes(ctx, tx, c.WorkspaceID)
		if err != nil {
			return err
		}
		if err := in.normalize(types, false); err != nil {
			return err
		}
		t := now()
		m = &Meeting{CompanyID: c.ID, Type: in.Type, Status: in.Status, Subject: in.Subject, Details: in.Details,
			StartsAt: in.StartsAt, EndsAt: in.EndsAt, CreatedAt: t, UpdatedAt: t}
		if u.ID > 0 { // system writers (the demo loader) are nobody
			m.OwnerID = &u.ID
			m.AuthorName = authorOf(u).AuthorName
		}
		res, err := tx.Exec(`INSERT INTO meetings (workspace_id, company_id, owner_id, type, status, subject, details, starts_at, ends_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.WorkspaceID, c.ID, m.OwnerID, m.Type, m.Status, m.Subject, m.Details, m.StartsAt, m.EndsAt, t, t)
		if err != nil {
			return err
		}
		m.ID, _ = res.LastInsertId()
		var attendees []int64
		if in.Attendees != nil {
			attendees = *in.Attendees
		}
		if err := setAttendees(ctx, tx, m, attendees); err != nil {
			return err
		}
		if err := setMeetingRoom(ctx, tx, u, c.WorkspaceID, m, in.Room); err != nil {
			return err
		}
		if err := tx.record(u, c.WorkspaceID, c.ID, ActivityMeetingCreated, m.ID, said(u, "added a meeting", m.Subject)); err != nil {
			return err
		}
		return tx.queue(c.WorkspaceID, OutboxMeeting, m.ID)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Meeting returns a meeting u may see, with its attendees; any other id is
// ENotFound.
func (s *Store) Meeting(ctx context.Context, u *User, id int64) (*Meeting, error) {
	m, err := s.meeting(ctx, s.r, u, id)
	if err != nil {
		return nil, err
	}
	attendees, err := attendeesOf(ctx, s.r, u, []int64{m.ID})
	if err != nil {
		return nil, err
	}
	if err := s.nameOrganisers(ctx, u.WorkspaceID, []*Meeting{m}); err != nil {
		return nil, err
	}
	m.AttendeeIDs = idsOf(attendees[m.ID])
	return m, nil
}

func (s *Store) meeting(ctx context.Context, q querier, u *User, id int64) (*Meeting, error) {
	cond, args := visible(u, "c")
	m := &Meeting{}
	err := scanMeeting(q.QueryRowContext(ctx, `SELECT `+meetingColsM+` FROM meetings m JOIN companies c ON c.id = m.company_id
		WHERE m.id = ? AND `+cond, append([]any{id}, args...)...), m)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errMeetingNotFound
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// UpdateMeeting edits a meeting u may see. An empty in.Status keeps the
// status. The company of a meeting never changes.
func (s *Store) UpdateMeeting(ctx context.Context, u *User, id int64, in MeetingInput) (*Meeting, error) {
	return s.ChangeMeeting(ctx, u, id, func(*Meeting) (MeetingInput, error) { return in, nil })
}

// ChangeMeeting is UpdateMeeting with what change makes of the meeting.
// change gets the meeting as it is, read in the transaction that writes
// its answer, so that a partial update (PATCH) cannot undo a write made
// meanwhile.
func (s *Store) ChangeMeeting(ctx context.Context, u *User, id int64, change func(cur *Meeting) (MeetingInput, error)) (*Meeting, error) {
	return s.editMeeting(ctx, u, id, func(tx *Tx, m *Meeting) (bool, error) {
		cur := *m
		in, err := change(&cur)
		if err != nil {
			return false, err
		}
		types, err := meetingTypes(ctx, tx, u.WorkspaceID)
		if err != nil {
			return false, err
		}
		if err := in.normalize(types, true); err != nil {
			return false, err
		}
		if in.Status == "" {
			in.Status = m.Status
		}
		m.Type, m.Status, m.Subject, m.Details, m.StartsAt, m.EndsAt = in.Type, in.Status, in.Subject, in.Details, in.StartsAt, in.EndsAt
		changed := false
		if in.Attendees != nil {
			had, err := queryColumn[int64](ctx, tx, `SELECT contact_id FROM meeting_attendees WHERE meeting_id = ? ORDER BY contact_id`, m.ID)
			if err != nil {
				return false, err
			}
			if !slices.Equal(sortedUnique(*in.Attendees), had) {
				if err := setAttendees(ctx, tx, m, *in.Attendees); err != nil {
					return false, err
				}
				changed = true
			}
		}
		if in.Room != nil {
			same, err := roomIs(ctx, tx, m.ID, *in.Room)
			if err != nil || same {
				return changed, err
			}
			changed = true
		}
		return changed, setMeetingRoom(ctx, tx, u, u.WorkspaceID, m, in.Room)
	})
}

// roomIs reports whether meeting meetingID has a room with the settings
// in (normalised).
func roomIs(ctx context.Context, tx *Tx, meetingID int64, in RoomInput) (bool, error) {
	var access, video string
	err := tx.QueryRow(`SELECT access, video_url FROM rooms WHERE meeting_id = ?`, meetingID).Scan(&access, &video)
	if isNoRows(err) {
		// No room yet reads as a public one without a link (roomCols),
		// and so the form shows it.
		access, video, err = AccessPublic, "", nil
	}
	if err != nil {
		return false, err
	}
	if access != in.Access || video != in.VideoURL {
		return false, nil
	}
	audience, err := queryColumn[string](ctx, tx, `SELECT email FROM room_audience WHERE meeting_id = ? ORDER BY email`, meetingID)
	return slices.Equal(audience, slices.Sorted(slices.Values(in.Audience))), err
}

// setMeetingRoom saves the room settings that came with a meeting, when
// any did: the organiser's or an admin's to give.
func setMeetingRoom(ctx context.Context, tx *Tx, u *User, ws int64, m *Meeting, in *RoomInput) error {
	if in == nil {
		return nil
	}
	if !u.IsAdmin() && (m.OwnerID == nil || *m.OwnerID != u.ID) {
		return errNotOrganiser
	}
	if _, err := tx.Exec(`INSERT OR IGNORE INTO rooms (meeting_id, workspace_id) VALUES (?, ?)`, m.ID, ws); err != nil {
		return err
	}
	return saveRoom(ctx, tx, m.ID, *in)
}

// SetMeetingStatus closes (MeetingClosed) or reopens (MeetingOpen) a
// meeting u may see.
func (s *Store) SetMeetingStatus(ctx context.Context, u *User, id int64, status string) (*Meeting, error) {
	status = strings.ToLower(strings.TrimSpace(status))
	if !slices.Contains(MeetingStatuses(), status) {
		return nil, &Error{Code: EInvalid, Message: "Unknown status.", Fields: map[string]string{"status": "Choose open or closed."}}
	}
	return s.editMeeting(ctx, u, id, func(tx *Tx, m *Meeting) (bool, error) {
		m.Status = status
		return false, nil
	})
}

// editMeeting loads meeting id if u may see it, lets fn change it, and
// writes it back with an updated_at later than the one it had, so that the
// Redis apply can tell a newer version from an older one. fn reports
// whether it changed what is not in the meeting's row (its attendees, its
// room); when it did not, and the row is as it was, nothing is written or
// recorded.
func (s *Store) editMeeting(ctx context.Context, u *User, id int64, fn func(tx *Tx, m *Meeting) (changed bool, err error)) (*Meeting, error) {
	var m *Meeting
	err := s.tx(ctx, func(tx *Tx) error {
		var err error
		if m, err = s.meeting(ctx, tx, u, id); err != nil {
			return err
		}
		was := *m
		changed, err := fn(tx, m)
		if err != nil {
			return err
		}
		attendees, err := attendeesOf(ctx, tx, u, []int64{m.ID})
		if err != nil {
			return err
		}
		m.AttendeeIDs = idsOf(attendees[m.ID])
		if !changed && m.sameRow(&was) {
			return nil
		}
		kind, did := ActivityMeetingUpdated, "changed the meeting"
		switch {
		case was.Status != m.Status && m.Status == MeetingClosed:
			kind, did = ActivityMeetingClosed, "closed the meeting"
		case was.Status != m.Status && m.Status == MeetingOpen:
			kind, did = ActivityMeetingReopened, "reopened the meeting"
		}
		if err := tx.record(u, u.WorkspaceID, m.CompanyID, kind, m.ID, said(u, did, m.Subject)); err != nil {
			return err
		}
		m.UpdatedAt = max(now(), m.UpdatedAt+1)
		if _, err := tx.Exec(`UPDATE meetings SET type = ?, status = ?, subject = ?, details = ?, starts_at = ?, ends_at = ?, updated_at = ? WHERE id = ?`,
			m.Type, m.Status, m.Subject, m.Details, m.StartsAt, m.EndsAt, m.UpdatedAt, m.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE companies SET updated_at = ? WHERE id = ?`, now(), m.CompanyID); err != nil {
			return err
		}
		return tx.queue(u.WorkspaceID, OutboxMeeting, m.ID)
	})
	if err == nil {
		err = s.nameOrganisers(ctx, u.WorkspaceID, []*Meeting{m})
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// sameRow reports whether m's editable columns are o's.
func (m *Meeting) sameRow(o *Meeting) bool {
	return m.Type == o.Type && m.Status == o.Status && m.Subject == o.Subject && m.Details == o.Details && m.StartsAt == o.StartsAt &&
		(m.EndsAt == nil) == (o.EndsAt == nil) && (m.EndsAt == nil || *m.EndsAt == *o.EndsAt)
}

// DeleteMeeting deletes a meeting u may see.
func (s *Store) DeleteMeeting(ctx context.Context, u *User, id int64) error {
	return s.tx(ctx, func(tx *Tx) error {
		m, err := s.meeting(ctx, tx, u, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM meetings WHERE id = ?`, m.ID); err != nil {
			return err
		}
		if err := tx.record(u, u.WorkspaceID, m.CompanyID, ActivityMeetingDeleted, m.ID, said(u, "deleted the meeting", m.Subject)); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE companies SET updated_at = ? WHERE id = ?`, now(), m.CompanyID); err != nil {
			return err
		}
		return tx.queue(u.WorkspaceID, OutboxMeeting, m.ID)
	})
}

// MeetingQuery selects a page of the meetings list.
type MeetingQuery struct {
	Types    []string // empty means every type
	Statuses []string // empty means every status
	// From and To bound the sort key, in unix ms: the meeting's start when
	// sorting by date, its last change when sorting by updated. From is
	// inclusive, To exclusive; 0 leaves that end open.
	From, To int64
	Sort     string // "date" (default) or "updated"
	Desc     bool
	Cursor   string // from a previous page's Next or Prev
	Limit    int    // default 25, at most 100
}

// MeetingPage is one page of the meetings list.
type MeetingPage struct {
	Items []Meeting `json:"items"`
	Next  string    `json:"next_cursor,omitempty"`
	Prev  string    `json:"prev_cursor,omitempty"`
	// Count is how many meetings match the query in all (not only from the
	// cursor on). The Redis index counts exactly; the SQLite fallback says
	// -1 past meetingCountCap.
	Count int64 `json:"count"`
}

// MeetingCursor is the keyset position of a page boundary: the sort key
// (start or last change) and id of a meeting, and the direction to read.
type MeetingCursor struct {
	S    string `json:"s"` // the sort it was issued for
	N    int64  `json:"n"`
	ID   int64  `json:"id"`
	Back bool   `json:"b,omitempty"`
}

// PreparedMeetingQuery is a MeetingQuery that has been checked and
// resolved: what the SQLite path and the Redis index (package meetindex)
// both answer.
type PreparedMeetingQuery struct {
	MeetingQuery
	WS       int64
	TypeIn   []string       // the types asked for, or all of them
	StatusIn []string       // likewise the statuses
	At       *MeetingCursor // where the page starts, if anywhere
	ReadDesc bool           // the direction rows are read in: Desc, flipped for Back
}

// meetingCountCap is how far the SQLite path counts; past it, Count is -1.
const meetingCountCap = 1000

// PrepareMeetingQuery checks q for u and resolves its defaults.
func (s *Store) PrepareMeetingQuery(ctx context.Context, u *User, q MeetingQuery) (*PreparedMeetingQuery, error) {
	all, err := s.MeetingTypes(ctx, u)
	if err != nil {
		return nil, err
	}
	p := Problems{}
	mq := &PreparedMeetingQuery{MeetingQuery: q, WS: u.WorkspaceID}
	seen := map[string]bool{}
	for _, t := range q.Types {
		t = typeNamed(all, t)
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		if !slices.Contains(all, t) {
			p.Add("type", "Choose among "+strings.Join(all, ", ")+".")
			continue
		}
		mq.TypeIn = append(mq.TypeIn, t)
	}
	if len(mq.TypeIn) == 0 {
		mq.TypeIn = all
	}
	seenStatus := map[string]bool{}
	for _, st := range q.Statuses {
		st = strings.ToLower(strings.TrimSpace(st))
		if st == "" || seenStatus[st] {
			continue
		}
		seenStatus[st] = true
		if !slices.Contains(MeetingStatuses(), st) {
			p.Add("status", "Choose open, closed or both.")
			continue
		}
		mq.StatusIn = append(mq.StatusIn, st)
	}
	if len(mq.StatusIn) == 0 {
		mq.StatusIn = MeetingStatuses()
	}
	switch q.Sort {
	case "", "date":
		mq.Sort = "date"
	case "updated":
	default:
		p.Add("sort", "Sort by date or updated.")
	}
	if q.From < 0 || q.From > maxMeetingTime {
		p.Add("from", "Enter a valid date.")
	}
	if q.To < 0 || q.To > maxMeetingTime+1 {
		p.Add("to", "Enter a valid date.")
	} else if q.To > 0 && q.To <= q.From {
		p.Add("to", "The end of the range must be after its start.")
	}
	checkLimit(p, &mq.Limit, 25, 100)
	if q.Cursor != "" {
		c := &MeetingCursor{}
		err := decodeCursor(q.Cursor, c)
		if err == nil && (c.S != mq.Sort || c.ID <= 0 || c.N < 0 || c.N > maxMeetingTime) {
			err = decodeCursor("!", c) // the same answer as for garbage
		}
		if err != nil {
			p.Add("cursor", ErrorFields(err)["cursor"])
		}
		mq.At = c
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	mq.ReadDesc = q.Desc
	if mq.At != nil && mq.At.Back {
		mq.ReadDesc = !mq.ReadDesc
	}
	return mq, nil
}

// sortValue is the sort key of m under sort.
func sortValue(m *Meeting, sort string) int64 {
	if sort == "updated" {
		return m.UpdatedAt
	}
	return m.StartsAt
}

// MeetingIndex is the meetings list kept in Redis (package meetindex). The
// store hands it committed outbox rows, asks it to rebuild with the rest of
// the derived state, and asks it first for a page of meetings, checking
// what it answers against SQLite.
type MeetingIndex interface {
	// Apply brings the index in line with the rows of kinds OutboxMeeting,
	// OutboxUserClients and OutboxCompany among items, and ignores others.
	Apply(ctx context.Context, items []OutboxItem) error
	// Rebuild rewrites workspace ws's index from SQLite.
	Rebuild(ctx context.Context, ws int64) error
	// List answers q for u; ready is false when the index is not complete.
	List(ctx context.Context, u *User, q *PreparedMeetingQuery) (page *MeetingPage, ready bool, err error)
}

// UseMeetingIndex makes x the meetings index: fed from the outbox, rebuilt
// with the client sets, asked before SQLite.
func (s *Store) UseMeetingIndex(x MeetingIndex) {
	s.meetings = x
	s.OnRebuild(x.Rebuild)
}

// ListMeetings returns a page of the meetings u may see, filtered by type,
// status and date range, newest or oldest first. It is answered from the
// Redis index when that is complete, and otherwise, or when Redis fails,
// from SQLite: the same rows in the same order either way, and never a
// meeting of a client u does not have.
func (s *Store) ListMeetings(ctx context.Context, u *User, q MeetingQuery) (*MeetingPage, error) {
	page, err := s.listMeetings(ctx, u, q)
	if err != nil {
		return nil, err
	}
	named := make([]*Meeting, len(page.Items))
	for i := range page.Items {
		named[i] = &page.Items[i]
	}
	return page, s.nameOrganisers(ctx, u.WorkspaceID, named)
}

func (s *Store) listMeetings(ctx context.Context, u *User, q MeetingQuery) (*MeetingPage, error) {
	mq, err := s.PrepareMeetingQuery(ctx, u, q)
	if err != nil {
		return nil, err
	}
	if s.rdb != nil && s.meetings != nil {
		page, ready, err := s.meetings.List(ctx, u, mq)
		switch {
		case err != nil:
			// Per request, so not above Debug: the relay reports Redis
			// trouble every round.
			s.log.Debug("meetings list: redis failed; answering from sqlite", "err", err)
		case !ready:
			s.rebuildSoon(u.WorkspaceID)
		default:
			ok, err := s.stillVisible(ctx, u, page.Items)
			if err != nil {
				return nil, err
			}
			if ok {
				return page, nil
			}
			s.log.Warn("meetings list: redis lists a client the user no longer has; answering from sqlite", "user", u.ID)
			s.dropGeneration(ctx, u.WorkspaceID)
		}
	}
	return s.listMeetingsSQL(ctx, u, mq)
}

// stillVisible reports whether u may see the companies of every meeting in
// items, by SQLite. The index follows user_clients through the outbox, and
// a Redis that refuses writes keeps a client taken away in it, for this
// process and for others that know nothing of the failed write. Admins
// see every company of the workspace, which is the index's own scope.
func (s *Store) stillVisible(ctx context.Context, u *User, items []Meeting) (bool, error) {
	if u.IsAdmin() || len(items) == 0 {
		return true, nil
	}
	ids := make([]int64, 0, len(items))
	for _, m := range items {
		if !slices.Contains(ids, m.CompanyID) {
			ids = append(ids, m.CompanyID)
		}
	}
	seen, err := s.CompaniesByID(ctx, u, ids)
	return len(seen) == len(ids), err
}

// ListMeetingsSQL answers ListMeetings from SQLite alone. It is the
// fallback while Redis is not ready, and the reference the Redis index is
// tested against.
func (s *Store) ListMeetingsSQL(ctx context.Context, u *User, q MeetingQuery) (*MeetingPage, error) {
	mq, err := s.PrepareMeetingQuery(ctx, u, q)
	if err != nil {
		return nil, err
	}
	return s.listMeetingsSQL(ctx, u, mq)
}

func (s *Store) listMeetingsSQL(ctx context.Context, u *User, q *PreparedMeetingQuery) (*MeetingPage, error) {
	col, pos := "m.starts_at", "7" // pos: the column's place in meetingColsM
	if q.Sort == "updated" {
		col, pos = "m.updated_at", "11"
	}
	op, dir := ">", "ASC"
	if q.ReadDesc {
		op, dir = "<", "DESC"
	}
	// cond is what every row must meet besides its type and status: visible
	// to u (which also scopes it to the workspace) and in the range; page
	// adds the cursor.
	cond, args := visible(u, "c")
	if q.From > 0 {
		cond += ` AND ` + col + ` >= ?`
		args = append(args, q.From)
	}
	if q.To > 0 {
		cond += ` AND ` + col + ` < ?`
		args = append(args, q.To)
	}
	page, pageArgs := cond, args[:len(args):len(args)]
	if q.At != nil {
		page += ` AND (` + col + `, m.id) ` + op + ` (?, ?)`
		pageArgs = append(pageArgs, q.At.N, q.At.ID)
	}
	order := ` ORDER BY ` + col + ` ` + dir + `, m.id ` + dir
	in := ` AND m.type IN (` + placeholders(len(q.TypeIn)) + `) AND m.status IN (` + placeholders(len(q.StatusIn)) + `)`
	var inArgs []any
	for _, t := range q.TypeIn {
		inArgs = append(inArgs, t)
	}
	for _, st := range q.StatusIn {
		inArgs = append(inArgs, st)
	}
	// A staff user's rows can be read from their clients through the
	// covering meetings_client index (cost: all their meetings' index
	// entries) or by walking each type and status in order until a page is
	// visible (cost: a page divided by their share of the workspace, each
	// row a table lookup). The cheaper way is taken; admins always walk.
	// A staff user's count always comes from their clients.
	const byClientFrom = ` FROM ` + staffClientsFrom + ` CROSS JOIN meetings m ON m.company_id = c.id WHERE ` + staffClientsCond + ` AND `
	byClient := false
	countFrom, countArgs := ` FROM meetings m JOIN companies c ON c.id = m.company_id WHERE m.workspace_id = ? AND `, []any{q.WS}
	if !u.IsAdmin() {
		var clients, companies, meetings float64
		if err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM user_clients WHERE user_id = ?),
			(SELECT coalesce(max(id), 1) FROM companies), (SELECT coalesce(max(id), 0) FROM meetings)`, u.ID).Scan(&clients, &companies, &meetings); err != nil {
			return nil, err
		}
		walk := float64(len(q.TypeIn)*len(q.StatusIn)*(q.Limit+1)) * companies / max(clients, 1)
		byClient = clients*meetings/companies <= 4*walk
		countFrom, countArgs = byClientFrom, staffClientsArgs(u)
	}
	res := &MeetingPage{Items: []Meeting{}}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1`+countFrom+cond+in+` LIMIT ?)`,
		concat(countArgs, args, inArgs, []any{meetingCountCap + 1})...).Scan(&res.Count); err != nil {
		return nil, err
	}
	if res.Count > meetingCountCap {
		res.Count = -1
	}
	var query string
	var qargs []any
	if byClient {
		// Sort the ids in the index, then fetch the page's rows only.
		query = `SELECT ` + meetingColsM + ` FROM meetings m WHERE m.id IN (SELECT m.id` + byClientFrom + page + in + order + ` LIMIT ?)` + order
		qargs = concat(staffClientsArgs(u), pageArgs, inArgs, []any{q.Limit + 1})
	} else {
		// One arm per type and status, each read in index order from the
		// cursor and cut at a page; SQLite merges them.
		for _, t := range q.TypeIn {
			for _, st := range q.StatusIn {
				if query != "" {
					query += ` UNION ALL `
				}
				query += `SELECT * FROM (SELECT ` + meetingColsM + ` FROM meetings m JOIN companies c ON c.id = m.company_id
					WHERE m.workspace_id = ? AND m.type = ? AND m.status = ? AND ` + page + order + ` LIMIT ?)`
				qargs = concat(qargs, []any{q.WS, t, st}, pageArgs, []any{q.Limit + 1})
			}
		}
		query += ` ORDER BY ` + pos + ` ` + dir + `, 1 ` + dir + ` LIMIT ?`
		qargs = append(qargs, q.Limit+1)
	}
	rows, err := s.r.QueryContext(ctx, query, qargs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m Meeting
		if err := scanMeeting(rows, &m); err != nil {
			return nil, err
		}
		res.Items = append(res.Items, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	more := len(res.Items) > q.Limit
	if more {
		res.Items = res.Items[:q.Limit]
	}
	keys := make([]MeetingKey, len(res.Items))
	for i := range res.Items {
		keys[i] = MeetingKey{N: sortValue(&res.Items[i], q.Sort), ID: res.Items[i].ID}
	}
	q.Finish(res, keys, more)
	return res, nil
}

func concat(parts ...[]any) []any {
	var out []any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// MeetingKey is a meeting's position in a sorted list.
type MeetingKey struct{ N, ID int64 }

// Finish puts the page in display order and sets its cursors. keys are the
// positions of the items as read (in q.ReadDesc order); more says whether more
// rows followed them.
func (q *PreparedMeetingQuery) Finish(page *MeetingPage, keys []MeetingKey, more bool) {
	back := q.At != nil && q.At.Back
	if back {
		slices.Reverse(page.Items)
		slices.Reverse(keys)
	}
	if len(keys) == 0 {
		return
	}
	at := func(k MeetingKey, back bool) string {
		return encodeCursor(MeetingCursor{S: q.Sort, N: k.N, ID: k.ID, Back: back})
	}
	// Forward: a next page exists if we over-read, a previous one if we
	// came from a cursor. Backward: the mirror image.
	if (!back && more) || (back && q.At != nil) {
		page.Next = at(keys[len(keys)-1], false)
	}
	if (!back && q.At != nil) || (back && more) {
		page.Prev = at(keys[0], true)
	}
}
