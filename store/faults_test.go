package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestHungRedisCostsABudgetOnce: with redis-server stopped (not dead: it
// accepts connections and never answers), the first request waits out the
// store's Redis budget, later ones skip Redis at once, and the breaker
// closes again when Redis answers.
func TestHungRedisCostsABudgetOnce(t *testing.T) {
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
	if _, err := env.Store.CreateMeeting(ctx, staff, acme.ID, store.MeetingInput{Type: "call", Subject: "Kick-off", StartsAt: 1e12}); err != nil {
		t.Fatal(err)
	}
	// What a search and a meetings list do: the client ids, a page.
	request := func(name string) time.Duration {
		t.Helper()
		start := time.Now()
		ids, err := env.Store.ClientIDs(ctx, staff)
		if err != nil || len(ids) != 1 {
			t.Fatalf("%s: client ids %v %v", name, ids, err)
		}
		page, err := env.Store.ListMeetings(ctx, staff, store.MeetingQuery{})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("%s: meetings %+v %v", name, page, err)
		}
		d := time.Since(start)
		t.Logf("%s: %v", name, d)
		return d
	}
	request("redis up")

	pid := env.Srv.Pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	t.Cleanup(resume) // before storetest stops the server
	first := request("redis hung, first request")
	second := request("redis hung, second request")
	if err := env.Redis.Ping(ctx).Err(); !errors.Is(err, store.ErrRedisSkipped) {
		t.Errorf("ping while hung after a failure: %v, want it skipped", err)
	}
	// Loose: a skipped Redis costs nothing, the first request its budget.
	if second > first/2 {
		t.Errorf("second request took %v, the first %v: Redis was not skipped", second, first)
	}

	resume()
	deadline := time.Now().Add(10 * time.Second)
	for env.Redis.Ping(ctx).Err() != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := env.Redis.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis answers again, but: %v", err)
	}
	request("redis back")
}

// TestStuckOutboxDegradesRedis: a row the outbox cannot apply for long
// (Redis refusing it, say) shows in /healthz's Redis state.
func TestStuckOutboxDegradesRedis(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	if why, err := env.Store.RedisDegraded(ctx); err != nil || why != "" {
		t.Fatalf("fresh store: %q %v", why, err)
	}
	db, err := sql.Open("sqlite3", filepath.Join(env.Dir, "rolodex.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := time.Now().Add(-10 * time.Minute).UnixMilli()
	if _, err := db.Exec(`INSERT INTO outbox (workspace_id, kind, ref_id, created_at) VALUES (1, 'company', 1, ?)`, old); err != nil {
		t.Fatal(err)
	}
	why, err := env.Store.RedisDegraded(ctx)
	if err != nil || !strings.Contains(why, "outbox stuck") {
		t.Errorf("with a 10-minute-old outbox row: %q %v", why, err)
	}
}
