package handlers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/webhooks"
)

// hookReceiver records the deliveries it is sent, after checking each
// signature as the README tells receivers to. hang makes it wait until
// the sender gives up instead of answering.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	hang   bool
	ids    []string // Rolodex-Webhook-Id of each request
	bad    int      // requests whose signature did not verify
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{}
	stop := make(chan struct{})
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		ts, sig, _ := strings.Cut(strings.TrimPrefix(r.Header.Get("Rolodex-Signature"), "t="), ",v1=")
		mac := hmac.New(sha256.New, []byte(rc.secret))
		fmt.Fprintf(mac, "%s.%s", ts, body)
		if !hmac.Equal([]byte(sig), []byte(hex.EncodeToString(mac.Sum(nil)))) {
			rc.bad++
		}
		rc.ids = append(rc.ids, r.Header.Get("Rolodex-Webhook-Id"))
		hang := rc.hang
		rc.mu.Unlock()
		if hang {
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	t.Cleanup(func() { close(stop) }) // first: Close waits for hung requests
	return rc
}

func (rc *hookReceiver) got() (ids []string, bad int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.ids...), rc.bad
}

// runDeliverer sends the test app's webhooks until the test ends.
func runDeliverer(t *testing.T, a *testApp) {
	d := webhooks.New(a.Store, a.Handler.Log)
	d.Poll, d.AllowPrivate = 10*time.Millisecond, true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// An admin registers a webhook over the API, gets its generated secret
// once, sees a delivery in the log, resends it and deletes the webhook.
func TestWebhookAPI(t *testing.T) {
	a := newTestApp(t)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	acme := mustCompany(t, a, "Acme")
	if err := a.Store.AssignClient(context.Background(), admin(), staff.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	rc := newHookReceiver(t)
	ac := a.client(t, adm)
	resp, body := do(t, ac, "POST", a.Server.URL+"/api/v1/webhooks", jsonType, `{"url":"`+rc.URL+`","events":["note.created"]}`)
	var hook struct {
		ID     int64    `json:"id"`
		Secret string   `json:"secret"`
		Events []string `json:"events"`
	}
	if resp.StatusCode != 201 || json.Unmarshal([]byte(body), &hook) != nil || !strings.HasPrefix(hook.Secret, "whsec_") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	rc.secret = hook.Secret
	if _, body := do(t, ac, "GET", a.Server.URL+"/api/v1/webhooks", "", ""); strings.Contains(body, hook.Secret) || !strings.Contains(body, rc.URL) {
		t.Errorf("list: %s", body)
	}
	runDeliverer(t, a)
	sc := a.client(t, staff)
	if resp, body := do(t, sc, "POST", fmt.Sprintf("%s/api/v1/companies/%d/notes", a.Server.URL, acme.ID), jsonType, `{"title":"Pricing"}`); resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	eventually(t, "the delivery", func() bool { ids, _ := rc.got(); return len(ids) == 1 })
	deliveriesURL := fmt.Sprintf("%s/api/v1/webhooks/%d/deliveries", a.Server.URL, hook.ID)
	var page store.DeliveryPage
	eventually(t, "the log", func() bool {
		_, body := do(t, ac, "GET", deliveriesURL, "", "")
		return json.Unmarshal([]byte(body), &page) == nil && len(page.Items) == 1 && page.Items[0].Status == store.DeliveryDelivered
	})
	d := page.Items[0]
	if ids, _ := rc.got(); ids[0] != fmt.Sprint(d.ID) || d.Event != store.ActivityNoteCreated || len(d.Log) != 1 || d.Log[0].Status != 204 {
		t.Errorf("delivery %+v, receiver got %v", d, ids)
	}
	if resp, _ := do(t, ac, "POST", fmt.Sprintf("%s/%d/resend", deliveriesURL, d.ID), "", ""); resp.StatusCode != 202 {
		t.Fatalf("resend: %d", resp.StatusCode)
	}
	eventually(t, "the resent delivery", func() bool { ids, _ := rc.got(); return len(ids) == 2 })
	eventually(t, "its log", func() bool {
		_, body := do(t, ac, "GET", deliveriesURL, "", "")
		return json.Unmarshal([]byte(body), &page) == nil && len(page.Items[0].Log) == 2 && page.Items[0].Status == store.DeliveryDelivered
	})
	if ids, bad := rc.got(); ids[1] != ids[0] || bad != 0 {
		t.Errorf("ids %v, %d bad signatures", ids, bad)
	}
	if resp, _ := do(t, ac, "DELETE", fmt.Sprintf("%s/api/v1/webhooks/%d", a.Server.URL, hook.ID), "", ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp, _ := do(t, ac, "GET", deliveriesURL, "", ""); resp.StatusCode != 404 {
		t.Errorf("deliveries of a deleted webhook: %d", resp.StatusCode)
	}
}

// A receiver that hangs does not slow a user's writes: the same writes
// take about as long with it as without any webhook.
func TestWebhookDoesNotSlowWrites(t *testing.T) {
	a := newTestApp(t)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	acme := mustCompany(t, a, "Acme")
	ac := a.client(t, adm)
	runDeliverer(t, a)
	const n = 30
	// writes answers the fastest of three rounds of n writes, so that a
	// round that the shared machine slowed does not decide.
	writes := func() time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			for i := range n {
				if resp, body := do(t, ac, "POST", fmt.Sprintf("%s/api/v1/companies/%d/notes", a.Server.URL, acme.ID), jsonType, fmt.Sprintf(`{"title":"n%d"}`, i)); resp.StatusCode != 201 {
					t.Fatalf("%d %s", resp.StatusCode, body)
				}
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	baseline := writes()
	rc := newHookReceiver(t)
	rc.hang, rc.secret = true, "a secret of some length"
	if _, err := a.Store.CreateWebhook(context.Background(), adm, store.WebhookInput{URL: rc.URL, Secret: rc.secret, Events: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	withHook := writes()
	// The receiver was reached, and hangs, while the writes went on.
	eventually(t, "the hung receiver", func() bool { ids, _ := rc.got(); return len(ids) > 0 })
	t.Logf("%d writes: %v without a webhook, %v with a hung receiver", n, baseline, withHook)
	// Waiting on the receiver would cost its 10 s timeout per write;
	// sharing SQLite's writer with the dispatcher costs a little.
	if withHook > 5*baseline {
		t.Errorf("writes took %v with a hung receiver, %v without", withHook, baseline)
	}
}

// An admin creates a webhook from the page, copies its secret, sees the
// delivery in the log and resends it.
func TestBrowserWebhooks(t *testing.T) {
	a := newTestApp(t)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	acme := mustCompany(t, a, "Acme")
	rc := newHookReceiver(t)
	runDeliverer(t, a)
	ctx := chromiumAs(t, a, adm)
	err := chromedp.Do(ctx,
		chromedp.Navigate(a.Server.URL+"/"),
		chromedp.Click(`#main-nav a[href="/admin/webhooks"]`),
		chromedp.WaitVisible(`#webhook-url`),
		settled(),
		chromedp.SendKeys(`#webhook-url`, rc.URL),
		chromedp.Click(`form[action="/admin/webhooks"] button[type="submit"]`),
		chromedp.WaitVisible(`.token-secret`),
	)
	if err != nil {
		t.Fatalf("create a webhook: %v", err)
	}
	screenshot(t, ctx, "webhook-created")
	secret, err := chromedp.Run(ctx, chromedp.Value(`.token-secret`))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q: %v", secret, err)
	}
	rc.mu.Lock()
	rc.secret = secret
	rc.mu.Unlock()
	if _, err := a.Store.AddNote(context.Background(), adm, acme.ID, store.NoteInput{Title: "Pricing"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the delivery", func() bool { ids, _ := rc.got(); return len(ids) == 1 })
	err = chromedp.Do(ctx,
		chromedp.Click(`.row-list a`),
		chromedp.WaitVisible(`.delivery-delivered`),
		settled(),
		chromedp.Click(`table button[type="submit"]`),
		chromedp.WaitVisible(`.flash`),
	)
	if err != nil {
		t.Fatalf("resend: %v", err)
	}
	screenshot(t, ctx, "webhook-log")
	eventually(t, "the resent delivery", func() bool { ids, _ := rc.got(); return len(ids) == 2 })
	if ids, bad := rc.got(); ids[0] != ids[1] || bad != 0 {
		t.Errorf("ids %v, %d bad signatures", ids, bad)
	}
}

// A bad webhook form comes back 422 with each problem beside its field
// and the events still ticked; the API answers the same in fields.
func TestWebhookFormErrors(t *testing.T) {
	a := newTestApp(t)
	ac := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	resp, body := do(t, ac, "POST", a.Server.URL+"/admin/webhooks", formType, "url=ftp%3A%2F%2Fexample.com&events=note.made&events=note.created")
	if resp.StatusCode != 422 || !strings.Contains(body, `id="webhook-url-error"`) || !strings.Contains(body, `id="webhook-events-error"`) ||
		!regexp.MustCompile(`value="note.created" checked`).MatchString(body) {
		t.Errorf("%d\n%s", resp.StatusCode, body)
	}
	resp, body = do(t, ac, "POST", a.Server.URL+"/api/v1/webhooks", jsonType, `{"url":"https://example.com","events":["note.made"]}`)
	var e struct {
		Fields map[string]string `json:"fields"`
	}
	if resp.StatusCode != 422 || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Fields["events"], `"note.made"`) {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	a.Store.WebhooksAllowPrivate = false
	resp, body = do(t, ac, "POST", a.Server.URL+"/api/v1/webhooks", jsonType, `{"url":"http://169.254.169.254/latest/meta-data/","events":["*"]}`)
	e.Fields = nil
	if resp.StatusCode != 422 || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Fields["url"], "private") {
		t.Errorf("a private address: %d %s", resp.StatusCode, body)
	}
}

// The log names a new webhook's host, never its URL's path or query,
// which often carry the receiver's token.
func TestWebhookLogShowsHostOnly(t *testing.T) {
	a := newTestApp(t)
	ac := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	resp, body := do(t, ac, "POST", a.Server.URL+"/admin/webhooks", formType, "url=https%3A%2F%2Fhooks.example.com%2Fin%2Fpathtoken%3Fkey%3Dquerytoken&events=note.created")
	if resp.StatusCode != 200 {
		t.Fatalf("%d\n%s", resp.StatusCode, body)
	}
	logs := a.Log.String()
	if !strings.Contains(logs, "host=hooks.example.com") || strings.Contains(logs, "pathtoken") || strings.Contains(logs, "querytoken") {
		t.Errorf("log:\n%s", logs)
	}
}
