package handlers_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/static"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestAuthorization sends every route as five people: anonymous, staff
// without the client, staff with the client, an admin, and an admin of
// another workspace. A company a user may not see answers 404, exactly like
// one that does not exist; so does anything of another workspace.
func TestAuthorization(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	with := a.User(t, "with@example.com", store.RoleStaff)
	without := a.User(t, "without@example.com", store.RoleStaff)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	target := a.User(t, "target@example.com", store.RoleStaff)
	ws2, err := a.Store.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := a.Store.CreateWorkspaceUser(ctx, ws2, store.UserInput{Email: "foreign@example.com", Name: "Foreign", Password: storetest.Password, Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
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
	type want struct{ anon, without, with, admin, foreign int }
	page := func(w, wi, ad, fo int) want { return want{login, w, wi, ad, fo} }
	api := func(w, wi, ad, fo int) want { return want{401, w, wi, ad, fo} }
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
		{"GET /static/", "GET", fixed(static.Path("app.css")), "", "", want{200, 200, 200, 200, 200}},
		{"GET /healthz", "GET", fixed("/healthz"), "", "", want{200, 200, 200, 200, 200}},
		{"GET /favicon.ico", "GET", fixed("/favicon.ico"), "", "", want{200, 200, 200, 200, 200}},
		{"/", "GET", fixed("/no/such/page"), "", "", want{404, 404, 404, 404, 404}},
		{"/api/", "GET", fixed("/api/v1/no-such-thing"), "", "", want{404, 404, 404, 404, 404}},
		{"GET /login", "GET", fixed("/login"), "", "", want{200, 303, 303, 303, 303}},
		{"POST /login", "POST", fixed("/login"), formType, "email=nobody@example.com&password=wrongwrong", want{422, 422, 422, 422, 422}},
		{"POST /logout", "POST", fixed("/logout"), formType, "", want{303, 303, 303, 303, 303}},
		{"GET /{$}", "GET", fixed("/"), "", "", page(200, 200, 200, 200)},
		{"GET /companies", "GET", fixed("/companies"), "", "", page(200, 200, 200, 200)},
		{"GET /companies/new", "GET", fixed("/companies/new"), "", "", page(200, 200, 200, 200)},
		{"POST /companies", "POST", fixed("/companies"), formType, "name=New+Co", page(303, 303, 303, 303)},
		{"GET /companies/{id}", "GET", fixed("/companies/" + A), "", "", page(404, 200, 200, 404)},
		{"GET /companies/{id}/timeline", "GET", fixed("/companies/" + A + "/timeline"), "", "", page(404, 200, 200, 404)},
		{"GET /companies/{id}/edit", "GET", fixed("/companies/" + A + "/edit"), "", "", page(404, 200, 200, 404)},
		{"POST /companies/{id}", "POST", fixed("/companies/" + A), formType, "name=Acme", page(404, 303, 303, 404)},
		{"POST /companies/{id}/delete", "POST", func() string { return fmt.Sprintf("/companies/%d/delete", newCompany()) }, formType, "", page(404, 403, 303, 404)},
		{"GET /search", "GET", fixed("/search?q=acme"), "", "", page(200, 200, 200, 200)},
		{"GET /me", "GET", fixed("/me"), "", "", page(200, 200, 200, 200)},
		{"POST /me", "POST", fixed("/me"), formType, "name=&email=&time_zone=", page(422, 422, 422, 422)},
		{"POST /me/password", "POST", fixed("/me/password"), formType, "current_password=wrong&new_password=", page(422, 422, 422, 422)},
		{"GET /admin/users", "GET", fixed("/admin/users"), "", "", page(403, 403, 200, 200)},
		{"POST /admin/users", "POST", fixed("/admin/users"), formType, "", page(403, 403, 422, 422)},
		{"GET /admin/users/{id}", "GET", fixed(fmt.Sprintf("/admin/users/%d", target.ID)), "", "", page(403, 403, 200, 404)},
		{"GET /admin/users/{id}/candidates", "GET", fixed(fmt.Sprintf("/admin/users/%d/candidates?q=ac", target.ID)), "", "", page(403, 403, 200, 404)},
		{"POST /admin/users/{id}/clients", "POST", fixed(fmt.Sprintf("/admin/users/%d/clients", target.ID)), formType, "company_id=" + A, page(403, 403, 303, 404)},
		{"POST /admin/users/{id}/clients/{cid}/delete", "POST", fixed(fmt.Sprintf("/admin/users/%d/clients/%s/delete", target.ID, A)), formType, "", page(403, 403, 303, 404)},
		{"POST /admin/users/{id}/deactivate", "POST", fixed(fmt.Sprintf("/admin/users/%d/deactivate", target.ID)), formType, "", page(403, 403, 303, 404)},
		{"POST /admin/users/{id}/reactivate", "POST", fixed(fmt.Sprintf("/admin/users/%d/reactivate", target.ID)), formType, "", page(403, 403, 303, 404)},
		// Sessions are their user's own: another's answers 404, even to an admin.
		{"GET /me/sessions", "GET", fixed("/me/sessions"), "", "", page(200, 200, 200, 200)},
		{"POST /me/sessions/{id}/delete", "POST", func() string { return fmt.Sprintf("/me/sessions/%d/delete", targetSession(t, a, target)) }, formType, "", page(404, 404, 404, 404)},
		{"POST /me/sessions/delete-all", "POST", fixed("/me/sessions/delete-all"), formType, "", page(303, 303, 303, 303)},
		// Tokens are their user's own: another's answers 404, even to an admin.
		{"GET /me/tokens", "GET", fixed("/me/tokens"), "", "", page(200, 200, 200, 200)},
		{"POST /me/tokens", "POST", fixed("/me/tokens"), formType, "name=&scope=read&expires_in=30", page(422, 422, 422, 422)},
		{"POST /me/tokens/{id}/delete", "POST", func() string { return fmt.Sprintf("/me/tokens/%d/delete", targetToken(t, a, target)) }, formType, "", page(404, 404, 404, 404)},
		{"GET /api/v1/me/tokens", "GET", fixed("/api/v1/me/tokens"), "", "", api(200, 200, 200, 200)},
		{"POST /api/v1/me/tokens", "POST", fixed("/api/v1/me/tokens"), jsonType, `{"name":"","scope":"read"}`, api(422, 422, 422, 422)},
		{"DELETE /api/v1/me/tokens/{id}", "DELETE", func() string { return fmt.Sprintf("/api/v1/me/tokens/%d", targetToken(t, a, target)) }, "", "", api(404, 404, 404, 404)},
		// The API's description holds no workspace data: open to all.
		{"GET /api/v1/openapi.json", "GET", fixed("/api/v1/openapi.json"), "", "", want{200, 200, 200, 200, 200}},
		{"GET /api/v1/companies", "GET", fixed("/api/v1/companies"), "", "", api(200, 200, 200, 200)},
		{"POST /api/v1/companies", "POST", fixed("/api/v1/companies"), jsonType, `{"name":"Api Co"}`, api(201, 201, 201, 201)},
		{"GET /api/v1/companies/{id}", "GET", fixed("/api/v1/companies/" + A), "", "", api(404, 200, 200, 404)},
		{"PUT /api/v1/companies/{id}", "PUT", fixed("/api/v1/companies/" + A), jsonType, `{"name":"Acme"}`, api(404, 200, 200, 404)},
		{"PATCH /api/v1/companies/{id}", "PATCH", fixed("/api/v1/companies/" + A), jsonType, `{"town":"Leeds"}`, api(404, 200, 200, 404)},
		{"DELETE /api/v1/companies/{id}", "DELETE", func() string { return fmt.Sprintf("/api/v1/companies/%d", newCompany()) }, "", "", api(404, 403, 204, 404)},
		{"GET /api/v1/companies/{id}/timeline", "GET", fixed("/api/v1/companies/" + A + "/timeline"), "", "", api(404, 200, 200, 404)},
		{"GET /api/v1/search", "GET", fixed("/api/v1/search?q=acme"), "", "", api(200, 200, 200, 200)},
		{"GET /contacts", "GET", fixed("/contacts?sort=company&order=desc&mine=1"), "", "", page(200, 200, 200, 200)},
		{"GET /contacts/{id}", "GET", func() string { return fmt.Sprintf("/contacts/%d", newItem("contacts")) }, "", "", page(404, 200, 200, 404)},
		{"GET /api/v1/contacts", "GET", fixed("/api/v1/contacts?sort=updated&limit=200"), "", "", api(200, 200, 200, 200)},
		// Addresses are unique across workspaces: the admin's run took this one.
		{"POST /api/v1/users", "POST", fixed("/api/v1/users"), jsonType, `{"email":"x@example.com","name":"X","password":"longenough1","role":"staff"}`, api(403, 403, 201, 409)},
		{"PUT /api/v1/users/{id}/clients", "PUT", fixed(fmt.Sprintf("/api/v1/users/%d/clients", target.ID)), jsonType, `{"company_ids":[` + A + `]}`, api(403, 403, 200, 404)},
	}
	for _, kind := range []string{"notes", "contacts", "links"} {
		body := map[string]string{"notes": "title=Hi&body=**x**", "contacts": "name=Lee&email=", "links": "title=Site&url=https%3A%2F%2Fexample.com"}[kind]
		jsonBody := map[string]string{"notes": `{"title":"Hi"}`, "contacts": `{"name":"Lee"}`, "links": `{"title":"Site","url":"https://example.com"}`}[kind]
		item := func() string { return fmt.Sprintf("/%s/%d", kind, newItem(kind)) }
		apiItem := func() string { return "/api/v1" + item() }
		cases = append(cases,
			tc{"GET /companies/{id}/" + kind + "/new", "GET", fixed("/companies/" + A + "/" + kind + "/new"), "", "", page(404, 200, 200, 404)},
			tc{"POST /companies/{id}/" + kind, "POST", fixed("/companies/" + A + "/" + kind), formType, body, page(404, 303, 303, 404)},
			tc{"GET /" + kind + "/{id}/edit", "GET", func() string { return item() + "/edit" }, "", "", page(404, 200, 200, 404)},
			tc{"POST /" + kind + "/{id}", "POST", item, formType, body, page(404, 303, 303, 404)},
			tc{"POST /" + kind + "/{id}/delete", "POST", func() string { return item() + "/delete" }, formType, "", page(404, 303, 303, 404)},
			tc{"POST /api/v1/companies/{id}/" + kind, "POST", fixed("/api/v1/companies/" + A + "/" + kind), jsonType, jsonBody, api(404, 201, 201, 404)},
			tc{"GET /api/v1/companies/{id}/" + kind, "GET", fixed("/api/v1/companies/" + A + "/" + kind + "?limit=2"), "", "", api(404, 200, 200, 404)},
			tc{"GET /api/v1/" + kind + "/{id}", "GET", apiItem, "", "", api(404, 200, 200, 404)},
			tc{"PUT /api/v1/" + kind + "/{id}", "PUT", apiItem, jsonType, jsonBody, api(404, 200, 200, 404)},
			tc{"PATCH /api/v1/" + kind + "/{id}", "PATCH", apiItem, jsonType, jsonBody, api(404, 200, 200, 404)},
			tc{"DELETE /api/v1/" + kind + "/{id}", "DELETE", apiItem, "", "", api(404, 204, 204, 404)},
		)
	}
	meeting := func(suffix string) func() string {
		return func() string { return fmt.Sprintf("/meetings/%d%s", newMeeting(), suffix) }
	}
	apiMeeting := func() string { return fmt.Sprintf("/api/v1/meetings/%d", newMeeting()) }
	meetingForm := "type=call&subject=Hi&starts_at=2026-03-01T14%3A00"
	cases = append(cases,
		tc{"GET /meetings", "GET", fixed("/meetings?type=call&status=open&from=2026-01-01&to=2026-12-31&sort=date&order=desc"), "", "", page(200, 200, 200, 200)},
		tc{"GET /companies/{id}/meetings/new", "GET", fixed("/companies/" + A + "/meetings/new"), "", "", page(404, 200, 200, 404)},
		tc{"POST /companies/{id}/meetings", "POST", fixed("/companies/" + A + "/meetings"), formType, meetingForm, page(404, 303, 303, 404)},
		tc{"GET /meetings/{id}/edit", "GET", meeting("/edit"), "", "", page(404, 200, 200, 404)},
		tc{"POST /meetings/{id}", "POST", meeting(""), formType, meetingForm, page(404, 303, 303, 404)},
		tc{"POST /meetings/{id}/status", "POST", meeting("/status"), formType, "status=closed", page(404, 303, 303, 404)},
		tc{"POST /meetings/{id}/delete", "POST", meeting("/delete"), formType, "", page(404, 303, 303, 404)},
		tc{"GET /admin/meeting-types", "GET", fixed("/admin/meeting-types"), "", "", page(403, 403, 200, 200)},
		tc{"POST /admin/meeting-types", "POST", fixed("/admin/meeting-types"), formType, "name=", page(403, 403, 422, 422)},
		tc{"GET /api/v1/meetings", "GET", fixed("/api/v1/meetings?type=call&status=open"), "", "", api(200, 200, 200, 200)},
		tc{"POST /api/v1/companies/{id}/meetings", "POST", fixed("/api/v1/companies/" + A + "/meetings"), jsonType,
			`{"type":"call","subject":"Hi","starts_at":"2026-03-01T14:00:00Z"}`, api(404, 201, 201, 404)},
		tc{"GET /api/v1/meetings/{id}", "GET", apiMeeting, "", "", api(404, 200, 200, 404)},
		tc{"PUT /api/v1/meetings/{id}", "PUT", apiMeeting, jsonType, `{"type":"email","subject":"Hi","starts_at":1772373600000}`, api(404, 200, 200, 404)},
		tc{"DELETE /api/v1/meetings/{id}", "DELETE", apiMeeting, "", "", api(404, 204, 204, 404)},
		tc{"PATCH /api/v1/meetings/{id}", "PATCH", apiMeeting, "application/merge-patch+json", `{"subject":"Hi"}`, api(404, 200, 200, 404)},
		tc{"GET /api/v1/companies/{id}/meetings", "GET", fixed("/api/v1/companies/" + A + "/meetings"), "", "", api(404, 200, 200, 404)},
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
		tc{"GET /meetings/{id}/room", "GET", room("", store.RoomOpen, false, ""), "", "", page(404, 200, 200, 404)},
		// An ended room's stream says so and closes.
		tc{"GET /meetings/{id}/room/stream", "GET", room("", store.RoomEnded, false, "/stream"), "", "", page(404, 200, 200, 404)},
		tc{"GET /meetings/{id}/room/messages", "GET", room("", store.RoomOpen, false, "/messages"), "", "", page(404, 200, 200, 404)},
		tc{"POST /meetings/{id}/room/messages", "POST", room("", store.RoomOpen, true, "/messages"), formType, "body=hi", page(404, 303, 303, 404)},
		tc{"POST /meetings/{id}/room/join", "POST", room("", store.RoomOpen, false, "/join"), formType, "", page(404, 303, 303, 404)},
		tc{"POST /meetings/{id}/room/leave", "POST", room("", store.RoomOpen, true, "/leave"), formType, "", page(404, 303, 303, 404)},
		tc{"POST /meetings/{id}/room/open", "POST", room("", store.RoomScheduled, false, "/open"), formType, "", page(404, 403, 303, 404)},
		tc{"POST /meetings/{id}/room/extend", "POST", room("", store.RoomOpen, false, "/extend"), formType, "minutes=15", page(404, 403, 303, 404)},
		tc{"POST /meetings/{id}/room/end", "POST", room("", store.RoomOpen, true, "/end"), formType, "", page(404, 403, 303, 404)},
		tc{"POST /meetings/{id}/room/participants/{uid}/remove", "POST", room("", store.RoomOpen, true, fmt.Sprintf("/participants/%d/remove", with.ID)), formType, "", page(404, 403, 303, 404)},
		tc{"POST /meetings/{id}/room/settings", "POST", room("", store.RoomScheduled, false, "/settings"), formType, "access=audience&audience=with%40example.com", page(404, 403, 303, 404)},
		tc{"GET /api/v1/rooms", "GET", fixed("/api/v1/rooms"), "", "", api(200, 200, 200, 200)},
		tc{"GET /api/v1/meetings/{id}/room", "GET", room("/api/v1", store.RoomOpen, false, ""), "", "", api(404, 200, 200, 404)},
		tc{"PUT /api/v1/meetings/{id}/room", "PUT", room("/api/v1", store.RoomScheduled, false, ""), jsonType, `{"access":"audience","audience":["with@example.com"]}`, api(404, 403, 200, 404)},
		tc{"POST /api/v1/meetings/{id}/room/open", "POST", room("/api/v1", store.RoomScheduled, false, "/open"), "", "", api(404, 403, 200, 404)},
		tc{"POST /api/v1/meetings/{id}/room/extend", "POST", room("/api/v1", store.RoomOpen, false, "/extend"), jsonType, `{"closes_at":` + closes + `}`, api(404, 403, 200, 404)},
		tc{"POST /api/v1/meetings/{id}/room/end", "POST", room("/api/v1", store.RoomOpen, true, "/end"), "", "", api(404, 403, 200, 404)},
		tc{"POST /api/v1/meetings/{id}/room/join", "POST", room("/api/v1", store.RoomOpen, false, "/join"), "", "", api(404, 200, 200, 404)},
		tc{"POST /api/v1/meetings/{id}/room/leave", "POST", room("/api/v1", store.RoomOpen, true, "/leave"), "", "", api(404, 200, 200, 404)},
		tc{"GET /api/v1/meetings/{id}/room/messages", "GET", room("/api/v1", store.RoomOpen, false, "/messages"), "", "", api(404, 200, 200, 404)},
		tc{"POST /api/v1/meetings/{id}/room/messages", "POST", room("/api/v1", store.RoomOpen, true, "/messages"), jsonType, `{"body":"hi"}`, api(404, 201, 201, 404)},
		tc{"GET /api/v1/meetings/{id}/room/events", "GET", room("/api/v1", store.RoomOpen, false, "/events"), "", "", api(404, 403, 200, 404)},
		tc{"GET /api/v1/activity", "GET", fixed("/api/v1/activity"), "", "", api(200, 200, 200, 200)},
		tc{"GET /api/v1/activity", "GET", fixed("/api/v1/activity?company_id=" + A), "", "", api(404, 200, 200, 404)},
		tc{"GET /api/v1/activity", "GET", fixed("/api/v1/activity?limit=201"), "", "", api(422, 422, 422, 422)},
	)

	// Guests. Each case gets a restricted room of its own with Gina, a
	// contact of Acme, in its audience. Her invite link is the only
	// credential of these routes, so everyone holding it gets the same
	// answer; a link to an ended room is refused.
	if _, err := a.Store.AddContact(ctx, admin(), acme.ID, store.ContactInput{Name: "Gina", Email: "gina@client.example"}); err != nil {
		t.Fatal(err)
	}
	organiser := a.client(t, adm)
	newGuestLink := func(state string, joined bool) string {
		id := newRoom(store.RoomOpen, false)
		if _, err := a.Store.SetRoom(ctx, admin(), id, store.RoomInput{Access: store.AccessAudience, Audience: []string{"gina@client.example"}}); err != nil {
			t.Fatal(err)
		}
		_, body := do(t, organiser, "GET", fmt.Sprintf("%s/api/v1/meetings/%d/room", a.Server.URL, id), "", "")
		link := regexp.MustCompile(`"invite_url":"[^"]*(/guest/[^"]+)"`).FindStringSubmatch(body)
		if link == nil {
			t.Fatalf("no invite link in %s", body)
		}
		if joined {
			_, g, err := a.Store.GuestRoom(ctx, id, "gina@client.example")
			if err == nil {
				_, err = a.Store.GuestJoin(ctx, g)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if state == store.RoomEnded {
			if _, err := a.Store.EndRoom(ctx, admin(), id); err != nil {
				t.Fatal(err)
			}
		}
		return link[1]
	}
	guestRoute := func(state string, joined bool, suffix string) func() string {
		return func() string { return newGuestLink(state, joined) + suffix }
	}
	guestToken := strings.TrimPrefix(newGuestLink(store.RoomOpen, false), "/guest/")
	cases = append(cases,
		tc{"GET /guest/{token}", "GET", guestRoute(store.RoomOpen, false, ""), "", "", want{200, 200, 200, 200, 200}},
		// TestGuestLink follows a live stream.
		tc{"GET /guest/{token}/stream", "GET", guestRoute(store.RoomEnded, false, "/stream"), "", "", want{404, 404, 404, 404, 404}},
		tc{"GET /guest/{token}/messages", "GET", guestRoute(store.RoomOpen, false, "/messages"), "", "", want{200, 200, 200, 200, 200}},
		tc{"POST /guest/{token}/messages", "POST", guestRoute(store.RoomOpen, true, "/messages"), formType, "body=hi", want{303, 303, 303, 303, 303}},
		tc{"POST /guest/{token}/join", "POST", guestRoute(store.RoomOpen, false, "/join"), formType, "", want{303, 303, 303, 303, 303}},
		tc{"GET /meetings/{id}/room/transcript", "GET", room("", store.RoomEnded, true, "/transcript"), "", "", page(404, 200, 200, 404)},
		tc{"GET /rooms", "GET", fixed("/rooms"), "", "", page(200, 200, 200, 200)},
		// Background polls: signed out they answer nothing rather than a redirect.
		tc{"GET /rooms/count", "GET", fixed("/rooms/count"), "", "", want{204, 200, 200, 200, 200}},
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
		tc{"GET /admin/imports", "GET", fixed("/admin/imports"), "", "", page(403, 403, 200, 200)},
		tc{"POST /admin/imports", "POST", fixed("/admin/imports"), uploadType, uploadBody, page(403, 403, 303, 303)},
		tc{"GET /admin/imports/{id}", "GET", fixed("/admin/imports/" + I), "", "", page(403, 403, 200, 404)},
		tc{"POST /admin/imports/{id}/start", "POST", importPath(newImport(true), "/start"), formType, "col_0=name&col_1=email&mode=create", page(403, 403, 303, 404)},
		tc{"POST /admin/imports/{id}/cancel", "POST", importPath(newImport(false), "/cancel"), formType, "", page(403, 403, 303, 404)},
		tc{"POST /admin/imports/{id}/retry", "POST", importPath(func() int64 { return mustFailedImport(t, a) }, "/retry"), formType, "", page(403, 403, 303, 404)},
		tc{"GET /admin/imports/{id}/errors.csv", "GET", fixed("/admin/imports/" + I + "/errors.csv"), "", "", page(403, 403, 200, 404)},
		tc{"GET /api/v1/bulk-actions/{id}/errors.csv", "GET", fixed("/api/v1/bulk-actions/" + I + "/errors.csv"), "", "", api(403, 403, 200, 404)},
		tc{"POST /api/v1/bulk-actions/{id}/cancel", "POST", apiImportPath(newImport(false), "/cancel"), "", "", api(403, 403, 200, 404)},
	)
	for _, prefix := range []string{"", "/api/v1"} {
		cases = append(cases,
			tc{"POST " + prefix + "/bulk-actions/upload", "POST", fixed(prefix + "/bulk-actions/upload"), uploadType, uploadBody, api(403, 403, 201, 201)},
			tc{"GET " + prefix + "/bulk-actions", "GET", fixed(prefix + "/bulk-actions"), "", "", api(403, 403, 200, 200)},
			tc{"GET " + prefix + "/bulk-actions/{id}", "GET", fixed(prefix + "/bulk-actions/" + I), "", "", api(403, 403, 200, 404)},
			tc{"GET " + prefix + "/bulk-actions-by-account/{accountId}", "GET", fixed(prefix + "/bulk-actions-by-account/1"), "", "", api(403, 403, 200, 404)},
		)
	}

	// Notifications are each user's own; the unsubscribe link is signed
	// for its reader and open to whoever holds it.
	unsub := "token=" + a.Handler.Notify.Mail.UnsubscribeToken(target.ID)
	cases = append(cases,
		tc{"GET /notifications", "GET", fixed("/notifications"), "", "", page(200, 200, 200, 200)},
		tc{"GET /notifications/bell", "GET", fixed("/notifications/bell"), "", "", want{204, 200, 200, 200, 200}},
		tc{"POST /notifications/read", "POST", fixed("/notifications/read"), formType, "all=1", page(303, 303, 303, 303)},
		tc{"POST /me/notifications", "POST", fixed("/me/notifications"), formType, "mode=digest&quiet_seconds=3600&email=on", page(303, 303, 303, 303)},
		tc{"GET /admin/mail", "GET", fixed("/admin/mail"), "", "", page(403, 403, 200, 200)},
		tc{"GET /api/v1/notifications", "GET", fixed("/api/v1/notifications?unread=true"), "", "", api(200, 200, 200, 200)},
		tc{"POST /api/v1/notifications/read", "POST", fixed("/api/v1/notifications/read"), jsonType, `{"all":true}`, api(200, 200, 200, 200)},
		tc{"GET /api/v1/me/notification-settings", "GET", fixed("/api/v1/me/notification-settings"), "", "", api(200, 200, 200, 200)},
		tc{"PUT /api/v1/me/notification-settings", "PUT", fixed("/api/v1/me/notification-settings"), jsonType, `{"mode":"digest","quiet_seconds":900,"email":true}`, api(200, 200, 200, 200)},
		tc{"GET /unsubscribe", "GET", fixed("/unsubscribe?" + unsub), "", "", want{200, 200, 200, 200, 200}},
		tc{"POST /unsubscribe", "POST", fixed("/unsubscribe"), formType, unsub, want{200, 200, 200, 200, 200}},
	)

	// Webhooks: admins only, each workspace its own. newHook makes one
	// in the first workspace; hookDelivery one with a delivery to resend.
	newHook := func() int64 {
		w, err := a.Store.CreateWebhook(ctx, admin(), store.WebhookInput{URL: "http://127.0.0.1:9/hook", Events: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		return w.ID
	}
	hook := newHook()
	if _, err := a.Store.AddNote(ctx, admin(), acme.ID, store.NoteInput{Title: "heard"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Store.DispatchWebhooks(ctx, time.Now().UnixMilli(), 1000); err != nil {
		t.Fatal(err)
	}
	deliveries, err := a.Store.WebhookDeliveries(ctx, admin(), hook, "", 1)
	if err != nil || len(deliveries.Items) != 1 {
		t.Fatal(deliveries, err)
	}
	H, D := fmt.Sprint(hook), fmt.Sprint(deliveries.Items[0].ID)
	hookPath := func(prefix string) func() string {
		return func() string { return fmt.Sprintf("%s/webhooks/%d", prefix, newHook()) }
	}
	cases = append(cases,
		tc{"GET /admin/webhooks", "GET", fixed("/admin/webhooks"), "", "", page(403, 403, 200, 200)},
		tc{"POST /admin/webhooks", "POST", fixed("/admin/webhooks"), formType, "url=https%3A%2F%2Fexample.com%2Fhook&events=note.created", page(403, 403, 200, 200)},
		tc{"POST /admin/webhooks", "POST", fixed("/admin/webhooks"), formType, "url=https%3A%2F%2Fexample.com%2Fhook&events=note.made", page(403, 403, 422, 422)},
		tc{"GET /admin/webhooks/{id}", "GET", fixed("/admin/webhooks/" + H), "", "", page(403, 403, 200, 404)},
		tc{"POST /admin/webhooks/{id}/delete", "POST", func() string { return hookPath("/admin")() + "/delete" }, formType, "", page(403, 403, 303, 404)},
		tc{"POST /admin/webhooks/{id}/deliveries/{delivery}/resend", "POST", fixed("/admin/webhooks/" + H + "/deliveries/" + D + "/resend"), formType, "", page(403, 403, 303, 404)},
		tc{"POST /api/v1/webhooks", "POST", fixed("/api/v1/webhooks"), jsonType, `{"url":"https://example.com/hook","events":["*"]}`, api(403, 403, 201, 201)},
		tc{"POST /api/v1/webhooks", "POST", fixed("/api/v1/webhooks"), jsonType, `{"url":"https://example.com/hook","events":["note.made"]}`, api(403, 403, 422, 422)},
		tc{"GET /api/v1/webhooks", "GET", fixed("/api/v1/webhooks"), "", "", api(403, 403, 200, 200)},
		tc{"DELETE /api/v1/webhooks/{id}", "DELETE", hookPath("/api/v1"), "", "", api(403, 403, 204, 404)},
		tc{"GET /api/v1/webhooks/{id}/deliveries", "GET", fixed("/api/v1/webhooks/" + H + "/deliveries?limit=10"), "", "", api(403, 403, 200, 404)},
		tc{"GET /api/v1/webhooks/{id}/deliveries", "GET", fixed("/api/v1/webhooks/" + H + "/deliveries?limit=201"), "", "", api(403, 403, 422, 422)},
		tc{"POST /api/v1/webhooks/{id}/deliveries/{delivery}/resend", "POST", fixed("/api/v1/webhooks/" + H + "/deliveries/" + D + "/resend"), "", "", api(403, 403, 202, 404)},
	)
	// Exports: everyone signed in, each of their own clients
	// (TestExportClientSecurity checks the rows).
	for _, file := range []string{"companies.csv", "companies.jsonl", "contacts.csv", "contacts.jsonl", "meetings.csv", "meetings.jsonl"} {
		cases = append(cases, tc{"GET /api/v1/export/" + file, "GET", fixed("/api/v1/export/" + file), "", "", api(200, 200, 200, 200)})
		if !strings.HasPrefix(file, "companies") {
			cases = append(cases, tc{"GET /api/v1/export/" + file, "GET", fixed("/api/v1/export/" + file + "?company_id=" + A), "", "", api(404, 200, 200, 404)})
		}
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

	// API tokens of the staff user with the client. A token counts on API
	// routes only, as its user and no more (a read-only one only reads; none
	// manages tokens); elsewhere it is as if it were not there. An expired
	// or revoked token is 401 on every API route.
	rw, ro, expired, revoked := mustToken(t, a, with, store.ScopeWrite), mustToken(t, a, with, store.ScopeRead),
		mustToken(t, a, with, store.ScopeWrite), mustToken(t, a, with, store.ScopeWrite)
	expireToken(t, a, expired)
	revokeToken(t, a, with, revoked)
	isAPI := func(c tc) bool {
		return strings.HasPrefix(c.pattern, "/api/") || strings.Contains(c.pattern, " /api/") || strings.Contains(c.pattern, " /bulk-actions")
	}
	asToken := func(write bool) func(c tc) int {
		return func(c tc) int {
			switch {
			case !isAPI(c):
				return c.want.anon
			case strings.Contains(c.pattern, "/me/tokens"), !write && c.method != "GET":
				return 403
			}
			return c.want.with
		}
	}
	dead := func(c tc) int {
		if isAPI(c) {
			return 401
		}
		return c.want.anon
	}
	clients := []struct {
		name string
		c    *http.Client
		pick func(tc) int
	}{
		{"anonymous", a.client(t, nil), func(c tc) int { return c.want.anon }},
		{"staff without client", a.client(t, without), func(c tc) int { return c.want.without }},
		{"staff with client", a.client(t, with), func(c tc) int { return c.want.with }},
		{"admin", a.client(t, adm), func(c tc) int { return c.want.admin }},
		{"admin of another workspace", a.client(t, foreign), func(c tc) int { return c.want.foreign }},
		{"read-write token", tokenClient(rw), asToken(true)},
		{"read-only token", tokenClient(ro), asToken(false)},
		{"expired token", tokenClient(expired), dead},
		{"revoked token", tokenClient(revoked), dead},
	}
	signsOut := map[string]bool{"POST /logout": true, "POST /me/sessions/delete-all": true}
	for _, c := range cases {
		for _, cl := range clients {
			if signsOut[c.pattern] {
				continue // would sign the shared client out; run last below
			}
			t.Run(c.method+" "+c.pattern+" as "+cl.name, func(t *testing.T) {
				path := c.path()
				reqBody := c.body
				if c.pattern == "POST /login" {
					// Each actor tries its own address: the sign-in
					// throttle counts five tries an address.
					reqBody = strings.Replace(reqBody, "nobody@", strings.ReplaceAll(cl.name, " ", "-")+"@", 1)
				}
				resp, body := do(t, cl.c, c.method, a.Server.URL+path, c.ctype, reqBody)
				want := cl.pick(c)
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
	// The tenth actor, a guest: every route but the guest routes answers
	// Gina's invite token as it answers anonymous, wherever a credential
	// could be looked for (as a bearer token it is a bad one: 401 on the API,
	// like an expired token).
	guest := a.client(t, nil)
	for _, c := range cases {
		if signsOut[c.pattern] || strings.Contains(c.pattern, " /guest/") {
			continue
		}
		t.Run(c.method+" "+c.pattern+" as guest", func(t *testing.T) {
			path := c.path()
			resp, body := do(t, guest, c.method, a.Server.URL+path, c.ctype, c.body, "Cookie", "rolodex="+guestToken, "Authorization", "Bearer "+guestToken)
			loc := resp.Header.Get("Location")
			want := dead(c)
			if want == login && (resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login")) ||
				want != login && resp.StatusCode != want {
				t.Fatalf("%s %s as a guest: %d to %q, want what anonymous gets (%d)\n%.300s", c.method, path, resp.StatusCode, loc, want, body)
			}
		})
	}
	for _, cl := range clients[:5] { // the cookie sessions
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

// mustToken makes an API token of u that lasts a day, and returns its
// secret.
func mustToken(t *testing.T, a *testApp, u *store.User, scope string) string {
	t.Helper()
	_, secret, err := a.Store.CreateToken(t.Context(), u, store.TokenInput{Name: "t", Scope: scope, ExpiresAt: time.Now().Add(24 * time.Hour).UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// expireToken backdates a token's expiry, as time would.
func expireToken(t *testing.T, a *testApp, secret string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(a.Dir, "rolodex.db")+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := sha256.Sum256([]byte(secret))
	if _, err := db.Exec(`UPDATE api_tokens SET expires_at = 1 WHERE token_hash = ?`, h[:]); err != nil {
		t.Fatal(err)
	}
}

func revokeToken(t *testing.T, a *testApp, u *store.User, secret string) {
	t.Helper()
	tok, _, err := a.Store.TokenUser(t.Context(), secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store.RevokeToken(t.Context(), u, tok.ID); err != nil {
		t.Fatal(err)
	}
}

// targetToken makes a token of u and returns its id.
func targetToken(t *testing.T, a *testApp, u *store.User) int64 {
	t.Helper()
	tok, _, err := a.Store.TokenUser(t.Context(), mustToken(t, a, u, store.ScopeRead))
	if err != nil {
		t.Fatal(err)
	}
	return tok.ID
}

// tokenClient sends every request with the bearer token secret, and no
// cookies.
func tokenClient(secret string) *http.Client {
	return &http.Client{
		Transport:     bearerTransport{secret},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type bearerTransport struct{ secret string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.secret)
	return http.DefaultTransport.RoundTrip(r)
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
