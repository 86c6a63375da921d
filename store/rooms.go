package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Live meeting rooms (seed 003). SQLite is the record of a room: its
// settings and state, who is in it, its events log and its chat. What is
// live (connections, due times, wake-ups) is in Redis and kept by package
// rooms, which calls the viewer-less functions at the end of this file.

// Room states and access modes.
const (
	RoomScheduled = "scheduled"
	RoomOpen      = "open"
	RoomEnded     = "ended"

	AccessPublic   = "public"
	AccessAudience = "audience"
)

// Room event kinds and the reasons a participant leaves.
const (
	EventOpened = "opened"
	EventJoined = "joined"
	EventLeft   = "left"
	EventEnded  = "ended"

	ReasonLeft         = "left"
	ReasonDisconnected = "disconnected"
	ReasonRemoved      = "removed"
	ReasonEnded        = "ended"
)

// defaultRoomLength is how long a room stays open for a meeting without an end.
const defaultRoomLength int64 = 3600000

// Chat limits: at most maxMessageRunes characters a message, and at most
// rateMessages messages from one participant in any rateWindow ms.
const (
	maxMessageRunes = 4000
	rateMessages    = 10
	rateWindow      = 10000
)

// Room is a meeting's live room as a viewer sees it.
type Room struct {
	MeetingID    int64         `json:"meeting_id"`
	WorkspaceID  int64         `json:"-"`
	CompanyID    int64         `json:"company_id"`
	Subject      string        `json:"subject"`
	OwnerID      *int64        `json:"owner_id"`
	Access       string        `json:"access"`
	VideoURL     string        `json:"video_url"`
	State        string        `json:"state"`
	OpensAt      int64         `json:"opens_at"`
	ClosesAt     int64         `json:"closes_at"`
	OpenedAt     *int64        `json:"opened_at"`
	EndedAt      *int64        `json:"ended_at"`
	Participants []Participant `json:"participants"`
	// Audience is shown to those who manage the room only, and so are
	// its guests: the audience's addresses that are the client's contacts.
	Audience []string `json:"audience,omitempty"`
	Guests   []Invite `json:"guests,omitempty"`
	// CanManage: the viewer organises the meeting or is an admin.
	CanManage bool `json:"-"`
}

// Participant is someone in an open room. A guest's UserID is minus
// their contact id (GuestID).
type Participant struct {
	UserID   int64  `json:"user_id"`
	Guest    bool   `json:"guest,omitempty"`
	Name     string `json:"name"`
	JoinedAt int64  `json:"joined_at"`
}

// RoomEvent is an entry of a room's events log.
type RoomEvent struct {
	ID        int64  `json:"id"`
	MeetingID int64  `json:"-"`
	Kind      string `json:"kind"`
	UserID    *int64 `json:"user_id"`
	Guest     bool   `json:"guest,omitempty"`
	Name      string `json:"name"`
	Reason    string `json:"reason,omitempty"`
	At        int64  `json:"at"`
}

// RoomMessage is a chat message.
type RoomMessage struct {
	ID        int64  `json:"id"`
	MeetingID int64  `json:"-"`
	UserID    int64  `json:"user_id"`
	Guest     bool   `json:"guest,omitempty"`
	Name      string `json:"name"`
	Body      string `json:"body"`
	CreatedAt int64  `json:"created_at"`
}

// LiveRoom is an open room in the "live now" list.
type LiveRoom struct {
	MeetingID    int64         `json:"meeting_id"`
	CompanyID    int64         `json:"company_id"`
	CompanyName  string        `json:"-"`
	Subject      string        `json:"subject"`
	OpenedAt     int64         `json:"opened_at"`
	Count        int           `json:"participants"`
	Participants []Participant `json:"-"`
}

// RoomSummary is what an ended room came to: when it was open, who
// attended (in order of first joining) and how many messages they wrote.
type RoomSummary struct {
	From      int64    `json:"from"`
	To        int64    `json:"to"`
	Attendees []string `json:"attendees"`
	Messages  int      `json:"messages"`
}

// RoomInput is a room's settings.
type RoomInput struct {
	Access   string   `json:"access"`
	Audience []string `json:"audience"`
	VideoURL string   `json:"video_url"`
}

var (
	errRoomNotOpen  = Errorf(EConflict, "The room is not open.")
	errNotOrganiser = Errorf(EForbidden, "Only the meeting's organiser or an admin can do this.")
)

// roomCloses is the SQL of a room's closing time: the organiser's
// extension, else the meeting's end, else an hour after its start.
const roomCloses = `coalesce(r.closes_at, m.ends_at, m.starts_at + 3600000)`

const roomCols = `m.id, m.workspace_id, m.company_id, m.subject, m.owner_id, coalesce(r.access, 'public'), coalesce(r.video_url, ''),
	coalesce(r.state, 'scheduled'), coalesce(r.opened_at, m.starts_at), ` + roomCloses + `, r.opened_at, r.ended_at`

func scanRoom(row interface{ Scan(...any) error }, r *Room) error {
	return row.Scan(&r.MeetingID, &r.WorkspaceID, &r.CompanyID, &r.Subject, &r.OwnerID, &r.Access, &r.VideoURL,
		&r.State, &r.OpensAt, &r.ClosesAt, &r.OpenedAt, &r.EndedAt)
}

// Room returns the room of a meeting u may see, with its participants,
// and its audience when u manages it. Any other meeting is ENotFound.
func (s *Store) Room(ctx context.Context, u *User, meetingID int64) (*Room, error) {
	r, err := s.room(ctx, s.r, u, meetingID)
	if err != nil {
		return nil, err
	}
	if r.Participants, err = participants(ctx, s.r, meetingID); err != nil {
		return nil, err
	}
	if r.CanManage {
		if r.Audience, err = queryColumn[string](ctx, s.r, `SELECT email FROM room_audience WHERE meeting_id = ? ORDER BY email`, meetingID); err != nil {
			return nil, err
		}
		if r.Guests, err = invites(ctx, s.r, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (s *Store) room(ctx context.Context, q querier, u *User, meetingID int64) (*Room, error) {
	cond, args := visible(u, "c")
	r := &Room{}
	err := scanRoom(q.QueryRowContext(ctx, `SELECT `+roomCols+` FROM meetings m JOIN companies c ON c.id = m.company_id
		LEFT JOIN rooms r ON r.meeting_id = m.id WHERE m.id = ? AND `+cond, append([]any{meetingID}, args...)...), r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errMeetingNotFound
	}
	if err != nil {
		return nil, err
	}
	r.CanManage = u.IsAdmin() || r.OwnerID != nil && *r.OwnerID == u.ID
	return r, nil
}

func participants(ctx context.Context, q querier, meetingID int64) ([]Participant, error) {
	in, err := participantsOf(ctx, q, []int64{meetingID})
	if in[meetingID] == nil {
		return []Participant{}, err
	}
	return in[meetingID], err
}

// participantsOf is participants for several rooms in one query, keyed by
// meeting (a room nobody is in has no key).
func participantsOf(ctx context.Context, q querier, meetingIDs []int64) (map[int64][]Participant, error) {
	out := map[int64][]Participant{}
	args := make([]any, 0, 2*len(meetingIDs))
	for range 2 {
		for _, id := range meetingIDs {
			args = append(args, id)
		}
	}
	type inRoom struct {
		meetingID int64
		p         Participant
	}
	in := placeholders(len(meetingIDs))
	err := queryEach(ctx, q, func(row interface{ Scan(...any) error }, v *inRoom) error {
		err := row.Scan(&v.meetingID, &v.p.UserID, &v.p.Name, &v.p.JoinedAt)
		v.p.Guest = v.p.UserID < 0
		return err
	}, func(v *inRoom) error { out[v.meetingID] = append(out[v.meetingID], v.p); return nil },
		`SELECT meeting_id, user_id, name, joined_at FROM room_participants WHERE meeting_id IN (`+in+`)
		UNION ALL SELECT meeting_id, -contact_id, name, joined_at FROM room_guests WHERE meeting_id IN (`+in+`) ORDER BY 1, 4, 2`, args...)
	return out, err
}

// onRoom runs fn in a write transaction on the room of a meeting u may
// see, making its row first if it has none.
func (s *Store) onRoom(ctx context.Context, u *User, meetingID int64, fn func(tx *Tx, r *Room) error) (*Room, error) {
	var r *Room
	err := s.tx(ctx, func(tx *Tx) error {
		var err error
		if r, err = s.room(ctx, tx, u, meetingID); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT OR IGNORE INTO rooms (meeting_id, workspace_id) VALUES (?, ?)`, meetingID, r.WorkspaceID); err != nil {
			return err
		}
		return fn(tx, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// normalize checks a room's settings; audience addresses are trimmed,
// lowercased and deduplicated.
func (in *RoomInput) normalize() error {
	p := Problems{}
	in.check(p)
	return p.Err()
}

// check is normalize adding to p, for a form that has other fields too.
func (in *RoomInput) check(p Problems) {
	in.Access = strings.ToLower(strings.TrimSpace(in.Access))
	if in.Access == "" {
		in.Access = AccessPublic
	}
	if in.Access != AccessPublic && in.Access != AccessAudience {
		p.Add("access", "Choose public or audience.")
	}
	seen := map[string]bool{}
	var list []string
	for _, e := range in.Audience {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" || seen[e] {
			continue
		}
		if !validEmail(e) {
			p.Add("audience", "Not a valid e-mail address: "+e)
			continue
		}
		seen[e] = true
		list = append(list, e)
	}
	if len(list) > 500 {
		p.Add("audience", "At most 500 addresses.")
	}
	in.Audience = list
	in.VideoURL = strings.TrimSpace(in.VideoURL)
	if in.VideoURL != "" {
		v, err := url.Parse(in.VideoURL)
		if err != nil || (v.Scheme != "https" && v.Scheme != "http") || v.Host == "" || len(in.VideoURL) > 2000 {
			p.Add("video_url", "Enter a web address starting with https://, or nothing.")
		}
	}
}

// SetRoom saves a room's settings; only its organiser or an admin may.
// Removing an address from the audience does not remove a participant
// already in the room.
func (s *Store) SetRoom(ctx context.Context, u *User, meetingID int64, in RoomInput) (*Room, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	if _, err := s.onRoom(ctx, u, meetingID, func(tx *Tx, r *Room) error {
		if !r.CanManage {
			return errNotOrganiser
		}
		return saveRoom(ctx, tx, meetingID, in)
	}); err != nil {
		return nil, err
	}
	return s.Room(ctx, u, meetingID)
}

// saveRoom writes the checked settings of a room that has its row. A guest
// whose address left the audience (or whose room became public: guests
// are never "everyone who can see the client") is taken out of the room
// at once, logged as removed.
func saveRoom(ctx context.Context, tx *Tx, meetingID int64, in RoomInput) error {
	if _, err := tx.Exec(`UPDATE rooms SET access = ?, video_url = ? WHERE meeting_id = ?`, in.Access, in.VideoURL, meetingID); err != nil {
		return err
	}
	if _, err := tx.Exec(`DELETE FROM room_audience WHERE meeting_id = ?`, meetingID); err != nil {
		return err
	}
	// A workspace user on the list is kept by id (011_audience_users.sql).
	for _, e := range in.Audience {
		if _, err := tx.Exec(`INSERT INTO room_audience (meeting_id, email, user_id) VALUES (?, ?,
			(SELECT u.id FROM users u JOIN meetings m ON m.workspace_id = u.workspace_id WHERE m.id = ? AND u.email = ?))`,
			meetingID, e, meetingID, e); err != nil {
			return err
		}
	}
	var gone []Participant
	if err := queryEach(ctx, tx, func(row interface{ Scan(...any) error }, p *Participant) error {
		return row.Scan(&p.UserID, &p.Name)
	}, func(p *Participant) error { gone = append(gone, *p); return nil },
		`DELETE FROM room_guests AS g WHERE meeting_id = ? AND (
			(SELECT access FROM rooms WHERE meeting_id = g.meeting_id) <> 'audience' OR NOT EXISTS (
			SELECT 1 FROM room_audience a JOIN contacts ct ON ct.email = a.email WHERE a.meeting_id = g.meeting_id AND ct.id = g.contact_id))
		RETURNING -contact_id, name`, meetingID); err != nil {
		return err
	}
	t := now()
	for _, p := range gone {
		if err := logEvent(tx, meetingID, EventLeft, &p.UserID, p.Name, ReasonRemoved, t); err != nil {
			return err
		}
	}
	return nil
}

// OpenRoom opens a room before its time (organiser or admin). Opening an
// open room changes nothing; an ended room stays ended.
func (s *Store) OpenRoom(ctx context.Context, u *User, meetingID int64) (*Room, error) {
	return s.onRoom(ctx, u, meetingID, func(tx *Tx, r *Room) error {
		if !r.CanManage {
			return errNotOrganiser
		}
		switch r.State {
		case RoomEnded:
			return Errorf(EConflict, "The room has ended.")
		case RoomOpen:
			return nil
		}
		t := now()
		// An early opening keeps the meeting's closing time; a late one
		// (past it) gets the default length from now.
		if r.ClosesAt <= t {
			if _, err := tx.Exec(`UPDATE rooms SET closes_at = ? WHERE meeting_id = ?`, t+defaultRoomLength, meetingID); err != nil {
				return err
			}
			r.ClosesAt = t + defaultRoomLength
		}
		r.State, r.OpenedAt = RoomOpen, &t
		return openRoom(tx, meetingID, t)
	})
}

// ExtendRoom moves the closing time of a room that has not ended
// (organiser or admin).
func (s *Store) ExtendRoom(ctx context.Context, u *User, meetingID, closesAt int64) (*Room, error) {
	return s.onRoom(ctx, u, meetingID, func(tx *Tx, r *Room) error {
		if !r.CanManage {
			return errNotOrganiser
		}
		if r.State == RoomEnded {
			return Errorf(EConflict, "The room has ended.")
		}
		if closesAt <= now() || closesAt > maxMeetingTime {
			return &Error{Code: EInvalid, Message: "Choose a closing time in the future.", Fields: map[string]string{"closes_at": "Choose a time in the future."}}
		}
		r.ClosesAt = closesAt
		_, err := tx.Exec(`UPDATE rooms SET closes_at = ? WHERE meeting_id = ?`, closesAt, meetingID)
		return err
	})
}

// EndRoom ends a room for everyone (organiser or admin): each participant
// is logged as having left because it ended.
func (s *Store) EndRoom(ctx context.Context, u *User, meetingID int64) (*Room, error) {
	return s.onRoom(ctx, u, meetingID, func(tx *Tx, r *Room) error {
		if !r.CanManage {
			return errNotOrganiser
		}
		if r.State != RoomOpen {
			return errRoomNotOpen
		}
		t := now()
		r.State, r.EndedAt = RoomEnded, &t
		return endRoom(tx, u, meetingID, t)
	})
}

// EnterRoom is Room for those who may be in it: a restricted room is
// EForbidden to a viewer of the client who is not in its audience.
func (s *Store) EnterRoom(ctx context.Context, u *User, meetingID int64) (*Room, error) {
	r, err := s.Room(ctx, u, meetingID)
	if err != nil {
		return nil, err
	}
	return r, mayEnter(ctx, s.r, u, r)
}

// mayEnter lets in the organiser and admins, anyone who may see the
// client when the room is public, and its audience when it is restricted.
func mayEnter(ctx context.Context, q querier, u *User, r *Room) error {
	if r.Access != AccessAudience || r.CanManage {
		return nil
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM room_audience WHERE meeting_id = ? AND user_id = ?`, r.MeetingID, u.ID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return Errorf(EForbidden, "This room is restricted to the people the organiser invited.")
	}
	return nil
}

// JoinRoom puts u in an open room: any viewer of the client when it is
// public, only the organiser, admins and the audience when it is
// restricted (mayEnter).
// Joining again changes nothing; joined reports whether u was new.
func (s *Store) JoinRoom(ctx context.Context, u *User, meetingID int64) (joined bool, err error) {
	_, err = s.onRoom(ctx, u, meetingID, func(tx *Tx, r *Room) error {
		if err := mayEnter(ctx, tx, u, r); err != nil {
			return err
		}
		joined, err = join(tx, r, u.ID, u.Name)
		return err
	})
	return joined, err
}

// join puts participant id (a user, or a guest: GuestID) in an open room
// and logs it, unless they are in already.
func join(tx *Tx, r *Room, id int64, name string) (joined bool, err error) {
	if r.State != RoomOpen {
		return false, errRoomNotOpen
	}
	t := now()
	query := `INSERT OR IGNORE INTO room_participants (meeting_id, user_id, name, joined_at) VALUES (?, ?, ?, ?)`
	if id < 0 {
		query = `INSERT OR IGNORE INTO room_guests (meeting_id, contact_id, name, joined_at) VALUES (?, -?, ?, ?)`
	}
	res, err := tx.Exec(query, r.MeetingID, id, name, t)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	return true, logEvent(tx, r.MeetingID, EventJoined, &id, name, "", t)
}

// LeaveRoom takes u out of a room; left reports whether u was in it.
func (s *Store) LeaveRoom(ctx context.Context, u *User, meetingID int64) (left bool, err error) {
	if _, err := s.room(ctx, s.r, u, meetingID); err != nil {
		return false, err
	}
	return s.LeaveRoomAs(ctx, meetingID, u.ID, ReasonLeft)
}

// RemoveParticipant takes another user out of a room (organiser or admin).
func (s *Store) RemoveParticipant(ctx context.Context, u *User, meetingID, userID int64) (bool, error) {
	r, err := s.room(ctx, s.r, u, meetingID)
	if err != nil {
		return false, err
	}
	if !r.CanManage {
		return false, errNotOrganiser
	}
	return s.LeaveRoomAs(ctx, meetingID, userID, ReasonRemoved)
}

// CheckMessage normalizes a chat message: line ends become \n; it must
// hold something, at most maxMessageRunes characters, and no control
// characters but tab and newline.
func CheckMessage(body string) (string, error) {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	field := func(msg string) error {
		return &Error{Code: EInvalid, Message: msg, Fields: map[string]string{"body": msg}}
	}
	switch {
	case strings.TrimSpace(body) == "":
		return "", field("Write a message first.")
	case !utf8.ValidString(body):
		return "", field("The message is not valid text.")
	case utf8.RuneCountInString(body) > maxMessageRunes:
		return "", field("Messages are at most 4,000 characters.")
	}
	for _, c := range body {
		if c < 0x20 && c != '\t' && c != '\n' {
			return "", field("The message contains control characters.")
		}
	}
	return body, nil
}

// PostMessage adds u's message to an open room u is in. More than
// rateMessages in rateWindow is EThrottled.
func (s *Store) PostMessage(ctx context.Context, u *User, meetingID int64, body string) (*RoomMessage, error) {
	body, err := CheckMessage(body)
	if err != nil {
		return nil, err
	}
	var m *RoomMessage
	_, err = s.onRoom(ctx, u, meetingID, func(tx *Tx, r *Room) error {
		m, err = post(ctx, tx, r, u.ID, u.Name, body)
		return err
	})
	return m, err
}

// post adds a checked message of participant id (a user or a guest) to
// an open room they are in. More than rateMessages in rateWindow is
// EThrottled.
func post(ctx context.Context, tx *Tx, r *Room, id int64, name, body string) (*RoomMessage, error) {
	if r.State != RoomOpen {
		return nil, errRoomNotOpen
	}
	if in, err := isParticipant(ctx, tx, r.MeetingID, id); err != nil || !in {
		if err == nil {
			err = Errorf(EForbidden, "Join the room to post in it.")
		}
		return nil, err
	}
	t := now()
	// The rateMessages-th latest message of the author, by the author
	// index: if it is inside the window, this one would be one too many.
	var tenth int64
	err := tx.QueryRow(`SELECT created_at FROM room_messages WHERE meeting_id = ? AND user_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?`,
		r.MeetingID, id, rateMessages-1).Scan(&tenth)
	if err == nil && tenth > t-rateWindow {
		return nil, &Error{Code: EThrottled, Message: "You are sending messages too fast: at most 10 in 10 seconds. Wait a moment.",
			Fields: map[string]string{"body": "At most 10 messages in 10 seconds; wait a moment."}}
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	res, err := tx.Exec(`INSERT INTO room_messages (meeting_id, user_id, name, body, created_at) VALUES (?, ?, ?, ?, ?)`,
		r.MeetingID, id, name, body, t)
	if err != nil {
		return nil, err
	}
	m := &RoomMessage{MeetingID: r.MeetingID, UserID: id, Guest: id < 0, Name: name, Body: body, CreatedAt: t}
	m.ID, _ = res.LastInsertId()
	return m, nil
}

// MessageQuery selects a page of a room's chat.
type MessageQuery struct {
	UserID int64  // only this person's messages; 0 for everyone's
	Cursor string // from a previous page's Next
	Limit  int    // default 50, at most 200
	// UpTo, when set, leaves out messages after this id: a page rendered
	// at a stream position shows nothing the stream will send again.
	UpTo int64
}

// MessagePage is a page of chat, oldest first. Pages go back in time: the
// first is the latest messages and Next leads to earlier ones.
type MessagePage struct {
	Items []RoomMessage `json:"items"`
	Next  string        `json:"next_cursor,omitempty"`
}

type messageCursor struct {
	Before int64 `json:"b"`
}

// RoomMessages returns a page of the chat of a meeting u may see.
func (s *Store) RoomMessages(ctx context.Context, u *User, meetingID int64, q MessageQuery) (*MessagePage, error) {
	r, err := s.room(ctx, s.r, u, meetingID)
	if err != nil {
		return nil, err
	}
	if err := mayEnter(ctx, s.r, u, r); err != nil {
		return nil, err
	}
	return s.messages(ctx, meetingID, q)
}

// messages reads a page of a room's chat for a viewer already let in.
func (s *Store) messages(ctx context.Context, meetingID int64, q MessageQuery) (*MessagePage, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 200)
	before := int64(1<<63 - 1)
	if q.UpTo > 0 {
		before = q.UpTo + 1
	}
	if q.Cursor != "" {
		var c messageCursor
		if err := decodeCursor(q.Cursor, &c); err != nil {
			return nil, err
		}
		before = c.Before
	}
	query, args := `SELECT id, meeting_id, user_id, name, body, created_at FROM room_messages WHERE meeting_id = ? AND id < ?`, []any{meetingID, before}
	if q.UserID != 0 {
		query, args = query+` AND user_id = ?`, append(args, q.UserID)
	}
	var items []RoomMessage
	if err := queryEach(ctx, s.r, scanMessage, func(m *RoomMessage) error { items = append(items, *m); return nil },
		query+` ORDER BY id DESC LIMIT ?`, append(args, q.Limit+1)...); err != nil {
		return nil, err
	}
	page := &MessagePage{Items: []RoomMessage{}}
	if len(items) > q.Limit {
		items = items[:q.Limit]
		page.Next = encodeCursor(messageCursor{Before: items[len(items)-1].ID})
	}
	for i := len(items) - 1; i >= 0; i-- {
		page.Items = append(page.Items, items[i])
	}
	return page, nil
}

func scanMessage(row interface{ Scan(...any) error }, m *RoomMessage) error {
	err := row.Scan(&m.ID, &m.MeetingID, &m.UserID, &m.Name, &m.Body, &m.CreatedAt)
	m.Guest = m.UserID < 0
	return err
}

func scanEvent(row interface{ Scan(...any) error }, e *RoomEvent) error {
	err := row.Scan(&e.ID, &e.MeetingID, &e.Kind, &e.UserID, &e.Name, &e.Reason, &e.At)
	e.Guest = e.UserID != nil && *e.UserID < 0
	return err
}

const eventCols = `id, meeting_id, kind, user_id, name, reason, at`

// EventPage is a page of a room's events log, oldest first; Next leads on.
type EventPage struct {
	Items []RoomEvent `json:"items"`
	Next  string      `json:"next_cursor,omitempty"`
}

type eventCursor struct {
	After int64 `json:"a"`
}

// RoomEvents returns a page of the events log of a room u manages.
func (s *Store) RoomEvents(ctx context.Context, u *User, meetingID int64, cursor string, limit int) (*EventPage, error) {
	r, err := s.room(ctx, s.r, u, meetingID)
	if err != nil {
		return nil, err
	}
	if !r.CanManage {
		return nil, Errorf(EForbidden, "The events log is for the meeting's organiser and admins.")
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 500)
	var c eventCursor
	if cursor != "" {
		if err := decodeCursor(cursor, &c); err != nil {
			return nil, err
		}
	}
	page := &EventPage{Items: []RoomEvent{}}
	if err := queryEach(ctx, s.r, scanEvent, func(e *RoomEvent) error { page.Items = append(page.Items, *e); return nil },
		`SELECT `+eventCols+` FROM room_events WHERE meeting_id = ? AND id > ? ORDER BY id LIMIT ?`, meetingID, c.After, limit+1); err != nil {
		return nil, err
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.Next = encodeCursor(eventCursor{After: page.Items[limit-1].ID})
	}
	return page, nil
}

// liveRooms is the FROM and WHERE of the open rooms of the clients u may
// see, by the rooms_state index.
func liveRooms(u *User) (string, []any) {
	cond, args := visible(u, "c")
	return `FROM rooms r JOIN meetings m ON m.id = r.meeting_id JOIN companies c ON c.id = m.company_id
		WHERE r.workspace_id = ? AND r.state = 'open' AND ` + cond, append([]any{u.WorkspaceID}, args...)
}

// LiveRoomCount counts the open rooms of the clients u may see: the
// navigation's "Live" count.
func (s *Store) LiveRoomCount(ctx context.Context, u *User) (int, error) {
	from, args := liveRooms(u)
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) `+from, args...).Scan(&n)
	return n, err
}

// LiveRooms returns the open rooms of the clients u may see, with who is
// in each and since when.
func (s *Store) LiveRooms(ctx context.Context, u *User) ([]LiveRoom, error) {
	from, args := liveRooms(u)
	out := []LiveRoom{}
	err := queryEach(ctx, s.r, func(row interface{ Scan(...any) error }, l *LiveRoom) error {
		return row.Scan(&l.MeetingID, &l.CompanyID, &l.CompanyName, &l.Subject, &l.OpenedAt)
	}, func(l *LiveRoom) error { out = append(out, *l); return nil },
		`SELECT m.id, m.company_id, c.name, m.subject, coalesce(r.opened_at, 0) `+from+` ORDER BY r.opened_at, m.id`, args...)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]int64, len(out))
	for i := range out {
		ids[i] = out[i].MeetingID
	}
	in, err := participantsOf(ctx, s.r, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Participants = in[out[i].MeetingID]
		if out[i].Participants == nil {
			out[i].Participants = []Participant{}
		}
		out[i].Count = len(out[i].Participants)
	}
	return out, nil
}

// The rest of this file reads and writes without a viewer: for package
// rooms (the scheduler, the presence sweeper and the fan-out act for the
// system), and for a handler that has checked its viewer already with
// one of the methods above.

func logEvent(tx *Tx, meetingID int64, kind string, userID *int64, name, reason string, at int64) error {
	_, err := tx.Exec(`INSERT INTO room_events (meeting_id, kind, user_id, name, reason, at) VALUES (?, ?, ?, ?, ?, ?)`,
		meetingID, kind, userID, name, reason, at)
	return err
}

func openRoom(tx *Tx, meetingID, at int64) error {
	if _, err := tx.Exec(`UPDATE rooms SET state = 'open', opened_at = ? WHERE meeting_id = ?`, at, meetingID); err != nil {
		return err
	}
	return logEvent(tx, meetingID, EventOpened, nil, "", "", at)
}

// endRoom logs every participant as having left at at, then the end;
// writes the room's summary and closes its meeting, with an outbox row so
// that the meetings index follows, and records that the room was held.
func endRoom(tx *Tx, by *User, meetingID, at int64) error {
	if _, err := tx.Exec(`INSERT OR REPLACE INTO room_summaries (meeting_id, summary)
		SELECT r.meeting_id, json_object('from', coalesce(r.opened_at, ?), 'to', ?,
			'attendees', json((SELECT json_group_array(name) FROM (SELECT name FROM room_events
				WHERE meeting_id = r.meeting_id AND kind = 'joined' GROUP BY user_id, name ORDER BY min(id)))),
			'messages', (SELECT count(*) FROM room_messages WHERE meeting_id = r.meeting_id))
		FROM rooms r WHERE r.meeting_id = ?`, at, at, meetingID); err != nil {
		return err
	}
	var ws, company int64
	var subject string
	if err := tx.QueryRow(`UPDATE meetings SET status = 'closed', updated_at = max(?, updated_at + 1) WHERE id = ?
		RETURNING workspace_id, company_id, subject`, now(), meetingID).Scan(&ws, &company, &subject); err != nil {
		return err
	}
	if _, err := tx.Exec(`UPDATE companies SET updated_at = ? WHERE id = ?`, now(), company); err != nil {
		return err
	}
	if err := tx.queue(ws, OutboxMeeting, meetingID); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO room_events (meeting_id, kind, user_id, name, reason, at)
		SELECT meeting_id, 'left', user_id, name, 'ended', ? FROM (
			SELECT meeting_id, user_id, name, joined_at FROM room_participants WHERE meeting_id = ?
			UNION ALL SELECT meeting_id, -contact_id, name, joined_at FROM room_guests WHERE meeting_id = ?) ORDER BY joined_at, user_id`,
		at, meetingID, meetingID); err != nil {
		return err
	}
	for _, table := range []string{"room_participants", "room_guests"} {
		if _, err := tx.Exec(`DELETE FROM `+table+` WHERE meeting_id = ?`, meetingID); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(`UPDATE rooms SET state = 'ended', ended_at = ? WHERE meeting_id = ?`, at, meetingID); err != nil {
		return err
	}
	// A room that ends was held: that is its client's activity.
	summary := said(by, "ended the room of", subject)
	if by == nil {
		summary = "The room of “" + shortLabel(subject) + "” closed on schedule"
	}
	if err := tx.record(by, ws, company, ActivityRoomHeld, meetingID, summary); err != nil {
		return err
	}
	return logEvent(tx, meetingID, EventEnded, nil, "", "", at)
}

// LeaveRoomAs takes participant userID (a user, or a guest: GuestID) out
// of a room for reason; left reports whether they were in it, so that two
// processes seeing the same departure log it once.
func (s *Store) LeaveRoomAs(ctx context.Context, meetingID, userID int64, reason string) (left bool, err error) {
	err = s.tx(ctx, func(tx *Tx) error {
		var name string
		query := `DELETE FROM room_participants WHERE meeting_id = ? AND user_id = ? RETURNING name`
		if userID < 0 {
			query = `DELETE FROM room_guests WHERE meeting_id = ? AND contact_id = -? RETURNING name`
		}
		err := tx.QueryRow(query, meetingID, userID).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		left = true
		return logEvent(tx, meetingID, EventLeft, &userID, name, reason, now())
	})
	return left, err
}

// RoomTimes is what the scheduler knows of a room.
type RoomTimes struct {
	MeetingID   int64
	WorkspaceID int64
	State       string
	OpensAt     int64 // the meeting's start
	ClosesAt    int64
}

// RoomsDue returns the rooms of workspace ws that are open, and those
// not yet open whose meeting starts before until and ends after since:
// everything the scheduler must have a due time for.
func (s *Store) RoomsDue(ctx context.Context, ws, since, until int64) ([]RoomTimes, error) {
	var out []RoomTimes
	scan := func(row interface{ Scan(...any) error }, t *RoomTimes) error {
		return row.Scan(&t.MeetingID, &t.WorkspaceID, &t.State, &t.OpensAt, &t.ClosesAt)
	}
	add := func(t *RoomTimes) error { out = append(out, *t); return nil }
	cols := `m.id, m.workspace_id, coalesce(r.state, 'scheduled'), m.starts_at, ` + roomCloses
	if err := queryEach(ctx, s.r, scan, add, `SELECT `+cols+` FROM rooms r JOIN meetings m ON m.id = r.meeting_id
		WHERE r.workspace_id = ? AND r.state = 'open'`, ws); err != nil {
		return nil, err
	}
	// Meetings starting in the window, by the start index; the end is
	// checked on those rows only.
	err := queryEach(ctx, s.r, scan, add, `SELECT `+cols+` FROM meetings m LEFT JOIN rooms r ON r.meeting_id = m.id
		WHERE m.workspace_id = ? AND m.starts_at < ? AND m.starts_at >= ? AND coalesce(r.state, 'scheduled') = 'scheduled' AND `+roomCloses+` > ?`,
		ws, until, since-maxScheduledLength, since)
	return out, err
}

// maxScheduledLength bounds how long before now a meeting that is still
// running may have started, for RoomsDue's index range: longer meetings
// open only by hand. A week.
const maxScheduledLength int64 = 7 * 24 * 3600000

// OpenRoomAt opens a scheduled room at time at; opened reports whether
// this call did (another process may have been first).
func (s *Store) OpenRoomAt(ctx context.Context, meetingID, at int64) (opened bool, err error) {
	ids, err := s.OpenRoomsAt(ctx, []int64{meetingID}, at)
	return len(ids) == 1, err
}

// OpenRoomsAt opens the scheduled rooms of meetingIDs at time at, in one
// transaction (many rooms are due at the same minute), and returns those
// this call opened.
func (s *Store) OpenRoomsAt(ctx context.Context, meetingIDs []int64, at int64) (opened []int64, err error) {
	err = s.tx(ctx, func(tx *Tx) error {
		opened = opened[:0]
		for _, id := range meetingIDs {
			var ws int64
			if err := tx.QueryRow(`SELECT workspace_id FROM meetings WHERE id = ?`, id).Scan(&ws); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					continue // deleted since it was scheduled
				}
				return err
			}
			if _, err := tx.Exec(`INSERT OR IGNORE INTO rooms (meeting_id, workspace_id) VALUES (?, ?)`, id, ws); err != nil {
				return err
			}
			res, err := tx.Exec(`UPDATE rooms SET state = 'open', opened_at = ? WHERE meeting_id = ? AND state = 'scheduled'`, at, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			if err := logEvent(tx, id, EventOpened, nil, "", "", at); err != nil {
				return err
			}
			opened = append(opened, id)
		}
		return nil
	})
	return opened, err
}

// EndRoomAt ends an open room at time at (its closing time, which may be
// in the past after a restart); ended reports whether this call did.
func (s *Store) EndRoomAt(ctx context.Context, meetingID, at int64) (ended bool, err error) {
	err = s.tx(ctx, func(tx *Tx) error {
		var state string
		err := tx.QueryRow(`SELECT state FROM rooms WHERE meeting_id = ?`, meetingID).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) || err == nil && state != RoomOpen {
			return nil
		}
		if err != nil {
			return err
		}
		ended = true
		return endRoom(tx, nil, meetingID, at)
	})
	return ended, err
}

// RoomTimesOf returns the scheduler's view of one room, or nil when its
// meeting is gone.
func (s *Store) RoomTimesOf(ctx context.Context, meetingID int64) (*RoomTimes, error) {
	t := &RoomTimes{}
	err := s.r.QueryRowContext(ctx, `SELECT m.id, m.workspace_id, coalesce(r.state, 'scheduled'), m.starts_at, `+roomCloses+`
		FROM meetings m LEFT JOIN rooms r ON r.meeting_id = m.id WHERE m.id = ?`, meetingID).
		Scan(&t.MeetingID, &t.WorkspaceID, &t.State, &t.OpensAt, &t.ClosesAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return t, err
}

// RoomFeed is what happened in a room after a position: messages and
// events in id order, and the room's participants when any event changed
// them.
type RoomFeed struct {
	Messages []RoomMessage
	Events   []RoomEvent
}

// RoomFeedSince reads a room's messages after afterMsg and events after
// afterEvent, at most limit of each. The stream checks its viewer once,
// when it starts.
func (s *Store) RoomFeedSince(ctx context.Context, meetingID, afterMsg, afterEvent int64, limit int) (*RoomFeed, error) {
	f := &RoomFeed{}
	if err := queryEach(ctx, s.r, scanMessage, func(m *RoomMessage) error { f.Messages = append(f.Messages, *m); return nil },
		`SELECT id, meeting_id, user_id, name, body, created_at FROM room_messages WHERE meeting_id = ? AND id > ? ORDER BY id LIMIT ?`,
		meetingID, afterMsg, limit); err != nil {
		return nil, err
	}
	err := queryEach(ctx, s.r, scanEvent, func(e *RoomEvent) error { f.Events = append(f.Events, *e); return nil },
		`SELECT `+eventCols+` FROM room_events WHERE meeting_id = ? AND id > ? ORDER BY id LIMIT ?`, meetingID, afterEvent, limit)
	return f, err
}

// RoomParticipants lists who is in a room now.
func (s *Store) RoomParticipants(ctx context.Context, meetingID int64) ([]Participant, error) {
	return participants(ctx, s.r, meetingID)
}

// RoomLastIDs returns the latest message and event ids of a room: where a
// new stream starts.
func (s *Store) RoomLastIDs(ctx context.Context, meetingID int64) (msg, event int64, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM room_messages WHERE meeting_id = ?),
		(SELECT coalesce(max(id), 0) FROM room_events WHERE meeting_id = ?)`, meetingID, meetingID).Scan(&msg, &event)
	return msg, event, err
}

// RoomMessageCount counts a room's messages, for the summary when it ends.
func (s *Store) RoomMessageCount(ctx context.Context, meetingID int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM room_messages WHERE meeting_id = ?`, meetingID).Scan(&n)
	return n, err
}

// HeldRoom returns the summary of an ended room, or nil when it has none.
// The caller has checked its viewer (EnterRoom).
func (s *Store) HeldRoom(ctx context.Context, meetingID int64) (*RoomSummary, error) {
	var text string
	err := s.r.QueryRowContext(ctx, `SELECT summary FROM room_summaries WHERE meeting_id = ?`, meetingID).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseSummary(text)
}

func parseSummary(text string) (*RoomSummary, error) {
	sum := &RoomSummary{}
	if err := json.Unmarshal([]byte(text), sum); err != nil {
		return nil, fmt.Errorf("room summary: %w", err)
	}
	return sum, nil
}

// IsParticipant reports whether user userID (or a guest: GuestID) is in
// the room now.
func (s *Store) IsParticipant(ctx context.Context, meetingID, userID int64) (bool, error) {
	return isParticipant(ctx, s.r, meetingID, userID)
}

func isParticipant(ctx context.Context, q querier, meetingID, id int64) (bool, error) {
	query := `SELECT count(*) FROM room_participants WHERE meeting_id = ? AND user_id = ?`
	if id < 0 {
		query = `SELECT count(*) FROM room_guests WHERE meeting_id = ? AND contact_id = -?`
	}
	var n int
	err := q.QueryRowContext(ctx, query, meetingID, id).Scan(&n)
	return n > 0, err
}
