package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
)

// march1 is 2026-03-01 14:00 UTC in unix ms.
var march1 = time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC).UnixMilli()

func mustMeeting(t *testing.T, a *testApp, cid int64, in store.MeetingInput) *store.Meeting {
	t.Helper()
	m, err := a.Store.CreateMeeting(context.Background(), admin(), cid, in)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func meetingOf(t *testing.T, a *testApp, id int64) *store.Meeting {
	t.Helper()
	m, err := a.Store.Meeting(context.Background(), admin(), id)
	if err != nil {
		t.Fatalf("meeting %d: %v", id, err)
	}
	return m
}

// TestMeetingHTML adds, edits, closes, reopens and deletes a meeting through
// the company page and the edit page, with and without htmx.
func TestMeetingHTML(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	co := mustCompany(t, a, "Andertons")
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, co.ID, true); err != nil {
		t.Fatal(err)
	}
	c := a.client(t, staff)
	base := fmt.Sprintf("%s/companies/%d", a.Server.URL, co.ID)

	// The company page holds the meeting form collapsed and unrendered:
	// opening it fetches the form (htmx), or without JS follows the link
	// to the page with the form open.
	resp, body := do(t, c, "GET", base, "", "")
	if resp.StatusCode != 200 || strings.Contains(body, `id="meeting-form"`) ||
		!strings.Contains(body, `hx-get="/companies/`+fmt.Sprint(co.ID)+`/meetings/new"`) || !strings.Contains(body, `href="/companies/`+fmt.Sprint(co.ID)+`/meetings/new"`) {
		t.Fatalf("company page: %d, want the meeting form collapsed behind /meetings/new", resp.StatusCode)
	}
	resp, body = do(t, c, "GET", base+"/meetings/new", "", "", "HX-Request", "true")
	if resp.StatusCode != 200 || !strings.HasPrefix(strings.TrimSpace(body), `<form id="meeting-form"`) || !strings.Contains(body, `<option value="in-person">In-person</option>`) {
		t.Fatalf("meeting form fragment: %d\n%s", resp.StatusCode, body)
	}
	resp, body = do(t, c, "GET", base+"/meetings/new", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "<!doctype html>") || !strings.Contains(body, `<details class="add" open><summary>Add a meeting</summary><form id="meeting-form"`) {
		t.Fatalf("meeting form page: %d\n%s", resp.StatusCode, body)
	}

	form := url.Values{"type": {"call"}, "subject": {"Kick-off"}, "starts_at": {"2026-03-01T14:00"}, "ends_at": {"2026-03-01T14:30"}, "details": {"**Agenda**"}}
	resp, _ = do(t, c, "POST", base+"/meetings", formType, form.Encode())
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), fmt.Sprintf("/companies/%d#meeting-", co.ID)) {
		t.Fatalf("add: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	items, _, err := a.Store.Timeline(ctx, admin(), co.ID, store.TimelineQuery{Types: []string{store.TypeMeeting}})
	if err != nil || len(items) != 1 {
		t.Fatalf("timeline after add: %v %v", items, err)
	}
	m := items[0].Meeting
	if m.Type != "call" || m.Subject != "Kick-off" || m.StartsAt != march1 || m.EndsAt == nil || *m.EndsAt != march1+30*60*1000 ||
		m.Status != store.MeetingOpen || m.OwnerID == nil || *m.OwnerID != staff.ID {
		t.Errorf("stored meeting: %+v", m)
	}
	resp, body = do(t, c, "GET", base, "", "")
	for _, want := range []string{"Kick-off", "<strong>Agenda</strong>", "Sun, Mar 1, 2026 14:00–14:30 UTC",
		fmt.Sprintf(`href="/meetings/%d/edit"`, m.ID), fmt.Sprintf(`action="/meetings/%d/status"`, m.ID), ">Close</button>"} {
		if !strings.Contains(body, want) {
			t.Errorf("company page lacks %q", want)
		}
	}

	// htmx: a success answers the timeline; a failure the form, retargeted.
	form.Set("subject", "Follow-up")
	resp, body = do(t, c, "POST", base+"/meetings", formType, form.Encode(), "HX-Request", "true")
	if resp.StatusCode != 200 || !strings.HasPrefix(strings.TrimSpace(body), `<section id="timeline"`) || !strings.Contains(body, "Follow-up") {
		t.Errorf("htmx add: %d %.300s", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		name        string
		field, val  string
		errField    string
		msgContains string
	}{
		{"unknown type", "type", "fax", "type", "Choose one of"},
		{"malformed start", "starts_at", "next tuesday", "starts_at", "Enter a date and time like 2026-03-01 14:00."},
		{"missing start", "starts_at", "", "starts_at", "Enter the date and time"},
		{"malformed end", "ends_at", "2026-13-01T10:00", "ends_at", "Enter a date and time like 2026-03-01 15:00, or leave it empty."},
		{"end before start", "ends_at", "2026-03-01T13:00", "ends_at", "cannot end before it starts"},
		{"no subject", "subject", " ", "subject", "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			f.Set(tc.field, tc.val)
			resp, body := do(t, c, "POST", base+"/meetings", formType, f.Encode(), "HX-Request", "true")
			if resp.StatusCode != 422 || resp.Header.Get("HX-Retarget") != "#meeting-form" || resp.Header.Get("HX-Reswap") != "outerHTML" {
				t.Fatalf("htmx: %d retarget %q", resp.StatusCode, resp.Header.Get("HX-Retarget"))
			}
			if !strings.HasPrefix(strings.TrimSpace(body), `<form id="meeting-form"`) || !strings.Contains(body, `id="meeting-`+tc.errField+`-error"`) ||
				!strings.Contains(body, tc.msgContains) {
				t.Errorf("htmx 422 form:\n%.1500s", body)
			}
			resp, body = do(t, c, "POST", base+"/meetings", formType, f.Encode())
			if resp.StatusCode != 422 || !strings.Contains(body, "<html") || !strings.Contains(body, tc.msgContains) ||
				strings.Count(body, `<details class="add" open`) != 1 {
				t.Errorf("plain 422 page: %d", resp.StatusCode)
			}
		})
	}
	if items, _, _ := a.Store.Timeline(ctx, admin(), co.ID, store.TimelineQuery{Types: []string{store.TypeMeeting}}); len(items) != 2 {
		t.Errorf("%d meetings after the failed adds, want 2", len(items))
	}

	// Edit.
	edit := fmt.Sprintf("%s/meetings/%d", a.Server.URL, m.ID)
	resp, body = do(t, c, "GET", edit+"/edit", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `value="2026-03-01T14:00"`) || !strings.Contains(body, `<option value="call" selected>`) {
		t.Fatalf("edit page: %d", resp.StatusCode)
	}
	upd := url.Values{"type": {"video"}, "subject": {"Kick-off (moved)"}, "starts_at": {"2026-03-02T09:15"}, "ends_at": {""}, "details": {"new"}}
	resp, _ = do(t, c, "POST", edit, formType, upd.Encode())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d", resp.StatusCode)
	}
	got := meetingOf(t, a, m.ID)
	if got.Type != "video" || got.Subject != "Kick-off (moved)" || got.EndsAt != nil || got.Details != "new" ||
		got.StartsAt != time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC).UnixMilli() || got.Status != store.MeetingOpen {
		t.Errorf("after update: %+v", got)
	}
	upd.Set("type", "telegram")
	resp, body = do(t, c, "POST", edit, formType, upd.Encode())
	if resp.StatusCode != 422 || !strings.Contains(body, `id="edit-type-error"`) || !strings.Contains(body, `value="Kick-off (moved)"`) {
		t.Errorf("update with a bad type: %d", resp.StatusCode)
	}

	// Close, reopen, a bad status.
	for _, st := range []string{store.MeetingClosed, store.MeetingOpen, store.MeetingClosed} {
		resp, _ = do(t, c, "POST", edit+"/status", formType, "status="+st)
		if resp.StatusCode != http.StatusSeeOther || meetingOf(t, a, m.ID).Status != st {
			t.Fatalf("status %s: %d", st, resp.StatusCode)
		}
	}
	resp, body = do(t, c, "GET", base, "", "")
	if !strings.Contains(body, ">Reopen</button>") || !strings.Contains(body, "Meeting closed.") {
		t.Errorf("closed meeting offers no Reopen or no flash")
	}
	resp, _ = do(t, c, "POST", edit+"/status", formType, "status=postponed")
	if resp.StatusCode != 422 || meetingOf(t, a, m.ID).Status != store.MeetingClosed {
		t.Errorf("bad status: %d", resp.StatusCode)
	}
	// An edit keeps the status.
	resp, _ = do(t, c, "POST", edit, formType, url.Values{"type": {"call"}, "subject": {"x"}, "starts_at": {"2026-03-02T09:15"}}.Encode())
	if resp.StatusCode != http.StatusSeeOther || meetingOf(t, a, m.ID).Status != store.MeetingClosed {
		t.Errorf("edit reopened the meeting: %d", resp.StatusCode)
	}

	// Delete.
	resp, _ = do(t, c, "POST", edit+"/delete", formType, "")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	for _, path := range []string{"/edit"} {
		if resp, _ := do(t, c, "GET", edit+path, "", ""); resp.StatusCode != 404 {
			t.Errorf("deleted meeting %s: %d", path, resp.StatusCode)
		}
	}
	if resp, _ := do(t, c, "POST", edit+"/delete", formType, ""); resp.StatusCode != 404 {
		t.Errorf("delete twice: %d", resp.StatusCode)
	}
}

// apiMeeting is a meeting as the API answers it.
type apiMeeting struct {
	ID        int64  `json:"id"`
	CompanyID int64  `json:"company_id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Subject   string `json:"subject"`
	StartsAt  int64  `json:"starts_at"`
	EndsAt    *int64 `json:"ends_at"`
}

type apiMeetingPage struct {
	Items []apiMeeting `json:"items"`
	Next  string       `json:"next_cursor"`
	Prev  string       `json:"prev_cursor"`
	Count int64        `json:"count"`
}

// apiError is an error answer of the API.
type apiErr struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields"`
}

func TestMeetingAPI(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	co := mustCompany(t, a, "Andertons")
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, co.ID, true); err != nil {
		t.Fatal(err)
	}
	c := a.client(t, staff)
	create := fmt.Sprintf("%s/api/v1/companies/%d/meetings", a.Server.URL, co.ID)

	// Times as RFC 3339 strings or unix milliseconds, answered as unix ms.
	for _, tc := range []struct{ name, body string }{
		{"rfc3339", `{"type":"call","subject":"Kick-off","details":"*x*","starts_at":"2026-03-01T15:00:00+01:00","ends_at":"2026-03-01T14:30:00Z"}`},
		{"unix ms", fmt.Sprintf(`{"type":"call","subject":"Kick-off","details":"*x*","starts_at":%d,"ends_at":%d}`, march1, march1+30*60*1000)},
	} {
		resp, body := do(t, c, "POST", create, jsonType, tc.body)
		if resp.StatusCode != 201 {
			t.Fatalf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
		var m apiMeeting
		json.Unmarshal([]byte(body), &m)
		if m.StartsAt != march1 || m.EndsAt == nil || *m.EndsAt != march1+30*60*1000 || m.Status != "open" || m.CompanyID != co.ID ||
			resp.Header.Get("Location") != fmt.Sprintf("/api/v1/meetings/%d", m.ID) {
			t.Errorf("%s: %+v %s", tc.name, m, resp.Header.Get("Location"))
		}
	}
	resp, body := do(t, c, "POST", create, jsonType, `{"type":"email","status":"closed","subject":"Sent","starts_at":1}`)
	if resp.StatusCode != 201 || !strings.Contains(body, `"status":"closed"`) || !strings.Contains(body, `"ends_at":null`) {
		t.Fatalf("create closed: %d %s", resp.StatusCode, body)
	}
	var m apiMeeting
	json.Unmarshal([]byte(body), &m)
	one := fmt.Sprintf("%s/api/v1/meetings/%d", a.Server.URL, m.ID)

	resp, body = do(t, c, "GET", one, "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"subject":"Sent"`) {
		t.Errorf("get: %d %s", resp.StatusCode, body)
	}
	// PUT replaces; an absent status keeps it, an absent ends_at is none.
	resp, body = do(t, c, "PUT", one, jsonType, fmt.Sprintf(`{"type":"sms","subject":"Texted","starts_at":%d}`, march1))
	if resp.StatusCode != 200 {
		t.Fatalf("put: %d %s", resp.StatusCode, body)
	}
	if got := meetingOf(t, a, m.ID); got.Type != "sms" || got.Subject != "Texted" || got.Status != "closed" || got.StartsAt != march1 {
		t.Errorf("after put: %+v", got)
	}
	resp, body = do(t, c, "PUT", one, jsonType, fmt.Sprintf(`{"type":"sms","status":"open","subject":"Texted","starts_at":%d}`, march1))
	if resp.StatusCode != 200 || meetingOf(t, a, m.ID).Status != "open" {
		t.Errorf("reopen by put: %d %s", resp.StatusCode, body)
	}

	// Bad bodies: 422 with the field named.
	for _, tc := range []struct{ name, body, field string }{
		{"unknown type", `{"type":"fax","subject":"x","starts_at":1}`, "type"},
		{"unknown status", `{"type":"call","status":"maybe","subject":"x","starts_at":1}`, "status"},
		{"no start", `{"type":"call","subject":"x"}`, "starts_at"},
		{"start not a time", `{"type":"call","subject":"x","starts_at":"tomorrow"}`, "starts_at"},
		{"start without offset", `{"type":"call","subject":"x","starts_at":"2026-03-01T14:00"}`, "starts_at"},
		{"start a fraction", `{"type":"call","subject":"x","starts_at":1.5}`, "starts_at"},
		{"start an object", `{"type":"call","subject":"x","starts_at":{}}`, "starts_at"},
		{"end before start", `{"type":"call","subject":"x","starts_at":1000,"ends_at":999}`, "ends_at"},
		{"end not a time", `{"type":"call","subject":"x","starts_at":1000,"ends_at":"later"}`, "ends_at"},
		{"no subject", `{"type":"call","starts_at":1}`, "subject"},
	} {
		for _, method := range []string{"POST", "PUT"} {
			target := create
			if method == "PUT" {
				target = one
			}
			resp, body := do(t, c, method, target, jsonType, tc.body)
			var e apiErr
			json.Unmarshal([]byte(body), &e)
			if resp.StatusCode != 422 || e.Error == "" || e.Fields[tc.field] == "" {
				t.Errorf("%s %s: %d %s, want 422 naming %s", method, tc.name, resp.StatusCode, body, tc.field)
			}
		}
	}
	resp, body = do(t, c, "POST", create, jsonType, `{"type":"call","subject":"x","starts_at":1,"room":true}`)
	if resp.StatusCode != 422 || !strings.Contains(body, "room") {
		t.Errorf("unknown field: %d %s", resp.StatusCode, body)
	}

	// Bad list queries: 422 naming the parameter.
	for _, tc := range []struct{ query, field string }{
		{"type=fax", "type"},
		{"type=call&type=fax", "type"},
		{"status=pending", "status"},
		{"from=yesterday", "from"},
		{"to=2026-02-30", "to"},
		{"from=2026-01-01T00:00", "from"},
		{"from=2026-02-01&to=2026-01-01", "to"},
		{"cursor=garbage", "cursor"},
		{"cursor=eyJzIjoiZGF0ZSJ9", "cursor"}, // {"s":"date"}: decodes, but is no position
		{"sort=name", "sort"},
		{"order=up", "order"},
		{"limit=ten", "limit"},
	} {
		resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/meetings?"+tc.query, "", "")
		var e apiErr
		json.Unmarshal([]byte(body), &e)
		if resp.StatusCode != 422 || e.Fields[tc.field] == "" {
			t.Errorf("%s: %d %s, want 422 naming %s", tc.query, resp.StatusCode, body, tc.field)
		}
	}
	// A cursor issued for one sort is refused by the other.
	mustMeeting(t, a, co.ID, store.MeetingInput{Type: "call", Subject: "y", StartsAt: march1})
	resp, body = do(t, c, "GET", a.Server.URL+"/api/v1/meetings?limit=1", "", "")
	var page apiMeetingPage
	json.Unmarshal([]byte(body), &page)
	if resp.StatusCode != 200 || page.Next == "" {
		t.Fatalf("first page: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, c, "GET", a.Server.URL+"/api/v1/meetings?sort=updated&cursor="+page.Next, "", ""); resp.StatusCode != 422 {
		t.Errorf("date cursor on the updated sort: %d", resp.StatusCode)
	}

	resp, _ = do(t, c, "DELETE", one, "", "")
	if resp.StatusCode != 204 {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	for _, method := range []string{"GET", "DELETE"} {
		if resp, _ := do(t, c, method, one, "", ""); resp.StatusCode != 404 {
			t.Errorf("%s after delete: %d", method, resp.StatusCode)
		}
	}
	if resp, _ := do(t, c, "POST", fmt.Sprintf("%s/api/v1/companies/%d/meetings", a.Server.URL, co.ID+1000), jsonType, `{"type":"call","subject":"x","starts_at":1}`); resp.StatusCode != 404 {
		t.Errorf("create on a missing company: %d", resp.StatusCode)
	}
}

// TestMeetingListPaging fills the list and reads it through the API in
// every sort and direction, page by page forward and back, with filters
// and date ranges, against the answer worked out here.
func TestMeetingListPaging(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	var companies []*store.Company
	for i := 0; i < 3; i++ {
		companies = append(companies, mustCompany(t, a, fmt.Sprintf("Co %d", i)))
	}
	for _, co := range companies[:2] {
		if err := a.Store.AssignClient(ctx, admin(), staff.ID, co.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	types := []string{"email", "sms", "call", "video", "in-person"}
	day := int64(24 * time.Hour / time.Millisecond)
	jan1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	var all []*store.Meeting
	for i := 0; i < 90; i++ {
		st := store.MeetingOpen
		if i%3 == 0 {
			st = store.MeetingClosed
		}
		// Pairs share a start, so the id breaks ties.
		all = append(all, mustMeeting(t, a, companies[i%3].ID, store.MeetingInput{
			Type: types[i%5], Status: st, Subject: fmt.Sprintf("m%d", i), StartsAt: jan1 + int64(i/2)*day/3}))
	}
	// A few edits, so that the updated order differs from the date order.
	for _, i := range []int{4, 17, 60} {
		m, err := a.Store.SetMeetingStatus(ctx, admin(), all[i].ID, store.MeetingClosed)
		if err != nil {
			t.Fatal(err)
		}
		all[i] = m
	}

	want := func(u *store.User, typeSet, statusSet []string, from, to int64, sort string, desc bool) []int64 {
		key := func(m *store.Meeting) int64 {
			if sort == "updated" {
				return m.UpdatedAt
			}
			return m.StartsAt
		}
		var out []*store.Meeting
		for _, m := range all {
			if !u.IsAdmin() && m.CompanyID == companies[2].ID {
				continue
			}
			if len(typeSet) > 0 && !slices.Contains(typeSet, m.Type) || len(statusSet) > 0 && !slices.Contains(statusSet, m.Status) {
				continue
			}
			if from > 0 && key(m) < from || to > 0 && key(m) >= to {
				continue
			}
			out = append(out, m)
		}
		slices.SortFunc(out, func(x, y *store.Meeting) int {
			c := key(x) - key(y)
			if c == 0 {
				c = x.ID - y.ID
			}
			if desc {
				c = -c
			}
			switch {
			case c < 0:
				return -1
			case c > 0:
				return 1
			}
			return 0
		})
		ids := make([]int64, len(out))
		for i, m := range out {
			ids[i] = m.ID
		}
		return ids
	}
	get := func(c *http.Client, query string) apiMeetingPage {
		t.Helper()
		resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/meetings?"+query, "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", query, resp.StatusCode, body)
		}
		var p apiMeetingPage
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}

	feb := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		query    url.Values
		types    []string
		statuses []string
		from, to int64
	}{
		{query: url.Values{}},
		{query: url.Values{"type": {"email", "sms"}, "status": {"open"}}, types: []string{"email", "sms"}, statuses: []string{"open"}},
		{query: url.Values{"type": {"call"}}, types: []string{"call"}},
		{query: url.Values{"status": {"closed", "open"}}},
		// to is a whole day: 2026-01-05 up to the end of 2026-01-09.
		{query: url.Values{"from": {"2026-01-05"}, "to": {"2026-01-09"}}, from: jan1 + 4*day, to: jan1 + 9*day},
		{query: url.Values{"from": {feb.Format(time.RFC3339)}, "status": {"open"}}, statuses: []string{"open"}, from: feb.UnixMilli()},
		{query: url.Values{"to": {fmt.Sprint(jan1 + 3*day)}, "type": {"video", "email"}}, types: []string{"video", "email"}, to: jan1 + 3*day},
	} {
		for _, who := range []*store.User{staff, adm} {
			c := a.client(t, who)
			for _, sort := range []string{"date", "updated"} {
				for _, desc := range []bool{true, false} {
					q := url.Values{}
					for k, v := range tc.query {
						q[k] = v
					}
					q.Set("sort", sort)
					q.Set("order", map[bool]string{true: "desc", false: "asc"}[desc])
					q.Set("limit", "7")
					// from/to bound the sort key, so the updated sort uses the same bounds.
					exp := want(who, tc.types, tc.statuses, tc.from, tc.to, sort, desc)
					name := fmt.Sprintf("%s as %s", q.Encode(), who.Email)
					var got []int64
					var pages []apiMeetingPage
					p := get(c, q.Encode())
					for n := 0; ; n++ {
						if n > 30 {
							t.Fatalf("%s: paging does not end", name)
						}
						pages = append(pages, p)
						if p.Count != int64(len(exp)) {
							t.Errorf("%s: count %d, want %d", name, p.Count, len(exp))
						}
						if len(p.Items) > 7 {
							t.Errorf("%s: %d items on a page", name, len(p.Items))
						}
						for _, m := range p.Items {
							got = append(got, m.ID)
						}
						if p.Next == "" {
							break
						}
						q.Set("cursor", p.Next)
						p = get(c, q.Encode())
					}
					if !slices.Equal(got, exp) {
						t.Errorf("%s:\n got %v\nwant %v", name, got, exp)
					}
					if pages[0].Prev != "" {
						t.Errorf("%s: the first page has a previous page", name)
					}
					// Back from the last page, each page is the one before.
					for i := len(pages) - 1; i > 0; i-- {
						q.Set("cursor", pages[i].Prev)
						back := get(c, q.Encode())
						if !slices.EqualFunc(back.Items, pages[i-1].Items, func(x, y apiMeeting) bool { return x.ID == y.ID }) {
							t.Errorf("%s: previous of page %d differs from page %d", name, i, i-1)
						}
					}
				}
			}
		}
	}
}

// TestMeetingsStaffIsolation checks that staff never see, change or list
// another client's meetings, and that assignment changes show at once.
func TestMeetingsStaffIsolation(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	mine := mustCompany(t, a, "Mine Ltd")
	theirs := mustCompany(t, a, "Theirs Ltd")
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, mine.ID, true); err != nil {
		t.Fatal(err)
	}
	my := mustMeeting(t, a, mine.ID, store.MeetingInput{Type: "call", Subject: "Our call", StartsAt: march1})
	secret := mustMeeting(t, a, theirs.ID, store.MeetingInput{Type: "call", Subject: "Secret call", StartsAt: march1 + 1})
	c := a.client(t, staff)

	list := func() []int64 {
		resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/meetings", "", "")
		var p apiMeetingPage
		json.Unmarshal([]byte(body), &p)
		if resp.StatusCode != 200 {
			t.Fatalf("list: %d %s", resp.StatusCode, body)
		}
		var ids []int64
		for _, m := range p.Items {
			ids = append(ids, m.ID)
		}
		return ids
	}
	if ids := list(); !slices.Equal(ids, []int64{my.ID}) {
		t.Errorf("staff list: %v, want only %d", ids, my.ID)
	}
	resp, body := do(t, c, "GET", a.Server.URL+"/meetings", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "Our call") || !strings.Contains(body, "Mine Ltd") || strings.Contains(body, "Secret") ||
		strings.Contains(body, "Theirs") || !strings.Contains(body, "1 meeting<") {
		t.Errorf("staff meetings page: %d\n%.3000s", resp.StatusCode, body)
	}
	s := fmt.Sprintf("%s/meetings/%d", a.Server.URL, secret.ID)
	as := fmt.Sprintf("%s/api/v1/meetings/%d", a.Server.URL, secret.ID)
	for _, tc := range []struct{ method, url, ctype, body string }{
		{"GET", s + "/edit", "", ""},
		{"POST", s, formType, "type=call&subject=Mine+now&starts_at=2026-03-01T14%3A00"},
		{"POST", s + "/status", formType, "status=closed"},
		{"POST", s + "/delete", formType, ""},
		{"GET", as, "", ""},
		{"PUT", as, jsonType, `{"type":"call","subject":"Mine now","starts_at":1}`},
		{"DELETE", as, "", ""},
		{"POST", fmt.Sprintf("%s/companies/%d/meetings", a.Server.URL, theirs.ID), formType, "type=call&subject=x&starts_at=2026-03-01T14%3A00"},
		{"POST", fmt.Sprintf("%s/api/v1/companies/%d/meetings", a.Server.URL, theirs.ID), jsonType, `{"type":"call","subject":"x","starts_at":1}`},
	} {
		resp, body := do(t, c, tc.method, tc.url, tc.ctype, tc.body)
		if resp.StatusCode != 404 || strings.Contains(body, "Secret") {
			t.Errorf("%s %s: %d, want 404", tc.method, tc.url, resp.StatusCode)
		}
	}
	if got := meetingOf(t, a, secret.ID); got.Subject != "Secret call" || got.Status != store.MeetingOpen {
		t.Errorf("the other client's meeting changed: %+v", got)
	}
	if items, _, _ := a.Store.Timeline(ctx, admin(), theirs.ID, store.TimelineQuery{}); len(items) != 1 {
		t.Errorf("the other client has %d timeline items, want 1", len(items))
	}

	// Assigning the client shows its meetings at once; taking it away hides them.
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, theirs.ID, true); err != nil {
		t.Fatal(err)
	}
	if ids := list(); !slices.Equal(ids, []int64{secret.ID, my.ID}) {
		t.Errorf("after assigning: %v", ids)
	}
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, theirs.ID, false); err != nil {
		t.Fatal(err)
	}
	if ids := list(); !slices.Equal(ids, []int64{my.ID}) {
		t.Errorf("after unassigning: %v", ids)
	}
}

// TestMeetingsPage drives the HTML list: filters in the URL, the htmx
// fragment, 422 beside the filter, and the no-JS pager.
func TestMeetingsPage(t *testing.T) {
	a := newTestApp(t)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	co := mustCompany(t, a, "Andertons <Music>")
	for i := 0; i < 30; i++ {
		typ := "call"
		if i%2 == 1 {
			typ = "email"
		}
		mustMeeting(t, a, co.ID, store.MeetingInput{Type: typ, Subject: fmt.Sprintf("Meeting %02d", i), StartsAt: march1 + int64(i)*3600_000})
	}
	c := a.client(t, adm)

	resp, body := do(t, c, "GET", a.Server.URL+"/meetings", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "30 meetings") || !strings.Contains(body, "Meeting 29") || strings.Contains(body, "Meeting 04<") ||
		!strings.Contains(body, "Andertons &lt;Music&gt;") || !strings.Contains(body, `id="meeting-filters"`) {
		t.Fatalf("meetings page: %d\n%.3000s", resp.StatusCode, body)
	}
	// Page two through the pager link, as a browser without JS follows it.
	i := strings.Index(body, `cursor=`)
	if i < 0 {
		t.Fatal("no next link")
	}
	start := strings.LastIndex(body[:i], `href="`) + len(`href="`)
	next := strings.ReplaceAll(body[start:start+strings.Index(body[start:], `"`)], "&amp;", "&")
	resp, body = do(t, c, "GET", a.Server.URL+next, "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "Meeting 04<") || strings.Contains(body, "Meeting 29") || !strings.Contains(body, "← Previous</a>") {
		t.Errorf("page two (%s): %d", next, resp.StatusCode)
	}

	// Filters in the URL; htmx gets the region and the error slots only.
	resp, body = do(t, c, "GET", a.Server.URL+"/meetings?type=email&status=open&from=2026-03-01&to=2026-03-01&sort=date&order=asc", "", "", "HX-Request", "true")
	if resp.StatusCode != 200 || !strings.HasPrefix(strings.TrimSpace(body), `<div id="meeting-list"`) || strings.Contains(body, "<html") ||
		!strings.Contains(body, `id="filter-type-error" class="filter-error" hx-swap-oob="true"`) || resp.Header.Get("Vary") != "HX-Request" {
		t.Errorf("htmx fragment: %d %.500s", resp.StatusCode, body)
	}
	// 2026-03-01 14:00 + odd hours up to 23:00: meetings 1, 3, 5, 7, 9.
	if !strings.Contains(body, "5 meetings") || strings.Index(body, "Meeting 01") > strings.Index(body, "Meeting 09") || strings.Contains(body, "Meeting 11") {
		t.Errorf("filtered fragment:\n%.3000s", body)
	}

	// Rejected filters: 422, the message beside the filter.
	resp, body = do(t, c, "GET", a.Server.URL+"/meetings?type=fax", "", "")
	if resp.StatusCode != 422 || !strings.Contains(body, `<div id="filter-type-error" class="filter-error"><p class="field-error">Choose among`) ||
		!strings.Contains(body, `id="meeting-filters"`) {
		t.Errorf("bad type page: %d\n%.3000s", resp.StatusCode, body)
	}
	resp, body = do(t, c, "GET", a.Server.URL+"/meetings?from=2026-02-01&to=2026-01-01", "", "", "HX-Request", "true")
	if resp.StatusCode != 422 || !strings.Contains(body, `<div id="filter-to-error" class="filter-error" hx-swap-oob="true"><p class="field-error">`) {
		t.Errorf("reversed range, htmx: %d\n%.3000s", resp.StatusCode, body)
	}
	for _, q := range []string{"from=soon", "status=maybe", "cursor=%21%21", "order=sideways"} {
		if resp, _ := do(t, c, "GET", a.Server.URL+"/meetings?"+q, "", ""); resp.StatusCode != 422 {
			t.Errorf("%s: %d, want 422", q, resp.StatusCode)
		}
	}
	resp, body = do(t, c, "GET", a.Server.URL+"/meetings?type=video", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "No meetings match these filters") {
		t.Errorf("empty result: %d", resp.StatusCode)
	}
}

func TestMeetingTypes(t *testing.T) {
	a := newTestApp(t)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	c := a.client(t, adm)
	resp, _ := do(t, c, "POST", a.Server.URL+"/admin/meeting-types", formType, "name=Trade+Show")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add type: %d", resp.StatusCode)
	}
	resp, body := do(t, c, "GET", a.Server.URL+"/admin/meeting-types", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "Trade Show") || !strings.Contains(body, "Meeting type “Trade Show” added.") {
		t.Errorf("types page: %d", resp.StatusCode)
	}
	for _, name := range []string{"", "Fax!", "trade show", strings.Repeat("x", 33)} {
		resp, body := do(t, c, "POST", a.Server.URL+"/admin/meeting-types", formType, url.Values{"name": {name}}.Encode())
		if resp.StatusCode != 422 || !strings.Contains(body, `id="mtype-name-error"`) {
			t.Errorf("type %q: %d", name, resp.StatusCode)
		}
	}
	// The new type is offered and accepted at once.
	co := mustCompany(t, a, "Acme")
	resp, body = do(t, c, "GET", fmt.Sprintf("%s/companies/%d/meetings/new", a.Server.URL, co.ID), "", "", "HX-Request", "true")
	if !strings.Contains(body, `<option value="Trade Show">Trade Show</option>`) {
		t.Error("company page does not offer the new type")
	}
	resp, body = do(t, c, "POST", fmt.Sprintf("%s/api/v1/companies/%d/meetings", a.Server.URL, co.ID), jsonType, `{"type":"trade show","subject":"Stand 4","starts_at":1}`)
	if resp.StatusCode != 201 {
		t.Errorf("meeting of the new type: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/meetings?type=Trade+Show", "", ""); resp.StatusCode != 200 || !strings.Contains(body, "Stand 4") {
		t.Errorf("filter by the new type: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, a.client(t, staff), "POST", a.Server.URL+"/admin/meeting-types", formType, "name=x"); resp.StatusCode != 403 {
		t.Errorf("staff adds a type: %d", resp.StatusCode)
	}
}
