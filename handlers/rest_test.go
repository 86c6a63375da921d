package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
)

// restResource is one resource of the REST API as TestRESTRoundTrip
// drives it.
type restResource struct {
	path   string // "/api/v1/notes"
	typ    string // its activities' prefix: "note"
	create string // the POST that makes one
	body   string // its body
	patch  string // a PATCH of one field
	field  string // that field
	put    string // a PUT of every required field
	// bad are PATCH bodies answered 422, each with the field it names.
	bad [][2]string
}

// decodeObject decodes a JSON object answer.
func decodeObject(t *testing.T, body string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, body)
	}
	return v
}

// TestRESTRoundTrip drives each resource of the API through create, read,
// a PATCH of one field (the others stay as they were), PUT, DELETE and a
// read that answers 404; and PATCHes that must fail on a named field
// without changing anything.
func TestRESTRoundTrip(t *testing.T) {
	a := newTestApp(t)
	acme := mustCompany(t, a, "Acme")
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	A := fmt.Sprint(acme.ID)
	common := [][2]string{
		{`{"nope":"x"}`, "nope"},
		{`{"id":5}`, "id"}, // read-only fields are not input either
	}
	resources := []restResource{
		{path: "/api/v1/notes", typ: "note", create: "/api/v1/companies/" + A + "/notes", body: `{"title":"Call","body":"**Said** yes"}`,
			patch: `{"body":"Said no"}`, field: "body", put: `{"title":"Call back"}`,
			bad: [][2]string{{`{"title":5}`, "title"}, {`{"title":""}`, "title"}, {`{"title":null}`, "title"}, {`{"body":"a\u0000b"}`, "body"}}},
		{path: "/api/v1/contacts", typ: "contact", create: "/api/v1/companies/" + A + "/contacts", body: `{"name":"Lee","email":"lee@acme.example","phone":"123","title":"CTO"}`,
			patch: `{"phone":"456"}`, field: "phone", put: `{"name":"Lee Ann"}`,
			bad: [][2]string{{`{"email":["x"]}`, "email"}, {`{"email":"not an address"}`, "email"}, {`{"name":true}`, "name"}}},
		{path: "/api/v1/links", typ: "link", create: "/api/v1/companies/" + A + "/links", body: `{"title":"Site","url":"https://acme.example"}`,
			patch: `{"title":"Home page"}`, field: "title", put: `{"title":"Docs","url":"https://docs.acme.example"}`,
			bad: [][2]string{{`{"url":"javascript:alert(1)"}`, "url"}, {`{"url":{}}`, "url"}}},
		{path: "/api/v1/meetings", typ: "meeting", create: "/api/v1/companies/" + A + "/meetings",
			body:  `{"type":"call","subject":"Kickoff","details":"Agenda","starts_at":1772373600000,"ends_at":1772377200000}`,
			patch: `{"subject":"Kickoff, moved"}`, field: "subject", put: `{"type":"email","subject":"Follow-up","starts_at":"2026-03-02T09:00:00Z"}`,
			bad: [][2]string{{`{"subject":5}`, "subject"}, {`{"starts_at":"soon"}`, "starts_at"}, {`{"starts_at":1e30}`, "starts_at"},
				{`{"ends_at":1}`, "ends_at"}, {`{"type":"carrier pigeon"}`, "type"}, {`{"status":"maybe"}`, "status"}, {`{"subject":null}`, "subject"}}},
		{path: "/api/v1/companies", typ: "company", create: "/api/v1/companies", body: `{"name":"Rest Co","town":"York","website":"https://rest.example"}`,
			patch: `{"town":"Leeds"}`, field: "town", put: `{"name":"Rest Co Ltd"}`,
			bad: [][2]string{{`{"name":""}`, "name"}, {`{"zip":12345}`, "zip"}, {`{"website":"javascript:x"}`, "website"}}},
	}
	for _, res := range resources {
		t.Run(res.typ, func(t *testing.T) {
			// POST refuses unknown fields as PUT and PATCH do.
			resp, body := do(t, c, "POST", a.Server.URL+res.create, jsonType, strings.Replace(res.body, "{", `{"nope":1,`, 1))
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"nope"`) {
				t.Errorf("create with an unknown field: %d %s", resp.StatusCode, body)
			}
			resp, body = do(t, c, "POST", a.Server.URL+res.create, jsonType, res.body)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("create: %d %s", resp.StatusCode, body)
			}
			created := decodeObject(t, body)
			url := fmt.Sprintf("%s%s/%v", a.Server.URL, res.path, created["id"])
			if loc := resp.Header.Get("Location"); !strings.HasSuffix(url, loc) || loc == "" {
				t.Errorf("create: Location %q, want the item's address %s", loc, url)
			}
			resp, body = do(t, c, "GET", url, "", "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("get: %d %s", resp.StatusCode, body)
			}
			before := decodeObject(t, body)

			resp, body = do(t, c, "PATCH", url, jsonType, res.patch)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("patch: %d %s", resp.StatusCode, body)
			}
			patched := decodeObject(t, body)
			var sent map[string]any
			_ = json.Unmarshal([]byte(res.patch), &sent)
			for k, v := range before {
				switch {
				case k == "updated_at":
				case k == res.field:
					if patched[k] != sent[k] {
						t.Errorf("patch: %s is %v, want %v", k, patched[k], sent[k])
					}
				case fmt.Sprint(patched[k]) != fmt.Sprint(v):
					t.Errorf("patch of %s changed %s: %v, was %v", res.field, k, patched[k], v)
				}
			}
			if _, body = do(t, c, "GET", url, "", ""); fmt.Sprint(decodeObject(t, body)[res.field]) != fmt.Sprint(sent[res.field]) {
				t.Errorf("get after patch: %s", body)
			}
			// The PATCH went through the store's update: it has its activity.
			companyID := created["company_id"]
			if res.typ == "company" {
				companyID = created["id"]
			}
			_, body = do(t, c, "GET", fmt.Sprintf("%s/api/v1/activity?limit=1&company_id=%v", a.Server.URL, companyID), "", "")
			var acts struct {
				Items []store.Activity `json:"items"`
			}
			if err := json.Unmarshal([]byte(body), &acts); err != nil || len(acts.Items) != 1 || acts.Items[0].Kind != res.typ+".updated" || fmt.Sprint(acts.Items[0].RefID) != fmt.Sprint(created["id"]) {
				t.Errorf("no %s.updated activity for the patch: %s", res.typ, body)
			}

			for _, bad := range append(slices.Clone(common), res.bad...) {
				resp, body = do(t, c, "PATCH", url, jsonType, bad[0])
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Errorf("patch %s: %d, want 422\n%s", bad[0], resp.StatusCode, body)
					continue
				}
				var e struct {
					Error  string            `json:"error"`
					Fields map[string]string `json:"fields"`
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" || e.Fields[bad[1]] == "" {
					t.Errorf("patch %s: the answer does not name %s: %s", bad[0], bad[1], body)
				}
			}
			for _, bad := range []struct {
				ctype, body string
				status      int
			}{
				{jsonType, "{\"" + res.field + "\":\"\xff\"}", 422},
				{jsonType, `[1]`, 422},
				{jsonType, `null`, 422},
				{jsonType, `{"` + res.field + `":`, 422},
				{jsonType, `{} {}`, 422},
				{"text/plain", res.patch, 415},
				{"", res.patch, 415},
			} {
				resp, body = do(t, c, "PATCH", url, bad.ctype, bad.body)
				if resp.StatusCode != bad.status || !strings.Contains(body, `"error"`) {
					t.Errorf("patch %q as %q: %d %s, want %d", bad.body, bad.ctype, resp.StatusCode, body, bad.status)
				}
			}
			if _, body = do(t, c, "GET", url, "", ""); fmt.Sprint(decodeObject(t, body)) != fmt.Sprint(patched) {
				t.Errorf("a refused patch changed the record:\n%s\nwas %v", body, patched)
			}
			// A merge-patch body says the same; an empty one changes nothing:
			// the record comes back as it was (its updated_at too), and no
			// activity is written.
			resp, body = do(t, c, "PATCH", url, "application/merge-patch+json; charset=utf-8", `{}`)
			if resp.StatusCode != http.StatusOK || fmt.Sprint(decodeObject(t, body)) != fmt.Sprint(patched) {
				t.Errorf("empty merge patch: %d %s\nwas %v", resp.StatusCode, body, patched)
			}
			_, body = do(t, c, "GET", fmt.Sprintf("%s/api/v1/activity?limit=1&company_id=%v", a.Server.URL, companyID), "", "")
			var last struct {
				Items []store.Activity `json:"items"`
			}
			if err := json.Unmarshal([]byte(body), &last); err != nil || len(last.Items) != 1 || last.Items[0].ID != acts.Items[0].ID {
				t.Errorf("an empty patch wrote an activity: %s", body)
			}

			// PUT replaces: what it leaves out is empty, and it refuses
			// unknown fields as PATCH does.
			resp, body = do(t, c, "PUT", url, jsonType, strings.Replace(res.put, "{", `{"nope":1,`, 1))
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"nope"`) {
				t.Errorf("put with an unknown field: %d %s", resp.StatusCode, body)
			}
			resp, body = do(t, c, "PUT", url, jsonType, res.put)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("put: %d %s", resp.StatusCode, body)
			}
			if v := decodeObject(t, body)[res.field]; res.typ != "link" && res.typ != "meeting" && v != "" {
				t.Errorf("put left out %s, which is still %v", res.field, v)
			}

			resp, body = do(t, c, "DELETE", url, "", "")
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("delete: %d %s", resp.StatusCode, body)
			}
			for _, m := range []string{"GET", "PATCH", "PUT", "DELETE"} {
				if resp, body = do(t, c, m, url, jsonType, res.put); resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s after delete: %d %s", m, resp.StatusCode, body)
				}
			}
		})
	}

	// A meeting's ends_at: null in a PATCH removes the end.
	resp, body := do(t, c, "POST", a.Server.URL+"/api/v1/companies/"+A+"/meetings", jsonType, `{"type":"call","subject":"S","starts_at":1772373600000,"ends_at":1772377200000}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create meeting: %d %s", resp.StatusCode, body)
	}
	url := fmt.Sprintf("%s/api/v1/meetings/%v", a.Server.URL, decodeObject(t, body)["id"])
	if _, body = do(t, c, "PATCH", url, jsonType, `{"ends_at":null,"status":"closed"}`); decodeObject(t, body)["ends_at"] != nil || decodeObject(t, body)["status"] != "closed" ||
		decodeObject(t, body)["starts_at"] != float64(1772373600000) {
		t.Errorf("patch ends_at null: %s", body)
	}
}

// TestRESTCompanyItems pages through each of a company's item lists two at
// a time: every item exactly once, newest first, none of another company.
func TestRESTCompanyItems(t *testing.T) {
	a := newTestApp(t)
	ctx := t.Context()
	acme, other := mustCompany(t, a, "Acme"), mustCompany(t, a, "Other")
	with, without := a.User(t, "with@example.com", store.RoleStaff), a.User(t, "without@example.com", store.RoleStaff)
	if err := a.Store.AssignClient(ctx, admin(), with.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	want := map[string][]int64{}
	for _, co := range []*store.Company{acme, other} {
		for i := range 5 {
			n, err := a.Store.AddNote(ctx, admin(), co.ID, store.NoteInput{Title: fmt.Sprint("n", i)})
			if err != nil {
				t.Fatal(err)
			}
			ct, err := a.Store.AddContact(ctx, admin(), co.ID, store.ContactInput{Name: fmt.Sprint("c", i)})
			if err != nil {
				t.Fatal(err)
			}
			l, err := a.Store.AddLink(ctx, admin(), co.ID, store.LinkInput{Title: fmt.Sprint("l", i), URL: "https://example.com"})
			if err != nil {
				t.Fatal(err)
			}
			m, err := a.Store.CreateMeeting(ctx, admin(), co.ID, store.MeetingInput{Type: "call", Subject: fmt.Sprint("m", i), StartsAt: 1772373600000})
			if err != nil {
				t.Fatal(err)
			}
			if co == acme {
				want["notes"] = append(want["notes"], n.ID)
				want["contacts"] = append(want["contacts"], ct.ID)
				want["links"] = append(want["links"], l.ID)
				want["meetings"] = append(want["meetings"], m.ID)
			}
		}
	}
	c := a.client(t, with)
	base := fmt.Sprintf("%s/api/v1/companies/%d/", a.Server.URL, acme.ID)
	type page struct {
		Items []struct {
			ID        int64 `json:"id"`
			CompanyID int64 `json:"company_id"`
			CreatedAt int64 `json:"created_at"`
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	for kind, ids := range want {
		t.Run(kind, func(t *testing.T) {
			var got []int64
			last := int64(1 << 62)
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > len(ids) {
					t.Fatal("paging does not end")
				}
				resp, body := do(t, c, "GET", base+kind+"?limit=2&cursor="+cursor, "", "")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%d %s", resp.StatusCode, body)
				}
				var p page
				if err := json.Unmarshal([]byte(body), &p); err != nil {
					t.Fatal(err)
				}
				if len(p.Items) > 2 {
					t.Fatalf("a page of %d items with limit=2", len(p.Items))
				}
				for _, it := range p.Items {
					if it.CompanyID != acme.ID || it.CreatedAt > last {
						t.Errorf("item %+v: of another company, or out of order", it)
					}
					last = it.CreatedAt
					got = append(got, it.ID)
				}
				if p.NextCursor == "" {
					break
				}
				cursor = p.NextCursor
			}
			// Newest first: the reverse of the order they were added in.
			wantOrder := slices.Clone(ids)
			slices.Reverse(wantOrder)
			if !slices.Equal(got, wantOrder) {
				t.Errorf("paged through %v, want %v", got, wantOrder)
			}
			// The default page holds them all.
			_, body := do(t, c, "GET", base+kind, "", "")
			var p page
			if err := json.Unmarshal([]byte(body), &p); err != nil || len(p.Items) != len(ids) || p.NextCursor != "" {
				t.Errorf("default page: %s", body)
			}
			for _, q := range []struct{ query, field string }{
				{"limit=0", "limit"}, {"limit=201", "limit"}, {"limit=abc", "limit"}, {"limit=-1", "limit"},
				{"cursor=bogus", "cursor"}, {"cursor=%21%21", "cursor"},
			} {
				resp, body := do(t, c, "GET", base+kind+"?"+q.query, "", "")
				if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"`+q.field+`"`) {
					t.Errorf("?%s: %d %s, want 422 naming %s", q.query, resp.StatusCode, body, q.field)
				}
			}
			if resp, body := do(t, c, "GET", base+kind+"?limit=200", "", ""); resp.StatusCode != http.StatusOK {
				t.Errorf("limit=200: %d %s", resp.StatusCode, body)
			}
			if resp, body := do(t, c, "GET", base+kind+"?limit=%zz", "", ""); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("malformed query: %d %s, want 400", resp.StatusCode, body)
			}
		})
	}

	// Staff without the client: the list and every item answer 404, as
	// for an id that does not exist; nothing changes.
	nc := a.client(t, without)
	mine := map[string]string{"notes": `{"title":"Mine"}`, "contacts": `{"name":"Mine"}`, "links": `{"title":"Mine","url":"https://mine.example"}`,
		"meetings": `{"type":"call","subject":"Mine","starts_at":1772373600000}`}
	for kind, ids := range want {
		if resp, body := do(t, nc, "GET", base+kind, "", ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s list without the client: %d %s", kind, resp.StatusCode, body)
		}
		url := fmt.Sprintf("%s/api/v1/%s/%d", a.Server.URL, kind, ids[0])
		for _, m := range []string{"GET", "PUT", "PATCH", "DELETE"} {
			if resp, body := do(t, nc, m, url, jsonType, mine[kind]); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"error"`) {
				t.Errorf("%s %s without the client: %d %s", m, url, resp.StatusCode, body)
			}
		}
		if resp, body := do(t, c, "GET", url, "", ""); resp.StatusCode != http.StatusOK || strings.Contains(body, "Mine") {
			t.Errorf("%s after refused writes: %d %s", url, resp.StatusCode, body)
		}
	}
}

// TestRESTPatchConcurrent sends a PATCH while another write of the same
// note holds the writer: the PATCH must read the note in its own write
// transaction, after that write, and so keep the title it set.
func TestRESTPatchConcurrent(t *testing.T) {
	a := newTestApp(t)
	ctx := t.Context()
	acme := mustCompany(t, a, "Acme")
	n, err := a.Store.AddNote(ctx, admin(), acme.ID, store.NoteInput{Title: "old", Body: "old"})
	if err != nil {
		t.Fatal(err)
	}
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	entered, release, first := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		_, err := a.Store.ChangeNote(ctx, admin(), n.ID, func(cur *store.Note) (store.NoteInput, error) {
			close(entered)
			<-release
			return store.NoteInput{Title: "first", Body: cur.Body}, nil
		})
		first <- err
	}()
	<-entered
	patched := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("PATCH", fmt.Sprintf("%s/api/v1/notes/%d", a.Server.URL, n.ID), strings.NewReader(`{"body":"second"}`))
		req.Header.Set("Content-Type", jsonType)
		resp, err := c.Do(req)
		if err != nil {
			patched <- err.Error()
			return
		}
		resp.Body.Close()
		patched <- resp.Status
	}()
	// Let the PATCH get as far as it can (to the writer) before the first
	// write commits. Were it to read the note sooner, it would read "old".
	time.Sleep(200 * time.Millisecond)
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if st := <-patched; st != "200 OK" {
		t.Fatalf("patch: %s", st)
	}
	got, err := a.Store.Note(ctx, admin(), n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "first" || got.Body != "second" {
		t.Errorf("title %q, body %q; want first, second: a write was lost", got.Title, got.Body)
	}
}

// TestRESTPatchNulls sends, for each resource, a PATCH that nulls every
// field its …Patch schema lets be null, as application/json (so checkAPI
// holds the body to the schema) and as application/merge-patch+json: each
// is accepted and empties those fields (a meeting's status is kept). A
// contact's e-mail address taken by another is 409 by PUT and PATCH.
func TestRESTPatchNulls(t *testing.T) {
	a := newTestApp(t)
	acme := mustCompany(t, a, "Acme")
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	base := a.Server.URL + "/api/v1/"
	A := fmt.Sprint(acme.ID)
	for _, res := range []struct {
		path, create, body, nulls string
		kept                      map[string]any // fields the nulls leave as they were
	}{
		{"notes", "companies/" + A + "/notes", `{"title":"Call","body":"Said yes"}`, `{"body":null}`, nil},
		{"contacts", "companies/" + A + "/contacts", `{"name":"Lee","email":"lee@acme.example","phone":"1","title":"CTO"}`, `{"name":null,"phone":null,"title":null}`, nil},
		{"contacts", "companies/" + A + "/contacts", `{"name":"Kim","email":"kim@acme.example"}`, `{"email":null}`, nil},
		{"links", "companies/" + A + "/links", `{"title":"Site","url":"https://acme.example"}`, `{}`, nil},
		{"meetings", "companies/" + A + "/meetings", `{"type":"call","subject":"S","details":"D","starts_at":1772373600000,"ends_at":1772377200000,"status":"closed"}`,
			`{"status":null,"details":null,"ends_at":null,"room":null}`, map[string]any{"status": "closed"}},
		{"companies", "companies", `{"name":"Nulls Co","street":"1 Road","town":"York","state":"NY","zip":"1","website":"https://n.example","description":"D"}`,
			`{"street":null,"town":null,"state":null,"zip":null,"website":null,"description":null}`, nil},
	} {
		for tag, ctype := range map[string]string{"json": jsonType, "merge": "application/merge-patch+json"} {
			// One record per type: a contact's address gets the tag, to be its own.
			resp, body := do(t, c, "POST", base+res.create, jsonType, strings.Replace(res.body, "@", "+"+tag+"@", 1))
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("create %s: %d %s", res.path, resp.StatusCode, body)
			}
			url := fmt.Sprintf("%s%s/%v", base, res.path, decodeObject(t, body)["id"])
			resp, body = do(t, c, "PATCH", url, ctype, res.nulls)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("PATCH %s %s as %s: %d %s", res.path, res.nulls, ctype, resp.StatusCode, body)
				continue
			}
			got := decodeObject(t, body)
			for k := range decodeObject(t, res.nulls) {
				want, ok := res.kept[k]
				if !ok && k != "room" {
					want = ""
					if k == "ends_at" {
						want = nil
					}
				}
				if k != "room" && got[k] != want {
					t.Errorf("PATCH %s %s as %s: %s is %v, want %v", res.path, res.nulls, ctype, k, got[k], want)
				}
			}
		}
	}

	// A taken e-mail address is a conflict for an edit as for an add.
	resp, body := do(t, c, "POST", base+"companies/"+A+"/contacts", jsonType, `{"name":"Pat","email":"pat@acme.example"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create contact: %d %s", resp.StatusCode, body)
	}
	url := fmt.Sprintf("%scontacts/%v", base, decodeObject(t, body)["id"])
	for _, m := range []string{"PUT", "PATCH"} {
		if resp, body := do(t, c, m, url, jsonType, `{"email":"lee+json@acme.example"}`); resp.StatusCode != http.StatusConflict || !strings.Contains(body, `"email"`) {
			t.Errorf("%s a taken e-mail address: %d %s, want 409 naming email", m, resp.StatusCode, body)
		}
	}
}
