package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rolodex/rolodex/meetindex"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// readOnlyRedis turns env's redis-server into a replica of a master that
// does not exist, as after a failover: reads answer, writes are refused
// with READONLY. The test ends with it a master again.
func readOnlyRedis(t *testing.T, env *storetest.Env) {
	t.Helper()
	ctx := context.Background()
	if err := env.Redis.Do(ctx, "REPLICAOF", "127.0.0.1", "1").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Redis.Do(context.Background(), "REPLICAOF", "NO", "ONE") })
	if err := env.Redis.Set(ctx, "probe", 1, 0).Err(); err == nil {
		t.Fatal("redis still takes writes")
	}
}

// TestReadOnlyRedisDoesNotLeak: a client taken away while Redis refuses
// writes is gone from every read at once, both in the process that made
// the change and in one that only shares the database and Redis.
func TestReadOnlyRedisDoesNotLeak(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	staff := env.User(t, "staff@example.com", store.RoleStaff)
	acme, err := env.Store.CreateCompany(ctx, admin, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.AssignClient(ctx, admin, staff.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.CreateMeeting(ctx, staff, acme.ID, store.MeetingInput{Type: "call", Subject: "Secret plans", StartsAt: 1e12}); err != nil {
		t.Fatal(err)
	}
	// Another process on the same SQLite file and Redis.
	other, err := store.Open(ctx, filepath.Join(env.Dir, "rolodex.db"), env.Redis, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	meetindex.New(other)
	for name, st := range map[string]*store.Store{"this process": env.Store, "other process": other} {
		page, err := st.ListMeetings(ctx, staff, store.MeetingQuery{})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("%s before: %v %v", name, page, err)
		}
	}

	readOnlyRedis(t, env)
	if err := env.Store.AssignClient(ctx, admin, staff.ID, acme.ID, false); err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*store.Store{"this process": env.Store, "other process": other} {
		page, err := st.ListMeetings(ctx, staff, store.MeetingQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 0 || page.Count != 0 {
			t.Errorf("%s lists the meetings of a client taken away: %+v", name, page)
		}
		ids, err := st.ClientIDs(ctx, staff)
		if err != nil {
			t.Fatal(err)
		}
		if name == "this process" && len(ids) != 0 {
			t.Errorf("%s: client ids %v after the client was taken away", name, ids)
		}
	}
}
