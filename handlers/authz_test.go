package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/static"
	"github.com/rolodex/rolodex/store"
)

// TestAuthorization sends every route as four people: anonymous, staff
// without the client, staff with the client, and an admin. A company a user
// may not see answers 404, exactly like one that does not exist.
func TestAuthorization(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	with := a.User(t, "with@example.com", store.RoleStaff)
	without := a.User(t, "without@example.com", store.RoleStaff)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	target := a.User(t, "target@example.com", store.RoleStaff)
	acme := mustCompany(t, a, "Acme")
	if err := a.Store.AssignClient(ctx, admin(), with.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}

	// Each case builds its own target so that a delete by one role does not
	// change what the next role sees.
	newCompany := func() int64 {
		c := mustCompany(t, a, "Doomed")
		if err := a.Store.AssignClient(ctx, admin(), with.ID, c.ID, true); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	newItem := func(kind string) int64 {
		var id int64
		var err error
		switch kind {
		case "notes":
			var n *store.Note
			n, err = a.Store.AddNote(ctx, admin(), acme.ID, store.NoteInput{Title: "n"})
			if n != nil {
				id = n.ID
			}
		case "contacts":
			var c *store.Contact
			c, err = a.Store.AddContact(ctx, admin(), acme.ID, store.ContactInput{Name: "c"})
			if c != nil {
				id = c.ID
			}
		case "links":
			var l *store.Link
			l, err = a.Store.AddLink(ctx, admin(), acme.ID, store.LinkInput{Title: "l", URL: "https://example.com"})
			if l != nil {
				id = l.ID
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	newMeeting := func() int64 {
		m, err := a.Store.CreateMeeting(ctx, admin(), acme.ID, store.MeetingInput{Type: "call", Subject: "m", StartsAt: 1772373600000})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}

	const (
		login = -1 // a redirect to the sign-in page
	)
	type want struct{ anon, without, with, admin int }
	page := func(w, wi, ad int) want { return want{login, w, wi, ad} }
	api := func(w, wi, ad int) want { return want{401, w, wi, ad} }
	type tc struct {
		pattern string // the route it covers
		method  string
		path    func() string
		ctype   string
		body    string
		want    want
	}
	A := fmt.Sprint(acme.ID)
	fixed := func(s string) func() string { return func() string { return s } }
	cases := []tc{
		{"GET /static/", "GET", fixed(static.Path("app.css")), "", "", want{200, 200, 200, 200}},
		{"GET /healthz", "GET", fixed("/healthz"), "", "", want{200, 200, 200, 200}},
		{"GET /favicon.ico", "GET", fixed("/favicon.ico"), "", "", want{200, 200, 200, 200}},
		{"/", "GET", fixed("/no/such/page"), "", "", want{404, 404, 404, 404}},
		{"GET /login", "GET", fixed("/login"), "", "", want{200, 303, 303, 303}},
		{"POST /login", "POST", fixed("/login"), formType, "email=nobody@example.com&password=wrongwrong", want{422, 422, 422, 422}},
		{"POST /logout", "POST", fixed("/logout"), formType, "", want{303, 303, 303, 303}},
		{"GET /{$}", "GET", fixed("/"), "", "", page(303, 303, 303)},
		{"GET /companies", "GET", fixed("/companies"), "", "", page(200, 200, 200)},
		{"GET /companies/new", "GET", fixed("/companies/new"), "", "", page(200, 200, 200)},
		{"POST /companies", "POST", fixed("/companies"), formType, "name=New+Co", page(303, 303, 303)},
		{"GET /companies/{id}", "GET", fixed("/companies/" + A), "", "", page(404, 200, 200)},
		{"GET /companies/{id}/timeline", "GET", fixed("/companies/" + A + "/timeline"), "", "", page(404, 200, 200)},
		{"GET /companies/{id}/edit", "GET", fixed("/companies/" + A + "/edit"), "", "", page(404, 200, 200)},
		{"POST /companies/{id}", "POST", fixed("/companies/" + A), formType, "name=Acme", page(404, 303, 303)},
		{"POST /companies/{id}/delete", "POST", func() string { return fmt.Sprintf("/companies/%d/delete", newCompany()) }, formType, "", page(404, 403, 303)},
		{"GET /search", "GET", fixed("/search?q=acme"), "", "", page(200, 200, 200)},
		{"GET /me", "GET", fixed("/me"), "", "", page(200, 200, 200)},
		{"POST /me", "POST", fixed("/me"), formType, "name=&email=&time_zone=", page(422, 422, 422)},
		{"POST /me/password", "POST", fixed("/me/password"), formType, "current_password=wrong&new_password=", page(422, 422, 422)},
		{"GET /admin/users", "GET", fixed("/admin/users"), "", "", page(403, 403, 200)},
		{"POST /admin/users", "POST", fixed("/admin/users"), formType, "", page(403, 403, 422)},
		{"GET /admin/users/{id}", "GET", fixed(fmt.Sprintf("/admin/users/%d", target.ID)), "", "", page(403, 403, 200)},
		{"GET /admin/users/{id}/candidates", "GET", fixed(fmt.Sprintf("/admin/users/%d/candidates?q=ac", target.ID)), "", "", page(403, 403, 200)},
		{"POST /admin/users/{id}/clients", "POST", fixed(fmt.Sprintf("/admin/users/%d/clients", target.ID)), formType, "company_id=" + A, page(403, 403, 303)},
		{"POST /admin/users/{id}/clients/{cid}/delete", "POST", fixed(fmt.Sprintf("/admin/users/%d/clients/%s/delete", target.ID, A)), formType, "", page(403, 403, 303)},
		{"POST /admin/users/{id}/deactivate", "POST", fixed(fmt.Sprintf("/admin/users/%d/deactivate", target.ID)), formType, "", page(403, 403, 303)},
		{"POST /admin/users/{id}/reactivate", "POST", fixed(fmt.Sprintf("/admin/users/%d/reactivate", target.ID)), formType, "", page(403, 403, 303)},
		// Sessions are their user's own: another's answers 404, even to an admin.
		{"GET /me/sessions", "GET", fixed("/me/sessions"), "", "", page(200, 200, 200)},
		{"POST /me/sessions/{id}/delete", "POST", func() string { return fmt.Sprintf("/me/sessions/%d/delete", targetSession(t, a, target)) }, formType, "", page(404, 404, 404)},
		{"POST /me/sessions/delete-all", "POST", fixed("/me/sessions/delete-all"), formType, "", page(303, 303, 303)},
		{"GET /api/v1/companies", "GET", fixed("/api/v1/companies"), "", "", api(200, 200, 200)},
		{"POST /api/v1/companies", "POST", fixed("/api/v1/companies"), jsonType, `{"name":"Api Co"}`, api(201, 201, 201)},
		{"GET /api/v1/companies/{id}", "GET", fixed("/api/v1/companies/" + A), "", "", api(404, 200, 200)},
		{"PUT /api/v1/companies/{id}", "PUT", fixed("/api/v1/companies/" + A), jsonType, `{"name":"Acme"}`, api(404, 200, 200)},
		{"DELETE /api/v1/companies/{id}", "DELETE", func() string { return fmt.Sprintf("/api/v1/companies/%d", newCompany()) }, "", "", api(404, 403, 204)},
		{"GET /api/v1/companies/{id}/timeline", "GET", fixed("/api/v1/companies/" + A + "/timeline"), "", "", api(404, 200, 200)},
		{"GET /api/v1/search", "GET", fixed("/api/v1/search?q=acme"), "", "", api(200, 200, 200)},
		{"POST /api/v1/users", "POST", fixed("/api/v1/users"), jsonType, `{"email":"x@example.com","name":"X","password":"longenough1","role":"staff"}`, api(403, 403, 201)},
		{"PUT /api/v1/users/{id}/clients", "PUT", fixed(fmt.Sprintf("/api/v1/users/%d/clients", target.ID)), jsonType, `{"company_ids":[` + A + `]}`, api(403, 403, 200)},
	}
	for _, kind := range []string{"notes", "contacts", "links"} {
		body := map[string]string{"notes": "title=Hi&body=**x**", "contacts": "name=Lee&email=", "links": "title=Site&url=https%3A%2F%2Fexample.com"}[kind]
		jsonBody := map[string]string{"notes": `{"title":"Hi"}`, "contacts": `{"name":"Lee"}`, "links": `{"title":"Site","url":"https://example.com"}`}[kind]
		item := func() string { return fmt.Sprintf("/%s/%d", kind, newItem(kind)) }
		cases = append(cases,
			tc{"GET /companies/{id}/" + kind + "/new", "GET", fixed("/companies/" + A + "/" + kind + "/new"), "", "", page(404, 200, 200)},
			tc{"POST /companies/{id}/" + kind, "POST", fixed("/companies/" + A + "/" + kind), formType, body, page(404, 303, 303)},
			tc{"GET /" + kind + "/{id}/edit", "GET", func() string { return item() + "/edit" }, "", "", page(404, 200, 200)},
			tc{"POST /" + kind + "/{id}", "POST", item, formType, body, page(404, 303, 303)},
			tc{"POST /" + kind + "/{id}/delete", "POST", func() string { return item() + "/delete" }, formType, "", page(404, 303, 303)},
			tc{"POST /api/v1/companies/{id}/" + kind, "POST", fixed("/api/v1/companies/" + A + "/" + kind), jsonType, jsonBody, api(404, 201, 201)},
		)
	}
	meeting := func(suffix string) func() string {
		return func() string { return fmt.Sprintf("/meetings/%d%s", newMeeting(), suffix) }
	}
	apiMeeting := func() string { return fmt.Sprintf("/api/v1/meetings/%d", newMeeting()) }
	meetingForm := "type=call&subject=Hi&starts_at=2026-03-01T14%3A00"
	cases = append(cases,
		tc{"GET /meetings", "GET", fixed("/meetings?type=call&status=open&from=2026-01-01&to=2026-12-31&sort=date&order=desc"), "", "", page(200, 200, 200)},
		tc{"GET /companies/{id}/meetings/new", "GET", fixed("/companies/" + A + "/meetings/new"), "", "", page(404, 200, 200)},
		tc{"POST /companies/{id}/meetings", "POST", fixed("/companies/" + A + "/meetings"), formType, meetingForm, page(404, 303, 303)},
		tc{"GET /meetings/{id}/edit", "GET", meeting("/edit"), "", "", page(404, 200, 200)},
		tc{"POST /meetings/{id}", "POST", meeting(""), formType, meetingForm, page(404, 303, 303)},
		tc{"POST /meetings/{id}/status", "POST", meeting("/status"), formType, "status=closed", page(404, 303, 303)},
		tc{"POST /meetings/{id}/delete", "POST", meeting("/delete"), formType, "", page(404, 303, 303)},
		tc{"GET /admin/meeting-types", "GET", fixed("/admin/meeting-types"), "", "", page(403, 403, 200)},
		tc{"POST /admin/meeting-types", "POST", fixed("/admin/meeting-types"), formType, "name=", page(403, 403, 422)},
		tc{"GET /api/v1/meetings", "GET", fixed("/api/v1/meetings?type=call&status=open"), "", "", api(200, 200, 200)},
		tc{"POST /api/v1/companies/{id}/meetings", "POST", fixed("/api/v1/companies/" + A + "/meetings"), jsonType,
			`{"type":"call","subject":"Hi","starts_at":"2026-03-01T14:00:00Z"}`, api(404, 201, 201)},
		tc{"GET /api/v1/meetings/{id}", "GET", apiMeeting, "", "", api(404, 200, 200)},
		tc{"PUT /api/v1/meetings/{id}", "PUT", apiMeeting, jsonType, `{"type":"email","subject":"Hi","starts_at":1772373600000}`, api(404, 200, 200)},
		tc{"DELETE /api/v1/meetings/{id}", "DELETE", apiMeeting, "", "", api(404, 204, 204)},
	)

	// Live rooms. Each case gets its own meeting, starting in an hour (so
	// the scheduler leaves it alone), organised by nobody: only admins
	// manage it. state is the room's state; joined puts "with" and the
	// admin in it.
	newRoom := func(state string, joined bool) int64 {
		m, err := a.Store.CreateMeeting(ctx, admin(), acme.ID, store.MeetingInput{Type: "call", Subject: "r", StartsAt: time.Now().Add(time.Hour).UnixMilli()})
		if err != nil {
			t.Fatal(err)
		}
		if state != store.RoomScheduled {
			if _, err := a.Store.OpenRoom(ctx, admin(), m.ID); err != nil {
				t.Fatal(err)
			}
		}
		if joined {
			for _, u := range []*store.User{with, adm} {
				if _, err := a.Store.JoinRoom(ctx, u, m.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		if state == store.RoomEnded {
			if _, err := a.Store.EndRoom(ctx, admin(), m.ID); err != nil {
				t.Fatal(err)
			}
		}
		return m.ID
	}
	room := func(prefix, state string, joined bool, suffix string) func() string {
		return func() string { return fmt.Sprintf("%s/meetings/%d/room%s", prefix, newRoom(state, joined), suffix) }
	}
	closes := fmt.Sprint(time.Now().Add(3 * time.Hour).UnixMilli())
	cases = append(cases,
		tc{"GET /meetings/{id}/room", "GET", room("", store.RoomOpen, false, ""), "", "", page(404, 200, 200)},
		// An ended room's stream says so and closes.
		tc{"GET /meetings/{id}/room/stream", "GET", room("", store.RoomEnded, false, "/stream"), "", "", page(404, 200, 200)},
		tc{"GET /meetings/{id}/room/messages", "GET", room("", store.RoomOpen, false, "/messages"), "", "", page(404, 200, 200)},
		tc{"POST /meetings/{id}/room/messages", "POST", room("", store.RoomOpen, true, "/messages"), formType, "body=hi", page(404, 303, 303)},
		tc{"POST /meetings/{id}/room/join", "POST", room("", store.RoomOpen, false, "/join"), formType, "", page(404, 303, 303)},
		tc{"POST /meetings/{id}/room/leave", "POST", room("", store.RoomOpen, true, "/leave"), formType, "", page(404, 303, 303)},
		tc{"POST /meetings/{id}/room/open", "POST", room("", store.RoomScheduled, false, "/open"), formType, "", page(404, 403, 303)},
		tc{"POST /meetings/{id}/room/extend", "POST", room("", store.RoomOpen, false, "/extend"), formType, "minutes=15", page(404, 403, 303)},
		tc{"POST /meetings/{id}/room/end", "POST", room("", store.RoomOpen, true, "/end"), formType, "", page(404, 403, 303)},
		tc{"POST /meetings/{id}/room/participants/{uid}/remove", "POST", room("", store.RoomOpen, true, fmt.Sprintf("/participants/%d/remove", with.ID)), formType, "", page(404, 403, 303)},
		tc{"POST /meetings/{id}/room/settings", "POST", room("", store.RoomScheduled, false, "/settings"), formType, "access=audience&audience=with%40example.com", page(404, 403, 303)},
		tc{"GET /api/v1/rooms", "GET", fixed("/api/v1/rooms"), "", "", api(200, 200, 200)},
		tc{"GET /meetings/{id}/room/transcript", "GET", room("", store.RoomEnded, true, "/transcript"), "", "", page(404, 200, 200)},
		tc{"GET /rooms", "GET", fixed("/rooms"), "", "", page(200, 200, 200)},
		// A background poll: signed out it answers nothing rather than a redirect.
		tc{"GET /rooms/count", "GET", fixed("/rooms/count"), "", "", want{204, 200, 200, 200}},
		tc{"GET /api/v1/meetings/{id}/room", "GET", room("/api/v1", store.RoomOpen, false, ""), "", "", api(404, 200, 200)},
		tc{"PUT /api/v1/meetings/{id}/room", "PUT", room("/api/v1", store.RoomScheduled, false, ""), jsonType, `{"access":"audience","audience":["with@example.com"]}`, api(404, 403, 200)},
		tc{"POST /api/v1/meetings/{id}/room/open", "POST", room("/api/v1", store.RoomScheduled, false, "/open"), "", "", api(404, 403, 200)},
		tc{"POST /api/v1/meetings/{id}/room/extend", "POST", room("/api/v1", store.RoomOpen, false, "/extend"), jsonType, `{"closes_at":` + closes + `}`, api(404, 403, 200)},
		tc{"POST /api/v1/meetings/{id}/room/end", "POST", room("/api/v1", store.RoomOpen, true, "/end"), "", "", api(404, 403, 200)},
		tc{"POST /api/v1/meetings/{id}/room/join", "POST", room("/api/v1", store.RoomOpen, false, "/join"), "", "", api(404, 200, 200)},
		tc{"POST /api/v1/meetings/{id}/room/leave", "POST", room("/api/v1", store.RoomOpen, true, "/leave"), "", "", api(404, 200, 200)},
		tc{"GET /api/v1/meetings/{id}/room/messages", "GET", room("/api/v1", store.RoomOpen, false, "/messages"), "", "", api(404, 200, 200)},
		tc{"POST /api/v1/meetings/{id}/room/messages", "POST", room("/api/v1", store.RoomOpen, true, "/messages"), jsonType, `{"body":"hi"}`, api(404, 201, 201)},
		tc{"GET /api/v1/meetings/{id}/room/events", "GET", room("/api/v1", store.RoomOpen, false, "/events"), "", "", api(404, 403, 200)},
	)

	// Bulk imports: admins only. Each case that changes an import gets
	// its own.
	newImport := func(draft bool) func() int64 {
		return func() int64 { return mustImport(t, a, draft) }
	}
	imp := mustImport(t, a, false)
	I := fmt.Sprint(imp)
	uploadType, uploadBody := multipartBody(map[string]string{"kind": "contacts"}, "c.csv", "name,email\nLee,lee@example.com\n")
	importPath := func(id func() int64, suffix string) func() string {
		return func() string { return fmt.Sprintf("/admin/imports/%d%s", id(), suffix) }
	}
	apiImportPath := func(id func() int64, suffix string) func() string {
		return func() string { return fmt.Sprintf("/api/v1/bulk-actions/%d%s", id(), suffix) }
	}
	cases = append(cases,
		tc{"GET /admin/imports", "GET", fixed("/admin/imports"), "", "", page(403, 403, 200)},
		tc{"POST /admin/imports", "POST", fixed("/admin/imports"), uploadType, uploadBody, page(403, 403, 303)},
		tc{"GET /admin/imports/{id}", "GET", fixed("/admin/imports/" + I), "", "", page(403, 403, 200)},
		tc{"POST /admin/imports/{id}/start", "POST", importPath(newImport(true), "/start"), formType, "col_0=name&col_1=email&mode=create", page(403, 403, 303)},
		tc{"POST /admin/imports/{id}/cancel", "POST", importPath(newImport(false), "/cancel"), formType, "", page(403, 403, 303)},
		tc{"POST /admin/imports/{id}/retry", "POST", importPath(func() int64 { return mustFailedImport(t, a) }, "/retry"), formType, "", page(403, 403, 303)},
		tc{"GET /admin/imports/{id}/errors.csv", "GET", fixed("/admin/imports/" + I + "/errors.csv"), "", "", page(403, 403, 200)},
		tc{"GET /api/v1/bulk-actions/{id}/errors.csv", "GET", fixed("/api/v1/bulk-actions/" + I + "/errors.csv"), "", "", api(403, 403, 200)},
		tc{"POST /api/v1/bulk-actions/{id}/cancel", "POST", apiImportPath(newImport(false), "/cancel"), "", "", api(403, 403, 200)},
	)
	for _, prefix := range []string{"", "/api/v1"} {
		cases = append(cases,
			tc{"POST " + prefix + "/bulk-actions/upload", "POST", fixed(prefix + "/bulk-actions/upload"), uploadType, uploadBody, api(403, 403, 201)},
			tc{"GET " + prefix + "/bulk-actions", "GET", fixed(prefix + "/bulk-actions"), "", "", api(403, 403, 200)},
			tc{"GET " + prefix + "/bulk-actions/{id}", "GET", fixed(prefix + "/bulk-actions/" + I), "", "", api(403, 403, 200)},
			tc{"GET " + prefix + "/bulk-actions-by-account/{accountId}", "GET", fixed(prefix + "/bulk-actions-by-account/1"), "", "", api(403, 403, 200)},
		)
	}

	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.pattern] = true
	}
	for _, p := range a.Handler.Patterns() {
		if !covered[p] {
			t.Errorf("route %q has no authorization case", p)
		}
	}

	clients := []struct {
		name string
		c    *http.Client
		pick func(want) int
	}{
		{"anonymous", a.client(t, nil), func(w want) int { return w.anon }},
		{"staff without client", a.client(t, without), func(w want) int { return w.without }},
		{"staff with client", a.client(t, with), func(w want) int { return w.with }},
		{"admin", a.client(t, adm), func(w want) int { return w.admin }},
	}
	signsOut := map[string]bool{"POST /logout": true, "POST /me/sessions/delete-all": true}
	for _, c := range cases {
		for _, cl := range clients {
			if signsOut[c.pattern] {
				continue // would sign the shared client out; run last below
			}
			t.Run(c.method+" "+c.pattern+" as "+cl.name, func(t *testing.T) {
				path := c.path()
				resp, body := do(t, cl.c, c.method, a.Server.URL+path, c.ctype, c.body)
				want := cl.pick(c.want)
				if want == login {
					loc := resp.Header.Get("Location")
					if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
						t.Fatalf("%s %s: got %d to %q, want a redirect to /login", c.method, path, resp.StatusCode, loc)
					}
					return
				}
				if resp.StatusCode != want {
					t.Fatalf("%s %s: got %d, want %d\n%.300s", c.method, path, resp.StatusCode, want, body)
				}
				if strings.HasPrefix(path, "/api/") && resp.StatusCode >= 400 && !strings.Contains(body, `"error"`) {
					t.Errorf("API error without a JSON error: %s", body)
				}
			})
		}
	}
	for _, cl := range clients {
		resp, _ := do(t, cl.c, "POST", a.Server.URL+"/me/sessions/delete-all", formType, "")
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
			t.Errorf("sign out everywhere as %s: %d to %q", cl.name, resp.StatusCode, loc)
		}
		resp, _ = do(t, cl.c, "POST", a.Server.URL+"/logout", formType, "")
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("logout as %s: %d", cl.name, resp.StatusCode)
		}
		resp, _ = do(t, cl.c, "GET", a.Server.URL+"/companies", "", "")
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
			t.Errorf("after logout %s still reaches /companies: %d %s", cl.name, resp.StatusCode, loc)
		}
	}
}

// targetSession starts a session of u and returns its id.
func targetSession(t *testing.T, a *testApp, u *store.User) int64 {
	t.Helper()
	token, err := a.Store.CreateSession(t.Context(), u.ID, "192.0.2.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	x, _, err := a.Store.SessionUser(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	return x.ID
}
