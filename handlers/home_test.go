package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
)

// homeWorkspace gives staff users alice (client Acme) and bob (client
// Beta) a day's worth of meetings, live rooms and colleagues' changes, all
// named after their client, and returns alice, bob and an admin.
func homeWorkspace(t testing.TB, a *testApp) (alice, bob, adm *store.User) {
	t.Helper()
	ctx := context.Background()
	alice = a.User(t, "alice@example.com", store.RoleStaff)
	bob = a.User(t, "bob@example.com", store.RoleStaff)
	adm = a.User(t, "admin@example.com", store.RoleAdmin)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	company := func(name string, staff *store.User) *store.Company {
		c, err := a.Store.CreateCompany(ctx, adm, store.CompanyInput{Name: name})
		must(err)
		must(a.Store.AssignClient(ctx, adm, staff.ID, c.ID, true))
		return c
	}
	acme, beta := company("Acme", alice), company("Beta", bob)
	// Times of the viewers' day (UTC: they chose no zone). The one today
	// is closed, so it is never overdue whatever the time now.
	now := time.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	today := now.Add(-time.Minute)
	if today.Before(day) {
		today = day
	}
	meeting := func(c *store.Company, subject, status string, at time.Time) *store.Meeting {
		m, err := a.Store.CreateMeeting(ctx, adm, c.ID, store.MeetingInput{Type: "call", Subject: subject, Status: status, StartsAt: at.UnixMilli()})
		must(err)
		return m
	}
	meeting(acme, "Acme overdue call", store.MeetingOpen, today)
	meeting(acme, "Acme today call", store.MeetingClosed, today)
	meeting(acme, "Acme week call", store.MeetingOpen, day.AddDate(0, 0, 3).Add(10*time.Hour))
	meeting(beta, "Beta secret call", store.MeetingClosed, today)
	meeting(beta, "Beta overdue call", store.MeetingOpen, today)
	for _, m := range []*store.Meeting{meeting(acme, "Acme live review", store.MeetingOpen, day.AddDate(0, 0, 2)), meeting(beta, "Beta live review", store.MeetingOpen, day.AddDate(0, 0, 2))} {
		_, err := a.Store.OpenRoom(ctx, adm, m.ID)
		must(err)
	}
	_, err := a.Store.AddNote(ctx, adm, acme.ID, store.NoteInput{Title: "Acme pricing call"})
	must(err)
	_, err = a.Store.AddNote(ctx, bob, beta.ID, store.NoteInput{Title: "Beta note by bob"})
	must(err)
	_, err = a.Store.AddNote(ctx, alice, acme.ID, store.NoteInput{Title: "Acme note by alice herself"})
	must(err)
	return alice, bob, adm
}

// TestHomePage checks the home page's sections, empty and full, as staff
// and as an admin: staff see their clients' meetings, rooms and others'
// changes, never another client's; admins see the workspace.
func TestHomePage(t *testing.T) {
	a := newTestApp(t)
	get := func(u *store.User) string {
		t.Helper()
		resp, body := do(t, a.client(t, u), "GET", a.Server.URL+"/", "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("home as %s: %d", u.Email, resp.StatusCode)
		}
		return body
	}
	has := func(who, body string, want ...string) {
		t.Helper()
		for _, s := range want {
			if !strings.Contains(body, s) {
				t.Errorf("%s: no %q", who, s)
			}
		}
	}
	hasNot := func(who, body string, unwanted ...string) {
		t.Helper()
		for _, s := range unwanted {
			if strings.Contains(body, s) {
				t.Errorf("%s: shows %q", who, s)
			}
		}
	}

	// Empty: every section says what to do.
	loner := a.User(t, "loner@example.com", store.RoleStaff)
	empty := get(loner)
	has("staff without clients", empty, "My day", "No clients are assigned to you yet", "No room is open", "No unread notifications")
	emptyAdmin := get(a.User(t, "first-admin@example.com", store.RoleAdmin))
	has("admin of an empty workspace", emptyAdmin, "The workspace today", "Nothing scheduled for today", "Nothing planned for the coming week",
		"No room is open", "Nothing changed lately", "No unread notifications")
	hasNot("admin of an empty workspace", emptyAdmin, "No clients are assigned")

	alice, bob, adm := homeWorkspace(t, a)
	page := get(alice)
	has("alice", page, "Acme overdue call", "Acme today call", "Acme week call", "Acme live review", "Overdue",
		"admin@example.com added a note “Acme pricing call”", "Recent changes on your clients")
	hasNot("alice", page, "Beta", "Acme note by alice herself", "Nothing scheduled", "Nothing planned", "No room is open", "Nothing changed lately")
	has("bob", get(bob), "Beta secret call", "Beta live review", "Beta overdue call")
	hasNot("bob", get(bob), "Acme", "Beta note by bob")
	whole := get(adm)
	has("admin", whole, "The workspace today", "Recent changes in the workspace", "Acme today call", "Beta secret call",
		"Acme live review", "Beta live review", "Beta note by bob", "Acme note by alice herself")
	hasNot("admin", whole, "Acme pricing call") // the admin's own
	// Times are the viewer's: the week's call (10:00 UTC) at 19:00 in Tokyo.
	week := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 3).Add(10 * time.Hour)
	if _, err := a.Store.UpdateProfile(context.Background(), alice.ID, store.ProfileInput{Name: alice.Name, Email: alice.Email, TimeZone: "Asia/Tokyo"}); err != nil {
		t.Fatal(err)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	has("alice in Tokyo", get(alice), "Asia/Tokyo", week.In(tokyo).Format("Mon Jan 2, 15:04"))
	// Still empty for the loner, whatever the others have.
	has("staff without clients", get(loner), "No clients are assigned to you yet")
	hasNot("staff without clients", get(loner), "Acme", "Beta")
}

// TestHomeFollowsChanges: the home keeps a viewer's meetings and recent
// changes between loads (store.Home), and the next load after any change
// that concerns them shows it: a client taken away takes its meetings and
// changes with it, a company renamed or deleted, a meeting or a note added.
func TestHomeFollowsChanges(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	alice, bob, adm := homeWorkspace(t, a)
	ca, cadm := a.client(t, alice), a.client(t, adm)
	getAs := func(c *http.Client) string {
		t.Helper()
		resp, body := do(t, c, "GET", a.Server.URL+"/", "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("home: %d", resp.StatusCode)
		}
		return body
	}
	get := func() string { t.Helper(); return getAs(ca) }
	expectAs := func(c *http.Client, step string, want, unwanted []string) {
		t.Helper()
		body := getAs(c)
		for _, s := range want {
			if !strings.Contains(body, s) {
				t.Errorf("%s: no %q", step, s)
			}
		}
		for _, s := range unwanted {
			if strings.Contains(body, s) {
				t.Errorf("%s: still shows %q", step, s)
			}
		}
	}
	expect := func(step string, want, unwanted []string) { t.Helper(); expectAs(ca, step, want, unwanted) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	gamma, err := a.Store.CreateCompany(ctx, adm, store.CompanyInput{Name: "Gamma"})
	must(err)
	must(a.Store.AssignClient(ctx, adm, alice.ID, gamma.ID, true))
	soon := time.Now().Add(time.Hour).UnixMilli()
	_, err = a.Store.CreateMeeting(ctx, adm, gamma.ID, store.MeetingInput{Type: "call", Subject: "Gamma kickoff", Status: store.MeetingOpen, StartsAt: soon})
	must(err)
	_, err = a.Store.AddNote(ctx, adm, gamma.ID, store.NoteInput{Title: "Gamma pricing"})
	must(err)
	expect("a client given", []string{"Gamma kickoff", "Gamma pricing", "Acme week call"}, nil)
	expect("loaded again", []string{"Gamma kickoff", "Gamma pricing", "Acme week call"}, nil)

	// Live rooms change with no activity: someone joins or leaves, the
	// schedule opens a room. Both alice (staff) and the admin see them.
	both := func(step string, want, unwanted []string) {
		t.Helper()
		expectAs(ca, step, want, unwanted)
		expectAs(cadm, step, want, unwanted)
	}
	// The schedule may also have opened the rooms of the meetings that
	// have begun (the overdue and today's calls) by now: the test follows
	// the one it opened itself.
	rooms, err := a.Store.LiveRooms(ctx, alice)
	must(err)
	i := slices.IndexFunc(rooms, func(r store.LiveRoom) bool { return r.Subject == "Acme live review" })
	if i < 0 {
		t.Fatalf("alice's live rooms: %+v", rooms)
	}
	acmeRoom := rooms[i].MeetingID
	later, err := a.Store.CreateMeeting(ctx, adm, rooms[i].CompanyID, store.MeetingInput{Type: "video", Subject: "Acme late review", Status: store.MeetingOpen, StartsAt: soon})
	must(err)
	laterRoom := fmt.Sprintf(`href="/meetings/%d/room"`, later.ID)
	both("rooms kept", []string{"Nobody in yet"}, []string{"1 person in", laterRoom})
	both("rooms kept", []string{"Nobody in yet"}, []string{"1 person in", laterRoom})
	_, err = a.Store.JoinRoom(ctx, adm, acmeRoom)
	must(err)
	both("someone joined", []string{"1 person in"}, nil)
	_, err = a.Store.LeaveRoom(ctx, adm, acmeRoom)
	must(err)
	both("someone left", []string{"Nobody in yet"}, []string{"1 person in"})
	_, err = a.Store.OpenRoomAt(ctx, later.ID, time.Now().UnixMilli())
	must(err)
	both("a room opened on schedule", []string{laterRoom}, nil)
	_, err = a.Store.EndRoomAt(ctx, later.ID, time.Now().UnixMilli())
	must(err)
	both("a room ended on schedule", nil, []string{laterRoom})

	// Changes on someone else's client leave alice's home as it was.
	beta, err := a.Store.CreateCompany(ctx, adm, store.CompanyInput{Name: "Delta"})
	must(err)
	must(a.Store.AssignClient(ctx, adm, bob.ID, beta.ID, true))
	_, err = a.Store.AddNote(ctx, adm, beta.ID, store.NoteInput{Title: "Delta news"})
	must(err)
	expect("another's client changed", []string{"Gamma kickoff", "Gamma pricing"}, []string{"Delta"})

	_, err = a.Store.AddNote(ctx, adm, gamma.ID, store.NoteInput{Title: "Gamma follow-up"})
	must(err)
	expect("a note added", []string{"Gamma follow-up"}, nil)
	_, err = a.Store.UpdateCompany(ctx, adm, gamma.ID, store.CompanyInput{Name: "Gamma Holdings"})
	must(err)
	expect("a client renamed", []string{"Gamma Holdings"}, nil)
	_, err = a.Store.CreateMeeting(ctx, adm, gamma.ID, store.MeetingInput{Type: "call", Subject: "Gamma second call", Status: store.MeetingOpen, StartsAt: soon})
	must(err)
	expect("a meeting added", []string{"Gamma kickoff", "Gamma second call"}, nil)

	must(a.Store.AssignClient(ctx, adm, alice.ID, gamma.ID, false))
	expect("the client taken away", []string{"Acme week call"}, []string{"Gamma"})

	// Deleting a company deletes its activity too: no newer change says
	// so, and the home notices the company gone.
	must(a.Store.AssignClient(ctx, adm, alice.ID, gamma.ID, true))
	expect("given back", []string{"Gamma second call"}, nil)
	must(a.Store.DeleteCompany(ctx, adm, gamma.ID))
	expect("the client deleted", []string{"Acme week call"}, []string{"Gamma"})

	// A notification arrives (the pipeline runs apart, writing no
	// activity), then is read (neither).
	must(a.Store.SetNotificationSettings(ctx, alice, store.NotificationSettings{Mode: store.NotifyImmediate}, a.Handler.Notify.OfferedMS()))
	echo, err := a.Store.CreateCompany(ctx, adm, store.CompanyInput{Name: "Echo"})
	must(err)
	must(a.Store.AssignClient(ctx, adm, alice.ID, echo.ID, true))
	_, err = a.Store.AddNote(ctx, adm, echo.ID, store.NoteInput{Title: "Echo renewal"})
	must(err)
	get() // kept, most likely before the notification
	var notified int64
	for deadline := time.Now().Add(10 * time.Second); notified == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no notification of the note")
		}
		unread, err := a.Store.Notifications(ctx, alice, true, "", 20)
		must(err)
		for _, n := range unread.Items {
			for _, it := range n.Items {
				if strings.Contains(it.Summary, "Echo renewal") {
					notified = n.ID
				}
			}
		}
	}
	expect("a notification", []string{fmt.Sprintf(`href="/notifications#notification-%d"`, notified)}, []string{"No unread notifications"})
	must(a.Store.MarkNotificationsRead(ctx, alice, nil, true))
	expect("the notification read", []string{"No unread notifications"}, []string{"/notifications#notification-"})
}

// TestActivityAPI pages through GET /api/v1/activity and checks that bad
// parameters answer 422 with the field, never 500.
func TestActivityAPI(t *testing.T) {
	a := newTestApp(t)
	alice, _, adm := homeWorkspace(t, a)
	ca := a.client(t, alice)
	type page struct {
		Items []store.Activity `json:"items"`
		Next  string           `json:"next_cursor"`
	}
	var all []store.Activity
	url := a.Server.URL + "/api/v1/activity?limit=2"
	for range 20 {
		resp, body := do(t, ca, "GET", url, "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", url, resp.StatusCode, body)
		}
		var p page
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			break
		}
		url = a.Server.URL + "/api/v1/activity?limit=2&cursor=" + p.Next
	}
	// Acme created, assigned to alice, four meetings, two notes.
	if len(all) != 8 {
		t.Errorf("alice pages through %d activities, want 8", len(all))
	}
	for _, x := range all {
		if x.CompanyName != "Acme" || strings.Contains(x.Summary, "Beta") {
			t.Errorf("alice sees %+v", x)
		}
	}
	var acme int64
	if all[0].CompanyID != nil {
		acme = *all[0].CompanyID
	}
	for _, c := range []struct {
		query string
		field string
		code  int
	}{
		{"limit=0", "limit", 422},
		{"limit=201", "limit", 422},
		{"limit=ten", "limit", 422},
		{"cursor=%21%21", "cursor", 422},
		{"cursor=e30", "cursor", 422},
		{"company_id=x", "company_id", 422},
		{"company_id=-3", "company_id", 422},
		{fmt.Sprintf("company_id=%d&limit=1", acme), "", 200},
		{fmt.Sprintf("company_id=%d", acme+1), "", 404}, // Beta
	} {
		resp, body := do(t, ca, "GET", a.Server.URL+"/api/v1/activity?"+c.query, "", "")
		if resp.StatusCode != c.code {
			t.Errorf("%s: %d %s", c.query, resp.StatusCode, body)
			continue
		}
		if c.field != "" {
			var e struct {
				Error  string            `json:"error"`
				Fields map[string]string `json:"fields"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" || e.Fields[c.field] == "" {
				t.Errorf("%s: %s", c.query, body)
			}
		}
	}
	// The admin sees both clients' activity.
	resp, body := do(t, a.client(t, adm), "GET", a.Server.URL+"/api/v1/activity?limit=200", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "Beta") || !strings.Contains(body, "Acme") {
		t.Errorf("admin: %d %.300s", resp.StatusCode, body)
	}
}

// TestHomeNotifications: the home page lists the user's unread
// notifications, and only theirs.
func TestHomeNotifications(t *testing.T) {
	a := newTestApp(t)
	ctx := t.Context()
	lee := a.User(t, "lee@example.com", store.RoleStaff)
	kim := a.User(t, "kim@example.com", store.RoleStaff)
	acme := mustCompany(t, a, "Acme")
	if err := a.Store.AssignClient(ctx, admin(), lee.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.AddNote(ctx, admin(), acme.ID, store.NoteInput{Title: "Pricing call"}); err != nil {
		t.Fatal(err)
	}
	acts, err := a.Store.Activities(ctx, admin(), store.ActivityQuery{CompanyID: acme.ID, Limit: 1})
	if err != nil || len(acts.Items) != 1 {
		t.Fatalf("activities %+v, %v", acts, err)
	}
	if _, err := a.Store.DeliverDigest(ctx, store.DefaultWorkspace, lee.ID, "home-test", []int64{acts.Items[0].ID}, false, time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	_, body := do(t, a.client(t, lee), "GET", a.Server.URL+"/", "", "")
	if !strings.Contains(body, "1 update on 1 client") || !strings.Contains(body, "Pricing call") {
		t.Errorf("lee's home page lacks the unread notification")
	}
	if _, body := do(t, a.client(t, kim), "GET", a.Server.URL+"/", "", ""); strings.Contains(body, "1 update on 1 client") {
		t.Errorf("kim's home page shows lee's notification")
	}
}

// TestHomeLiveRooms: each live room on the home says how many are in it
// (the participants of every room are read in one query).
func TestHomeLiveRooms(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	alice := a.User(t, "alice@example.com", store.RoleStaff)
	bob := a.User(t, "bob@example.com", store.RoleStaff)
	room := func(name string, people ...*store.User) {
		t.Helper()
		c, err := a.Store.CreateCompany(ctx, adm, store.CompanyInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		m, err := a.Store.CreateMeeting(ctx, adm, c.ID, store.MeetingInput{Type: "video", Subject: name + " live review", Status: store.MeetingOpen, StartsAt: time.Now().UnixMilli()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Store.OpenRoom(ctx, adm, m.ID); err != nil {
			t.Fatal(err)
		}
		for _, u := range people {
			if u.Role == store.RoleStaff {
				if err := a.Store.AssignClient(ctx, adm, u.ID, c.ID, true); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.Store.JoinRoom(ctx, u, m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	room("Alpha", alice)
	room("Bravo", bob, adm)
	room("Charlie")
	resp, body := do(t, a.client(t, adm), "GET", a.Server.URL+"/", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("home: %d", resp.StatusCode)
	}
	_, live, _ := strings.Cut(body, `id="home-rooms"`)
	live, _, _ = strings.Cut(live, "</section>")
	var got []string
	for _, item := range strings.Split(live, "<li")[1:] {
		for _, s := range []string{"Alpha", "Bravo", "Charlie", "Nobody in yet", "1 person in", "2 people in"} {
			if strings.Contains(item, s) {
				got = append(got, s)
			}
		}
	}
	if want := "Alpha,1 person in,Bravo,2 people in,Charlie,Nobody in yet"; strings.Join(got, ",") != want {
		t.Errorf("live rooms: %s, want %s", strings.Join(got, ","), want)
	}
}

// TestHomeMoreMeetingsAfterDelete: the count of the week's meetings that
// did not fit on the home page follows a company deleted whose meetings
// were only counted (deleting writes no activity), for staff and admins.
func TestHomeMoreMeetingsAfterDelete(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	alice := a.User(t, "alice@example.com", store.RoleStaff)
	company := func(name string) *store.Company {
		c, err := a.Store.CreateCompany(ctx, adm, store.CompanyInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Store.AssignClient(ctx, adm, alice.ID, c.ID, true); err != nil {
			t.Fatal(err)
		}
		return c
	}
	acme, zed := company("Acme"), company("Zed")
	// Tomorrow (the viewers chose no zone: UTC), in the week's section.
	now := time.Now().UTC()
	soon := time.Date(now.Year(), now.Month(), now.Day()+1, 10, 0, 0, 0, time.UTC)
	for i := range 50 { // the home page's meetings, all Acme's
		if _, err := a.Store.CreateMeeting(ctx, adm, acme.ID, store.MeetingInput{Type: "call", Subject: fmt.Sprint("Acme call ", i), StartsAt: soon.UnixMilli()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Store.CreateMeeting(ctx, adm, zed.ID, store.MeetingInput{Type: "call", Subject: "Zed call", StartsAt: soon.Add(time.Hour).UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 { // the newest changes, so that none names Zed
		if _, err := a.Store.AddNote(ctx, adm, acme.ID, store.NoteInput{Title: fmt.Sprint("Acme note ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	clients := []*http.Client{a.client(t, alice), a.client(t, adm)}
	home := func(c *http.Client) string {
		t.Helper()
		resp, body := do(t, c, "GET", a.Server.URL+"/", "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("home: %d", resp.StatusCode)
		}
		return body
	}
	for _, c := range clients {
		for range 2 { // read, then kept
			if body := home(c); !strings.Contains(body, "1 more meeting this week") {
				t.Fatalf("before: no \"1 more meeting\" in\n%s", body)
			}
		}
	}
	if err := a.Store.DeleteCompany(ctx, adm, zed.ID); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		if body := home(c); strings.Contains(body, "more meeting") {
			t.Errorf("after deleting Zed the home of %s still counts its meeting", []string{"staff", "an admin"}[i])
		}
	}
}
