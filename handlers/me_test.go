package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// setZone gives u a time zone, as the profile page does.
func setZone(t *testing.T, a *testApp, u *store.User, zone string) {
	t.Helper()
	if _, err := a.Store.UpdateProfile(context.Background(), u.ID, store.ProfileInput{Name: u.Name, Email: u.Email, TimeZone: zone}); err != nil {
		t.Fatal(err)
	}
}

// TestProfile: /me shows the user's name, address and zone (UTC until
// chosen); each bad field answers 422 beside itself; a saved profile shows
// at once on the next page, although signed-in users are cached.
func TestProfile(t *testing.T) {
	a := newTestApp(t)
	staff := a.User(t, "sam@example.com", store.RoleStaff)
	a.User(t, "taken@example.com", store.RoleStaff)
	c := a.client(t, staff)
	me := a.Server.URL + "/me"

	resp, body := do(t, c, "GET", me, "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `name="time_zone" type="text" value="UTC"`) || !strings.Contains(body, `list="time-zones"`) ||
		!strings.Contains(body, `value="sam@example.com"`) || !strings.Contains(body, `<a href="/me">`) {
		t.Fatalf("profile page: %d\n%s", resp.StatusCode, body)
	}
	good := url.Values{"name": {"Sam Jones"}, "email": {"sam.jones@example.com"}, "time_zone": {"Europe/London"}}
	for _, tc := range []struct{ field, value, msg string }{
		{"time_zone", "Mars/Olympus_Mons", "Choose a time zone from the list"},
		{"time_zone", "Local", "Choose a time zone from the list"},
		{"time_zone", "../../etc/passwd", "Choose a time zone from the list"},
		{"name", " ", "This field is required."},
		{"email", "sam@", "Enter a valid e-mail address"},
		{"email", "TAKEN@example.com", "Another user has this e-mail address."},
	} {
		f := url.Values{}
		for k, v := range good {
			f[k] = v
		}
		f.Set(tc.field, tc.value)
		resp, body := do(t, c, "POST", me, formType, f.Encode())
		if resp.StatusCode != 422 || !strings.Contains(body, `id="me-`+tc.field+`-error"`) || !strings.Contains(body, tc.msg) {
			t.Errorf("%s=%q: %d, want 422 with %q beside the field\n%.3000s", tc.field, tc.value, resp.StatusCode, tc.msg, body)
		}
	}
	if u, _ := a.Store.UserByID(context.Background(), staff.ID); u.Name != staff.Name || u.TimeZone != "" {
		t.Fatalf("a refused profile was stored: %+v", u)
	}

	resp, _ = do(t, c, "POST", me, formType, good.Encode())
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/me" {
		t.Fatalf("save: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = do(t, c, "GET", me, "", "")
	if !strings.Contains(body, "Profile saved.") || !strings.Contains(body, `value="Europe/London"`) ||
		!strings.Contains(body, `<a href="/me">Sam Jones</a>`) || !strings.Contains(body, `value="sam.jones@example.com"`) {
		t.Errorf("after saving, the page shows the old profile:\n%s", body)
	}
	// The new address signs in; the old one no longer does.
	if resp, _ := do(t, a.client(t, nil), "POST", a.Server.URL+"/login", formType,
		url.Values{"email": {"sam.jones@example.com"}, "password": {storetest.Password}}.Encode()); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign in with the new address: %d", resp.StatusCode)
	}
}

// TestChangePassword: the current password is required, the new one must
// be long enough, and after a change only the new one signs in.
func TestChangePassword(t *testing.T) {
	a := newTestApp(t)
	staff := a.User(t, "sam@example.com", store.RoleStaff)
	c := a.client(t, staff)
	pw := a.Server.URL + "/me/password"
	for _, tc := range []struct{ current, next, field, msg string }{
		{"wrong password", "a new long password", "current_password", "That is not your current password."},
		{storetest.Password, "short", "new_password", "Use 10 to 200 characters."},
	} {
		resp, body := do(t, c, "POST", pw, formType, url.Values{"current_password": {tc.current}, "new_password": {tc.next}}.Encode())
		if resp.StatusCode != 422 || !strings.Contains(body, `id="password-`+tc.field+`-error"`) || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d, want 422 beside the field\n%.3000s", tc.field, resp.StatusCode, body)
		}
		if strings.Contains(body, tc.current) || strings.Contains(body, tc.next) {
			t.Errorf("%s: a password was sent back in the page", tc.field)
		}
	}
	other := a.client(t, staff) // the same user in another browser
	resp, _ := do(t, c, "POST", pw, formType, url.Values{"current_password": {storetest.Password}, "new_password": {"a new long password"}}.Encode())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("change: %d", resp.StatusCode)
	}
	// This browser goes on; the other one is signed out.
	if resp, _ := do(t, c, "GET", a.Server.URL+"/me", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("this browser after the change: %d", resp.StatusCode)
	}
	if resp, _ := do(t, other, "GET", a.Server.URL+"/me", "", ""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another session of the user after the change: %d, want a redirect to sign in", resp.StatusCode)
	}
	signIn := func(password string) int {
		resp, _ := do(t, a.client(t, nil), "POST", a.Server.URL+"/login", formType, url.Values{"email": {staff.Email}, "password": {password}}.Encode())
		return resp.StatusCode
	}
	if st := signIn("a new long password"); st != http.StatusSeeOther {
		t.Errorf("new password: %d", st)
	}
	if st := signIn(storetest.Password); st != 422 {
		t.Errorf("old password: %d, want 422", st)
	}
	// Guesses at the current password count like sign-in attempts.
	last := 0
	for range 6 {
		resp, _ := do(t, c, "POST", pw, formType, url.Values{"current_password": {"guess"}, "new_password": {"another long password"}}.Encode())
		last = resp.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("the sixth wrong current password: %d, want 429", last)
	}
}

// TestSignInStoresBrowserZone: the zone the sign-in form carries becomes
// the user's when they have none, never replaces one, and an unknown name
// is ignored without stopping the sign-in.
func TestSignInStoresBrowserZone(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	sam := a.User(t, "sam@example.com", store.RoleStaff)
	kim := a.User(t, "kim@example.com", store.RoleStaff)
	signIn := func(u *store.User, zone string) {
		t.Helper()
		resp, _ := do(t, a.client(t, nil), "POST", a.Server.URL+"/login", formType,
			url.Values{"email": {u.Email}, "password": {storetest.Password}, "time_zone": {zone}}.Encode())
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in with zone %q: %d", zone, resp.StatusCode)
		}
	}
	zone := func(u *store.User) string {
		got, err := a.Store.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.TimeZone
	}
	signIn(sam, "Europe/London")
	if z := zone(sam); z != "Europe/London" {
		t.Fatalf("zone after the first sign-in: %q", z)
	}
	signIn(sam, "America/New_York")
	if z := zone(sam); z != "Europe/London" {
		t.Errorf("a later sign-in replaced the zone: %q", z)
	}
	signIn(kim, "Nowhere/Town")
	signIn(kim, "Local")
	if z := zone(kim); z != "" {
		t.Errorf("an unknown zone was stored: %q", z)
	}
}

// TestMeetingLocalTimes: forms are read in the user's zone, across the
// changes of the clocks, and the list's days are the user's days.
func TestMeetingLocalTimes(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	ldn := a.User(t, "ldn@example.com", store.RoleStaff)
	setZone(t, a, ldn, "Europe/London")
	co := mustCompany(t, a, "Andertons")
	if err := a.Store.AssignClient(ctx, admin(), ldn.ID, co.ID, true); err != nil {
		t.Fatal(err)
	}
	c := a.client(t, ldn)
	add := fmt.Sprintf("%s/companies/%d/meetings", a.Server.URL, co.ID)
	utc := func(y int, mo time.Month, d, h, mi int) int64 {
		return time.Date(y, mo, d, h, mi, 0, 0, time.UTC).UnixMilli()
	}
	for _, tc := range []struct {
		name, local string
		want        int64
	}{
		{"summer (BST, UTC+1)", "2026-07-01T14:00", utc(2026, 7, 1, 13, 0)},
		{"winter (GMT)", "2026-12-01T14:00", utc(2026, 12, 1, 14, 0)},
		// 01:30 happens twice as the clocks go back: the first, in BST.
		{"clocks go back", "2026-10-25T01:30", utc(2026, 10, 25, 0, 30)},
		{"after the repeated hour", "2026-10-25T02:30", utc(2026, 10, 25, 2, 30)},
		{"an offset of its own", "2026-07-01T14:00:00-04:00", utc(2026, 7, 1, 18, 0)},
	} {
		subject := "At " + tc.local
		resp, body := do(t, c, "POST", add, formType, url.Values{"type": {"call"}, "subject": {subject}, "starts_at": {tc.local}}.Encode())
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%.2000s", tc.name, resp.StatusCode, body)
		}
		page, err := a.Store.ListMeetings(ctx, admin(), store.MeetingQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Items {
			if m.Subject == subject && m.StartsAt != tc.want {
				t.Errorf("%s: %s stored as %s, want %s", tc.name, tc.local, store.Time(m.StartsAt), store.Time(tc.want))
			}
		}
	}
	// 01:30 never happens as the clocks go forward.
	resp, body := do(t, c, "POST", add, formType, url.Values{"type": {"call"}, "subject": {"Gap"}, "starts_at": {"2026-03-29T01:30"}}.Encode())
	if want := "2026-03-29 01:30 does not exist in Europe/London: the clocks go forward then."; resp.StatusCode != 422 ||
		!strings.Contains(body, want) || !strings.Contains(body, `id="meeting-starts_at-error"`) {
		t.Errorf("a time in the gap: %d, want 422 with %q\n%.3000s", resp.StatusCode, want, body)
	}
	// The form says which zone it reads.
	_, body = do(t, c, "GET", add+"/new", "", "")
	if !strings.Contains(body, "Starts (Europe/London)") || !strings.Contains(body, "Ends (Europe/London)") {
		t.Errorf("meeting form does not name the zone")
	}

	// The list's days are London days: 00:30 on July 2 in London is still
	// July 1 in UTC, where the API reads bare dates.
	late := mustMeeting(t, a, co.ID, store.MeetingInput{Type: "call", Subject: "Just after midnight", StartsAt: utc(2026, 7, 1, 23, 30)})
	_, body = do(t, c, "GET", a.Server.URL+"/meetings?from=2026-07-02&to=2026-07-02", "", "")
	if !strings.Contains(body, "Just after midnight") || !strings.Contains(body, "Jul 2, 2026 00:30") || !strings.Contains(body, "Date (Europe/London)") {
		t.Errorf("list of July 2 in London lacks the meeting at 00:30:\n%.4000s", body)
	}
	_, body = do(t, c, "GET", a.Server.URL+"/meetings?from=2026-07-01&to=2026-07-01", "", "")
	if strings.Contains(body, "Just after midnight") {
		t.Errorf("list of July 1 in London has the meeting of July 2 at 00:30")
	}
	_, body = do(t, c, "GET", a.Server.URL+"/api/v1/meetings?from=2026-07-01&to=2026-07-01", "", "")
	if !strings.Contains(body, fmt.Sprintf(`"id":%d`, late.ID)) {
		t.Errorf("API dates are no longer UTC days: %s", body)
	}
	resp, body = do(t, c, "GET", a.Server.URL+"/meetings?from=July+2", "", "")
	if resp.StatusCode != 422 || !strings.Contains(body, "Enter a date like 2026-03-01.") {
		t.Errorf("malformed from: %d", resp.StatusCode)
	}
	resp, body = do(t, c, "GET", a.Server.URL+"/api/v1/meetings?from=July+2", "", "")
	if resp.StatusCode != 422 || !strings.Contains(body, `"from":"Use a date (2026-01-31), an RFC 3339 time or unix milliseconds."`) {
		t.Errorf("API malformed from: %d %s", resp.StatusCode, body)
	}
	// The edit form shows the stored time in London.
	_, body = do(t, c, "GET", fmt.Sprintf("%s/meetings/%d/edit", a.Server.URL, late.ID), "", "")
	if !strings.Contains(body, `value="2026-07-02T00:30"`) {
		t.Errorf("edit form does not show London time")
	}
}

// TestTimesInEachUsersZone: one stored meeting reads in each viewer's zone
// on the company page, and JSON keeps unix milliseconds.
func TestTimesInEachUsersZone(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	ldn := a.User(t, "ldn@example.com", store.RoleStaff)
	nyc := a.User(t, "nyc@example.com", store.RoleStaff)
	setZone(t, a, ldn, "Europe/London")
	setZone(t, a, nyc, "America/New_York")
	co := mustCompany(t, a, "Andertons")
	for _, u := range []*store.User{ldn, nyc} {
		if err := a.Store.AssignClient(ctx, admin(), u.ID, co.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2026, 7, 1, 13, 0, 0, 0, time.UTC).UnixMilli()
	m := mustMeeting(t, a, co.ID, store.MeetingInput{Type: "call", Subject: "Zones", StartsAt: start})
	for _, tc := range []struct {
		u    *store.User
		want string
	}{{ldn, "Wed, Jul 1, 2026 14:00 Europe/London"}, {nyc, "Wed, Jul 1, 2026 09:00 America/New_York"}} {
		c := a.client(t, tc.u)
		_, body := do(t, c, "GET", fmt.Sprintf("%s/companies/%d", a.Server.URL, co.ID), "", "")
		if !strings.Contains(body, tc.want) {
			t.Errorf("%s sees no %q", tc.u.Email, tc.want)
		}
		_, body = do(t, c, "GET", fmt.Sprintf("%s/api/v1/meetings/%d", a.Server.URL, m.ID), "", "")
		if !strings.Contains(body, fmt.Sprintf(`"starts_at":%d`, start)) {
			t.Errorf("%s: API answer changed: %s", tc.u.Email, body)
		}
	}
}

// TestMeetingReturnsToList: saving, closing or deleting a meeting opened
// from the list goes back to that page of the list; a return that is not
// the list is ignored (no open redirect).
func TestMeetingReturnsToList(t *testing.T) {
	a := newTestApp(t)
	staff := a.User(t, "sam@example.com", store.RoleStaff)
	co := mustCompany(t, a, "Andertons")
	if err := a.Store.AssignClient(context.Background(), admin(), staff.ID, co.ID, true); err != nil {
		t.Fatal(err)
	}
	c := a.client(t, staff)
	m := mustMeeting(t, a, co.ID, store.MeetingInput{Type: "call", Subject: "Return", StartsAt: march1})
	list := "/meetings?order=asc&sort=date&status=open&type=call"
	_, body := do(t, c, "GET", a.Server.URL+list, "", "")
	edit := fmt.Sprintf("/meetings/%d/edit?return=%s", m.ID, url.QueryEscape(list))
	if !strings.Contains(body, `href="`+strings.ReplaceAll(edit, "&", "&amp;")+`"`) {
		t.Fatalf("list's edit link does not carry the list: want %s", edit)
	}
	_, body = do(t, c, "GET", a.Server.URL+edit, "", "")
	if !strings.Contains(body, `name="return" value="`+strings.ReplaceAll(list, "&", "&amp;")+`"`) {
		t.Fatalf("edit page does not carry the list")
	}
	company := fmt.Sprintf("/companies/%d", co.ID)
	mp := fmt.Sprintf("%s/meetings/%d", a.Server.URL, m.ID)
	save := url.Values{"type": {"call"}, "subject": {"Return"}, "starts_at": {"2026-03-01T14:00"}}
	for _, tc := range []struct{ back, want string }{
		{list, list},
		{"/meetings", "/meetings"},
		{"https://evil.example/meetings", company},
		{"//evil.example/meetings", company},
		{"/meetings.evil.example", company},
		{"/meetingsX", company},
		{"/meetings/1/edit", company},
		{"javascript:alert(1)", company},
		{"", company},
	} {
		for _, action := range []struct {
			path string
			form url.Values
		}{{mp, save}, {mp + "/status", url.Values{"status": {"closed"}}}, {mp + "/status", url.Values{"status": {"open"}}}} {
			f := url.Values{"return": {tc.back}}
			for k, v := range action.form {
				f[k] = v
			}
			resp, _ := do(t, c, "POST", action.path, formType, f.Encode())
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.want {
				t.Errorf("POST %s return=%q: %d to %q, want %q", action.path, tc.back, resp.StatusCode, resp.Header.Get("Location"), tc.want)
			}
		}
	}
	resp, _ := do(t, c, "POST", mp+"/delete", formType, url.Values{"return": {list}}.Encode())
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != list {
		t.Errorf("delete: %d to %q, want %q", resp.StatusCode, resp.Header.Get("Location"), list)
	}
}
