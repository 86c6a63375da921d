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
// each use still checks in SQLite that every company it names exists and
// is the viewer's. What no activity records (a company deleted with its
// activity) is caught by that check.

// HomeQuery is what the home page lists.
type HomeQuery struct {
	From, To int64 // the meetings' window, unix ms
	Meetings int   // how many meetings at most
	Activity int   // how many of the newest changes by others
}

// Home is the home page's meetings and recent changes, with the companies
// they name.
type Home struct {
	Meetings  *MeetingPage
	Activity  []Activity
	Companies map[int64]string // names, by id
}

type homeKey struct {
	user  int64
	admin bool
	q     HomeQuery
}

type keptHome struct {
	mark     int64 // the workspace's newest activity when it was read
	meetings *MeetingPage
	activity []Activity
}

// homeWalk is how far past a kept home's mark (in activity ids) the
// changes are looked through before it is read anew instead.
const homeWalk = 1000

func newHomeCache() *cache.Cache[homeKey, keptHome] {
	return cache.New(16<<20, func(_ homeKey, h keptHome) int {
		n := 64
		for _, m := range h.meetings.Items {
			n += 128 + len(m.Type) + len(m.Subject) + len(m.Details)
		}
		for _, a := range h.activity {
			n += 128 + len(a.CompanyName) + len(a.Summary)
		}
		return n
	})
}

// Home returns u's meetings in [q.From, q.To) (ListMeetings, by date)
// and the newest changes on their clients by others (Activities).
func (s *Store) Home(ctx context.Context, u *User, q HomeQuery) (*Home, error) {
	var mark int64
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM activities WHERE workspace_id = ?`, u.WorkspaceID).Scan(&mark); err != nil {
		return nil, err
	}
	key := homeKey{u.ID, u.IsAdmin(), q}
	if kept, ok := s.homes.Get(key); ok {
		fresh, err := s.homeStillFresh(ctx, u, kept.mark, mark)
		if err != nil {
			return nil, err
		}
		if fresh {
			h, ok, err := s.checkHome(ctx, u, kept)
			if err != nil || ok {
				if ok && kept.mark != mark {
					kept.mark = mark
					s.homes.Put(key, kept)
				}
				return h, err
			}
		}
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
	kept := keptHome{mark: mark, meetings: week, activity: activity.Items}
	h, ok, err := s.checkHome(ctx, u, kept)
	if err == nil && ok && !pending {
		s.homes.Put(key, kept)
	}
	return h, err
}

// homeStillFresh reports whether no change in (from, to] concerns what u's
// home shows: for an admin, none at all; for staff, none on a current
// client and no client given or taken away.
func (s *Store) homeStillFresh(ctx context.Context, u *User, from, to int64) (bool, error) {
	switch {
	case from == to:
		return true, nil
	case u.IsAdmin() || to-from > homeWalk:
		return false, nil
	}
	var changed bool
	err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM activities a WHERE a.workspace_id = ? AND a.id > ? AND a.id <= ?
		AND (EXISTS (SELECT 1 FROM user_clients uc WHERE uc.user_id = ? AND uc.company_id = a.company_id)
			OR (a.kind IN (?, ?) AND a.ref_id = ?)))`,
		u.WorkspaceID, from, to, u.ID, ActivityClientAssigned, ActivityClientUnassigned, u.ID).Scan(&changed)
	return !changed, err
}

// checkHome names the companies of a home in one query, which applies
// u's client security now; ok is false when one of them is gone or no
// longer u's (the home is then not to be used when kept, and names only
// what u may see when just read).
func (s *Store) checkHome(ctx context.Context, u *User, kept keptHome) (*Home, bool, error) {
	ids := make([]int64, 0, len(kept.meetings.Items)+len(kept.activity))
	for _, m := range kept.meetings.Items {
		ids = append(ids, m.CompanyID)
	}
	for _, a := range kept.activity {
		if a.CompanyID != nil {
			ids = append(ids, *a.CompanyID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	names := make(map[int64]string, len(ids))
	if len(ids) > 0 {
		cond, args := visible(u, "c")
		inArgs := make([]any, len(ids))
		for i, id := range ids {
			inArgs[i] = id
		}
		// NOT INDEXED: rowid lookups for the id list, as CompaniesByID.
		err := queryEach(ctx, s.r, func(row interface{ Scan(...any) error }, c *Company) error { return row.Scan(&c.ID, &c.Name) },
			func(c *Company) error { names[c.ID] = c.Name; return nil },
			`SELECT c.id, c.name FROM companies c NOT INDEXED WHERE c.id IN (`+placeholders(len(ids))+`) AND `+cond, append(inArgs, args...)...)
		if err != nil {
			return nil, false, err
		}
	}
	return &Home{Meetings: kept.meetings, Activity: kept.activity, Companies: names}, len(names) == len(ids), nil
}
