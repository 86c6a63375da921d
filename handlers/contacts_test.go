package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rolodex/rolodex/store"
)

// TestAPIContacts: GET /api/v1/contacts lists what the viewer may see with
// company_name, pages by cursor, and answers bad parameters 422 in
// fields, a malformed query string 400 and a hidden company 404.
func TestAPIContacts(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	acme, hidden := mustCompany(t, a, "Acme"), mustCompany(t, a, "Hidden")
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"Cleo", "ann", "Bea"} {
		if _, err := a.Store.AddContact(ctx, admin(), acme.ID, store.ContactInput{Name: name, Email: fmt.Sprintf("p%d@acme.test", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Store.AddContact(ctx, admin(), hidden.ID, store.ContactInput{Name: "Secret"}); err != nil {
		t.Fatal(err)
	}
	c := a.client(t, staff)
	type page struct {
		Items []struct {
			ID          int64  `json:"id"`
			Name        string `json:"name"`
			CompanyName string `json:"company_name"`
		} `json:"items"`
		Next string `json:"next_cursor"`
	}
	get := func(query string) (int, page, string) {
		t.Helper()
		resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/contacts"+query, "", "")
		var p page
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatalf("%s: %v: %s", query, err, body)
			}
		}
		return resp.StatusCode, p, body
	}
	var names []string
	cursor := ""
	for range 5 {
		st, p, body := get("?sort=name&order=desc&limit=1" + cursor)
		if st != http.StatusOK {
			t.Fatalf("page: %d %s", st, body)
		}
		for _, it := range p.Items {
			if it.CompanyName != "Acme" {
				t.Fatalf("contact %q has company_name %q", it.Name, it.CompanyName)
			}
			names = append(names, it.Name)
		}
		if p.Next == "" {
			break
		}
		cursor = "&cursor=" + p.Next
	}
	if want := []string{"Cleo", "Bea", "ann"}; !slices.Equal(names, want) {
		t.Fatalf("staff walked %v, want %v", names, want)
	}
	if st, p, _ := get("?q=B"); st != http.StatusOK || len(p.Items) != 1 || p.Items[0].Name != "Bea" {
		t.Fatalf("q=B: %d %+v", st, p.Items)
	}
	for _, tc := range []struct{ query, field string }{
		{"?limit=0", "limit"},
		{"?limit=201", "limit"},
		{"?limit=x", "limit"},
		{"?sort=email", "sort"},
		{"?order=up", "order"},
		{"?cursor=garbage", "cursor"},
		{"?company_id=x", "company_id"},
		{"?mine=maybe", "mine"},
	} {
		st, _, body := get(tc.query)
		var e struct {
			Error  string            `json:"error"`
			Fields map[string]string `json:"fields"`
		}
		json.Unmarshal([]byte(body), &e)
		if st != http.StatusUnprocessableEntity || e.Error == "" || e.Fields[tc.field] == "" {
			t.Errorf("%s: %d %s, want 422 with fields.%s", tc.query, st, body, tc.field)
		}
	}
	if st, _, body := get("?q=%zz"); st != http.StatusBadRequest {
		t.Errorf("malformed query: %d %s, want 400", st, body)
	}
	if st, _, body := get(fmt.Sprintf("?company_id=%d", hidden.ID)); st != http.StatusNotFound {
		t.Errorf("hidden company: %d %s, want 404", st, body)
	}
}

// TestAPIMeetingAttendees: the meeting API takes and answers attendee_ids
// (ascending, [] when none); another company's contact is a 422 in
// fields.attendee_ids; a PUT without them keeps them.
func TestAPIMeetingAttendees(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	acme, other := mustCompany(t, a, "Acme"), mustCompany(t, a, "Other")
	var ids []int64
	for _, co := range []*store.Company{acme, acme, other} {
		ct, err := a.Store.AddContact(ctx, admin(), co.ID, store.ContactInput{Name: "P"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ct.ID)
	}
	boss := a.User(t, "boss@example.com", store.RoleAdmin)
	c := a.client(t, boss)
	meeting := `{"type":"call","subject":"Hi","starts_at":1772373600000%s}`
	type answer struct {
		ID          int64             `json:"id"`
		AttendeeIDs []int64           `json:"attendee_ids"`
		Fields      map[string]string `json:"fields"`
	}
	send := func(method, path, extra string) (int, answer, string) {
		t.Helper()
		resp, body := do(t, c, method, a.Server.URL+path, jsonType, fmt.Sprintf(meeting, extra))
		var ans answer
		json.Unmarshal([]byte(body), &ans)
		return resp.StatusCode, ans, body
	}
	st, m, body := send("POST", fmt.Sprintf("/api/v1/companies/%d/meetings", acme.ID), "")
	if st != http.StatusCreated || !strings.Contains(body, `"attendee_ids":[]`) {
		t.Fatalf("create without attendees: %d %s", st, body)
	}
	if st, _, body := send("POST", fmt.Sprintf("/api/v1/companies/%d/meetings", acme.ID), fmt.Sprintf(`,"attendee_ids":[%d]`, ids[2])); st != http.StatusUnprocessableEntity || !strings.Contains(body, `"attendee_ids"`) {
		t.Fatalf("another company's contact: %d %s", st, body)
	}
	path := fmt.Sprintf("/api/v1/meetings/%d", m.ID)
	if st, m, body = send("PUT", path, fmt.Sprintf(`,"attendee_ids":[%d,%d]`, ids[1], ids[0])); st != http.StatusOK || !slices.Equal(m.AttendeeIDs, ids[:2]) {
		t.Fatalf("put attendees: %d %s", st, body)
	}
	if st, m, body = send("PUT", path, ""); st != http.StatusOK || !slices.Equal(m.AttendeeIDs, ids[:2]) {
		t.Fatalf("put without attendees: %d %s", st, body)
	}
	resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/meetings", "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`"attendee_ids":[%d,%d]`, ids[0], ids[1])) {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	// More ids than SQLite takes variables in one statement: refused
	// beside the field, not a 500.
	many := make([]string, 33000)
	for i := range many {
		many[i] = strconv.Itoa(i + 1)
	}
	resp, body = do(t, c, "PATCH", a.Server.URL+path, jsonType, `{"attendee_ids":[`+strings.Join(many, ",")+`]}`)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"attendee_ids"`) {
		t.Fatalf("33,000 attendees: %d %.300s", resp.StatusCode, body)
	}
}

// TestContactPages: /contacts links each contact to its page, which shows
// the company and the notes that mention the contact; a contact of a
// hidden client is a 404, and a bad filter a 422 beside the field.
func TestContactPages(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	acme, hidden := mustCompany(t, a, "Acme"), mustCompany(t, a, "Hidden")
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	lee, err := a.Store.AddContact(ctx, admin(), acme.ID, store.ContactInput{Name: "Lee Park", Email: "lee@acme.test", Title: "CTO"})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := a.Store.AddContact(ctx, admin(), hidden.ID, store.ContactInput{Name: "Secret Sam"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.AddNote(ctx, admin(), acme.ID, store.NoteInput{Title: "Call with lee park", Body: "Budget."}); err != nil {
		t.Fatal(err)
	}
	c := a.client(t, staff)
	resp, body := do(t, c, "GET", a.Server.URL+"/contacts", "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`href="/contacts/%d"`, lee.ID)) || strings.Contains(body, "Secret Sam") {
		t.Fatalf("/contacts: %d\n%s", resp.StatusCode, body)
	}
	resp, body = do(t, c, "GET", a.Server.URL+fmt.Sprintf("/contacts/%d", lee.ID), "", "")
	for _, want := range []string{"Lee Park", "CTO", "Call with lee park", fmt.Sprintf(`href="/companies/%d"`, acme.ID), fmt.Sprintf(`/contacts/%d/edit`, lee.ID)} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("contact page lacks %q: %d\n%s", want, resp.StatusCode, body)
		}
	}
	if resp, _ := do(t, c, "GET", a.Server.URL+fmt.Sprintf("/contacts/%d", secret.ID), "", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("hidden contact: %d, want 404", resp.StatusCode)
	}
	if resp, body := do(t, c, "GET", a.Server.URL+"/contacts?limit=500", "", ""); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Use a number from 1 to 200.") {
		t.Fatalf("bad limit: %d\n%s", resp.StatusCode, body)
	}
	// The contact page links to its company's contacts, a filter a hidden
	// company cannot be used in.
	filter := fmt.Sprintf("/contacts?company_id=%d", acme.ID)
	if !strings.Contains(body, `href="`+filter+`"`) {
		t.Fatalf("contact page does not link to %s", filter)
	}
	resp, body = do(t, c, "GET", a.Server.URL+filter, "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Lee Park") || !strings.Contains(body, `class="filter-chip"`) {
		t.Fatalf("%s: %d\n%s", filter, resp.StatusCode, body)
	}
	if resp, _ := do(t, c, "GET", a.Server.URL+fmt.Sprintf("/contacts?company_id=%d", hidden.ID), "", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("hidden company filter: %d, want 404", resp.StatusCode)
	}
	// The company timeline links the contact's name to its page.
	resp, body = do(t, c, "GET", a.Server.URL+fmt.Sprintf("/companies/%d", acme.ID), "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`href="/contacts/%d"`, lee.ID)) {
		t.Fatalf("timeline does not link the contact: %d", resp.StatusCode)
	}
}

// TestMeetingFormAttendees: the meeting form refuses another company's
// contact beside the attendee field (422), saves the ones picked, shows
// them ticked on the edit page, and ticks them in the audience of a room
// for its audience only that has none yet (not of a public room's).
func TestMeetingFormAttendees(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	acme, other := mustCompany(t, a, "Acme"), mustCompany(t, a, "Other")
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	ann, err := a.Store.AddContact(ctx, admin(), acme.ID, store.ContactInput{Name: "Ann", Email: "Ann@acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.AddContact(ctx, admin(), acme.ID, store.ContactInput{Name: "Bob", Email: "bob@acme.test"}); err != nil {
		t.Fatal(err)
	}
	cy, err := a.Store.AddContact(ctx, admin(), other.ID, store.ContactInput{Name: "Cy"})
	if err != nil {
		t.Fatal(err)
	}
	c := a.client(t, staff)
	form := "type=call&subject=Hi&starts_at=2026-03-01T14%3A00&attendees=1&attendee_ids="
	resp, body := do(t, c, "POST", fmt.Sprintf("%s/companies/%d/meetings", a.Server.URL, acme.ID), formType, form+fmt.Sprint(cy.ID))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Choose attendees among this client&#39;s contacts.") {
		t.Fatalf("another company's contact: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = do(t, c, "POST", fmt.Sprintf("%s/companies/%d/meetings", a.Server.URL, acme.ID), formType, form+fmt.Sprint(ann.ID))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add with Ann: %d", resp.StatusCode)
	}
	items, _, err := a.Store.Timeline(ctx, admin(), acme.ID, store.TimelineQuery{Types: []string{store.TypeMeeting}})
	if err != nil || len(items) != 1 || !slices.Equal(items[0].Meeting.AttendeeIDs, []int64{ann.ID}) {
		t.Fatalf("saved meeting: %+v, %v", items, err)
	}
	resp, body = do(t, c, "GET", fmt.Sprintf("%s/meetings/%d/edit", a.Server.URL, items[0].ID), "", "")
	if want := `name="audience" value="ann@acme.test">`; resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
		t.Fatalf("public room: edit page lacks %s: %d\n%s", want, resp.StatusCode, body)
	}
	if _, err := a.Store.SetRoom(ctx, staff, items[0].ID, store.RoomInput{Access: store.AccessAudience}); err != nil {
		t.Fatal(err)
	}
	resp, body = do(t, c, "GET", fmt.Sprintf("%s/meetings/%d/edit", a.Server.URL, items[0].ID), "", "")
	for _, want := range []string{
		fmt.Sprintf(`name="attendee_ids" value="%d" checked`, ann.ID),
		`name="audience" value="ann@acme.test" checked`,
		`name="audience" value="bob@acme.test">`,
	} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("edit page lacks %s: %d\n%s", want, resp.StatusCode, body)
		}
	}
}
