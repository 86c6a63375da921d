package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Guests of live rooms: a client contact in a restricted room's audience
// comes in with a signed invite link (package handlers signs it) and no
// account. Every guest request checks here, in SQLite, that the link
// still holds: the room is restricted, has not ended, its address is in
// the audience and belongs to a contact of the meeting's company. So a
// link stops working the moment its address leaves the audience.

// Guest is a contact let into a room by their invite link.
type Guest struct {
	ID          int64 // as a participant: GuestID(ContactID)
	ContactID   int64
	MeetingID   int64
	WorkspaceID int64
	Email       string
	Name        string
}

// Invite is a guest of a room as its organiser sees it; the handler adds
// the signed link.
type Invite struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	URL   string `json:"invite_url"`
}

// GuestID is a guest's id as a participant, author and logged person:
// minus their contact id, so it never meets a user's.
func GuestID(contactID int64) int64 { return -contactID }

// guestGrace is how long past its closing time a room that is still open
// (the scheduler ends it within seconds) lets its guests in.
const guestGrace = int64(time.Minute / time.Millisecond)

var errGuestLink = Errorf(ENotFound, "This invitation link does not work any more. Ask the meeting's organiser for a new one.")

// GuestRoom returns the room a guest link names, as the guest sees it,
// with its participants; a link that no longer holds is ENotFound.
func (s *Store) GuestRoom(ctx context.Context, meetingID int64, email string) (*Room, *Guest, error) {
	r, g, err := guestRoom(ctx, s.r, meetingID, email, true)
	if err != nil {
		return nil, nil, err
	}
	if r.Participants, err = participants(ctx, s.r, meetingID); err != nil {
		return nil, nil, err
	}
	return r, g, nil
}

// GuestView is the room of a guest let in earlier, as they see it, ended
// or not: what their open page shows, down to "This meeting has ended".
// A guest no longer invited is ENotFound.
func (s *Store) GuestView(ctx context.Context, g *Guest) (*Room, error) {
	r, _, err := guestRoom(ctx, s.r, g.MeetingID, g.Email, false)
	if err != nil {
		return nil, err
	}
	r.Participants, err = participants(ctx, s.r, g.MeetingID)
	return r, err
}

// guestRoom reads the room email is invited to; live also requires the
// link to be good now: the room has not ended nor passed its closing time.
func guestRoom(ctx context.Context, q querier, meetingID int64, email string, live bool) (*Room, *Guest, error) {
	r, g := &Room{}, &Guest{MeetingID: meetingID}
	err := q.QueryRowContext(ctx, `SELECT `+roomCols+`, ct.id, ct.email, ct.name FROM meetings m JOIN rooms r ON r.meeting_id = m.id
		JOIN room_audience a ON a.meeting_id = m.id AND a.email = ?
		JOIN contacts ct ON ct.workspace_id = m.workspace_id AND ct.email = a.email AND ct.company_id = m.company_id
		WHERE m.id = ? AND r.access = 'audience' AND (NOT ? OR r.state <> 'ended' AND `+roomCloses+` + ? > ?)`,
		email, meetingID, live, guestGrace, now()).Scan(&r.MeetingID, &r.WorkspaceID, &r.CompanyID, &r.Subject, &r.OwnerID, &r.Access, &r.VideoURL,
		&r.State, &r.OpensAt, &r.ClosesAt, &r.OpenedAt, &r.EndedAt, &g.ContactID, &g.Email, &g.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errGuestLink
	}
	if err != nil {
		return nil, nil, err
	}
	if g.Name == "" {
		g.Name = g.Email
	}
	g.ID, g.WorkspaceID = GuestID(g.ContactID), r.WorkspaceID
	return r, g, nil
}

// onGuestRoom runs fn in a write transaction once the guest's link is
// checked again inside it.
func (s *Store) onGuestRoom(ctx context.Context, g *Guest, fn func(tx *Tx, r *Room) error) error {
	return s.tx(ctx, func(tx *Tx) error {
		r, _, err := guestRoom(ctx, tx, g.MeetingID, g.Email, true)
		if err != nil {
			return err
		}
		return fn(tx, r)
	})
}

// GuestJoin puts a guest in their open room; joined reports whether they
// were new.
func (s *Store) GuestJoin(ctx context.Context, g *Guest) (joined bool, err error) {
	err = s.onGuestRoom(ctx, g, func(tx *Tx, r *Room) error {
		joined, err = join(tx, r, g.ID, g.Name)
		return err
	})
	return joined, err
}

// GuestLeave takes a guest out of their room; left reports whether they
// were in it.
func (s *Store) GuestLeave(ctx context.Context, g *Guest) (bool, error) {
	return s.LeaveRoomAs(ctx, g.MeetingID, g.ID, ReasonLeft)
}

// GuestPost adds a guest's message to their open room, under the same
// rules as anyone's.
func (s *Store) GuestPost(ctx context.Context, g *Guest, body string) (*RoomMessage, error) {
	body, err := CheckMessage(body)
	if err != nil {
		return nil, err
	}
	var m *RoomMessage
	err = s.onGuestRoom(ctx, g, func(tx *Tx, r *Room) error {
		m, err = post(ctx, tx, r, g.ID, g.Name, body)
		return err
	})
	return m, err
}

// GuestMessages returns a page of the chat of a guest's room.
func (s *Store) GuestMessages(ctx context.Context, g *Guest, q MessageQuery) (*MessagePage, error) {
	if _, _, err := guestRoom(ctx, s.r, g.MeetingID, g.Email, true); err != nil {
		return nil, err
	}
	return s.messages(ctx, g.MeetingID, q)
}

// invites lists a restricted room's guests: the audience's addresses
// that are contacts of the meeting's company.
func invites(ctx context.Context, q querier, r *Room) ([]Invite, error) {
	if r.Access != AccessAudience {
		return nil, nil
	}
	var out []Invite
	err := queryEach(ctx, q, func(row interface{ Scan(...any) error }, i *Invite) error {
		return row.Scan(&i.Email, &i.Name)
	}, func(i *Invite) error { out = append(out, *i); return nil },
		`SELECT a.email, ct.name FROM room_audience a JOIN contacts ct ON ct.workspace_id = ? AND ct.email = a.email
		WHERE a.meeting_id = ? AND ct.company_id = ? ORDER BY a.email`, r.WorkspaceID, r.MeetingID, r.CompanyID)
	return out, err
}

// Invitee is an address the meeting form offers for a room's audience.
type Invitee struct {
	Email string
	Name  string
	Guest bool // a contact of the client, who joins with an invite link
}

// RoomInvitees lists who may be picked for the audience of a room of
// company companyID (which u must see): the active users who see the
// client, then the company's contacts with an address. Picking anyone
// else would not let them in: the audience only narrows client security.
func (s *Store) RoomInvitees(ctx context.Context, u *User, companyID int64) ([]Invitee, error) {
	if _, err := s.Company(ctx, u, companyID); err != nil {
		return nil, err
	}
	var out []Invitee
	err := queryEach(ctx, s.r, func(row interface{ Scan(...any) error }, i *Invitee) error {
		return row.Scan(&i.Email, &i.Name, &i.Guest)
	}, func(i *Invitee) error { out = append(out, *i); return nil },
		`SELECT lower(email), name, 0 FROM users u WHERE workspace_id = ? AND deactivated_at = 0
			AND (role = 'admin' OR EXISTS (SELECT 1 FROM user_clients uc WHERE uc.user_id = u.id AND uc.company_id = ?))
		UNION ALL SELECT lower(email), name, 1 FROM contacts WHERE company_id = ? AND email <> ''
		ORDER BY 3, 2 COLLATE NOCASE, 1`, u.WorkspaceID, companyID, companyID)
	return out, err
}
