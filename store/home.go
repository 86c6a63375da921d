package store

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/rolodex/rolodex/cache"
)

// The home page's meetings and recent changes are the costly part of it
// (a meetings page from Redis, checked against SQLite; a walk of the
// activity) and change far less often than the page is loaded. Every
// change to a client writes an activity in its transaction, so the newest
// activity id of the workspace (its mark) says whether anything changed
// since a home was read: a kept home is used while the changes after its
// mark concern neither the viewer's clients nor their assignments, while
// the viewer has no new notification and read none, and while every
// company it names still exists and is the viewer's. A deleted company
// takes its activity with it but leaves a company.deleted activity with
// no company: that one drops every kept home of the workspace, since a
// staff user's may count the company's meetings without naming it ("N
// more meetings"), and deletions are rare. All of them are one statement
// (homeCheck), run only when the mark moved: before it, one cheap read of
// the stamp.
//
// Live rooms change without an activity (someone joins or leaves), and
// more often than the rest: the same statement reads the workspace's open
// rooms, each with its newest room event (every open, join, leave and end
// logs one), and a kept home's rooms alone are read again when that
// differs. Their companies' and meetings' names, and who may see them,
// change with an activity, as the rest of the home does.

// HomeQuery is what the home page lists.
type HomeQuery struct {
	From, To int64 // the meetings' window, unix ms
	Meetings int   // how many meetings at most
	Activity int   // how many of the newest changes by others
	Unread   int   // how many of the newest unread notifications
}

// Home is the home page's meetings, recent changes, unread
// notifications and live rooms, with the names of the meetings'
// companies.
type Home struct {
	Meetings  *MeetingPage
	Activity  []Activity
	Unread    []Notification
	Companies map[int64]string
	Rooms     []LiveRoom
	// Version names one read of the meetings, changes, notifications and
	// company names, RoomsVersion one of the rooms (kept apart): a kept
	// Home keeps them while what they name stands, and no other Home, of
	// this viewer or another, ever has them, so what is rendered of them
	// may be kept under them. 0 for a Home that is not kept.
	Version, RoomsVersion uint64
}

// homeVersions numbers the kept homes' reads (Home.Version and
// RoomsVersion) across every Store of the process, as views keep their
// renderings process-wide.
var homeVersions atomic.Uint64

type homeKey struct {
	user  int64
	admin bool
	q     HomeQuery
}

// keptHome is a Home and what checks it.
type keptHome struct {
	Home
	homeStamp
	companies []int64 // every company it names
}

// homeStamp is what changes when a home may have: the workspace's newest
// activity (the mark), the viewer's newest notification and how many
// they have unread; and when its live rooms may have: the workspace's
// open rooms, each with its newest event (homeRooms).
type homeStamp struct {
	mark, notified int64
	unread         int
	rooms          string
}

// homeWalk is how far past a kept home's mark (in activity ids) the
// changes are looked through before it is read anew instead.
const homeWalk = 1000

func newHomeCache() *cache.Cache[homeKey, *keptHome] {
	return cache.New(16<<20, func(_ homeKey, h *keptHome) int {
		n := 64 + 8*len(h.companies)
		for _, m := range h.Meetings.Items {
			n += 128 + len(m.Type) + len(m.Subject) + len(m.Details) + len(h.Companies[m.CompanyID])
		}
		for _, a := range h.Activity {
			n += 128 + len(a.CompanyName) + len(a.Summary)
		}
		for _, r := range h.Rooms {
			n += 128 + len(r.CompanyName) + len(r.Subject) + 64*len(r.Participants)
		}
		for _, u := range h.Unread {
			n += 64 + len(u.Key)
			for _, a := range u.Items {
				n += 128 + len(a.CompanyName) + len(a.Summary)
			}
		}
		return n
	})
}

// Home returns u's meetings in [q.From, q.To) (ListMeetings, by date),
// the newest changes on their clients by others (Activities), their
// newest unread notifications (Notifications) and the live rooms they
// may see (LiveRooms).
func (s *Store) Home(ctx context.Context, u *User, q HomeQuery) (*Home, error) {
	key := homeKey{u.ID, u.IsAdmin(), q}
	if kept, ok := s.homes.Get(key); ok {
		stamp, usable, err := s.homeCheck(ctx, u, kept)
		if err != nil {
			return nil, err
		}
		if usable {
			if stamp == kept.homeStamp {
				return &kept.Home, nil
			}
			// Read after the stamp, as below.
			again := &keptHome{Home: kept.Home, homeStamp: stamp, companies: kept.companies}
			if stamp.rooms != kept.rooms {
				if again.Rooms, err = s.LiveRooms(ctx, u); err != nil {
					return nil, err
				}
				again.RoomsVersion = homeVersions.Add(1)
			}
			s.homes.Put(key, again)
			return &again.Home, nil
		}
	}
	// The stamp is read before what it stamps. A change whose outbox row
	// is still pending may not be in the meetings index yet: what is read
	// now is shown, not kept.
	var stamp homeStamp
	var pending bool
	err := s.r.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM activities WHERE workspace_id = ?), `+homeNotified+`, `+homeRooms+`,
		EXISTS (SELECT 1 FROM outbox WHERE workspace_id = ?)`, u.WorkspaceID, u.ID, u.ID, u.WorkspaceID, u.WorkspaceID).Scan(&stamp.mark, &stamp.notified, &stamp.unread, &stamp.rooms, &pending)
	if err != nil {
		return nil, err
	}
	week, err := s.ListMeetings(ctx, u, MeetingQuery{From: q.From, To: q.To, Limit: q.Meetings})
	if err != nil {
		return nil, err
	}
	activity, err := s.Activities(ctx, u, ActivityQuery{NotBy: u.ID, Limit: q.Activity})
	if err != nil {
		return nil, err
	}
	unread, err := s.Notifications(ctx, u, true, "", q.Unread)
	if err != nil {
		return nil, err
	}
	rooms, err := s.LiveRooms(ctx, u)
	if err != nil {
		return nil, err
	}
	kept := &keptHome{Home: Home{Meetings: week, Activity: activity.Items, Unread: unread.Items, Companies: map[int64]string{}, Rooms: rooms}, homeStamp: stamp}
	for _, m := range week.Items {
		kept.companies = append(kept.companies, m.CompanyID)
	}
	companies, err := s.CompaniesByID(ctx, u, kept.companies)
	if err != nil {
		return nil, err
	}
	for id, c := range companies {
		kept.Companies[id] = c.Name
	}
	for _, a := range activity.Items {
		if a.CompanyID != nil {
			kept.companies = append(kept.companies, *a.CompanyID)
		}
	}
	for _, n := range unread.Items {
		for _, a := range n.Items {
			kept.companies = append(kept.companies, *a.CompanyID) // never an import: Notifications joins companies
		}
	}
	slices.Sort(kept.companies)
	kept.companies = slices.Compact(kept.companies)
	if !pending {
		kept.Version = homeVersions.Add(1)
		kept.RoomsVersion = homeVersions.Add(1)
		s.homes.Put(key, kept)
	}
	return &kept.Home, nil
}

// homeNotified is the notification part of a homeStamp (args: the user's
// id twice).
const homeNotified = `(SELECT coalesce(max(id), 0) FROM notifications WHERE user_id = ?),
	(SELECT count(*) FROM notifications WHERE user_id = ? AND read_at = 0)`

// homeRooms is the live-rooms part of a homeStamp (arg: the workspace):
// each open room's meeting and newest event. While a room is there, a new
// event's id is above its every other (room_events ids may be reused only
// after a room's are deleted with it), and a room deleted (its meeting or
// company) leaves the list.
const homeRooms = `(SELECT coalesce(group_concat(r.meeting_id || ':' ||
		coalesce((SELECT max(e.id) FROM room_events e WHERE e.meeting_id = r.meeting_id), 0), ',' ORDER BY r.meeting_id), '')
	FROM rooms r WHERE r.workspace_id = ? AND r.state = 'open')`

// homeCheck returns the stamp of u's home now, and whether kept may be
// shown (its live rooms only while the stamp's rooms are kept's): no
// change after its mark (up to homeWalk ids on) concerns u (for an admin,
// none at all; for staff, none on a current client, no client given or
// taken away and no company deleted), u's notifications are as they
// were, and u may still see every company it names.
func (s *Store) homeCheck(ctx context.Context, u *User, kept *keptHome) (stamp homeStamp, usable bool, err error) {
	// Most loads come while nothing at all changed in the workspace: the
	// mark is kept's, so no client was changed, given, taken or deleted
	// since kept was read (each writes an activity in its transaction),
	// and the stamp alone decides. Only otherwise are the changes and
	// the companies looked through, which costs about as much again.
	err = s.r.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM activities WHERE workspace_id = ?), `+homeNotified+`, `+homeRooms,
		u.WorkspaceID, u.ID, u.ID, u.WorkspaceID).Scan(&stamp.mark, &stamp.notified, &stamp.unread, &stamp.rooms)
	if err != nil || stamp.mark == kept.mark {
		return stamp, err == nil && stamp.notified == kept.notified && stamp.unread == kept.unread, err
	}
	var changed, seen int
	args := []any{u.WorkspaceID, u.ID, u.ID, u.WorkspaceID, kept.mark, kept.mark + homeWalk}
	changes := `EXISTS (SELECT 1 FROM activities a WHERE a.workspace_id = ? AND a.id > ? AND a.id <= ?`
	if !u.IsAdmin() {
		changes += ` AND (EXISTS (SELECT 1 FROM user_clients uc WHERE uc.user_id = ? AND uc.company_id = a.company_id)
			OR (a.kind IN (?, ?) AND a.ref_id = ?) OR a.kind = ?)`
		args = append(args, u.ID, ActivityClientAssigned, ActivityClientUnassigned, u.ID, ActivityCompanyDeleted)
	}
	// Staff see their clients; an admin, the workspace's companies (NOT
	// INDEXED: rowid lookups for the list, as CompaniesByID).
	visible, vargs := `SELECT count(*) FROM user_clients WHERE user_id = ? AND company_id IN (`, []any{u.ID}
	if u.IsAdmin() {
		visible, vargs = `SELECT count(*) FROM companies NOT INDEXED WHERE workspace_id = ? AND id IN (`, []any{u.WorkspaceID}
	}
	for _, id := range kept.companies {
		vargs = append(vargs, id)
	}
	args = append(args, vargs...)
	err = s.r.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM activities WHERE workspace_id = ?), `+homeNotified+`, `+changes+`), (`+
		visible+placeholders(len(kept.companies))+`)), `+homeRooms, append(args, u.WorkspaceID)...).Scan(&stamp.mark, &stamp.notified, &stamp.unread, &changed, &seen, &stamp.rooms)
	usable = err == nil && changed == 0 && stamp.mark-kept.mark <= homeWalk && stamp.notified == kept.notified && stamp.unread == kept.unread &&
		seen == len(kept.companies)
	return stamp, usable, err
}
