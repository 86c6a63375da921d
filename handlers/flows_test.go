package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
)

func TestCompanyFormValidation(t *testing.T) {
	a := newTestApp(t)
	c := a.client(t, a.User(t, "staff@example.com", store.RoleStaff))
	cases := []struct {
		name, body, field, msg string
	}{
		{"missing name", "name=&website=", "name", "This field is required."},
		{"bad website", "name=Acme&website=javascript:alert(1)", "website", "Enter a web address"},
		{"name too long", "name=" + strings.Repeat("x", 201), "name", "at most 200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, c, "POST", a.Server.URL+"/companies", formType, tc.body)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", resp.StatusCode)
			}
			if !strings.Contains(body, tc.msg) || !strings.Contains(body, `aria-invalid="true"`) {
				t.Errorf("422 page lacks the field message %q:\n%.2000s", tc.msg, body)
			}
		})
	}
	// Nothing half-written: the list is still empty.
	page, err := a.Store.ListCompanies(context.Background(), admin(), store.CompanyQuery{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("companies after failed posts: %v %v", page, err)
	}
	// Oversize bodies get 413.
	resp, _ := do(t, c, "POST", a.Server.URL+"/companies", formType, "name=x&description="+strings.Repeat("a", 2<<20))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize body: %d, want 413", resp.StatusCode)
	}
	resp, body := do(t, c, "POST", a.Server.URL+"/api/v1/companies", jsonType, `{"name": 5}`)
	if resp.StatusCode != 422 || !strings.Contains(body, `"error"`) {
		t.Errorf("wrong JSON type: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, c, "POST", a.Server.URL+"/api/v1/companies", jsonType, `{"name":"A","bogus":1}`)
	if resp.StatusCode != 422 || !strings.Contains(body, "bogus") {
		t.Errorf("unknown JSON field: %d %s", resp.StatusCode, body)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	a := newTestApp(t)
	c := a.client(t, a.User(t, "staff@example.com", store.RoleStaff))
	resp, _ := do(t, c, "POST", a.Server.URL+"/companies", formType, "name=Evil", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin POST: %d, want 403", resp.StatusCode)
	}
	resp, _ = do(t, c, "POST", a.Server.URL+"/companies", formType, "name=Fine", "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin POST: %d, want 303", resp.StatusCode)
	}
}

// TestTimelinePaging adds items of every type and reads the timeline back
// through the API page by page, with and without a type filter.
func TestTimelinePaging(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "staff@example.com", store.RoleStaff)
	c := a.client(t, u)
	resp, body := do(t, c, "POST", a.Server.URL+"/api/v1/companies", jsonType, `{"name":"Andertons","town":"Guildford"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var co store.Company
	json.Unmarshal([]byte(body), &co)
	var want []string
	for i := 0; i < 25; i++ {
		kind, payload := "notes", fmt.Sprintf(`{"title":"note %d","body":"*%d*"}`, i, i)
		switch i % 3 {
		case 1:
			kind, payload = "contacts", fmt.Sprintf(`{"name":"Person %d","email":"p%d@andertons.co.uk"}`, i, i)
		case 2:
			kind, payload = "links", fmt.Sprintf(`{"title":"Link %d","url":"https://example.com/%d"}`, i, i)
		}
		resp, body := do(t, c, "POST", fmt.Sprintf("%s/api/v1/companies/%d/%s", a.Server.URL, co.ID, kind), jsonType, payload)
		if resp.StatusCode != 201 {
			t.Fatalf("add %s: %d %s", kind, resp.StatusCode, body)
		}
		var item struct{ ID int64 }
		json.Unmarshal([]byte(body), &item)
		want = append([]string{fmt.Sprintf("%s:%d", strings.TrimSuffix(kind, "s"), item.ID)}, want...)
	}
	read := func(typ string, limit int) []string {
		var got []string
		cursor := ""
		for pages := 0; pages < 50; pages++ {
			u := fmt.Sprintf("%s/api/v1/companies/%d/timeline?limit=%d&type=%s&cursor=%s", a.Server.URL, co.ID, limit, typ, url.QueryEscape(cursor))
			resp, body := do(t, c, "GET", u, "", "")
			if resp.StatusCode != 200 {
				t.Fatalf("timeline: %d %s", resp.StatusCode, body)
			}
			var page struct {
				Items []struct {
					Type      string `json:"type"`
					ID        int64  `json:"id"`
					CreatedAt int64  `json:"created_at"`
				} `json:"items"`
				Next string `json:"next_cursor"`
			}
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				got = append(got, fmt.Sprintf("%s:%d", it.Type, it.ID))
			}
			if page.Next == "" {
				return got
			}
			cursor = page.Next
		}
		t.Fatal("timeline paging did not end")
		return nil
	}
	for _, limit := range []int{1, 4, 7, 100} {
		if got := read("", limit); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("limit %d:\n got %v\nwant %v", limit, got, want)
		}
	}
	var notes []string
	for _, w := range want {
		if strings.HasPrefix(w, "note:") {
			notes = append(notes, w)
		}
	}
	if got := read("note", 3); strings.Join(got, " ") != strings.Join(notes, " ") {
		t.Errorf("notes only:\n got %v\nwant %v", got, notes)
	}
	resp, _ = do(t, c, "GET", fmt.Sprintf("%s/api/v1/companies/%d/timeline?type=bogus", a.Server.URL, co.ID), "", "")
	if resp.StatusCode != 422 {
		t.Errorf("unknown type: %d, want 422", resp.StatusCode)
	}
	resp, _ = do(t, c, "GET", fmt.Sprintf("%s/api/v1/companies/%d/timeline?cursor=garbage", a.Server.URL, co.ID), "", "")
	if resp.StatusCode != 422 {
		t.Errorf("bad cursor: %d, want 422", resp.StatusCode)
	}
	// The HTML page shows the newest item first and offers "load more".
	resp, body = do(t, c, "GET", fmt.Sprintf("%s/companies/%d", a.Server.URL, co.ID), "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "note 24") || strings.Contains(body, "note 0<") {
		t.Errorf("company page: %d, newest item missing or oldest shown on page one", resp.StatusCode)
	}
	if !strings.Contains(body, "cursor=") {
		t.Errorf("company page lacks a load-more cursor")
	}
}

// TestMarkdownXSSOnPage posts hostile notes and checks the company page
// renders them inert.
func TestMarkdownXSSOnPage(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "staff@example.com", store.RoleStaff)
	c := a.client(t, u)
	co, err := a.Store.CreateCompany(context.Background(), u, store.CompanyInput{Name: "Target"})
	if err != nil {
		t.Fatal(err)
	}
	bodies := []string{
		"<script>alert(1)</script>",
		"[click](javascript:alert(1))",
		"<img src=x onerror=alert(1)>",
		`<a href="javascript:alert(1)">x</a>`,
		"<iframe src=https://evil.example></iframe>",
		"[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
		"<div onmouseover=\"alert(1)\">hover</div>",
	}
	for _, b := range bodies {
		resp, _ := do(t, c, "POST", fmt.Sprintf("%s/companies/%d/notes", a.Server.URL, co.ID), formType, url.Values{"title": {"t"}, "body": {b}}.Encode())
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("add note: %d", resp.StatusCode)
		}
	}
	_, page := do(t, c, "GET", fmt.Sprintf("%s/companies/%d", a.Server.URL, co.ID), "", "")
	lower := strings.ToLower(page)
	for _, bad := range []string{"<script>alert", "javascript:", "onerror=", "onmouseover=", "<iframe", "data:text/html"} {
		if strings.Contains(lower, bad) {
			t.Errorf("company page contains %q", bad)
		}
	}
}

// TestSearchRespectsClients checks search typo tolerance and that staff
// only ever find their clients.
func TestSearchRespectsClients(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	mine := mustCompany(t, a, "Andertons")
	theirs := mustCompany(t, a, "Anderson Logistics")
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, mine.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.AddContact(ctx, admin(), theirs.ID, store.ContactInput{Name: "Hidden Person", Email: "hidden@anderson.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.AddContact(ctx, admin(), mine.ID, store.ContactInput{Name: "Lee Anderton", Email: "lee@andertons.co.uk"}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		Companies []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"companies"`
		Contacts []struct {
			ID          int64  `json:"id"`
			Name        string `json:"name"`
			CompanyName string `json:"company_name"`
		} `json:"contacts"`
	}
	query := func(c *http.Client, q string) result {
		resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/search?q="+url.QueryEscape(q), "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("search %q: %d %s", q, resp.StatusCode, body)
		}
		var r result
		json.Unmarshal([]byte(body), &r)
		return r
	}
	sc, ac := a.client(t, staff), a.client(t, adm)
	for _, q := range []string{"andert", "andretons", "Andertons"} {
		r := query(sc, q)
		if len(r.Companies) == 0 || r.Companies[0].ID != mine.ID {
			t.Errorf("staff search %q: %+v, want Andertons first", q, r.Companies)
		}
		for _, c := range r.Companies {
			if c.ID == theirs.ID {
				t.Errorf("staff search %q leaked %q", q, c.Name)
			}
		}
	}
	if r := query(sc, "hidden"); len(r.Contacts) != 0 {
		t.Errorf("staff found a contact of another client: %+v", r.Contacts)
	}
	if r := query(sc, "lee"); len(r.Contacts) != 1 || r.Contacts[0].CompanyName != "Andertons" {
		t.Errorf("staff contact search: %+v", r.Contacts)
	}
	if r := query(ac, "ander"); len(r.Companies) != 2 {
		t.Errorf("admin search: %+v, want both companies", r.Companies)
	}
	// Taking the client away hides it from search at once.
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, mine.ID, false); err != nil {
		t.Fatal(err)
	}
	if r := query(sc, "andertons"); len(r.Companies) != 0 || len(r.Contacts) != 0 {
		t.Errorf("after unassign staff still finds %+v", r)
	}
	// The HTML fragment for htmx.
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, mine.ID, true); err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, sc, "GET", a.Server.URL+"/search?q=andert", "", "", "HX-Request", "true")
	if resp.StatusCode != 200 || !strings.Contains(body, "Andertons") || strings.Contains(body, "<html") {
		t.Errorf("htmx search fragment: %d %.500s", resp.StatusCode, body)
	}
}

// TestRedisLossStaysSecure flushes Redis, then stops it, and checks that
// answers stay correct and never leak; then that Redis is rebuilt.
func TestRedisLossStaysSecure(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	mine := mustCompany(t, a, "Mine Ltd")
	other := mustCompany(t, a, "Other Ltd")
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, mine.ID, true); err != nil {
		t.Fatal(err)
	}
	c := a.client(t, staff)
	check := func(stage string) {
		t.Helper()
		if resp, _ := do(t, c, "GET", fmt.Sprintf("%s/companies/%d", a.Server.URL, mine.ID), "", ""); resp.StatusCode != 200 {
			t.Errorf("%s: own company %d", stage, resp.StatusCode)
		}
		if resp, _ := do(t, c, "GET", fmt.Sprintf("%s/companies/%d", a.Server.URL, other.ID), "", ""); resp.StatusCode != 404 {
			t.Errorf("%s: other company %d, want 404", stage, resp.StatusCode)
		}
		resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/search?q=ltd", "", "")
		if resp.StatusCode != 200 || !strings.Contains(body, "Mine Ltd") || strings.Contains(body, "Other Ltd") {
			t.Errorf("%s: search %d %s", stage, resp.StatusCode, body)
		}
	}
	check("redis up")

	// Poison Redis: the set claims the other company too, then the marker
	// goes (as after a flush). Readers must not trust the set.
	if err := a.Redis.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	a.Redis.SAdd(ctx, store.Key(1, "clients_for_user", staff.ID), other.ID)
	check("redis flushed")
	// The fallback started a rebuild; wait for the marker.
	deadline := time.Now().Add(10 * time.Second)
	for !a.Store.RedisReady(ctx, 1) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !a.Store.RedisReady(ctx, 1) {
		t.Fatal("redis was not rebuilt")
	}
	members, _ := a.Redis.SMembers(ctx, store.Key(1, "clients_for_user", staff.ID)).Result()
	if len(members) != 1 || members[0] != fmt.Sprint(mine.ID) {
		t.Errorf("rebuilt set = %v, want [%d]", members, mine.ID)
	}
	check("redis rebuilt")

	a.Srv.Stop()
	check("redis stopped")
	// Writes still land in SQLite; the outbox keeps what Redis missed.
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, other.ID, true); err != nil {
		t.Fatal(err)
	}
	if resp, _ := do(t, c, "GET", fmt.Sprintf("%s/companies/%d", a.Server.URL, other.ID), "", ""); resp.StatusCode != 200 {
		t.Errorf("assigned while redis down: %d", resp.StatusCode)
	}
	if n, _ := a.Store.CountOutbox(ctx); n == 0 {
		t.Errorf("outbox empty after a write with redis down")
	}
	resp, body := do(t, c, "GET", a.Server.URL+"/healthz", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"redis":"down`) {
		t.Errorf("healthz with redis down: %d %s", resp.StatusCode, body)
	}
}

// TestAbandonedRequestIsNotAnError: a client that goes away mid-request
// is logged as such, not as a server error.
func TestAbandonedRequestIsNotAnError(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "staff@example.com", store.RoleStaff)
	co := mustCompany(t, a, "Acme")
	if err := a.Store.AssignClient(context.Background(), admin(), u.ID, co.ID, true); err != nil {
		t.Fatal(err)
	}
	c := a.client(t, u)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", fmt.Sprintf("/companies/%d", co.ID), nil)
	for _, ck := range c.Jar.Cookies(mustURL(a.Server.URL)) {
		req.AddCookie(ck)
	}
	w := httptest.NewRecorder()
	a.Handler.Routes().ServeHTTP(w, req)
	logs := a.Log.String()
	if strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, `msg="request abandoned"`) {
		t.Errorf("logs after an abandoned request:\n%s", logs)
	}
}
