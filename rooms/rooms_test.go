package rooms

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

var testConfig = Config{
	ConnTTL:   1500 * time.Millisecond,
	Refresh:   300 * time.Millisecond,
	Grace:     300 * time.Millisecond,
	APITTL:    2 * time.Second,
	Sweep:     200 * time.Millisecond,
	Lookahead: time.Minute,
}

var adm = &store.User{WorkspaceID: store.DefaultWorkspace, Role: store.RoleAdmin}

// secondStore opens the same SQLite file and Redis again: another
// process's view.
func secondStore(t *testing.T, env *storetest.Env) *store.Store {
	t.Helper()
	rdb := redis.NewClient(store.RedisOptions(env.Srv.Options()))
	t.Cleanup(func() { rdb.Close() })
	st, err := store.Open(context.Background(), filepath.Join(env.Dir, "rolodex.db"), rdb, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func startHub(t *testing.T, st *store.Store) *Hub {
	h := New(st, nil, testConfig)
	h.Start()
	return h
}

func meeting(t *testing.T, env *storetest.Env, owner *store.User, start time.Time, end *time.Time) *store.Meeting {
	t.Helper()
	ctx := context.Background()
	c, err := env.Store.CreateCompany(ctx, adm, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.AssignClient(ctx, adm, owner.ID, c.ID, true); err != nil {
		t.Fatal(err)
	}
	in := store.MeetingInput{Type: "call", Subject: "Kick-off", StartsAt: start.UnixMilli()}
	if end != nil {
		e := end.UnixMilli()
		in.EndsAt = &e
	}
	m, err := env.Store.CreateMeeting(ctx, owner, c.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func events(t *testing.T, st *store.Store, id int64) []store.RoomEvent {
	t.Helper()
	f, err := st.RoomFeedSince(context.Background(), id, 0, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return f.Events
}

// TestKilledHubLeavesNoGhosts: two hubs on one Redis serve one room; one
// stops without its clean-up path. Its participant is gone, logged as
// disconnected, within the connection expiry (and a sweep); the other
// hub's participant stays.
func TestKilledHubLeavesNoGhosts(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	bob := env.User(t, "bob@example.com", store.RoleStaff)
	m := meeting(t, env, alice, time.Now().Add(-time.Minute), nil)
	if err := env.Store.AssignClient(ctx, adm, bob.ID, m.CompanyID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.OpenRoom(ctx, alice, m.ID); err != nil {
		t.Fatal(err)
	}
	h1 := startHub(t, env.Store)
	defer h1.Stop()
	h2 := startHub(t, secondStore(t, env))
	for _, u := range []*store.User{alice, bob} {
		if _, err := env.Store.JoinRoom(ctx, u, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	h1.Connect(ctx, store.DefaultWorkspace, m.ID, alice.ID)
	// Bob has two tabs on the doomed process: one participant.
	h2.Connect(ctx, store.DefaultWorkspace, m.ID, bob.ID)
	h2.Connect(ctx, store.DefaultWorkspace, m.ID, bob.ID)

	// Both stay while their processes refresh, well past the expiry.
	time.Sleep(2 * testConfig.ConnTTL)
	if p, _ := env.Store.RoomParticipants(ctx, m.ID); len(p) != 2 {
		t.Fatalf("participants while connected: %+v", p)
	}
	killed := time.Now()
	h2.halt()
	deadline := killed.Add(testConfig.ConnTTL + 2*testConfig.Sweep + 200*time.Millisecond)
	for {
		p, err := env.Store.RoomParticipants(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 1 {
			if p[0].UserID != alice.ID {
				t.Fatalf("the wrong participant left: %+v", p)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob still listed %s after his process died: %+v", time.Since(killed), p)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("gone %s after the kill", time.Since(killed).Round(time.Millisecond))
	var left []store.RoomEvent
	for _, e := range events(t, env.Store, m.ID) {
		if e.Kind == store.EventLeft {
			left = append(left, e)
		}
	}
	if len(left) != 1 || *left[0].UserID != bob.ID || left[0].Reason != store.ReasonDisconnected {
		t.Fatalf("left events: %+v, want one for bob, disconnected", left)
	}
}

// TestScheduleOpensAndClosesOnce: a room opens at its meeting's start and
// closes at its end, within 2 s, once, with two processes racing; a
// restart after the end passed ends the room at its end time.
func TestScheduleOpensAndClosesOnce(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	start := time.Now().Add(1500 * time.Millisecond)
	end := start.Add(1500 * time.Millisecond)
	m := meeting(t, env, alice, start, &end)
	h1 := startHub(t, env.Store)
	h2 := startHub(t, secondStore(t, env))

	waitState := func(want string, at time.Time) {
		t.Helper()
		for {
			r, err := env.Store.Room(ctx, alice, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if r.State == want {
				if late := time.Since(at); late > 2*time.Second {
					t.Fatalf("%s %s late", want, late)
				} else {
					t.Logf("%s %s after its time", want, late.Round(time.Millisecond))
				}
				return
			}
			if time.Since(at) > 2*time.Second {
				t.Fatalf("room still %s %s after it should be %s", r.State, time.Since(at), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitState(store.RoomOpen, start)
	if _, err := env.Store.JoinRoom(ctx, alice, m.ID); err != nil {
		t.Fatal(err)
	}
	h1.Connect(ctx, store.DefaultWorkspace, m.ID, alice.ID)
	waitState(store.RoomEnded, end)
	time.Sleep(3 * testConfig.Sweep)
	var kinds []string
	for _, e := range events(t, env.Store, m.ID) {
		kinds = append(kinds, e.Kind+"/"+e.Reason)
	}
	if got := strings.Join(kinds, " "); got != "opened/ joined/ left/ended ended/" {
		t.Fatalf("events: %s", got)
	}
	h1.Stop()
	h2.Stop()

	// Down across a room's end: at start the room ends, at its end time.
	m2 := meeting(t, env, alice, time.Now().Add(-time.Minute), nil)
	if _, err := env.Store.OpenRoom(ctx, alice, m2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.JoinRoom(ctx, alice, m2.ID); err != nil {
		t.Fatal(err)
	}
	closes := time.Now().Add(300 * time.Millisecond).UnixMilli()
	if _, err := env.Store.ExtendRoom(ctx, alice, m2.ID, closes); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := env.Redis.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	h3 := startHub(t, env.Store)
	defer h3.Stop()
	deadline := time.Now().Add(2 * time.Second)
	for {
		r, err := env.Store.Room(ctx, alice, m2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.State == store.RoomEnded {
			if *r.EndedAt != closes {
				t.Fatalf("ended at %d, want its closing time %d", *r.EndedAt, closes)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a room whose end passed while down was not ended at start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, e := range events(t, env.Store, m2.ID) {
		if e.Kind == store.EventLeft && (e.At != closes || e.Reason != store.ReasonEnded) {
			t.Fatalf("left event %+v, want at the closing time %d, ended", e, closes)
		}
	}
}

// TestFanOutAcrossHubs: a message written through one process reaches a
// stream of another by the pub/sub wake-up, well before that process's
// own refresh would have found it.
func TestFanOutAcrossHubs(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	m := meeting(t, env, alice, time.Now().Add(-time.Minute), nil)
	if _, err := env.Store.OpenRoom(ctx, alice, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.JoinRoom(ctx, alice, m.ID); err != nil {
		t.Fatal(err)
	}
	slow := testConfig
	slow.Refresh = time.Hour
	h1 := New(env.Store, nil, slow)
	h1.Start()
	defer h1.Stop()
	h2 := New(secondStore(t, env), nil, slow)
	h2.Start()
	defer h2.Stop()
	sub, err := h2.Subscribe(ctx, store.DefaultWorkspace, m.ID, Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	seen := 0
	read := func() {
		items, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Message != nil {
				seen++
			}
		}
	}
	read()                             // the history: opened, joined
	time.Sleep(100 * time.Millisecond) // the subscription reaches Redis
	// Subscribe's own wake-up is still pending: left there, it would
	// answer the first message's wait before that message's wake-up.
	select {
	case <-sub.Wait():
	default:
	}
	for i := 0; i < 3; i++ {
		if _, err := env.Store.PostMessage(ctx, alice, m.ID, "hello"); err != nil {
			t.Fatal(err)
		}
		h1.Changed(ctx, store.DefaultWorkspace, m.ID)
		select {
		case <-sub.Wait():
		case <-time.After(2 * time.Second):
			t.Fatalf("message %d: no wake-up from the other process", i)
		}
		read()
	}
	if seen != 3 {
		t.Fatalf("saw %d messages, want 3", seen)
	}
}

// TestPresenceSurvivesFlush: after Redis loses everything, connected
// participants are not reaped; their process writes them back.
func TestPresenceSurvivesFlush(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	m := meeting(t, env, alice, time.Now().Add(-time.Minute), nil)
	if _, err := env.Store.OpenRoom(ctx, alice, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.JoinRoom(ctx, alice, m.ID); err != nil {
		t.Fatal(err)
	}
	h := startHub(t, env.Store)
	defer h.Stop()
	h.Connect(ctx, store.DefaultWorkspace, m.ID, alice.ID)
	time.Sleep(testConfig.ConnTTL)
	if err := env.Redis.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * testConfig.ConnTTL)
	if p, _ := env.Store.RoomParticipants(ctx, m.ID); len(p) != 1 {
		t.Fatalf("alice reaped after a flush while connected: %+v", p)
	}
	if n, _ := env.Redis.ZCard(ctx, connsKey(store.DefaultWorkspace, m.ID)).Result(); n != 1 {
		t.Fatalf("connection not written back: %d", n)
	}
}

// TestReloadIsNoLeave: a connection closed and replaced within the grace
// period (a page reload) logs nothing; one not replaced is a leave.
func TestReloadIsNoLeave(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	m := meeting(t, env, alice, time.Now().Add(-time.Minute), nil)
	if _, err := env.Store.OpenRoom(ctx, alice, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.JoinRoom(ctx, alice, m.ID); err != nil {
		t.Fatal(err)
	}
	h := startHub(t, env.Store)
	defer h.Stop()
	c := h.Connect(ctx, store.DefaultWorkspace, m.ID, alice.ID)
	// Past the start-up window in which nobody is reaped.
	time.Sleep(testConfig.ConnTTL + 2*testConfig.Sweep)
	c.Close()
	time.Sleep(testConfig.Grace / 2)
	c = h.Connect(ctx, store.DefaultWorkspace, m.ID, alice.ID)
	time.Sleep(2 * testConfig.ConnTTL)
	for _, e := range events(t, env.Store, m.ID) {
		if e.Kind == store.EventLeft {
			t.Fatalf("a reload logged %+v", e)
		}
	}
	c.Close()
	time.Sleep(testConfig.Grace + 3*testConfig.Sweep)
	if p, _ := env.Store.RoomParticipants(ctx, m.ID); len(p) != 0 {
		t.Fatalf("still here after closing for good: %+v", p)
	}
}
