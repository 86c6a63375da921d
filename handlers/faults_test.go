package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
)

// TestReadOnlyRedisMeetingsAPI: after a failover leaves Redis a read-only
// replica, a client taken away from a staff user is gone from the meetings
// API at once (as from the company page), and /healthz calls Redis
// degraded while answering 200.
func TestReadOnlyRedisMeetingsAPI(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	co := mustCompany(t, a, "Acme")
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, co.ID, true); err != nil {
		t.Fatal(err)
	}
	mustMeeting(t, a, co.ID, store.MeetingInput{Type: "call", Subject: "Secret plans", Details: "the price", StartsAt: march1})
	c := a.client(t, staff)
	if _, body := do(t, c, "GET", a.Server.URL+"/api/v1/meetings", "", ""); !strings.Contains(body, "Secret plans") {
		t.Fatalf("meetings before: %s", body)
	}

	if err := a.Redis.Do(ctx, "REPLICAOF", "127.0.0.1", "1").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Redis.Do(context.Background(), "REPLICAOF", "NO", "ONE") })
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, co.ID, false); err != nil {
		t.Fatal(err)
	}
	if resp, _ := do(t, c, "GET", fmt.Sprintf("%s/companies/%d", a.Server.URL, co.ID), "", ""); resp.StatusCode != 404 {
		t.Errorf("company page after unassigning: %d", resp.StatusCode)
	}
	for i := 0; i < 2; i++ {
		resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/meetings", "", "")
		if resp.StatusCode != 200 || strings.Contains(body, "Secret plans") || strings.Contains(body, "the price") {
			t.Errorf("meetings API after unassigning, read-only redis: %d %s", resp.StatusCode, body)
		}
	}
	resp, body := do(t, c, "GET", a.Server.URL+"/healthz", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"redis":"degraded: `) {
		t.Errorf("healthz with read-only redis: %d %s", resp.StatusCode, body)
	}
	t.Logf("healthz: %s", body)
}

// TestSlowUploadOutlivesReadTimeout: the server's read and write timeouts
// bound an ordinary request whole, but an upload that keeps moving is read
// to its end and answered however long it takes.
func TestSlowUploadOutlivesReadTimeout(t *testing.T) {
	a := newTestApp(t)
	srv := httptest.NewUnstartedServer(a.Handler.Routes())
	srv.Config.ReadTimeout = 200 * time.Millisecond
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin)) // the cookie holds for any port

	ctype, body := multipartBody(map[string]string{"accountId": "1", "mode": "create"}, "people.csv",
		"name,email\n"+strings.Repeat("Lee,lee@example.com\n", 50))
	pr, pw := io.Pipe()
	go func() {
		// About a second in all, five read timeouts.
		for i := 0; i < len(body); i += len(body) / 20 {
			pw.Write([]byte(body[i:min(i+len(body)/20, len(body))]))
			time.Sleep(50 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/bulk-actions/upload", pr)
	req.Header.Set("Content-Type", ctype)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("slow upload after %v: %v", time.Since(start), err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("slow upload after %v: %d %s", time.Since(start), resp.StatusCode, out)
	}
}

// TestBadInputIs4xx: control characters in any text field, a page size out
// of range on any list, and a malformed query string are the client's
// mistakes, answered 4xx with the field named, never stored or ignored.
func TestBadInputIs4xx(t *testing.T) {
	a := newTestApp(t)
	co := mustCompany(t, a, "Acme")
	adm := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	cid := fmt.Sprint(co.ID)
	m := mustMeeting(t, a, co.ID, store.MeetingInput{Type: "call", Subject: "Kick-off", StartsAt: march1})

	for _, c := range []struct{ method, path, body, field string }{
		{"POST", "/api/v1/companies", `{"name":"Ac\u0000me"}`, "name"},
		{"PUT", "/api/v1/companies/" + cid, `{"name":"Acme","description":"bell\u0007"}`, "description"},
		{"POST", "/api/v1/companies/" + cid + "/notes", `{"title":"Hi","body":"a\u001bb"}`, "body"},
		{"POST", "/api/v1/companies/" + cid + "/contacts", `{"name":"Lee\u0000"}`, "name"},
		{"POST", "/api/v1/companies/" + cid + "/links", `{"title":"x\u0000","url":"https://example.com"}`, "title"},
		{"POST", "/api/v1/companies/" + cid + "/meetings", `{"type":"call","subject":"a\u0000","starts_at":1772373600000}`, "subject"},
		{"PUT", fmt.Sprintf("/api/v1/meetings/%d", m.ID), `{"type":"call","subject":"Kick-off","details":"\u0000","starts_at":1772373600000}`, "details"},
		{"POST", "/api/v1/users", `{"email":"new@example.com","name":"N\u0000","password":"correct horse battery","role":"staff"}`, "name"},
	} {
		resp, body := do(t, adm, c.method, a.Server.URL+c.path, jsonType, c.body)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"`+c.field+`":`) {
			t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, resp.StatusCode, body)
		}
	}
	// Tab and line breaks are text.
	if resp, body := do(t, adm, "POST", a.Server.URL+"/api/v1/companies/"+cid+"/notes", jsonType, `{"title":"Hi","body":"a\tb\r\nc"}`); resp.StatusCode != http.StatusCreated {
		t.Errorf("note with tab and CRLF: %d %s", resp.StatusCode, body)
	}
	// The HTML form answers 422 beside the field.
	resp, body := do(t, adm, "POST", a.Server.URL+"/companies", formType, "name=Ac%00me")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "control characters") {
		t.Errorf("company form with NUL: %d", resp.StatusCode)
	}

	for _, path := range []string{"/api/v1/companies", "/api/v1/companies/" + cid + "/timeline", "/api/v1/meetings", "/api/v1/bulk-actions", "/bulk-actions", "/api/v1/search"} {
		for _, limit := range []string{"-5", "0", "abc", "100000"} {
			resp, body := do(t, adm, "GET", a.Server.URL+path+"?limit="+limit, "", "")
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"limit":`) {
				t.Errorf("GET %s?limit=%s: %d %s", path, limit, resp.StatusCode, body)
			}
		}
		if resp, body := do(t, adm, "GET", a.Server.URL+path+"?limit=5", "", ""); resp.StatusCode != 200 {
			t.Errorf("GET %s?limit=5: %d %s", path, resp.StatusCode, body)
		}
	}
	for _, path := range []string{"/companies", "/meetings"} {
		if resp, _ := do(t, adm, "GET", a.Server.URL+path+"?limit=-5", "", ""); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("GET %s?limit=-5: %d", path, resp.StatusCode)
		}
	}

	for _, path := range []string{"/api/v1/companies?x=%zz", "/companies?sort=name&q=%", "/meetings?type=%g1"} {
		resp, body := do(t, adm, "GET", a.Server.URL+path, "", "")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if strings.HasPrefix(path, "/api/") && !strings.Contains(body, `"error":`) {
			t.Errorf("GET %s: not a JSON error: %s", path, body)
		}
	}
}

// TestAbandonedPageIsNotAnError: a client that goes away while its page is
// rendered (templ stops at a cancelled context) is logged as abandoned,
// with no error and no 500, like one that goes away during a query.
func TestAbandonedPageIsNotAnError(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "staff@example.com", store.RoleStaff)
	c := a.client(t, u)
	// Signed in, the session and the user are remembered: this page asks
	// nothing of SQLite before it renders.
	do(t, c, "GET", a.Server.URL+"/companies/new", "", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", "/companies/new", nil)
	for _, ck := range c.Jar.Cookies(mustURL(a.Server.URL)) {
		req.AddCookie(ck)
	}
	a.Handler.Routes().ServeHTTP(httptest.NewRecorder(), req)
	logs := a.Log.String()
	if strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, `path=/companies/new status=499`) {
		t.Errorf("logs after an abandoned page:\n%s", logs)
	}
}

// TestHungRedisSearchAndMeetings: with redis-server stopped, search and the
// meetings list answer from SQLite; the first request waits out the Redis
// budget and the next ones do not wait at all.
func TestHungRedisSearchAndMeetings(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	co := mustCompany(t, a, "Acme")
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, co.ID, true); err != nil {
		t.Fatal(err)
	}
	mustMeeting(t, a, co.ID, store.MeetingInput{Type: "call", Subject: "Kick-off", StartsAt: march1})
	c := a.client(t, staff)
	round := func(name string) time.Duration {
		t.Helper()
		start := time.Now()
		for path, want := range map[string]string{"/api/v1/search?q=acm": "Acme", "/api/v1/meetings": "Kick-off"} {
			if resp, body := do(t, c, "GET", a.Server.URL+path, "", ""); resp.StatusCode != 200 || !strings.Contains(body, want) {
				t.Fatalf("%s: GET %s: %d %s", name, path, resp.StatusCode, body)
			}
		}
		d := time.Since(start)
		t.Logf("%s: search and meetings in %v", name, d)
		return d
	}
	round("redis up")
	pid := a.Srv.Pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) }) // before the server is stopped
	first := round("redis hung, first")
	second := round("redis hung, second")
	if err := a.Redis.Ping(ctx).Err(); !errors.Is(err, store.ErrRedisSkipped) {
		t.Errorf("ping while hung after a failure: %v, want it skipped", err)
	}
	if second > first/2 {
		t.Errorf("second round took %v, the first %v: Redis was not skipped", second, first)
	}
}
