package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestLiveRooms: "Live now" and the navigation's count show only the open
// rooms of clients the viewer may see, with who is in each.
func TestLiveRooms(t *testing.T) {
	f := newRoomFixture(t)
	ctx := context.Background()
	count := func(u *store.User) string {
		t.Helper()
		resp, body := do(t, f.clients[u], "GET", f.a.Server.URL+"/rooms/count", "", "", "HX-Request", "true")
		if resp.StatusCode != 200 {
			t.Fatalf("count as %s: %d", u.Email, resp.StatusCode)
		}
		return body
	}
	if c := count(f.bob); strings.Contains(c, "badge") {
		t.Fatalf("count with no open room: %q", c)
	}
	if _, body := do(t, f.clients[f.bob], "GET", f.a.Server.URL+"/rooms", "", ""); !strings.Contains(body, "No meeting room is open") {
		t.Fatalf("empty state missing: %.500s", body)
	}
	if _, err := f.a.Store.OpenRoom(ctx, f.alice, f.meeting.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Store.JoinRoom(ctx, f.carol, f.meeting.ID); err != nil {
		t.Fatal(err)
	}
	if c := count(f.bob); !strings.Contains(c, ">1<") {
		t.Fatalf("count with one open room: %q", c)
	}
	if c := count(f.dave); strings.Contains(c, "badge") {
		t.Fatalf("dave, who cannot see the client, counts it: %q", c)
	}
	_, body := do(t, f.clients[f.bob], "GET", f.a.Server.URL+"/rooms", "", "")
	for _, want := range []string{"Quarterly review", fmt.Sprintf(`href="/meetings/%d/room"`, f.meeting.ID), "Acme", "carol@example.com", "joined", "1 participant"} {
		if !strings.Contains(body, want) {
			t.Errorf("live rooms as bob lack %q", want)
		}
	}
	_, body = do(t, f.clients[f.dave], "GET", f.a.Server.URL+"/rooms", "", "")
	if strings.Contains(body, "Quarterly review") || !strings.Contains(body, "No meeting room is open") {
		t.Errorf("dave sees a room of a client he may not see: %.500s", body)
	}
	// The navigation of every page loads the count after the page.
	_, body = do(t, f.clients[f.bob], "GET", f.a.Server.URL+"/companies", "", "")
	if !strings.Contains(body, `hx-get="/rooms/count"`) {
		t.Errorf("the navigation has no live count: %.300s", body)
	}
}

// TestRoomHeld: ending a room closes the meeting (in the meetings index
// too), and the company timeline shows it held: from–to, who attended,
// how many messages, a link to the transcript, which those who could
// join may read and others may not.
func TestRoomHeld(t *testing.T) {
	f := newRoomFixture(t)
	ctx := context.Background()
	if st, _ := f.call(t, f.alice, "POST", f.path("/open"), "", nil); st != 200 {
		t.Fatalf("open: %d", st)
	}
	for _, u := range []*store.User{f.alice, f.bob} {
		if st, _ := f.call(t, u, "POST", f.path("/join"), "", nil); st != 200 {
			t.Fatalf("join as %s: %d", u.Email, st)
		}
	}
	for _, m := range []struct {
		u    *store.User
		body string
	}{{f.alice, "Shall we start?"}, {f.bob, "Ready."}, {f.alice, "Done, thanks."}} {
		if st, _ := f.call(t, m.u, "POST", f.path("/messages"), `{"body":"`+m.body+`"}`, nil); st != 201 {
			t.Fatalf("post: %d", st)
		}
	}
	companyURL := fmt.Sprintf("%s/companies/%d", f.a.Server.URL, f.meeting.CompanyID)
	_, before := do(t, f.clients[f.bob], "GET", companyURL, "", "")
	if strings.Contains(before, "Transcript") {
		t.Fatal("the timeline shows the meeting held before it ended")
	}
	if st, _ := f.call(t, f.alice, "POST", f.path("/end"), "", nil); st != 200 {
		t.Fatalf("end: %d", st)
	}
	m, err := f.a.Store.Meeting(ctx, f.bob, f.meeting.ID)
	if err != nil || m.Status != store.MeetingClosed {
		t.Fatalf("meeting after its room ended: %+v %v", m, err)
	}
	var list struct{ Items []struct{ ID int64 } }
	if st, _ := f.call(t, f.bob, "GET", "/api/v1/meetings?status=closed", "", &list); st != 200 || len(list.Items) != 1 || list.Items[0].ID != f.meeting.ID {
		t.Fatalf("closed meetings list: %d %+v", st, list)
	}
	// The same page, rendered again: the cached timeline item must not
	// be the one from before the end.
	_, body := do(t, f.clients[f.bob], "GET", companyURL, "", "")
	transcript := fmt.Sprintf("/meetings/%d/room/transcript", f.meeting.ID)
	for _, want := range []string{"Held", "2 attendees: alice@example.com, bob@example.com", "3 messages", `href="` + transcript + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("timeline after the end lacks %q", want)
		}
	}
	var tl struct {
		Items []struct {
			Type string
			Held *store.RoomSummary
		}
	}
	if st, _ := f.call(t, f.bob, "GET", fmt.Sprintf("/api/v1/companies/%d/timeline", f.meeting.CompanyID), "", &tl); st != 200 {
		t.Fatalf("timeline API: %d", st)
	}
	for _, it := range tl.Items {
		if it.Type == store.TypeMeeting && (it.Held == nil || it.Held.Messages != 3 || it.Held.To < it.Held.From || len(it.Held.Attendees) != 2) {
			t.Errorf("timeline API meeting held: %+v", it.Held)
		}
	}

	_, body = do(t, f.clients[f.carol], "GET", f.a.Server.URL+transcript, "", "")
	for _, want := range []string{"Shall we start?", "Ready.", "Done, thanks.", "3 messages"} {
		if !strings.Contains(body, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	if resp, _ := do(t, f.clients[f.dave], "GET", f.a.Server.URL+transcript, "", ""); resp.StatusCode != 404 {
		t.Errorf("transcript for a viewer who cannot see the client: %d, want 404", resp.StatusCode)
	}
	// A restricted room's transcript is its audience's.
	if st, _ := f.call(t, f.alice, "PUT", f.path(""), `{"access":"audience","audience":["bob@example.com"]}`, nil); st != 200 {
		t.Fatalf("restrict: %d", st)
	}
	if resp, _ := do(t, f.clients[f.carol], "GET", f.a.Server.URL+transcript, "", ""); resp.StatusCode != 403 {
		t.Errorf("transcript for a viewer outside the audience: %d, want 403", resp.StatusCode)
	}
	if resp, _ := do(t, f.clients[f.bob], "GET", f.a.Server.URL+transcript, "", ""); resp.StatusCode != 200 {
		t.Errorf("transcript for the audience: %d, want 200", resp.StatusCode)
	}
}

// TestRoomHeldOnSchedule: a room closed by the scheduler (its end passed
// while nobody was watching) is held and its meeting closed just the same.
func TestRoomHeldOnSchedule(t *testing.T) {
	f := newRoomFixture(t)
	ctx := context.Background()
	start := time.Now().Add(-2 * time.Hour).UnixMilli()
	end := start + 1800000
	m, err := f.a.Store.CreateMeeting(ctx, f.alice, f.meeting.CompanyID, store.MeetingInput{Type: "call", Subject: "Past", StartsAt: start, EndsAt: &end})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Store.OpenRoomAt(ctx, m.ID, start); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Store.JoinRoom(ctx, f.bob, m.ID); err != nil {
		t.Fatal(err)
	}
	f.a.Handler.Rooms.Rescheduled(ctx, store.DefaultWorkspace, m.ID)
	deadline := time.Now().Add(5 * time.Second)
	for {
		held, err := f.a.Store.HeldRoom(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if held != nil {
			if held.From != start || held.To != end || len(held.Attendees) != 1 || held.Attendees[0] != "bob@example.com" {
				t.Fatalf("summary: %+v", held)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scheduler did not end the room within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := f.a.Store.Meeting(ctx, f.alice, m.ID); err != nil || got.Status != store.MeetingClosed {
		t.Fatalf("meeting after the scheduler ended its room: %+v %v", got, err)
	}
}

// TestBrowserLiveCount: a page left open shows the "Live" count change
// when another user's room opens, without a reload.
func TestBrowserLiveCount(t *testing.T) {
	f := newRoomFixture(t)
	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(f.a.Server.URL+"/companies"),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, f.bob.Email),
		chromedp.SendKeys(`input[name="password"]`, storetest.Password),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitReady(`#live-count`),
		chromedp.Sleep(500*time.Millisecond), // the count's first load
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	before, err := chromedp.Run(ctx, chromedp.TextContent(`#live-count`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(before) != "" {
		t.Fatalf("count before any room opened: %q", before)
	}
	if st, _ := f.call(t, f.alice, "POST", f.path("/open"), "", nil); st != 200 {
		t.Fatalf("alice opens her room: %d", st)
	}
	opened := time.Now()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('#live-count').innerText.trim().startsWith('1')`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(`#main-nav`))
		t.Fatalf("the count did not change without a reload: %v\n%s", err, html)
	}
	t.Logf("count updated %s after the room opened", time.Since(opened).Round(time.Millisecond))
	screenshot(t, ctx, "live-count")
}
