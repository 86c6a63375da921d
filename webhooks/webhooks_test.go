package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
	"github.com/rolodex/rolodex/webhooks"
)

// clock is a time the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// received is one request a receiver took, its signature checked.
type received struct {
	ID       string // Rolodex-Webhook-Id
	Event    string
	Activity int64
	Body     map[string]any
}

// receiver is an httptest server that verifies every request's signature
// with the secret, as a receiver following the README would, and answers
// with what answer says (given the request's number, from 1). A status of
// 0 hangs until the sender gives up.
type receiver struct {
	*httptest.Server
	t      *testing.T
	secret string
	answer func(n int) int
	mu     sync.Mutex
	n      int
	got    []received // answered with a 2xx
}

func newReceiver(t *testing.T, secret string, answer func(n int) int) *receiver {
	rc := &receiver{t: t, secret: secret, answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ts, sig string
	for _, part := range strings.Split(r.Header.Get("Rolodex-Signature"), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	mac := hmac.New(sha256.New, []byte(rc.secret))
	mac.Write([]byte(ts + "." + string(body)))
	if want := hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(sig), []byte(want)) || ts == "" {
		rc.t.Errorf("bad signature %q on %s", r.Header.Get("Rolodex-Signature"), body)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		rc.t.Errorf("body %s: %v", body, err)
	}
	if r.Header.Get("Rolodex-Webhook-Id") != fmt.Sprint(m["id"]) {
		rc.t.Errorf("Rolodex-Webhook-Id %q, body id %v", r.Header.Get("Rolodex-Webhook-Id"), m["id"])
	}
	rc.mu.Lock()
	rc.n++
	st := rc.answer(rc.n)
	rc.mu.Unlock()
	if st == 0 {
		<-r.Context().Done()
		return
	}
	if st/100 == 2 {
		data, _ := m["data"].(map[string]any)
		act, _ := data["activity_id"].(float64)
		rc.mu.Lock()
		rc.got = append(rc.got, received{ID: r.Header.Get("Rolodex-Webhook-Id"), Event: fmt.Sprint(m["event"]), Activity: int64(act), Body: m})
		rc.mu.Unlock()
	}
	w.WriteHeader(st)
	fmt.Fprintf(w, "answer %d", st)
}

func (rc *receiver) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}

func (rc *receiver) delivered() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func always(st int) func(int) int { return func(int) int { return st } }

type env struct {
	*storetest.Env
	admin   *store.User
	company *store.Company
	clock   *clock
}

func newEnv(t *testing.T) *env {
	e := storetest.Open(t)
	adm := e.User(t, "admin@example.com", store.RoleAdmin)
	c, err := e.Store.CreateCompany(context.Background(), adm, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	// The tests' receivers are on 127.0.0.1.
	e.Store.WebhooksAllowPrivate = true
	return &env{Env: e, admin: adm, company: c, clock: &clock{t: time.Now()}}
}

// start runs a deliverer over st until the test ends or stop is called.
func (e *env) start(t *testing.T, st *store.Store, timeout time.Duration) (stop func()) {
	d := webhooks.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.Now, d.Poll, d.Timeout, d.AllowPrivate = e.clock.Now, 10*time.Millisecond, timeout, true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func (e *env) hook(t *testing.T, u *store.User, url, secret string, events ...string) *store.Webhook {
	w, err := e.Store.CreateWebhook(context.Background(), u, store.WebhookInput{URL: url, Secret: secret, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (e *env) note(t *testing.T, title string) *store.Note {
	n, err := e.Store.AddNote(context.Background(), e.admin, e.company.ID, store.NoteInput{Title: title})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (e *env) deliveries(t *testing.T, hook int64) []store.Delivery {
	page, err := e.Store.WebhookDeliveries(context.Background(), e.admin, hook, "", 200)
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

const secret = "a test secret of some length"

func TestDeliverySigned(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, secret, always(200))
	w := e.hook(t, e.admin, rc.URL, secret, "*")
	e.start(t, e.Store, time.Second)
	n := e.note(t, "Pricing call")
	waitFor(t, "the delivery", func() bool { return len(rc.delivered()) == 1 })
	got := rc.delivered()[0]
	if got.Event != store.ActivityNoteCreated || got.Body["workspace_id"] != float64(store.DefaultWorkspace) {
		t.Errorf("got %+v", got.Body)
	}
	data := got.Body["data"].(map[string]any)
	if data["resource_id"] != float64(n.ID) || data["company_id"] != float64(e.company.ID) || data["actor_id"] != float64(e.admin.ID) || !strings.Contains(fmt.Sprint(data["summary"]), "Pricing call") {
		t.Errorf("data %+v", data)
	}
	waitFor(t, "the log", func() bool { d := e.deliveries(t, w.ID); return len(d) == 1 && d[0].Status == store.DeliveryDelivered })
	d := e.deliveries(t, w.ID)[0]
	if fmt.Sprint(d.ID) != got.ID || len(d.Log) != 1 || d.Log[0].Status != 200 || d.Log[0].Attempt != 1 || d.Log[0].Response != "answer 200" {
		t.Errorf("delivery %+v", d)
	}
}

// A 500 is retried after the backoff (and not before), and the log shows
// both attempts.
func TestRetryAfterError(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, secret, func(n int) int { return map[bool]int{true: 500, false: 200}[n == 1] })
	w := e.hook(t, e.admin, rc.URL, secret, store.ActivityNoteCreated)
	e.start(t, e.Store, time.Second)
	e.note(t, "n")
	waitFor(t, "the first attempt", func() bool { d := e.deliveries(t, w.ID); return len(d) == 1 && len(d[0].Log) == 1 })
	time.Sleep(100 * time.Millisecond)
	if rc.requests() != 1 {
		t.Fatalf("%d requests before the backoff passed", rc.requests())
	}
	e.clock.Add(12 * time.Second) // the first backoff is 10 s ± 20%
	waitFor(t, "the retry", func() bool { d := e.deliveries(t, w.ID); return d[0].Status == store.DeliveryDelivered })
	d := e.deliveries(t, w.ID)[0]
	if len(d.Log) != 2 || d.Log[0].Status != 200 || d.Log[0].Attempt != 2 || d.Log[1].Status != 500 || d.Log[1].Attempt != 1 || d.Attempts != 2 {
		t.Errorf("log %+v", d.Log)
	}
	if len(rc.delivered()) != 1 {
		t.Errorf("delivered %d times", len(rc.delivered()))
	}
}

// A receiver that does not answer within the timeout is retried.
func TestRetryAfterTimeout(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, secret, func(n int) int { return map[bool]int{true: 0, false: 204}[n == 1] })
	w := e.hook(t, e.admin, rc.URL, secret, "*")
	e.start(t, e.Store, 200*time.Millisecond)
	e.note(t, "n")
	waitFor(t, "the first attempt", func() bool { d := e.deliveries(t, w.ID); return len(d) == 1 && len(d[0].Log) == 1 })
	first := e.deliveries(t, w.ID)[0].Log[0]
	if first.Status != 0 || !strings.Contains(first.Error, "deadline exceeded") || first.DurationMS < 200 {
		t.Errorf("first attempt %+v", first)
	}
	e.clock.Add(12 * time.Second)
	waitFor(t, "the retry", func() bool { return e.deliveries(t, w.ID)[0].Status == store.DeliveryDelivered })
}

// Failing for 24 hours after the event marks the delivery failed; a
// resend queues it again at once.
func TestGiveUpAndResend(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	status := 503
	rc := newReceiver(t, secret, func(int) int { mu.Lock(); defer mu.Unlock(); return status })
	w := e.hook(t, e.admin, rc.URL, secret, "*")
	e.start(t, e.Store, time.Second)
	e.note(t, "n")
	waitFor(t, "the first attempt", func() bool { d := e.deliveries(t, w.ID); return len(d) == 1 && d[0].Attempts == 1 })
	for i := 0; e.deliveries(t, w.ID)[0].Status == store.DeliveryPending; i++ {
		if i > 200 {
			t.Fatal("never gave up")
		}
		before := rc.requests()
		e.clock.Add(time.Hour + 15*time.Minute) // past the longest backoff
		waitFor(t, "an attempt", func() bool { return rc.requests() > before })
		waitFor(t, "its record", func() bool { d := e.deliveries(t, w.ID); return d[0].Attempts == rc.requests() })
	}
	d := e.deliveries(t, w.ID)[0]
	if d.Status != store.DeliveryFailed || d.Attempts < 20 || d.Attempts > 30 {
		t.Fatalf("after %d attempts: %s", d.Attempts, d.Status)
	}
	mu.Lock()
	status = 200
	mu.Unlock()
	if err := e.Store.ResendDelivery(context.Background(), e.admin, w.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the resend", func() bool { return e.deliveries(t, w.ID)[0].Status == store.DeliveryDelivered })
	if got := rc.delivered(); len(got) != 1 || got[0].ID != fmt.Sprint(d.ID) {
		t.Errorf("delivered %+v", got)
	}
	if d := e.deliveries(t, w.ID)[0]; d.Log[0].Attempt != d.Attempts || d.Log[0].Status != 200 {
		t.Errorf("log %+v", d.Log[0])
	}
}

// A deliverer stopped while its receiver hangs loses nothing: one started
// on the same database (a new process) delivers every event, at least
// once, each with its delivery id.
func TestNoDeliveryLostAcrossRestart(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	hang := true
	rc := newReceiver(t, secret, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if hang {
			return 0
		}
		return 200
	})
	w := e.hook(t, e.admin, rc.URL, secret, "*")
	const n = 12 // more than a deliverer's workers
	for i := range n {
		e.note(t, fmt.Sprint("note ", i))
	}
	stop := e.start(t, e.Store, time.Minute)
	waitFor(t, "sends in flight", func() bool { return rc.requests() >= 8 })
	stop()
	mu.Lock()
	hang = false
	mu.Unlock()

	st, err := store.Open(context.Background(), filepath.Join(e.Dir, "rolodex.db"), e.Redis, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.start(t, st, time.Second)
	e.clock.Add(2 * time.Minute) // past the stopped deliverer's lease
	// Every event reaches the receiver, and then its attempt is recorded
	// (a moment after the receiver answers).
	waitFor(t, "every event", func() bool {
		seen := map[string]bool{}
		for _, r := range rc.delivered() {
			seen[r.ID] = true
		}
		if len(seen) != n {
			return false
		}
		for _, d := range e.deliveries(t, w.ID) {
			if d.Status == store.DeliveryPending {
				return false
			}
		}
		return true
	})
	acts := map[int64]bool{}
	for _, d := range e.deliveries(t, w.ID) {
		if d.Status != store.DeliveryDelivered {
			t.Errorf("delivery %d is %s", d.ID, d.Status)
		}
		var data store.WebhookData
		json.Unmarshal(d.Data, &data)
		acts[data.ActivityID] = true
	}
	if len(acts) != n {
		t.Errorf("%d distinct activities delivered, want %d", len(acts), n)
	}
}

// A webhook hears the events it picked, of its own workspace, that
// happened after it was made.
func TestEventsAndWorkspaces(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.note(t, "before any hook")
	ws2, err := e.Store.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	adm2, err := e.Store.CreateWorkspaceUser(ctx, ws2, store.UserInput{Email: "admin2@example.com", Name: "Admin 2", Password: storetest.Password, Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := e.Store.CreateCompany(ctx, adm2, store.CompanyInput{Name: "Other Co"})
	if err != nil {
		t.Fatal(err)
	}
	notes, all, other := newReceiver(t, secret, always(200)), newReceiver(t, secret, always(200)), newReceiver(t, secret, always(200))
	e.hook(t, e.admin, notes.URL, secret, store.ActivityNoteCreated, store.ActivityNoteDeleted)
	e.hook(t, e.admin, all.URL, secret, "*")
	e.hook(t, adm2, other.URL, secret, "*")
	e.start(t, e.Store, time.Second)

	n := e.note(t, "mine")
	if _, err := e.Store.AddContact(ctx, e.admin, e.company.ID, store.ContactInput{Name: "Lee"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.AddNote(ctx, adm2, c2.ID, store.NoteInput{Title: "theirs"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deliveries", func() bool {
		return len(all.delivered()) == 2 && len(other.delivered()) == 1 && len(notes.delivered()) == 1
	})
	time.Sleep(100 * time.Millisecond) // anything more would have come by now
	events := func(rc *receiver) (out []string) {
		for _, r := range rc.delivered() {
			out = append(out, r.Event+" "+strconv.FormatFloat(r.Body["workspace_id"].(float64), 'f', -1, 64))
		}
		slices.Sort(out) // sent in parallel: no order
		return out
	}
	ws1, w2 := fmt.Sprint(store.DefaultWorkspace), fmt.Sprint(ws2)
	for _, c := range []struct {
		rc   *receiver
		want string
	}{
		{notes, "[note.created " + ws1 + "]"},
		{all, "[contact.created " + ws1 + " note.created " + ws1 + "]"},
		{other, "[note.created " + w2 + "]"},
	} {
		if got := fmt.Sprint(events(c.rc)); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
	if got := notes.delivered()[0].Body["data"].(map[string]any)["resource_id"]; got != float64(n.ID) {
		t.Errorf("resource_id %v, want %d", got, n.ID)
	}
}

func TestCreateWebhookChecks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, c := range []struct {
		in    store.WebhookInput
		field string
	}{
		{store.WebhookInput{URL: "ftp://example.com/x", Events: []string{"*"}}, "url"},
		{store.WebhookInput{URL: "example.com", Events: []string{"*"}}, "url"},
		{store.WebhookInput{URL: "https://example.com", Events: []string{"note.made"}}, "events"},
		{store.WebhookInput{URL: "https://example.com"}, "events"},
		{store.WebhookInput{URL: "https://example.com", Secret: "short", Events: []string{"*"}}, "secret"},
	} {
		_, err := e.Store.CreateWebhook(ctx, e.admin, c.in)
		if store.ErrorCode(err) != store.EInvalid || store.ErrorFields(err)[c.field] == "" {
			t.Errorf("%+v: %v", c.in, err)
		}
	}
	w, err := e.Store.CreateWebhook(ctx, e.admin, store.WebhookInput{URL: "http://127.0.0.1:9/hook", Events: []string{"note.created", "link.deleted", "note.created"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.Secret, "whsec_") || len(w.Secret) < 40 || fmt.Sprint(w.Events) != "[link.deleted note.created]" {
		t.Errorf("%+v", w)
	}
	staff := e.User(t, "staff@example.com", store.RoleStaff)
	if _, err := e.Store.CreateWebhook(ctx, staff, store.WebhookInput{URL: "https://example.com", Events: []string{"*"}}); store.ErrorCode(err) != store.EForbidden {
		t.Errorf("staff: %v", err)
	}
}

// Without the operator's switch, a URL naming localhost or a private,
// loopback or link-local address is refused at creation; a public one
// (by name or address) is not.
func TestCreateWebhookRefusesPrivate(t *testing.T) {
	e := newEnv(t)
	e.Store.WebhooksAllowPrivate = false
	ctx := context.Background()
	for _, u := range []string{
		"http://localhost:8080/hook", "http://LOCALHOST./hook", "http://api.localhost/hook",
		"http://127.0.0.1/hook", "http://127.9.9.9:6379/", "http://0.0.0.0/", "http://10.1.2.3/", "http://172.16.0.1/",
		"http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://100.100.100.200/",
		"http://[::1]/", "http://[::]/", "http://[fc00::1]/", "http://[fd12:3456::1]/", "http://[fe80::1%25eth0]/",
		"http://[::ffff:127.0.0.1]/", "http://[::ffff:10.0.0.1]/", "http://[64:ff9b::a9fe:a9fe]/",
	} {
		_, err := e.Store.CreateWebhook(ctx, e.admin, store.WebhookInput{URL: u, Events: []string{"*"}})
		if store.ErrorCode(err) != store.EInvalid || store.ErrorFields(err)["url"] == "" {
			t.Errorf("%s: %v, want 422 in url", u, err)
		}
	}
	for _, u := range []string{"https://example.com/hook", "http://93.184.216.34/", "https://[2606:4700:4700::1111]/", "https://localhost.example.com/"} {
		if _, err := e.Store.CreateWebhook(ctx, e.admin, store.WebhookInput{URL: u, Events: []string{"*"}}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	e.Store.WebhooksAllowPrivate = true
	if _, err := e.Store.CreateWebhook(ctx, e.admin, store.WebhookInput{URL: "http://10.1.2.3/hook", Events: []string{"*"}}); err != nil {
		t.Errorf("with the switch on: %v", err)
	}
}

// A deliverer without AllowPrivate never connects to a private address,
// whatever the URL says (here the webhook was made with the switch on, as
// a name that resolves to 127.0.0.1 would be): the attempt is logged as
// refused and the receiver never hears of it.
func TestDeliveryRefusesPrivateAddress(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, secret, always(200))
	w := e.hook(t, e.admin, rc.URL, secret, "*")
	d := webhooks.New(e.Store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.Now, d.Poll = e.clock.Now, 10*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	e.note(t, "n")
	waitFor(t, "the attempt", func() bool { d := e.deliveries(t, w.ID); return len(d) == 1 && len(d[0].Log) == 1 })
	got := e.deliveries(t, w.ID)[0]
	if a := got.Log[0]; a.Status != 0 || a.Error != "refused: private address" || a.Response != "" || got.Status != store.DeliveryPending {
		t.Errorf("delivery %+v, attempt %+v", got, a)
	}
	if rc.requests() != 0 {
		t.Errorf("the receiver was called %d times", rc.requests())
	}
}

// Two processes over one database dispatch and deliver each event once:
// the cursor moves in the dispatch transaction and claims are leased.
func TestTwoProcesses(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, secret, always(200))
	w := e.hook(t, e.admin, rc.URL, secret, "*")
	st, err := store.Open(context.Background(), filepath.Join(e.Dir, "rolodex.db"), e.Redis, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.start(t, e.Store, time.Second)
	e.start(t, st, time.Second)
	const n = 40
	for i := range n {
		e.note(t, fmt.Sprint("note ", i))
	}
	waitFor(t, "every event", func() bool { return len(rc.delivered()) >= n })
	time.Sleep(100 * time.Millisecond) // a second copy would have come by now
	seen := map[string]int{}
	for _, r := range rc.delivered() {
		seen[r.ID]++
	}
	if len(seen) != n || len(rc.delivered()) != n {
		t.Errorf("%d requests for %d deliveries, want %d each once", len(rc.delivered()), len(seen), n)
	}
	if d := e.deliveries(t, w.ID); len(d) != n {
		t.Errorf("%d deliveries, want %d", len(d), n)
	}
}

// cancelAfter is a transport that cancels the deliverer's context once
// the receiver has answered, as a shutdown starting at that moment would.
type cancelAfter func()

func (c cancelAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	c()
	return resp, err
}

// A 2xx that arrives as the deliverer shuts down is recorded as delivered,
// not left for another process to send again.
func TestAnswerDuringShutdownRecorded(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, secret, always(200))
	w := e.hook(t, e.admin, rc.URL, secret, "*")
	e.note(t, "n")
	d := webhooks.New(e.Store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	d.Now, d.Poll, d.Timeout = e.clock.Now, 10*time.Millisecond, time.Second
	d.Client = &http.Client{Transport: cancelAfter(cancel)}
	d.Run(ctx) // returns once the send has been cancelled and finished
	if rc.requests() != 1 {
		t.Fatalf("%d requests", rc.requests())
	}
	got := e.deliveries(t, w.ID)
	if len(got) != 1 || got[0].Status != store.DeliveryDelivered || len(got[0].Log) != 1 || got[0].Log[0].Status != 200 {
		t.Errorf("deliveries %+v", got)
	}
}

// An activity dispatched again (its cursor moved back, as by a restored
// backup) keeps its one delivery.
func TestDispatchAgainMakesNoDouble(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w := e.hook(t, e.admin, "https://example.com/in", secret, "*")
	e.note(t, "n")
	if _, made, err := e.Store.DispatchWebhooks(ctx, e.clock.Now().UnixMilli(), 500); err != nil || made != 1 {
		t.Fatalf("first dispatch: made %d, %v", made, err)
	}
	db, err := sql.Open("sqlite3", filepath.Join(e.Dir, "rolodex.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE webhook_cursor SET activity_id = 0`); err != nil {
		t.Fatal(err)
	}
	if _, made, err := e.Store.DispatchWebhooks(ctx, e.clock.Now().UnixMilli(), 500); err != nil || made != 0 {
		t.Errorf("second dispatch: made %d, %v", made, err)
	}
	if d := e.deliveries(t, w.ID); len(d) != 1 {
		t.Errorf("%d deliveries", len(d))
	}
}
