package store

import (
	"context"
	"slices"

	"github.com/rolodex/rolodex/cache"
)

// The home page's meetings and recent changes are the costly part of it
// (a meetings page from Redis, checked against SQLite; a walk of the
// activity) and change far less often than the page is loaded. Every
// change to a client writes an activity in its transaction, so the newest
// activity id of the workspace (its mark) says whether anything changed
// since a home was read: a kept home is used while the changes after its
// mark concern neither the viewer's clients nor their assignments, and
// while every company it names still exists and is the viewer's. What no
// activity records (a company deleted, with its activity) is caught by
// that last check. All three are one statement (homeCheck).

// HomeQuery is what the home page lists.
type HomeQuery struct {
	From, To int64 // the meetings' window, unix ms
	Meetings int   // how many meetings at most
	Activity int   // how many of the newest changes by others
}

// Home is the home page's meetings and recent changes, with the names of
// the meetings' companies.
type Home struct {
	Meetings  *MeetingPage
	Activity  []Activity
	Companies map[int64]string
}

type homeKey struct {
	user  int64
	admin bool
	q     HomeQuery
}

// keptHome is a Home and what checks it: the workspace's newest activity
// when it was read, and the companies it names.
type keptHome struct {
	Home
	mark      int64
	companies []int64
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
		return n
	})
}

// Home returns u's meetings in [q.From, q.To) (ListMeetings, by date)
// and the newest changes on their clients by others (Activities).
func (s *Store) Home(ctx context.Context, u *User, q HomeQuery) (*Home, error) {
	key := homeKey{u.ID, u.IsAdmin(), q}
	var mark int64
	if kept, ok := s.homes.Get(key); ok {
		var usable bool
		var err error
		if mark, usable, err = s.homeCheck(ctx, u, kept); err != nil {
			return nil, err
		}
		if usable {
			if mark != kept.mark {
				s.homes.Put(key, &keptHome{Home: kept.Home, mark: mark, companies: kept.companies})
			}
			return &kept.Home, nil
		}
	} else if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM activities WHERE workspace_id = ?`, u.WorkspaceID).Scan(&mark); err != nil {
		return nil, err
	}
	// A change whose outbox row is still pending may not be in the
	// meetings index yet: what is read now is shown, not kept.
	var pending bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbox WHERE workspace_id = ?)`, u.WorkspaceID).Scan(&pending); err != nil {
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
	kept := &keptHome{Home: Home{Meetings: week, Activity: activity.Items, Companies: map[int64]string{}}, mark: mark}
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
	slices.Sort(kept.companies)
	kept.companies = slices.Compact(kept.companies)
	if !pending {
		s.homes.Put(key, kept)
	}
	return &kept.Home, nil
}

// homeCheck returns the workspace's newest activity id, and whether kept
// may be shown: no change after its mark (up to homeWalk ids on) concerns
// u (for an admin, none at all; for staff, none on a current client and no
// client given or taken away), and u may still see every company it
// names.
func (s *Store) homeCheck(ctx context.Context, u *User, kept *keptHome) (mark int64, usable bool, err error) {
	var changed, seen int
	args := []any{u.WorkspaceID, u.WorkspaceID, kept.mark, kept.mark + homeWalk}
	changes := `EXISTS (SELECT 1 FROM activities a WHERE a.workspace_id = ? AND a.id > ? AND a.id <= ?`
	if !u.IsAdmin() {
		changes += ` AND (EXISTS (SELECT 1 FROM user_clients uc WHERE uc.user_id = ? AND uc.company_id = a.company_id)
			OR (a.kind IN (?, ?) AND a.ref_id = ?))`
		args = append(args, u.ID, ActivityClientAssigned, ActivityClientUnassigned, u.ID)
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
	err = s.r.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM activities WHERE workspace_id = ?), `+changes+`), (`+
		visible+placeholders(len(kept.companies))+`))`, append(args, vargs...)...).Scan(&mark, &changed, &seen)
	return mark, err == nil && changed == 0 && mark-kept.mark <= homeWalk && seen == len(kept.companies), err
}
