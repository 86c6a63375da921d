package store

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestStaffActivityWays pages through staff users' activity with a walk
// short enough to take every way staffActivities has: the walk that fills
// a page, the walk that ends short and goes client by client, and client
// by client from the start. Every page must be what filtering all the
// rows in Go gives, for every page size, with and without NotBy.
func TestStaffActivityWays(t *testing.T) {
	ctx := context.Background()
	s, exec := openRaw(t)
	for id := int64(1); id <= 4; id++ {
		exec(`INSERT INTO users (id, workspace_id, email, name, password_hash, role, created_at) VALUES (?, 1, ?, 'u', '', 'staff', 0)`, id, string(rune('a'+id))+"@example.com")
	}
	for id := int64(1); id <= 45; id++ {
		exec(`INSERT INTO companies (id, workspace_id, name, created_at, updated_at) VALUES (?, 1, 'c', 0, 0)`, id)
	}
	// busy (1): every fourth of the 40 active companies; quiet (2): the
	// five companies that were active long ago only; few (3): two.
	clients := map[int64][]int64{1: {4, 8, 12, 16, 20, 24, 28, 32, 36, 40}, 2: {41, 42, 43, 44, 45}, 3: {1, 2}}
	for u, cs := range clients {
		for _, c := range cs {
			exec(`INSERT INTO user_clients (workspace_id, user_id, company_id) VALUES (1, ?, ?)`, u, c)
		}
	}
	type row struct{ id, company, actor int64 }
	var rows []row
	rng := rand.New(rand.NewPCG(4, 2))
	for id := int64(1); id <= 600; id++ {
		r := row{id: id, company: 1 + rng.Int64N(40), actor: rng.Int64N(4)} // actor 0: the system
		if id <= 100 && id%5 == 0 {
			r.company = 41 + rng.Int64N(5)
		}
		if id%97 == 0 {
			r.company = 0 // an import
		}
		rows = append(rows, r)
		var company, actor any
		if r.company > 0 {
			company = r.company
		}
		if r.actor > 0 {
			actor = r.actor
		}
		exec(`INSERT INTO activities (id, workspace_id, company_id, actor_id, kind, ref_id, summary, created_at) VALUES (?, 1, ?, ?, 'note.created', 1, 's', ?)`, id, company, actor, id)
	}
	defer func(w int) { activityWalk = w }(activityWalk)
	for _, walk := range []int{2000, 20} {
		activityWalk = walk
		for u, cs := range clients {
			user := &User{ID: u, WorkspaceID: 1, Role: RoleStaff}
			for _, notBy := range []int64{0, u} {
				var want []int64
				for i := len(rows) - 1; i >= 0; i-- {
					if r := rows[i]; slices.Contains(cs, r.company) && (notBy == 0 || r.actor != notBy) {
						want = append(want, r.id)
					}
				}
				for _, limit := range []int{1, 2, 3, 5, 9} {
					var got []int64
					q := ActivityQuery{NotBy: notBy, Limit: limit}
					for {
						page, err := s.Activities(ctx, user, q)
						if err != nil {
							t.Fatal(err)
						}
						for _, a := range page.Items {
							got = append(got, a.ID)
						}
						if page.Next == "" {
							break
						}
						q.Cursor = page.Next
					}
					if !slices.Equal(got, want) {
						t.Errorf("walk %d, user %d, not by %d, %d a page: %v\nwant %v", walk, u, notBy, limit, got, want)
					}
				}
			}
		}
	}
}
