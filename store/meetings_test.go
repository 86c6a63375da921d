package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// mtgModel is what the meetings list should say, kept by the test beside
// the store: every meeting and every assignment.
type mtgModel struct {
	meetings  map[int64]store.Meeting
	assigned  map[int64]map[int64]bool // staff user -> companies
	companies []int64
	types     []string
}

func newModel(types []string) *mtgModel {
	return &mtgModel{meetings: map[int64]store.Meeting{}, assigned: map[int64]map[int64]bool{}, types: types}
}

func (md *mtgModel) sees(u *store.User, companyID int64) bool {
	return u.IsAdmin() || md.assigned[u.ID][companyID]
}

func sortKey(m store.Meeting, sort string) int64 {
	if sort == "updated" {
		return m.UpdatedAt
	}
	return m.StartsAt
}

// expect answers q by brute force.
func (md *mtgModel) expect(u *store.User, q store.MeetingQuery) []store.Meeting {
	out := []store.Meeting{}
	for _, m := range md.meetings {
		k := sortKey(m, q.Sort)
		switch {
		case !md.sees(u, m.CompanyID),
			len(q.Types) > 0 && !slices.Contains(q.Types, m.Type),
			len(q.Statuses) > 0 && !slices.Contains(q.Statuses, m.Status),
			q.From > 0 && k < q.From,
			q.To > 0 && k >= q.To:
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		ka, kb := sortKey(a, q.Sort), sortKey(b, q.Sort)
		if ka != kb {
			return (ka < kb) != q.Desc
		}
		return (a.ID < b.ID) != q.Desc
	})
	return out
}

func ids(ms []store.Meeting) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// checkList walks every page of q for u forward through the Redis index
// and back again, compares each page with the SQLite answer to the same
// query and cursor, and the whole with the model.
func checkList(t *testing.T, env *storetest.Env, md *mtgModel, u *store.User, q store.MeetingQuery) int {
	t.Helper()
	ctx := context.Background()
	want := md.expect(u, q)
	// Both raw lists leave the organiser's name to ListMeetings, which
	// TestMeetingCRUD checks.
	for i := range want {
		want[i].AuthorName = nil
	}
	q.Cursor = ""
	var got []store.Meeting
	var last *store.MeetingPage
	pages := 0
	page := func(q store.MeetingQuery) *store.MeetingPage {
		t.Helper()
		pages++
		rp, ready, err := env.Store.ListMeetingsRedis(ctx, u, q)
		if err != nil || !ready {
			t.Fatalf("redis list %+v: ready %v, %v", q, ready, err)
		}
		sp, err := env.Store.ListMeetingsSQL(ctx, u, q)
		if err != nil {
			t.Fatalf("sql list %+v: %v", q, err)
		}
		if sp.Count == -1 && rp.Count > 1000 { // SQLite stops counting
			sp.Count = rp.Count
		}
		if !reflect.DeepEqual(rp, sp) {
			t.Fatalf("user %d query %+v:\nredis %v next %q prev %q count %d\nsql   %v next %q prev %q count %d",
				u.ID, q, ids(rp.Items), rp.Next, rp.Prev, rp.Count, ids(sp.Items), sp.Next, sp.Prev, sp.Count)
		}
		if rp.Count != int64(len(want)) {
			t.Fatalf("user %d query %+v: count %d, want %d", u.ID, q, rp.Count, len(want))
		}
		return rp
	}
	for {
		p := page(q)
		got = append(got, p.Items...)
		last = p
		if p.Next == "" {
			break
		}
		if len(got) > len(want) {
			t.Fatalf("user %d query %+v: more rows than the %d expected", u.ID, q, len(want))
		}
		q.Cursor = p.Next
	}
	if !reflect.DeepEqual(ids(got), ids(want)) {
		t.Fatalf("user %d query %+v:\ngot  %v\nwant %v", u.ID, q, ids(got), ids(want))
	}
	if len(want) > 0 && !reflect.DeepEqual(got, want) {
		t.Fatalf("user %d query %+v: same ids, different rows", u.ID, q)
	}
	// Back from the last page to the first.
	var back []store.Meeting
	for q.Cursor = last.Prev; q.Cursor != ""; {
		p := page(q)
		back = append(p.Items, back...)
		q.Cursor = p.Prev
	}
	if n := len(want) - len(last.Items); !reflect.DeepEqual(ids(back), ids(want[:n])) {
		t.Fatalf("user %d query %+v: paging back gave %v, want %v", u.ID, q, ids(back), ids(want[:n]))
	}
	return pages
}

// limitFor picks a page size, small when the list is, so that a walk takes
// about 10 pages or fewer (at least 100 rows a page for long lists).
func limitFor(r *rand.Rand, n int) int {
	l := []int{1, 3, 10, 25, 100}[r.IntN(5)]
	return min(100, max(l, (n+9)/10))
}

func (md *mtgModel) randomQuery(r *rand.Rand, u *store.User) store.MeetingQuery {
	q := store.MeetingQuery{Desc: r.IntN(2) == 0, Sort: []string{"date", "updated", ""}[r.IntN(3)]}
	if r.IntN(5) > 1 {
		perm := r.Perm(len(md.types))
		for _, i := range perm[:1+r.IntN(min(3, len(perm)))] {
			q.Types = append(q.Types, md.types[i])
		}
	}
	q.Statuses = [][]string{nil, {"open"}, {"closed"}, {"closed", "open"}}[r.IntN(4)]
	if r.IntN(2) == 0 && len(md.meetings) > 0 {
		var keys []int64
		for _, m := range md.meetings {
			keys = append(keys, sortKey(m, q.Sort))
		}
		slices.Sort(keys)
		a, b := keys[r.IntN(len(keys))], keys[r.IntN(len(keys))]
		if a > b {
			a, b = b, a
		}
		switch r.IntN(3) {
		case 0:
			q.From = a
		case 1:
			q.To = b + 1
		default:
			q.From, q.To = a, b+1
		}
	}
	q.Limit = limitFor(r, len(md.expect(u, q)))
	return q
}

func testSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ROLODEX_TEST_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (ROLODEX_TEST_SEED to repeat)", seed)
	return seed
}

const hour = int64(time.Hour / time.Millisecond)

// base is a fixed day; meetings start on whole hours around it, so many
// share a start and the id breaks the tie.
var base = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC).UnixMilli()

func TestMeetingsListMatchesSQL(t *testing.T) {
	steps := 4000
	if testing.Short() {
		steps = 800
	}
	if s := os.Getenv("ROLODEX_TEST_STEPS"); s != "" {
		steps, _ = strconv.Atoi(s)
	}
	r := rand.New(rand.NewPCG(testSeed(t), 1))
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	users := []*store.User{admin}
	var staff []*store.User
	for i := 0; i < 7; i++ {
		u := env.User(t, fmt.Sprintf("staff%d@example.com", i), store.RoleStaff)
		users, staff = append(users, u), append(staff, u)
	}
	types, err := st.MeetingTypes(ctx, &store.User{WorkspaceID: store.DefaultWorkspace})
	if err != nil {
		t.Fatal(err)
	}
	md := newModel(types)
	for i := 0; i < 50; i++ {
		c, err := st.CreateCompany(ctx, admin, store.CompanyInput{Name: fmt.Sprintf("Client %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		md.companies = append(md.companies, c.ID)
	}
	for _, u := range staff {
		md.assigned[u.ID] = map[int64]bool{}
		for _, c := range md.companies {
			if r.IntN(4) == 0 {
				if err := st.AssignClient(ctx, admin, u.ID, c, true); err != nil {
					t.Fatal(err)
				}
				md.assigned[u.ID][c] = true
			}
		}
	}
	pick := func(ids []int64) int64 { return ids[r.IntN(len(ids))] }
	anyMeeting := func() (store.Meeting, bool) {
		for _, m := range md.meetings { // map order is random enough
			return m, true
		}
		return store.Meeting{}, false
	}
	// actor returns a user who may see company c: the admin or its staff.
	actor := func(c int64) *store.User {
		var who []*store.User
		for _, u := range users {
			if md.sees(u, c) {
				who = append(who, u)
			}
		}
		return who[r.IntN(len(who))]
	}
	input := func() store.MeetingInput {
		in := store.MeetingInput{Type: md.types[r.IntN(len(md.types))], Status: []string{"open", "closed", ""}[r.IntN(3)],
			Subject: fmt.Sprintf("Meeting %d", r.IntN(1e6)), Details: "Agenda *item*", StartsAt: base + int64(r.IntN(300)-100)*hour}
		if r.IntN(2) == 0 {
			e := in.StartsAt + int64(r.IntN(3))*hour
			in.EndsAt = &e
		}
		return in
	}
	pages := 0
	check := func(n int) {
		for _, u := range users {
			for i := 0; i < n; i++ {
				pages += checkList(t, env, md, u, md.randomQuery(r, u))
			}
		}
	}
	for step := 0; step < steps; step++ {
		if step == steps/2 {
			name, err := st.AddMeetingType(ctx, admin, "Demo Day")
			if err != nil || name != "Demo Day" {
				t.Fatalf("add type: %q, %v", name, err)
			}
			md.types = append(md.types, name)
		}
		switch op := r.IntN(100); {
		case op < 60 || len(md.meetings) < 20:
			c := pick(md.companies)
			m, err := st.CreateMeeting(ctx, actor(c), c, input())
			if err != nil {
				t.Fatalf("step %d create: %v", step, err)
			}
			md.meetings[m.ID] = *m
		case op < 70:
			old, _ := anyMeeting()
			in := input()
			if r.IntN(3) == 0 { // sometimes change one thing only
				in = store.MeetingInput{Type: old.Type, Subject: old.Subject, Details: old.Details, StartsAt: old.StartsAt, EndsAt: old.EndsAt}
				switch r.IntN(3) {
				case 0:
					in.Type = md.types[r.IntN(len(md.types))]
				case 1:
					in.StartsAt += hour
					in.EndsAt = nil
				}
			}
			m, err := st.UpdateMeeting(ctx, actor(old.CompanyID), old.ID, in)
			if err != nil {
				t.Fatalf("step %d update: %v", step, err)
			}
			// An edit that changes nothing is no edit: updated_at stays.
			changed := m.Type != old.Type || m.Status != old.Status || m.Subject != old.Subject || m.Details != old.Details ||
				m.StartsAt != old.StartsAt || (m.EndsAt == nil) != (old.EndsAt == nil) || m.EndsAt != nil && *m.EndsAt != *old.EndsAt
			if changed && m.UpdatedAt <= old.UpdatedAt || !changed && m.UpdatedAt != old.UpdatedAt {
				t.Fatalf("changed %v: updated_at went from %d to %d", changed, old.UpdatedAt, m.UpdatedAt)
			}
			md.meetings[m.ID] = *m
		case op < 75:
			old, _ := anyMeeting()
			status := map[string]string{"open": "closed", "closed": "open"}[old.Status]
			m, err := st.SetMeetingStatus(ctx, actor(old.CompanyID), old.ID, status)
			if err != nil || m.Status != status {
				t.Fatalf("step %d status: %v", step, err)
			}
			md.meetings[m.ID] = *m
		case op < 83:
			old, _ := anyMeeting()
			if err := st.DeleteMeeting(ctx, actor(old.CompanyID), old.ID); err != nil {
				t.Fatalf("step %d delete: %v", step, err)
			}
			delete(md.meetings, old.ID)
		case op < 92:
			u, c := staff[r.IntN(len(staff))], pick(md.companies)
			assign := !md.assigned[u.ID][c]
			if err := st.AssignClient(ctx, admin, u.ID, c, assign); err != nil {
				t.Fatalf("step %d assign: %v", step, err)
			}
			md.assigned[u.ID][c] = assign
			// The change shows at once.
			q := md.randomQuery(r, u)
			q.Limit = 100
			pages += checkList(t, env, md, u, q)
		case op < 95:
			u := staff[r.IntN(len(staff))]
			var cs []int64
			md.assigned[u.ID] = map[int64]bool{}
			for _, c := range md.companies {
				if r.IntN(3) == 0 {
					cs = append(cs, c)
					md.assigned[u.ID][c] = true
				}
			}
			if err := st.SetUserClients(ctx, admin, u.ID, cs); err != nil {
				t.Fatalf("step %d set clients: %v", step, err)
			}
		case op < 97:
			// A staff user creates a company (and is assigned to it).
			u := staff[r.IntN(len(staff))]
			c, err := st.CreateCompany(ctx, u, store.CompanyInput{Name: fmt.Sprintf("Own %d", step)})
			if err != nil {
				t.Fatal(err)
			}
			md.companies = append(md.companies, c.ID)
			md.assigned[u.ID][c.ID] = true
		case op < 97 && r.IntN(4) == 0 && len(md.companies) > 20:
			i := r.IntN(len(md.companies))
			c := md.companies[i]
			if err := st.DeleteCompany(ctx, admin, c); err != nil {
				t.Fatalf("step %d delete company: %v", step, err)
			}
			md.companies = slices.Delete(md.companies, i, i+1)
			for id, m := range md.meetings {
				if m.CompanyID == c {
					delete(md.meetings, id)
				}
			}
			for _, a := range md.assigned {
				delete(a, c)
			}
		default:
			// A staff user cannot reach a meeting of a client not theirs.
			u := staff[r.IntN(len(staff))]
			if m, ok := anyMeeting(); ok && !md.sees(u, m.CompanyID) {
				if _, err := st.Meeting(ctx, u, m.ID); store.ErrorCode(err) != store.ENotFound {
					t.Fatalf("hidden meeting answered %v", err)
				}
				if _, err := st.UpdateMeeting(ctx, u, m.ID, input()); store.ErrorCode(err) != store.ENotFound {
					t.Fatalf("hidden meeting update answered %v", err)
				}
				if err := st.DeleteMeeting(ctx, u, m.ID); store.ErrorCode(err) != store.ENotFound {
					t.Fatalf("hidden meeting delete answered %v", err)
				}
			}
		}
		if step%200 == 199 {
			check(1)
		}
	}
	if n, err := st.CountOutbox(ctx); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("%d meetings, %d companies, %d pages compared during the run, %d outbox rows left (company rows wait for a search applier)",
			len(md.meetings), len(md.companies), pages, n)
	}
	// Every query shape, for every user.
	pages = 0
	shapes := 0
	for _, u := range users {
		for _, types := range [][]string{nil, {"email"}, {"call", "video", "in-person"}, {"Demo Day", "sms"}} {
			for _, statuses := range [][]string{nil, {"open"}, {"closed"}} {
				for _, srt := range []string{"date", "updated"} {
					for rng := 0; rng < 3; rng++ {
						for _, desc := range []bool{false, true} {
							q := store.MeetingQuery{Types: types, Statuses: statuses, Sort: srt, Desc: desc}
							switch rng {
							case 1:
								q.From, q.To = base, base+48*hour
							case 2:
								if srt == "date" {
									q.To = base
								} else {
									q.From = sortKey(md.meetings[slices.Max(mapKeys(md.meetings))], srt)
								}
							}
							q.Limit = limitFor(r, len(md.expect(u, q)))
							pages += checkList(t, env, md, u, q)
							shapes++
						}
					}
				}
			}
		}
	}
	t.Logf("final: %d query shapes, %d pages compared", shapes, pages)
}

func mapKeys(m map[int64]store.Meeting) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// meetingFixture is a small workspace: an admin, two staff users, three
// companies (alice has a and b, bob has c) and some meetings on each.
type meetingFixture struct {
	env          *storetest.Env
	admin        *store.User
	alice, bob   *store.User
	a, b, c      *store.Company
	md           *mtgModel
	users        []*store.User
	meetingCount int
}

func newMeetingFixture(t *testing.T) *meetingFixture {
	t.Helper()
	env := storetest.Open(t)
	ctx := context.Background()
	f := &meetingFixture{env: env}
	f.admin = env.User(t, "admin@example.com", store.RoleAdmin)
	f.alice = env.User(t, "alice@example.com", store.RoleStaff)
	f.bob = env.User(t, "bob@example.com", store.RoleStaff)
	f.users = []*store.User{f.admin, f.alice, f.bob}
	types, _ := env.Store.MeetingTypes(ctx, &store.User{WorkspaceID: store.DefaultWorkspace})
	f.md = newModel(types)
	var err error
	for _, p := range []**store.Company{&f.a, &f.b, &f.c} {
		if *p, err = env.Store.CreateCompany(ctx, f.admin, store.CompanyInput{Name: "Co"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range []struct {
		u *store.User
		c *store.Company
	}{{f.alice, f.a}, {f.alice, f.b}, {f.bob, f.c}} {
		if err := env.Store.AssignClient(ctx, f.admin, x.u.ID, x.c.ID, true); err != nil {
			t.Fatal(err)
		}
		if f.md.assigned[x.u.ID] == nil {
			f.md.assigned[x.u.ID] = map[int64]bool{}
		}
		f.md.assigned[x.u.ID][x.c.ID] = true
	}
	for i := 0; i < 90; i++ {
		c := []*store.Company{f.a, f.b, f.c}[i%3]
		m, err := env.Store.CreateMeeting(ctx, f.admin, c.ID, store.MeetingInput{Type: types[i%len(types)], Status: []string{"open", "closed"}[i%2],
			Subject: fmt.Sprintf("M%d", i), StartsAt: base + int64(i%7)*hour})
		if err != nil {
			t.Fatal(err)
		}
		f.md.meetings[m.ID] = *m
	}
	return f
}

func (f *meetingFixture) checkAll(t *testing.T) {
	t.Helper()
	for _, u := range f.users {
		for _, q := range []store.MeetingQuery{{}, {Desc: true, Limit: 7}, {Types: []string{"email", "call"}, Statuses: []string{"open"}, Limit: 4},
			{Sort: "updated", Desc: true, Limit: 10}, {From: base + hour, To: base + 3*hour, Limit: 5}} {
			checkList(t, f.env, f.md, u, q)
		}
	}
}

func TestMeetingsFlushAndRebuild(t *testing.T) {
	f := newMeetingFixture(t)
	ctx := context.Background()
	st := f.env.Store
	f.checkAll(t)
	if err := f.env.Redis.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// Hold the rebuild lock, as a rebuild on another node would, so that
	// Redis stays empty while we look.
	lock := store.Key(store.DefaultWorkspace, "mtg-rebuild")
	if err := f.env.Redis.Set(ctx, lock, "another node", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	// Redis knows nothing now; the list comes from SQLite, and the same.
	for _, u := range f.users {
		for _, q := range []store.MeetingQuery{{}, {Desc: true, Limit: 7}, {Types: []string{"email"}, Statuses: []string{"closed"}}} {
			if _, ready, err := st.ListMeetingsRedis(ctx, u, q); ready || err != nil {
				t.Fatalf("after flush the index says ready=%v, %v", ready, err)
			}
			got, err := st.ListMeetings(ctx, u, q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := st.ListMeetingsSQL(ctx, u, q)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got.Items { // the raw SQLite list does not name organisers
				got.Items[i].AuthorName = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("after flush user %d: %v, want %v", u.ID, ids(got.Items), ids(want.Items))
			}
			if len(f.md.expect(u, q)) != int(got.Count) {
				t.Fatalf("after flush count %d", got.Count)
			}
		}
	}
	// The rebuild ListMeetings started in the background waited for the
	// lock; an explicit one waits for it in turn.
	if err := f.env.Redis.Del(ctx, lock).Err(); err != nil {
		t.Fatal(err)
	}
	if err := st.RebuildRedis(ctx, store.DefaultWorkspace); err != nil {
		t.Fatal(err)
	}
	st.WaitRebuilds()
	if !st.RedisReady(ctx, store.DefaultWorkspace) {
		t.Fatal("not ready after rebuild")
	}
	f.checkAll(t)
	// And it keeps working: a write after the rebuild shows at once.
	if err := st.AssignClient(ctx, f.admin, f.bob.ID, f.a.ID, true); err != nil {
		t.Fatal(err)
	}
	f.md.assigned[f.bob.ID][f.a.ID] = true
	f.checkAll(t)
}

func TestMeetingsRedisDown(t *testing.T) {
	f := newMeetingFixture(t)
	ctx := context.Background()
	f.env.Srv.Stop()
	for _, u := range f.users {
		q := store.MeetingQuery{Types: []string{"email", "sms"}, Limit: 5}
		got, err := f.env.Store.ListMeetings(ctx, u, q)
		if err != nil {
			t.Fatal(err)
		}
		want := f.md.expect(u, q)
		if !reflect.DeepEqual(ids(got.Items), ids(want[:min(5, len(want))])) || got.Count != int64(len(want)) {
			t.Fatalf("redis down, user %d: %v (%d), want %v", u.ID, ids(got.Items), got.Count, ids(want))
		}
	}
}

func scanKeys(t *testing.T, env *storetest.Env) []string {
	t.Helper()
	keys, err := env.Redis.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

func TestMeetingsQueriesLeaveNoKeys(t *testing.T) {
	f := newMeetingFixture(t)
	before := scanKeys(t, f.env)
	f.checkAll(t)
	for _, u := range f.users {
		if _, err := f.env.Store.ListMeetings(context.Background(), u, store.MeetingQuery{Statuses: []string{"open"}}); err != nil {
			t.Fatal(err)
		}
	}
	if after := scanKeys(t, f.env); !reflect.DeepEqual(before, after) {
		t.Fatalf("queries changed the keys:\nbefore %v\nafter  %v", before, after)
	}
	t.Logf("%d keys, unchanged", len(before))
}

func TestMeetingsCompanyDelete(t *testing.T) {
	f := newMeetingFixture(t)
	ctx := context.Background()
	if err := f.env.Store.DeleteCompany(ctx, f.admin, f.a.ID); err != nil {
		t.Fatal(err)
	}
	for id, m := range f.md.meetings {
		if m.CompanyID == f.a.ID {
			delete(f.md.meetings, id)
			if n, _ := f.env.Redis.Exists(ctx, store.Key(1, "mtg", id)).Result(); n != 0 {
				t.Fatalf("hash of meeting %d of a deleted company is left", id)
			}
		}
	}
	delete(f.md.assigned[f.alice.ID], f.a.ID)
	f.checkAll(t)
}

func TestMeetingCRUD(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	bob := env.User(t, "bob@example.com", store.RoleStaff)
	acme, err := st.CreateCompany(ctx, alice, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	types, err := st.MeetingTypes(ctx, &store.User{WorkspaceID: store.DefaultWorkspace})
	if err != nil || !reflect.DeepEqual(types, []string{"email", "sms", "call", "video", "in-person"}) {
		t.Fatalf("types %v, %v", types, err)
	}
	end := base + hour
	m, err := st.CreateMeeting(ctx, alice, acme.ID, store.MeetingInput{Type: " Call ", Subject: " Kick-off ", Details: "# Agenda", StartsAt: base, EndsAt: &end})
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "call" || m.Status != "open" || m.Subject != "Kick-off" || *m.OwnerID != alice.ID || m.CreatedAt == 0 {
		t.Fatalf("created %+v", m)
	}
	got, err := st.Meeting(ctx, alice, m.ID)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, m)
	}
	for _, u := range []*store.User{bob} {
		if _, err := st.Meeting(ctx, u, m.ID); store.ErrorCode(err) != store.ENotFound {
			t.Fatalf("bob reads alice's meeting: %v", err)
		}
		if _, err := st.CreateMeeting(ctx, u, acme.ID, store.MeetingInput{Type: "call", Subject: "x", StartsAt: base}); store.ErrorCode(err) != store.ENotFound {
			t.Fatalf("bob adds to alice's company: %v", err)
		}
		if _, err := st.SetMeetingStatus(ctx, u, m.ID, "closed"); store.ErrorCode(err) != store.ENotFound {
			t.Fatalf("bob closes alice's meeting: %v", err)
		}
	}
	if _, err := st.Meeting(ctx, admin, m.ID); err != nil {
		t.Fatalf("admin: %v", err)
	}
	// Validation.
	bad := []struct {
		in     store.MeetingInput
		fields []string
	}{
		{store.MeetingInput{Type: "fax", Subject: "x", StartsAt: base}, []string{"type"}},
		{store.MeetingInput{Type: "call", Status: "done", Subject: "x", StartsAt: base}, []string{"status"}},
		{store.MeetingInput{Type: "call", Subject: "  ", StartsAt: base}, []string{"subject"}},
		{store.MeetingInput{Type: "call", Subject: string(make([]byte, 201)), StartsAt: base}, []string{"subject"}},
		{store.MeetingInput{Type: "call", Subject: "x"}, []string{"starts_at"}},
		{store.MeetingInput{Type: "call", Subject: "x", StartsAt: base, EndsAt: ptr(base - 1)}, []string{"ends_at"}},
		{store.MeetingInput{Type: "", Subject: "", StartsAt: -5}, []string{"starts_at", "subject", "type"}},
	}
	for _, c := range bad {
		_, err := st.CreateMeeting(ctx, alice, acme.ID, c.in)
		if store.ErrorCode(err) != store.EInvalid {
			t.Fatalf("%+v: %v", c.in, err)
		}
		var fields []string
		for k := range store.ErrorFields(err) {
			fields = append(fields, k)
		}
		slices.Sort(fields)
		if !reflect.DeepEqual(fields, c.fields) {
			t.Fatalf("%+v: fields %v, want %v", c.in, fields, c.fields)
		}
	}
	// Edit, close, reopen.
	up, err := st.UpdateMeeting(ctx, alice, m.ID, store.MeetingInput{Type: "video", Subject: "Demo", StartsAt: base + 2*hour})
	if err != nil || up.Type != "video" || up.Status != "open" || up.EndsAt != nil || up.UpdatedAt <= m.UpdatedAt {
		t.Fatalf("update %+v, %v", up, err)
	}
	closed, err := st.SetMeetingStatus(ctx, alice, m.ID, "closed")
	if err != nil || closed.Status != "closed" || closed.UpdatedAt <= up.UpdatedAt {
		t.Fatalf("close %+v, %v", closed, err)
	}
	if _, err := st.SetMeetingStatus(ctx, alice, m.ID, "gone"); store.ErrorCode(err) != store.EInvalid {
		t.Fatalf("bad status: %v", err)
	}
	page, err := st.ListMeetings(ctx, alice, store.MeetingQuery{Statuses: []string{"closed"}})
	if err != nil || len(page.Items) != 1 || !reflect.DeepEqual(page.Items[0], *closed) || page.Count != 1 {
		t.Fatalf("list %+v, %v", page, err)
	}
	// Like every item, a meeting says who added it: its organiser.
	if a := page.Items[0].AuthorName; a == nil || *a != alice.Name || *page.Items[0].OwnerID != alice.ID {
		t.Fatalf("organiser %v, want %s", a, alice.Name)
	}
	// The company timeline shows it.
	items, _, err := st.Timeline(ctx, alice, acme.ID, store.TimelineQuery{Types: []string{store.TypeMeeting}})
	if err != nil || len(items) != 1 || items[0].Meeting == nil || items[0].Meeting.ID != m.ID {
		t.Fatalf("timeline %+v, %v", items, err)
	}
	// Meeting types: admins only, kept as entered, no duplicates whatever
	// the case.
	if _, err := st.AddMeetingType(ctx, alice, "lunch"); store.ErrorCode(err) != store.EForbidden {
		t.Fatalf("staff adds type: %v", err)
	}
	if name, err := st.AddMeetingType(ctx, admin, "  Trade   Show "); err != nil || name != "Trade Show" {
		t.Fatalf("add type: %q, %v", name, err)
	}
	for _, name := range []string{"trade show", "SMS"} {
		if _, err := st.AddMeetingType(ctx, admin, name); store.ErrorCode(err) != store.EConflict {
			t.Fatalf("duplicate type %q: %v", name, err)
		}
	}
	for _, name := range []string{"", "a:b", "{w2}", "-x", string(make([]byte, 40))} {
		if _, err := st.AddMeetingType(ctx, admin, name); store.ErrorCode(err) != store.EInvalid || store.ErrorFields(err)["name"] == "" {
			t.Fatalf("type %q: %v", name, err)
		}
	}
	if fair, err := st.CreateMeeting(ctx, alice, acme.ID, store.MeetingInput{Type: "trade show", Subject: "Fair", StartsAt: base}); err != nil || fair.Type != "Trade Show" {
		t.Fatalf("meeting of type %q: %v", fair.Type, err)
	}
	// Delete.
	if err := st.DeleteMeeting(ctx, bob, m.ID); store.ErrorCode(err) != store.ENotFound {
		t.Fatalf("bob deletes: %v", err)
	}
	if err := st.DeleteMeeting(ctx, alice, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Meeting(ctx, alice, m.ID); store.ErrorCode(err) != store.ENotFound {
		t.Fatalf("deleted meeting: %v", err)
	}
	page, err = st.ListMeetings(ctx, alice, store.MeetingQuery{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Type != "Trade Show" {
		t.Fatalf("list after delete %+v, %v", page, err)
	}
	if n, _ := st.CountOutbox(ctx); n != 1 { // the company row waits for a search applier
		t.Fatalf("%d outbox rows left", n)
	}
}

func ptr(v int64) *int64 { return &v }

func TestMeetingQueryValidation(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	c, err := env.Store.CreateCompany(ctx, admin, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := env.Store.CreateMeeting(ctx, admin, c.ID, store.MeetingInput{Type: "sms", Subject: "x", StartsAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := env.Store.ListMeetings(ctx, admin, store.MeetingQuery{Limit: 1})
	if err != nil || p.Next == "" {
		t.Fatalf("%+v, %v", p, err)
	}
	cases := []struct {
		q     store.MeetingQuery
		field string
	}{
		{store.MeetingQuery{Types: []string{"fax"}}, "type"},
		{store.MeetingQuery{Types: []string{"email", "fax"}}, "type"},
		{store.MeetingQuery{Statuses: []string{"pending"}}, "status"},
		{store.MeetingQuery{Sort: "name"}, "sort"},
		{store.MeetingQuery{From: -1}, "from"},
		{store.MeetingQuery{To: -1}, "to"},
		{store.MeetingQuery{From: base, To: base}, "to"},
		{store.MeetingQuery{From: 1e18}, "from"},
		{store.MeetingQuery{Cursor: "not a cursor"}, "cursor"},
		{store.MeetingQuery{Cursor: "eyJ4IjoxfQ"}, "cursor"},            // {"x":1}: no id
		{store.MeetingQuery{Cursor: p.Next, Sort: "updated"}, "cursor"}, // issued for another sort
		{store.MeetingQuery{Limit: 1000}, "limit"},
		{store.MeetingQuery{Limit: -5}, "limit"},
	}
	for _, c := range cases {
		for _, list := range []func(context.Context, *store.User, store.MeetingQuery) (*store.MeetingPage, error){env.Store.ListMeetings, env.Store.ListMeetingsSQL} {
			_, err := list(ctx, admin, c.q)
			if store.ErrorCode(err) != store.EInvalid || store.ErrorFields(err)[c.field] == "" {
				t.Fatalf("%+v: %v, want invalid %s", c.q, err, c.field)
			}
		}
	}
	// Case and blanks are forgiven.
	p, err = env.Store.ListMeetings(ctx, admin, store.MeetingQuery{Types: []string{" SMS ", ""}, Statuses: []string{"Open"}, Limit: 100})
	if err != nil || len(p.Items) != 3 || p.Count != 3 {
		t.Fatalf("%+v, %v", p, err)
	}
}

func TestMeetingsRebuildUnderWrites(t *testing.T) {
	f := newMeetingFixture(t)
	ctx := context.Background()
	st := f.env.Store
	r := rand.New(rand.NewPCG(testSeed(t), 2))
	companies := []*store.Company{f.a, f.b, f.c}
	// Enough rows that a rebuild's load takes a while, so that writes land
	// between its snapshot and its own write of the row.
	bulk := make([]store.Meeting, 3000)
	for i := range bulk {
		bulk[i] = store.Meeting{CompanyID: companies[i%3].ID, Type: f.md.types[i%5], Status: "open", Subject: "Bulk",
			StartsAt: base + int64(i%50)*hour, CreatedAt: base, UpdatedAt: base}
	}
	if err := st.BulkMeetings(ctx, store.DefaultWorkspace, bulk); err != nil {
		t.Fatal(err)
	}
	for _, m := range bulk {
		f.md.meetings[m.ID] = m
	}
	if err := st.RebuildRedis(ctx, store.DefaultWorkspace); err != nil {
		t.Fatal(err)
	}
	hot := mapKeys(f.md.meetings)[:8] // updated again and again
	done := make(chan error)
	go func() {
		for i := 0; i < 500; i++ {
			var err error
			switch op := r.IntN(20); {
			case op < 2:
				c := companies[r.IntN(3)]
				var m *store.Meeting
				m, err = st.CreateMeeting(ctx, f.admin, c.ID, store.MeetingInput{Type: f.md.types[r.IntN(5)], Subject: "New", StartsAt: base + int64(r.IntN(9))*hour})
				if err == nil {
					f.md.meetings[m.ID] = *m
				}
			case op < 11:
				old, ok := f.md.meetings[hot[r.IntN(len(hot))]]
				if !ok {
					continue
				}
				var m *store.Meeting
				m, err = st.UpdateMeeting(ctx, f.admin, old.ID, store.MeetingInput{Type: f.md.types[r.IntN(5)], Status: []string{"open", "closed"}[r.IntN(2)],
					Subject: "Moved", StartsAt: old.StartsAt + hour})
				if err == nil {
					f.md.meetings[m.ID] = *m
				}
			case op < 12:
				id := slices.Min(mapKeys(f.md.meetings))
				if err = st.DeleteMeeting(ctx, f.admin, id); err == nil {
					delete(f.md.meetings, id)
				}
			default:
				u, c := []*store.User{f.alice, f.bob}[r.IntN(2)], companies[r.IntN(3)]
				assign := !f.md.assigned[u.ID][c.ID]
				if err = st.AssignClient(ctx, f.admin, u.ID, c.ID, assign); err == nil {
					f.md.assigned[u.ID][c.ID] = assign
				}
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	rebuilds := 0
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
			if err := st.RebuildRedis(ctx, store.DefaultWorkspace); err != nil {
				t.Fatal(err)
			}
			rebuilds++
		}
	}
	st.WaitRebuilds()
	if !st.RedisReady(ctx, store.DefaultWorkspace) {
		t.Fatal("not ready")
	}
	t.Logf("%d rebuilds while writing", rebuilds)
	for _, u := range f.users {
		checkList(t, f.env, f.md, u, store.MeetingQuery{Limit: 100})
		checkList(t, f.env, f.md, u, store.MeetingQuery{Sort: "updated", Desc: true, Limit: 100})
		checkList(t, f.env, f.md, u, store.MeetingQuery{Types: []string{"email", "call"}, Statuses: []string{"closed"}, Limit: 50})
	}
}

// While a rebuild (here: another node's) holds the lock, writes change
// nothing in the index but record what they touched; the rebuild replays
// them from SQLite.
func TestMeetingsWritesDuringForeignRebuild(t *testing.T) {
	f := newMeetingFixture(t)
	ctx := context.Background()
	st, rdb := f.env.Store, f.env.Redis
	ws := store.DefaultWorkspace
	lock := store.Key(ws, "mtg-rebuild")
	if err := rdb.Set(ctx, lock, "another node", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	before := scanKeys(t, f.env)
	var m store.Meeting
	for _, x := range f.md.meetings {
		if x.CompanyID == f.b.ID {
			m = x
			break
		}
	}
	up, err := st.SetMeetingStatus(ctx, f.alice, m.ID, map[string]string{"open": "closed", "closed": "open"}[m.Status])
	if err != nil {
		t.Fatal(err)
	}
	f.md.meetings[m.ID] = *up
	if err := st.AssignClient(ctx, f.admin, f.alice.ID, f.a.ID, false); err != nil {
		t.Fatal(err)
	}
	delete(f.md.assigned[f.alice.ID], f.a.ID)
	if err := st.DeleteCompany(ctx, f.admin, f.c.ID); err != nil {
		t.Fatal(err)
	}
	for id, x := range f.md.meetings {
		if x.CompanyID == f.c.ID {
			delete(f.md.meetings, id)
		}
	}
	delete(f.md.assigned[f.bob.ID], f.c.ID)
	for key, want := range map[string]string{"mtg-touched": strconv.FormatInt(m.ID, 10),
		"mtg-touched-users": strconv.FormatInt(f.alice.ID, 10), "mtg-touched-companies": strconv.FormatInt(f.c.ID, 10)} {
		if ok, _ := rdb.SIsMember(ctx, store.Key(ws, key), want).Result(); !ok {
			t.Errorf("%s lacks %s", key, want)
		}
	}
	after := scanKeys(t, f.env)
	// Only the touched sets appeared; no meeting key changed.
	for _, k := range after {
		if !slices.Contains(before, k) && !strings.HasPrefix(k, store.Key(ws, "mtg-touched")) {
			t.Errorf("key %s written during the rebuild", k)
		}
	}
	if err := rdb.Del(ctx, lock).Err(); err != nil {
		t.Fatal(err)
	}
	if err := st.RebuildRedis(ctx, ws); err != nil {
		t.Fatal(err)
	}
	f.checkAll(t)
}
