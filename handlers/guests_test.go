package handlers_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// guestFixture is a room fixture whose client Acme has a contact, Gina,
// invited to the restricted room with bob; the room is open.
type guestFixture struct {
	*roomFixture
	gina *store.Contact
	link string // Gina's invite link, as the organiser sees it
}

func newGuestFixture(t *testing.T) *guestFixture {
	t.Helper()
	f := &guestFixture{roomFixture: newRoomFixture(t)}
	var err error
	f.gina, err = f.a.Store.AddContact(context.Background(), admin(), f.meeting.CompanyID, store.ContactInput{Name: "Gina Guest", Email: "Gina@Client.example"})
	if err != nil {
		t.Fatal(err)
	}
	if st, body := f.call(t, f.alice, "PUT", f.path(""), `{"access":"audience","audience":["gina@client.example","bob@example.com"]}`, nil); st != 200 {
		t.Fatalf("restrict: %d %s", st, body)
	}
	if st, _ := f.call(t, f.alice, "POST", f.path("/open"), "", nil); st != 200 {
		t.Fatalf("open: %d", st)
	}
	f.link = f.inviteURL(t, f.alice)
	return f
}

// inviteURL is the link of Gina that u sees in the room's JSON, or "".
func (f *guestFixture) inviteURL(t *testing.T, u *store.User) string {
	t.Helper()
	var room struct {
		Guests []struct {
			Email string
			Name  string
			URL   string `json:"invite_url"`
		}
	}
	if st, body := f.call(t, u, "GET", f.path(""), "", &room); st != 200 {
		t.Fatalf("room as %s: %d %s", u.Email, st, body)
	}
	for _, g := range room.Guests {
		if g.Email == "gina@client.example" && g.Name == "Gina Guest" {
			return g.URL
		}
	}
	return ""
}

// guestClient has no session: a guest's only credential is the link. Its
// timeout ends a stream that should have been refused.
func guestClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestGuestLink: Gina opens the room with her link and no account, joins,
// chats, and is listed as a guest to staff; her messages and the events
// log carry her name. Bob, not the organiser, sees no links.
func TestGuestLink(t *testing.T) {
	f := newGuestFixture(t)
	if !strings.HasPrefix(f.link, f.a.Server.URL+"/guest/") {
		t.Fatalf("organiser's invite_url: %q", f.link)
	}
	if got := f.inviteURL(t, f.root); got != f.link {
		t.Fatalf("admin's invite_url %q, organiser's %q", got, f.link)
	}
	if _, body := f.call(t, f.bob, "GET", f.path(""), "", nil); strings.Contains(body, "invite_url") || strings.Contains(body, "/guest/") {
		t.Fatalf("a participant who does not organise sees invite links: %s", body)
	}
	g := guestClient()
	resp, body := do(t, g, "GET", f.link, "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "Quarterly review") {
		t.Fatalf("guest page: %d\n%.500s", resp.StatusCode, body)
	}
	if strings.Contains(body, `href="/companies`) || strings.Contains(body, `href="/meetings`) || strings.Contains(body, "Events") {
		t.Fatalf("the guest page leads into Rolodex:\n%s", body)
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("guest page Referrer-Policy %q", resp.Header.Get("Referrer-Policy"))
	}
	if resp, _ := do(t, g, "POST", f.link+"/join", formType, "", "HX-Request", "true"); resp.StatusCode != 204 {
		t.Fatalf("guest join: %d", resp.StatusCode)
	}
	if resp, body := do(t, g, "POST", f.link+"/messages", formType, "body=Hello+from+Gina", "HX-Request", "true"); resp.StatusCode != 200 || !strings.Contains(body, `id="chat-form"`) {
		t.Fatalf("guest post: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, g, "POST", f.link+"/messages", formType, "body=+", "HX-Request", "true"); resp.StatusCode != 422 || !strings.Contains(body, "chat-body-error") {
		t.Fatalf("guest's empty message: %d %s", resp.StatusCode, body)
	}
	u, _ := url.Parse(f.a.Server.URL)
	if c := g.Jar.Cookies(u); len(c) != 0 {
		t.Fatalf("a guest was given cookies: %v", c)
	}

	var room struct {
		Participants []struct {
			UserID int64 `json:"user_id"`
			Guest  bool
			Name   string
		}
	}
	f.call(t, f.bob, "GET", f.path(""), "", &room)
	if len(room.Participants) != 1 || !room.Participants[0].Guest || room.Participants[0].Name != "Gina Guest" || room.Participants[0].UserID != store.GuestID(f.gina.ID) {
		t.Fatalf("participants as bob sees them: %+v", room.Participants)
	}
	var msgs struct {
		Items []struct {
			Guest bool
			Name  string
			Body  string
		}
	}
	f.call(t, f.bob, "GET", f.path("/messages"), "", &msgs)
	if len(msgs.Items) != 1 || !msgs.Items[0].Guest || msgs.Items[0].Name != "Gina Guest" || msgs.Items[0].Body != "Hello from Gina" {
		t.Fatalf("messages: %+v", msgs.Items)
	}
	// Her page, and its filter to her own messages, show it.
	if _, body := do(t, g, "GET", fmt.Sprintf("%s?user_id=%d", f.link, store.GuestID(f.gina.ID)), "", ""); !strings.Contains(body, "Hello from Gina") || !strings.Contains(body, "messages of Gina Guest") {
		t.Fatalf("guest page filtered to her messages:\n%s", body)
	}
	if resp, body := do(t, g, "GET", f.link+"/messages", "", ""); resp.StatusCode != 200 || !strings.Contains(body, "Hello from Gina") {
		t.Fatalf("guest's messages fragment: %d %s", resp.StatusCode, body)
	}
	var events pageJSON
	f.call(t, f.alice, "GET", f.path("/events"), "", &events)
	if last := events.Items[len(events.Items)-1]; last.Kind != "joined" || last.UserID != store.GuestID(f.gina.ID) {
		t.Fatalf("events log: %+v", events.Items)
	}
	// Her stream keeps her present; when it closes she leaves, logged as
	// disconnected.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", f.link+"/stream", nil)
	sresp, err := g.Do(req)
	if err != nil || sresp.StatusCode != 200 || !strings.HasPrefix(sresp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("guest stream: %v %v", err, sresp)
	}
	time.Sleep(roomsConfig.ConnTTL + time.Second)
	if in, _ := f.a.Store.IsParticipant(ctx, f.meeting.ID, store.GuestID(f.gina.ID)); !in {
		t.Fatal("a guest with an open stream was taken out of the room")
	}
	cancel()
	sresp.Body.Close()
	waitFor(t, 3*time.Second, "the guest's leave", func() bool {
		var ev pageJSON
		f.call(t, f.alice, "GET", f.path("/events"), "", &ev)
		last := ev.Items[len(ev.Items)-1]
		return last.Kind == "left" && last.Reason == "disconnected" && last.UserID == store.GuestID(f.gina.ID)
	})
	// The organiser can take a guest out like anyone else.
	do(t, g, "POST", f.link+"/join", formType, "")
	remove := fmt.Sprintf("%s/meetings/%d/room/participants/%d/remove", f.a.Server.URL, f.meeting.ID, store.GuestID(f.gina.ID))
	if resp, _ := do(t, f.clients[f.bob], "POST", remove, formType, ""); resp.StatusCode != 403 {
		t.Fatalf("bob removes the guest: %d", resp.StatusCode)
	}
	if resp, _ := do(t, f.clients[f.alice], "POST", remove, formType, ""); resp.StatusCode != 303 {
		t.Fatalf("alice removes the guest: %d", resp.StatusCode)
	}
	var ev pageJSON
	f.call(t, f.alice, "GET", f.path("/events"), "", &ev)
	if last := ev.Items[len(ev.Items)-1]; last.Kind != "left" || last.Reason != "removed" || last.UserID != store.GuestID(f.gina.ID) {
		t.Fatalf("events after the organiser removed the guest: %+v", ev.Items)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestGuestLinkRefused: links that must not work, and everything else
// of Rolodex refusing a guest.
func TestGuestLinkRefused(t *testing.T) {
	f := newGuestFixture(t)
	g := guestClient()
	refused := func(t *testing.T, what, link string) {
		t.Helper()
		for _, c := range []struct{ method, suffix, body string }{{"GET", "", ""}, {"GET", "/messages", ""}, {"GET", "/stream", ""}, {"POST", "/join", ""}, {"POST", "/messages", "body=hi"}} {
			if resp, body := do(t, g, c.method, link+c.suffix, formType, c.body); resp.StatusCode != 404 {
				t.Errorf("%s: %s %s answers %d, want 404\n%.300s", what, c.method, c.suffix, resp.StatusCode, body)
			}
		}
	}
	token := strings.TrimPrefix(f.link, f.a.Server.URL+"/guest/")
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", token)
	}
	b64 := base64.RawURLEncoding
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[0] ^= 1
	flip := b64.EncodeToString(sig)
	base := f.a.Server.URL + "/guest/"
	t.Run("tampered", func(t *testing.T) {
		refused(t, "a changed signature", base+parts[0]+"."+parts[1]+"."+flip)
		refused(t, "another address", base+parts[0]+"."+b64.EncodeToString([]byte("bob@example.com"))+"."+parts[2])
		refused(t, "no signature", base+parts[0]+"."+parts[1])
	})
	t.Run("another room", func(t *testing.T) {
		other, err := f.a.Store.CreateMeeting(context.Background(), f.alice, f.meeting.CompanyID, store.MeetingInput{Type: "video", Subject: "Other", StartsAt: time.Now().UnixMilli()})
		if err != nil {
			t.Fatal(err)
		}
		refused(t, "the link moved to another meeting", base+fmt.Sprint(other.ID)+"."+parts[1]+"."+parts[2])
		// A staff route of the other room, with the token in every place a
		// credential could go.
		for _, path := range []string{fmt.Sprintf("/meetings/%d/room", other.ID), fmt.Sprintf("/meetings/%d/room", f.meeting.ID)} {
			if resp, _ := guestDo(t, g, token, "GET", f.a.Server.URL+path); resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
				t.Errorf("guest on %s: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})
	t.Run("other pages", func(t *testing.T) {
		for _, c := range []struct {
			method, path string
			want         int
		}{
			{"GET", "/companies", 303}, {"GET", "/me", 303}, {"GET", "/", 303}, {"GET", fmt.Sprintf("/companies/%d", f.meeting.CompanyID), 303},
			{"GET", "/api/v1/companies", 401}, {"GET", f.path(""), 401}, {"GET", f.path("/messages"), 401},
			{"POST", fmt.Sprintf("/meetings/%d/room/end", f.meeting.ID), 303}, {"POST", fmt.Sprintf("/meetings/%d/room/settings", f.meeting.ID), 303},
			{"POST", f.path("/end"), 401}, {"GET", f.path("/events"), 401},
		} {
			resp, _ := guestDo(t, g, token, c.method, f.a.Server.URL+c.path)
			if resp.StatusCode != c.want || c.want == 303 && !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
				t.Errorf("guest %s %s: %d %s, want %d", c.method, c.path, resp.StatusCode, resp.Header.Get("Location"), c.want)
			}
		}
	})
	t.Run("removed from the audience", func(t *testing.T) {
		if resp, _ := do(t, g, "POST", f.link+"/join", formType, ""); resp.StatusCode != 303 {
			t.Fatalf("join: %d", resp.StatusCode)
		}
		stream, err := g.Get(f.link + "/stream")
		if err != nil || stream.StatusCode != 200 {
			t.Fatalf("stream: %v %v", err, stream)
		}
		closed := make(chan struct{})
		go func() { io.Copy(io.Discard, stream.Body); stream.Body.Close(); close(closed) }()
		if st, _ := f.call(t, f.alice, "PUT", f.path(""), `{"access":"audience","audience":["bob@example.com"]}`, nil); st != 200 {
			t.Fatal(st)
		}
		select {
		case <-closed:
		case <-time.After(3 * time.Second):
			t.Error("the removed guest's stream is still open")
		}
		refused(t, "after removal", f.link)
		if in, _ := f.a.Store.IsParticipant(context.Background(), f.meeting.ID, store.GuestID(f.gina.ID)); in {
			t.Error("a removed guest is still in the room")
		}
		var ev pageJSON
		f.call(t, f.alice, "GET", f.path("/events"), "", &ev)
		if last := ev.Items[len(ev.Items)-1]; last.Kind != "left" || last.Reason != "removed" || last.UserID != store.GuestID(f.gina.ID) {
			t.Errorf("events after removal: %+v", ev.Items)
		}
		// Back in the audience, the same link works again; a public room
		// has no guests.
		f.call(t, f.alice, "PUT", f.path(""), `{"access":"audience","audience":["gina@client.example"]}`, nil)
		if resp, _ := do(t, g, "GET", f.link, "", ""); resp.StatusCode != 200 {
			t.Errorf("re-invited: %d", resp.StatusCode)
		}
		f.call(t, f.alice, "PUT", f.path(""), `{"access":"public","audience":["gina@client.example"]}`, nil)
		refused(t, "a public room", f.link)
		f.call(t, f.alice, "PUT", f.path(""), `{"access":"audience","audience":["gina@client.example"]}`, nil)
	})
	t.Run("after the end", func(t *testing.T) {
		if st, _ := f.call(t, f.alice, "POST", f.path("/end"), "", nil); st != 200 {
			t.Fatal(st)
		}
		refused(t, "after the end", f.link)
	})
	t.Run("past the scheduled end", func(t *testing.T) {
		start, end := time.Now().Add(-3*time.Hour).UnixMilli(), time.Now().Add(-2*time.Hour).UnixMilli()
		m, err := f.a.Store.CreateMeeting(context.Background(), f.alice, f.meeting.CompanyID, store.MeetingInput{Type: "video", Subject: "Past", StartsAt: start, EndsAt: &end,
			Room: &store.RoomInput{Access: "audience", Audience: []string{"gina@client.example"}}})
		if err != nil {
			t.Fatal(err)
		}
		room, err := f.a.Store.Room(context.Background(), f.alice, m.ID)
		if err != nil || len(room.Guests) != 1 {
			t.Fatalf("past room: %v %+v", err, room)
		}
		past := f.inviteFor(t, m.ID)
		if past == "" {
			t.Fatal("no link for the past meeting")
		}
		refused(t, "past the scheduled end", past)
	})
}

// inviteFor is Gina's link to meeting id as its organiser sees it.
func (f *guestFixture) inviteFor(t *testing.T, id int64) string {
	var room struct {
		Guests []struct {
			URL string `json:"invite_url"`
		}
	}
	f.call(t, f.alice, "GET", fmt.Sprintf("/api/v1/meetings/%d/room", id), "", &room)
	if len(room.Guests) == 0 {
		return ""
	}
	return room.Guests[0].URL
}

// guestDo sends a request carrying a guest's token wherever a staff
// credential could be looked for: the session cookie, a bearer header and
// the query.
func guestDo(t *testing.T, c *http.Client, token, method, target string) (*http.Response, string) {
	t.Helper()
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return do(t, c, method, target+sep+"token="+url.QueryEscape(token), formType, "",
		"Cookie", "rolodex="+token, "Authorization", "Bearer "+token)
}

// TestBrowserGuest: a guest opens her link in a fresh browser, without an
// account, and posts; the organiser's page shows her and her message.
func TestBrowserGuest(t *testing.T) {
	f := newGuestFixture(t)
	aliceCtx := browser(t)
	err := chromedp.Do(aliceCtx,
		chromedp.Navigate(fmt.Sprintf("%s/meetings/%d/room", f.a.Server.URL, f.meeting.ID)),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, f.alice.Email),
		chromedp.SendKeys(`input[name="password"]`, storetest.Password),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(fmt.Sprintf(`#participants li[data-user="%d"]`, f.alice.ID)),
		chromedp.WaitVisible(`.guest-links input[readonly]`),
	)
	if err != nil {
		t.Fatalf("alice enters: %v", err)
	}
	if shown, err := chromedp.Run(aliceCtx, chromedp.Evaluate[string](`document.querySelector('.guest-links input[readonly]').value`)); err != nil || shown != f.link {
		t.Fatalf("the room page's guest link %q, the API's %q (%v)", shown, f.link, err)
	}
	ginaCtx, closeGina := chromedp.NewContext(aliceCtx, chromedp.WithNewBrowserContext())
	defer closeGina()
	ginaHere := fmt.Sprintf(`#participants li[data-user="%d"]`, store.GuestID(f.gina.ID))
	err = chromedp.Do(ginaCtx,
		chromedp.Navigate(f.link),
		chromedp.WaitVisible(ginaHere),
		chromedp.SendKeys(`#chat-body`, "Hello, Gina here"),
		chromedp.Click(`#chat-form button[type="submit"]`),
	)
	if err != nil {
		t.Fatalf("gina joins and posts: %v", err)
	}
	if _, err := chromedp.Run(aliceCtx, chromedp.Poll[bool](
		`!!document.querySelector('`+ginaHere+`') && document.querySelector('#chat-list').innerText.includes('Gina Guest') && document.querySelector('#chat-list').innerText.includes('Hello, Gina here')`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		html, _ := chromedp.Run(aliceCtx, chromedp.OuterHTML(`#room`))
		t.Fatalf("gina's arrival and message did not reach alice: %v\n%.2000s", err, html)
	}
	screenshot(t, aliceCtx, "room-guest-organiser")
	screenshot(t, ginaCtx, "room-guest")
	if links, err := chromedp.Run(ginaCtx, chromedp.Evaluate[int](`document.querySelectorAll('a[href^="/companies"], a[href^="/meetings"], a[href^="/me"], a[href^="/admin"]').length`)); err != nil || links != 0 {
		t.Fatalf("the guest's page has %d ways into Rolodex (%v)", links, err)
	}
}
