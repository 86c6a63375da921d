package notify_test

import (
	"context"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/notify"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// harness is a workspace with one client, Acme, assigned to alice, bob and
// carol, and a pipeline on a clock the test sets.
type harness struct {
	t                       *testing.T
	env                     *storetest.Env
	p                       *notify.Pipeline
	now                     time.Time
	admin, alice, bob, carl *store.User
	acme                    *store.Company
}

var day = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func clock(hhmm string) time.Time {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err)
	}
	return day.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, env: storetest.Open(t), now: clock("06:00")}
	h.p = notify.New(h.env.Store, slog.New(slog.NewTextHandler(io.Discard, nil)), []time.Duration{15 * time.Minute, time.Hour, 4 * time.Hour}, "worker-1")
	h.p.Now = func() time.Time { return h.now }
	h.env.Store.ActivitySink = h.p
	h.admin = h.env.User(t, "admin@example.com", store.RoleAdmin)
	h.alice = h.env.User(t, "alice@example.com", store.RoleStaff)
	h.bob = h.env.User(t, "bob@example.com", store.RoleStaff)
	h.carl = h.env.User(t, "carl@example.com", store.RoleStaff)
	var err error
	if h.acme, err = h.env.Store.CreateCompany(ctx, h.admin, store.CompanyInput{Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*store.User{h.alice, h.bob, h.carl} {
		if err := h.env.Store.AssignClient(ctx, h.admin, u.ID, h.acme.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	// The assignments' own notifications go out well before the tests' day.
	h.at("11:00")
	for _, u := range []*store.User{h.alice, h.bob, h.carl} {
		if err := h.env.Store.MarkNotificationsRead(ctx, u, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// at moves the clock to hhmm and runs the pipeline: the stream, then the
// scheduler.
func (h *harness) at(hhmm string) {
	h.t.Helper()
	h.now = clock(hhmm)
	h.run()
}

func (h *harness) run() {
	h.t.Helper()
	ctx := context.Background()
	for {
		n, err := h.p.Work(ctx, store.DefaultWorkspace, 100, 0)
		if err != nil {
			h.t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	for {
		n, err := h.p.Tick(ctx, store.DefaultWorkspace, 100)
		if err != nil {
			h.t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
}

// note has u add a note to Acme at the clock's time, and feeds it to the
// stream.
func (h *harness) note(u *store.User, title string) {
	h.t.Helper()
	if _, err := h.env.Store.AddNote(context.Background(), u, h.acme.ID, store.NoteInput{Title: title, Body: "b"}); err != nil {
		h.t.Fatal(err)
	}
}

// unread returns u's unread notifications, newest first.
func (h *harness) unread(u *store.User) []store.Notification {
	h.t.Helper()
	page, err := h.env.Store.Notifications(context.Background(), u, true, "", 100)
	if err != nil {
		h.t.Fatal(err)
	}
	return page.Items
}

func (h *harness) want(u *store.User, digests ...int) {
	h.t.Helper()
	got := h.unread(u)
	var sizes []int
	for i := len(got) - 1; i >= 0; i-- {
		sizes = append(sizes, len(got[i].Items))
	}
	if len(sizes) != len(digests) || !equal(sizes, digests) {
		h.t.Fatalf("%s at %s: digests of %v activities, want %v", u.Email, h.now.Format("15:04:05"), sizes, digests)
	}
}

func equal(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestSeedThreeEventsOneDigest(t *testing.T) {
	h := newHarness(t)
	h.now = clock("12:00")
	for _, title := range []string{"one", "two", "three"} {
		h.note(h.alice, title)
	}
	h.at("12:00")
	h.at("12:59")
	h.want(h.bob)
	h.at("13:00")
	h.want(h.bob, 3)
	h.want(h.carl, 3)
	h.want(h.alice) // the actor is not notified
	h.at("18:00")
	h.want(h.bob, 3)
}

func TestSeedEachEventRestartsTheClock(t *testing.T) {
	h := newHarness(t)
	h.now = clock("12:00")
	for _, title := range []string{"one", "two", "three"} {
		h.note(h.alice, title)
	}
	h.at("12:30")
	h.note(h.alice, "four")
	h.note(h.alice, "five")
	h.at("13:00")
	h.want(h.bob)
	h.at("13:29")
	h.want(h.bob)
	h.at("13:30")
	h.want(h.bob, 5)
}

func TestStreamThatNeverSettlesGoesOutAtMaxWait(t *testing.T) {
	h := newHarness(t)
	// A note every 30 minutes from 12:00: the quiet hour never passes, so
	// the digest goes out 4 h after the first, with the eight before it.
	for at := clock("12:00"); at.Before(clock("16:00")); at = at.Add(30 * time.Minute) {
		h.at(at.Format("15:04"))
		h.want(h.bob)
		h.note(h.alice, "busy")
	}
	h.at("16:00")
	h.want(h.bob, 8)
}

func TestImmediate(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if err := h.env.Store.SetNotificationSettings(ctx, h.bob, store.NotificationSettings{Mode: store.NotifyImmediate}, h.p.OfferedMS()); err != nil {
		t.Fatal(err)
	}
	h.now = clock("12:00")
	h.note(h.alice, "one")
	h.at("12:00")
	h.want(h.bob, 1)
	h.want(h.carl)
}

func TestUnassignedMidWindowHearsNothingMore(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.now = clock("12:00")
	h.note(h.alice, "before")
	h.at("12:10")
	if err := h.env.Store.AssignClient(ctx, h.admin, h.bob.ID, h.acme.ID, false); err != nil {
		t.Fatal(err)
	}
	h.at("12:20")
	h.note(h.alice, "after")
	h.at("14:00")
	h.want(h.bob)
	h.want(h.carl, 3) // before, bob's unassignment, after
	// Nothing was delivered to bob at all, not only hidden from his inbox:
	// no e-mail waits for him.
	mails, err := h.env.Store.UnsentMail(ctx, math.MaxInt64, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mails {
		if m.UserID == h.bob.ID && m.CreatedAt >= clock("12:00").UnixMilli() {
			t.Errorf("a digest e-mail for bob after he lost Acme: %+v", m)
		}
	}

	// A digest already delivered is not shown once its client is taken away.
	if err := h.env.Store.AssignClient(ctx, h.admin, h.carl.ID, h.acme.ID, false); err != nil {
		t.Fatal(err)
	}
	h.want(h.carl)
	if n, err := h.env.Store.UnreadNotifications(ctx, h.carl); err != nil || n != 0 {
		t.Fatalf("carl's unread count %d, %v; want 0", n, err)
	}
}

func TestPreferenceChangedMidWindow(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.now = clock("12:00")
	h.note(h.alice, "one")
	h.at("12:10")
	// bob moves to 15 minutes: his open window is due at 12:15; carl turns
	// notifications off: his is dropped.
	if err := h.env.Store.SetNotificationSettings(ctx, h.bob, store.NotificationSettings{Mode: store.NotifyDigest, QuietMS: (15 * time.Minute).Milliseconds()}, h.p.OfferedMS()); err != nil {
		t.Fatal(err)
	}
	if err := h.env.Store.SetNotificationSettings(ctx, h.carl, store.NotificationSettings{Mode: store.NotifyOff}, h.p.OfferedMS()); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*store.User{h.bob, h.carl} {
		if err := h.p.Resync(ctx, store.DefaultWorkspace, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	h.at("12:14")
	h.want(h.bob)
	h.at("12:15")
	h.want(h.bob, 1)
	h.note(h.alice, "two")
	h.at("16:00")
	h.want(h.carl)
	h.want(h.bob, 1, 1)

	err := h.env.Store.SetNotificationSettings(ctx, h.bob, store.NotificationSettings{Mode: store.NotifyDigest, QuietMS: 1234}, h.p.OfferedMS())
	if se, ok := err.(*store.Error); !ok || se.Code != store.EInvalid || se.Fields["quiet_seconds"] == "" {
		t.Fatalf("a period not offered: %v, want invalid quiet_seconds", err)
	}
}

func TestFlushAllMidWindow(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.now = clock("12:00")
	h.note(h.alice, "one")
	h.note(h.alice, "two")
	h.at("12:00")
	h.now = clock("12:20")
	h.note(h.alice, "three") // on the stream, not yet read, when Redis loses it
	if err := h.env.Redis.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	h.at("13:19")
	h.want(h.bob)
	h.at("13:20")
	h.want(h.bob, 3)
	h.at("18:00")
	h.want(h.bob, 3)

	// Overdue when Redis comes back: out at the first tick.
	h.now = clock("19:00")
	h.note(h.alice, "four")
	h.at("19:00")
	h.env.Redis.FlushAll(ctx)
	h.at("23:00")
	h.want(h.bob, 3, 1)
}

// TestCrashSafety kills a worker at random points, over and over: after
// reading stream entries and before acknowledging them, after a digest's
// SQLite commit and before Redis heard of it, mid-way through e-mail. Each
// time a fresh worker takes over. Every activity reaches each recipient
// in exactly one digest.
func TestCrashSafety(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.p.ClaimIdle = 0 // take over a dead worker's entries at once
	h.p.Mail = &notify.Mailer{Dir: t.TempDir(), From: "Rolodex <rolodex@example.com>", BaseURL: "http://crm.test", Secret: []byte("k")}
	rng := rand.New(rand.NewPCG(1, 2))
	notes := 0
	for round := 0; round < 30; round++ {
		h.now = clock("12:00").Add(time.Duration(round) * 20 * time.Minute)
		for range rng.IntN(3) + 1 {
			h.note(h.alice, "n")
			notes++
		}
		switch rng.IntN(3) {
		case 0: // dies holding unacknowledged entries
			h.env.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "notify", Consumer: "dead", Streams: []string{store.Key(store.DefaultWorkspace, "notify", "stream"), ">"}, Count: 2, Block: -1})
		case 1: // dies after committing a due digest, before settling Redis
			for _, u := range []*store.User{h.bob, h.carl} {
				pending, _ := h.env.Store.PendingFor(ctx, store.DefaultWorkspace, u.ID)
				if len(pending) > 0 && notify.Deadline(pending[0].CreatedAt, pending[len(pending)-1].CreatedAt, time.Hour.Milliseconds()) <= h.now.UnixMilli() {
					var ids []int64
					for _, p := range pending {
						ids = append(ids, p.ActivityID)
					}
					if _, err := h.env.Store.DeliverDigest(ctx, store.DefaultWorkspace, u.ID, store.DigestKey(store.DefaultWorkspace, u.ID, ids[0]), ids, true, h.now.UnixMilli()); err != nil {
						t.Fatal(err)
					}
				}
			}
		case 2: // dies mid-send: the mail went out, its row was not marked
			mails, _ := h.env.Store.UnsentMail(ctx, math.MaxInt64, 1)
			for _, m := range mails {
				u, n, err := h.env.Store.DigestMail(ctx, m.Key)
				if err == nil {
					_, msg := h.p.Mail.Message(u, n, h.now)
					if err := os.WriteFile(filepath.Join(h.p.Mail.Dir, m.Key+".eml"), msg, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		h.run()
		if err := h.p.Mail.SendPending(ctx, h.env.Store, h.now.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	h.at("23:59")
	if err := h.p.Mail.SendPending(ctx, h.env.Store, h.now.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*store.User{h.bob, h.carl} {
		seen := map[int64]int{}
		for _, n := range h.unread(u) {
			for _, a := range n.Items {
				seen[a.ID]++
			}
		}
		if len(seen) != notes {
			t.Errorf("%s heard of %d notes, want %d", u.Email, len(seen), notes)
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("%s heard of activity %d %d times", u.Email, id, c)
			}
		}
		if p, _ := h.env.Store.PendingFor(ctx, store.DefaultWorkspace, u.ID); len(p) != 0 {
			t.Errorf("%s still has %d pending", u.Email, len(p))
		}
	}
	if n, _ := h.env.Redis.XLen(ctx, store.Key(store.DefaultWorkspace, "notify", "stream")).Result(); n != 0 {
		t.Errorf("stream holds %d entries after everything was handled", n)
	}
	if unsent, _ := h.env.Store.UnsentMail(ctx, math.MaxInt64, 100); len(unsent) != 0 {
		t.Errorf("%d e-mails never sent", len(unsent))
	}
	total := 0 // every digest, the setup's read ones too, had its e-mail
	for _, u := range []*store.User{h.alice, h.bob, h.carl} {
		page, err := h.env.Store.Notifications(ctx, u, false, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		total += len(page.Items)
	}
	files, _ := filepath.Glob(filepath.Join(h.p.Mail.Dir, "*.eml"))
	if len(files) != total {
		t.Errorf("%d .eml files for %d digests", len(files), total)
	}
}

func TestPeriods(t *testing.T) {
	for _, c := range []struct {
		in   string
		def  time.Duration
		fail bool
	}{
		{notify.DefaultPeriods, time.Hour, false},
		{"5s, 30s", 5 * time.Second, false},
		{"4h,1h", time.Hour, false},
		{"500ms", 0, true},
		{"1500ms", 0, true},
		{"1h,", 0, true},
		{"soon", 0, true},
	} {
		periods, err := notify.ParsePeriods(c.in)
		if (err != nil) != c.fail {
			t.Errorf("ParsePeriods(%q): %v", c.in, err)
			continue
		}
		if err == nil {
			if got := (&notify.Pipeline{Periods: periods}).DefaultQuiet(); got != c.def {
				t.Errorf("%q: a new user starts on %s, want %s", c.in, got, c.def)
			}
		}
	}
}

// TestTwoProcessesDeliverOnce runs two pipelines (as two server processes
// would) side by side over the same SQLite and Redis, round after round:
// every activity reaches each recipient once.
func TestTwoProcessesDeliverOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	other := notify.New(h.env.Store, slog.New(slog.NewTextHandler(io.Discard, nil)), h.p.Periods, "worker-2")
	other.Now = h.p.Now
	notes := 0
	for round := range 24 {
		h.now = clock("12:00").Add(time.Duration(round) * 10 * time.Minute)
		for range 3 {
			h.note(h.alice, "n")
			notes++
		}
		done := make(chan error, 2)
		for _, p := range []*notify.Pipeline{h.p, other} {
			go func() {
				for {
					n, err := p.Work(ctx, store.DefaultWorkspace, 2, 0)
					if err != nil || n == 0 {
						break
					}
				}
				for {
					n, err := p.Tick(ctx, store.DefaultWorkspace, 1)
					if err != nil {
						done <- err
						return
					}
					if n == 0 {
						break
					}
				}
				done <- nil
			}()
		}
		for range 2 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
	h.at("23:00")
	seen := map[int64]int{}
	for _, n := range h.unread(h.bob) {
		for _, a := range n.Items {
			seen[a.ID]++
		}
	}
	if len(seen) != notes {
		t.Errorf("bob heard of %d notes, want %d", len(seen), notes)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("bob heard of activity %d %d times", id, c)
		}
	}
}

// TestScriptsFlushedMidRun: a Redis that lost its scripts (restarted, or
// SCRIPT FLUSH) answers the worker's pipelined EVALSHAs with NOSCRIPT; the
// worker loads them again, and no entry is acknowledged without its effects.
func TestScriptsFlushedMidRun(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.now = clock("12:00")
	h.note(h.alice, "one")
	h.note(h.alice, "two")
	if err := h.env.Redis.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	h.at("12:01")
	if n, _ := h.env.Redis.XLen(ctx, store.Key(store.DefaultWorkspace, "notify", "stream")).Result(); n != 0 {
		t.Errorf("stream holds %d entries", n)
	}
	if err := h.env.Redis.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	h.at("13:01")
	for _, u := range []*store.User{h.bob, h.carl} {
		got := h.unread(u)
		if len(got) != 1 || len(got[0].Items) != 2 {
			t.Fatalf("%s: %d notifications, want one of 2 items", u.Email, len(got))
		}
	}
}

// TestBatchCommittedBeforeSettle: a scheduler that dies after committing a
// batch of digests, before settling Redis, leaves each window delivered
// once: the next one finds every key already written.
func TestBatchCommittedBeforeSettle(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.now = clock("12:00")
	h.note(h.alice, "one")
	h.at("12:00")
	h.now = clock("13:00")
	var batch []store.Digest
	for _, u := range []*store.User{h.bob, h.carl} {
		pending, err := h.env.Store.PendingFor(ctx, store.DefaultWorkspace, u.ID)
		if err != nil || len(pending) != 1 {
			t.Fatalf("%s: pending %v, %v", u.Email, pending, err)
		}
		batch = append(batch, store.Digest{UserID: u.ID, Key: store.DigestKey(store.DefaultWorkspace, u.ID, pending[0].ActivityID),
			ActivityIDs: []int64{pending[0].ActivityID}, Email: true})
	}
	if err := h.env.Store.DeliverDigests(ctx, store.DefaultWorkspace, batch, h.now.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	for _, d := range batch {
		if !d.Delivered {
			t.Errorf("user %d: not delivered", d.UserID)
		}
	}
	if err := h.env.Store.DeliverDigests(ctx, store.DefaultWorkspace, batch, h.now.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	for _, d := range batch {
		if d.Delivered {
			t.Errorf("user %d: delivered twice", d.UserID)
		}
	}
	h.at("14:00")
	for _, u := range []*store.User{h.bob, h.carl} {
		if got := h.unread(u); len(got) != 1 || len(got[0].Items) != 1 {
			t.Errorf("%s: %d notifications, want one", u.Email, len(got))
		}
		if p, _ := h.env.Store.PendingFor(ctx, store.DefaultWorkspace, u.ID); len(p) != 0 {
			t.Errorf("%s still has %d pending", u.Email, len(p))
		}
	}
}
