package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rolodex/rolodex/rooms"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// roomsConfig is the hub's timing in handler tests: a closed page leaves
// within about a second and a half.
var roomsConfig = rooms.Config{
	ConnTTL:   3 * time.Second,
	Refresh:   time.Second,
	Grace:     700 * time.Millisecond,
	APITTL:    5 * time.Second,
	Sweep:     250 * time.Millisecond,
	Lookahead: time.Minute,
}

// roomFixture: Acme, seen by alice (who organises the meeting), bob and
// carol; dave sees nothing. The meeting starts in an hour.
type roomFixture struct {
	a                             *testApp
	alice, bob, carol, dave, root *store.User
	meeting                       *store.Meeting
	clients                       map[*store.User]*http.Client
}

func newRoomFixture(t *testing.T) *roomFixture {
	t.Helper()
	a := newTestApp(t)
	ctx := context.Background()
	f := &roomFixture{a: a, clients: map[*store.User]*http.Client{}}
	f.alice = a.User(t, "alice@example.com", store.RoleStaff)
	f.bob = a.User(t, "bob@example.com", store.RoleStaff)
	f.carol = a.User(t, "carol@example.com", store.RoleStaff)
	f.dave = a.User(t, "dave@example.com", store.RoleStaff)
	f.root = a.User(t, "root@example.com", store.RoleAdmin)
	acme := mustCompany(t, a, "Acme")
	for _, u := range []*store.User{f.alice, f.bob, f.carol} {
		if err := a.Store.AssignClient(ctx, admin(), u.ID, acme.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	f.meeting, err = a.Store.CreateMeeting(ctx, f.alice, acme.ID, store.MeetingInput{Type: "video", Subject: "Quarterly review", StartsAt: time.Now().Add(time.Hour).UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []*store.User{f.alice, f.bob, f.carol, f.dave, f.root} {
		f.clients[u] = a.client(t, u)
	}
	return f
}

// call sends a JSON request as u and decodes the answer into out (when
// not nil); it returns the status and the raw body.
func (f *roomFixture) call(t *testing.T, u *store.User, method, path, body string, out any) (int, string) {
	t.Helper()
	ctype := ""
	if body != "" {
		ctype = jsonType
	}
	resp, b := do(t, f.clients[u], method, f.a.Server.URL+path, ctype, body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode, b
}

func (f *roomFixture) path(suffix string) string {
	return fmt.Sprintf("/api/v1/meetings/%d/room%s", f.meeting.ID, suffix)
}

type roomJSON struct {
	State        string
	Access       string
	Audience     []string
	Participants []struct {
		UserID   int64 `json:"user_id"`
		Name     string
		JoinedAt int64 `json:"joined_at"`
	}
}

type pageJSON struct {
	Items []struct {
		ID     int64
		UserID int64 `json:"user_id"`
		Body   string
		Kind   string
		Reason string
	}
	Next string `json:"next_cursor"`
}

// TestRoomAPI runs the seed's nine functions over the JSON API: join
// (public and audience rules, only while open), leave, participants,
// active rooms, end (everyone leaves), post, messages in order with
// paging, when participants joined, one user's messages.
func TestRoomAPI(t *testing.T) {
	f := newRoomFixture(t)
	var room roomJSON
	if st, _ := f.call(t, f.bob, "GET", f.path(""), "", &room); st != 200 || room.State != "scheduled" || room.Access != "public" {
		t.Fatalf("new room: %d %+v", st, room)
	}
	if st, _ := f.call(t, f.dave, "GET", f.path(""), "", nil); st != 404 {
		t.Fatalf("room of an invisible client: %d, want 404", st)
	}
	if st, body := f.call(t, f.bob, "POST", f.path("/join"), "", nil); st != 409 {
		t.Fatalf("join before it opens: %d %s, want 409", st, body)
	}
	if st, _ := f.call(t, f.bob, "POST", f.path("/open"), "", nil); st != 403 {
		t.Fatalf("open by a non-organiser: %d, want 403", st)
	}
	if st, _ := f.call(t, f.alice, "POST", f.path("/open"), "", &room); st != 200 || room.State != "open" {
		t.Fatalf("open early: %d %+v", st, room)
	}
	// Restricted to bob (and its organiser).
	if st, body := f.call(t, f.alice, "PUT", f.path(""), `{"access":"audience","audience":[" Bob@Example.com ","bad"],"video_url":"https://meet.example/abc"}`, nil); st != 422 || !strings.Contains(body, `"audience"`) {
		t.Fatalf("bad audience: %d %s", st, body)
	}
	if st, _ := f.call(t, f.alice, "PUT", f.path(""), `{"access":"audience","audience":[" Bob@Example.com "],"video_url":"https://meet.example/abc"}`, &room); st != 200 || room.Access != "audience" || len(room.Audience) != 1 || room.Audience[0] != "bob@example.com" {
		t.Fatalf("set audience: %d %+v", st, room)
	}
	if st, body := f.call(t, f.carol, "POST", f.path("/join"), "", nil); st != 403 || !strings.Contains(body, "restricted") {
		t.Fatalf("join by a viewer outside the audience: %d %s, want 403", st, body)
	}
	if resp, body := do(t, f.clients[f.carol], "GET", fmt.Sprintf("%s/meetings/%d/room", f.a.Server.URL, f.meeting.ID), "", ""); resp.StatusCode != 403 || !strings.Contains(body, "restricted") || !strings.Contains(body, f.alice.Email) {
		t.Fatalf("room page for a viewer outside the audience: %d, want 403 naming the organiser\n%.500s", resp.StatusCode, body)
	}
	if st, _ := f.call(t, f.dave, "POST", f.path("/join"), "", nil); st != 404 {
		t.Fatalf("join by a user who cannot see the client: %d, want 404", st)
	}
	for _, u := range []*store.User{f.alice, f.bob} {
		if st, body := f.call(t, u, "POST", f.path("/join"), "", nil); st != 200 {
			t.Fatalf("join as %s: %d %s", u.Email, st, body)
		}
	}
	// Participants, and when each joined.
	room = roomJSON{}
	if st, _ := f.call(t, f.bob, "GET", f.path(""), "", &room); st != 200 || len(room.Participants) != 2 || room.Audience != nil {
		t.Fatalf("participants: %d %+v (the audience is the organiser's)", st, room)
	}
	// Who is there, and the call's link, are for those who may join.
	if st, body := f.call(t, f.carol, "GET", f.path(""), "", nil); st != 403 {
		t.Fatalf("the room to a viewer outside the audience: %d %s, want 403", st, body)
	}
	for _, p := range room.Participants {
		if p.Name == "" || p.JoinedAt < time.Now().Add(-time.Minute).UnixMilli() || p.UserID != f.alice.ID && p.UserID != f.bob.ID {
			t.Errorf("participant %+v", p)
		}
	}
	// Active rooms: the ones you may see, with counts.
	var live struct {
		Items []struct {
			MeetingID    int64 `json:"meeting_id"`
			CompanyID    int64 `json:"company_id"`
			Subject      string
			OpenedAt     int64 `json:"opened_at"`
			Participants int
		}
	}
	if st, _ := f.call(t, f.carol, "GET", "/api/v1/rooms", "", &live); st != 200 || len(live.Items) != 1 || live.Items[0].MeetingID != f.meeting.ID || live.Items[0].Participants != 2 || live.Items[0].OpenedAt == 0 {
		t.Fatalf("active rooms: %d %+v", st, live)
	}
	if st, _ := f.call(t, f.dave, "GET", "/api/v1/rooms", "", &live); st != 200 || len(live.Items) != 0 {
		t.Fatalf("active rooms of a user without the client: %+v", live)
	}
	// Chat.
	if st, body := f.call(t, f.bob, "POST", f.path("/messages"), `{"body":"   "}`, nil); st != 422 || !strings.Contains(body, `"body"`) {
		t.Fatalf("empty message: %d %s", st, body)
	}
	if st, _ := f.call(t, f.carol, "GET", f.path("/messages"), "", nil); st != 403 {
		t.Fatalf("messages of a restricted room for a viewer outside it: %d", st)
	}
	posts := []struct {
		u    *store.User
		body string
	}{{f.bob, "hello"}, {f.alice, "hi bob"}, {f.bob, "agenda?"}, {f.bob, "see https://example.com/doc"}, {f.alice, "ok"}}
	for _, p := range posts {
		if st, body := f.call(t, p.u, "POST", f.path("/messages"), fmt.Sprintf(`{"body":%q}`, p.body), nil); st != 201 {
			t.Fatalf("post: %d %s", st, body)
		}
	}
	var all []string
	cursor := ""
	for {
		var page pageJSON
		if st, body := f.call(t, f.alice, "GET", f.path("/messages?limit=2&cursor="+cursor), "", &page); st != 200 {
			t.Fatalf("messages: %d %s", st, body)
		}
		var bodies []string
		for _, m := range page.Items {
			bodies = append(bodies, m.Body)
		}
		all = append(bodies, all...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if got := strings.Join(all, "|"); got != "hello|hi bob|agenda?|see https://example.com/doc|ok" {
		t.Fatalf("chat in order: %s", got)
	}
	var bobs pageJSON
	if st, _ := f.call(t, f.alice, "GET", f.path(fmt.Sprintf("/messages?user_id=%d", f.bob.ID)), "", &bobs); st != 200 || len(bobs.Items) != 3 {
		t.Fatalf("bob's messages: %+v", bobs)
	}
	for _, m := range bobs.Items {
		if m.UserID != f.bob.ID {
			t.Fatalf("someone else's message in bob's: %+v", m)
		}
	}
	// The rate limit: bob has 3; 7 more pass, the next is 429.
	for i := 0; i < 7; i++ {
		if st, body := f.call(t, f.bob, "POST", f.path("/messages"), `{"body":"x"}`, nil); st != 201 {
			t.Fatalf("post %d: %d %s", i, st, body)
		}
	}
	if st, body := f.call(t, f.bob, "POST", f.path("/messages"), `{"body":"x"}`, nil); st != 429 || !strings.Contains(body, "10 in 10 seconds") {
		t.Fatalf("11th message in 10 s: %d %s", st, body)
	}
	// Leave, then end: everyone still in leaves, logged as ended.
	if st, _ := f.call(t, f.bob, "POST", f.path("/leave"), "", nil); st != 200 {
		t.Fatalf("leave: %d", st)
	}
	if st, _ := f.call(t, f.bob, "POST", f.path("/messages"), `{"body":"still here?"}`, nil); st != 403 {
		t.Fatalf("post after leaving: %d, want 403", st)
	}
	if st, _ := f.call(t, f.bob, "POST", f.path("/join"), "", nil); st != 200 {
		t.Fatalf("join again: %d", st)
	}
	if st, _ := f.call(t, f.bob, "POST", f.path("/end"), "", nil); st != 403 {
		t.Fatalf("end by a participant: %d, want 403", st)
	}
	if st, _ := f.call(t, f.root, "POST", f.path("/end"), "", &room); st != 200 || room.State != "ended" || len(room.Participants) != 0 {
		t.Fatalf("end by an admin: %d %+v", st, room)
	}
	if st, _ := f.call(t, f.bob, "POST", f.path("/join"), "", nil); st != 409 {
		t.Fatalf("join after the end: %d, want 409", st)
	}
	var log pageJSON
	if st, _ := f.call(t, f.bob, "GET", f.path("/events"), "", nil); st != 403 {
		t.Fatalf("events log for a participant: %d, want 403", st)
	}
	if st, _ := f.call(t, f.alice, "GET", f.path("/events"), "", &log); st != 200 {
		t.Fatalf("events: %d", st)
	}
	var kinds []string
	for _, e := range log.Items {
		kinds = append(kinds, e.Kind+"/"+e.Reason)
	}
	if got := strings.Join(kinds, " "); got != "opened/ joined/ joined/ left/left joined/ left/ended left/ended ended/" {
		t.Fatalf("events log: %s", got)
	}
	if st, _ := f.call(t, f.carol, "GET", "/api/v1/rooms", "", &live); st != 200 || len(live.Items) != 0 {
		t.Fatalf("active rooms after the end: %+v", live)
	}
}

// TestRoomAPIParticipantTimesOut: a participant who joined over the API
// and makes no more requests is gone once APITTL passes.
func TestRoomAPIParticipantTimesOut(t *testing.T) {
	f := newRoomFixture(t)
	f.call(t, f.alice, "POST", f.path("/open"), "", nil)
	if st, _ := f.call(t, f.bob, "POST", f.path("/join"), "", nil); st != 200 {
		t.Fatalf("join: %d", st)
	}
	// Requests keep bob in past one APITTL.
	for end := time.Now().Add(roomsConfig.APITTL + time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		f.call(t, f.bob, "GET", f.path("/messages"), "", nil)
	}
	var room roomJSON
	if f.call(t, f.alice, "GET", f.path(""), "", &room); len(room.Participants) != 1 {
		t.Fatalf("bob left while making requests: %+v", room)
	}
	deadline := time.Now().Add(roomsConfig.APITTL + time.Second)
	for {
		f.call(t, f.alice, "GET", f.path(""), "", &room)
		if len(room.Participants) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob still in %s after his last request", roomsConfig.APITTL+time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sseEvent is one event read off a stream.
type sseEvent struct{ id, event, data string }

// readSSE reads events off a stream into a channel until it closes.
func readSSE(resp *http.Response) <-chan sseEvent {
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data += line[6:] + "\n"
			}
		}
	}()
	return ch
}

var msgID = regexp.MustCompile(`id="msg-(\d+)"`)

// TestRoomStreamResume: a stream is cut mid-conversation and comes back,
// once with Last-Event-ID and once with ?after=; every message arrives
// exactly once, each event with an id.
func TestRoomStreamResume(t *testing.T) {
	f := newRoomFixture(t)
	f.call(t, f.alice, "POST", f.path("/open"), "", nil)
	for _, u := range []*store.User{f.alice, f.bob} {
		f.call(t, u, "POST", f.path("/join"), "", nil)
	}
	streamURL := fmt.Sprintf("%s/meetings/%d/room/stream", f.a.Server.URL, f.meeting.ID)
	open := func(ctx context.Context, url, lastID string) <-chan sseEvent {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := f.clients[f.carol].Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return readSSE(resp)
	}
	seen := map[string]int{}
	lastID := ""
	// take reads events until want messages have arrived.
	take := func(ch <-chan sseEvent, want int) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for got := 0; got < want; {
			select {
			case ev, ok := <-ch:
				if !ok {
					t.Fatal("stream closed early")
				}
				if ev.id == "" {
					t.Fatalf("event without an id: %+v", ev)
				}
				lastID = ev.id
				if ev.event == "message" {
					m := msgID.FindStringSubmatch(ev.data)
					if m == nil {
						t.Fatalf("message without its id: %q", ev.data)
					}
					seen[m[1]]++
					got++
				}
			case <-timeout:
				t.Fatalf("waited 10 s for %d messages, have %d", want, got)
			}
		}
	}
	post := func(n int, from int) {
		for i := 0; i < n; i++ {
			u := []*store.User{f.alice, f.bob}[i%2]
			if st, body := f.call(t, u, "POST", f.path("/messages"), fmt.Sprintf(`{"body":"message %d"}`, from+i), nil); st != 201 {
				t.Fatalf("post: %d %s", st, body)
			}
		}
	}

	ctx1, cut1 := context.WithCancel(context.Background())
	s1 := open(ctx1, streamURL, "")
	time.Sleep(200 * time.Millisecond)
	post(4, 0)
	take(s1, 4)
	cut1()
	// Posted while nobody listens.
	post(3, 4)
	ctx2, cut2 := context.WithCancel(context.Background())
	s2 := open(ctx2, streamURL, lastID)
	take(s2, 3)
	post(2, 7)
	take(s2, 2)
	cut2()
	post(3, 9)
	ctx3, cut3 := context.WithCancel(context.Background())
	defer cut3()
	s3 := open(ctx3, streamURL+"?after="+lastID, "")
	take(s3, 3)
	post(1, 12)
	take(s3, 1)
	// Nothing more comes: no message twice.
	select {
	case ev := <-s3:
		if ev.event == "message" {
			t.Fatalf("an extra message: %+v", ev)
		}
	case <-time.After(500 * time.Millisecond):
	}
	if len(seen) != 13 {
		t.Fatalf("got %d distinct messages, want 13: %v", len(seen), seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s arrived %d times", id, n)
		}
	}
}

// TestBrowserRoomLive: two people in one room in real Chromium, each in
// their own browser context. A message typed by one appears for the
// other without a reload; closing one's page takes them off the other's
// list within 5 s.
func TestBrowserRoomLive(t *testing.T) {
	f := newRoomFixture(t)
	bg := context.Background()
	if _, err := f.a.Store.OpenRoom(bg, f.alice, f.meeting.ID); err != nil {
		t.Fatal(err)
	}
	roomURL := fmt.Sprintf("%s/meetings/%d/room", f.a.Server.URL, f.meeting.ID)
	enter := func(ctx context.Context, u *store.User) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(roomURL),
			chromedp.WaitVisible(`input[name="email"]`),
			chromedp.SendKeys(`input[name="email"]`, u.Email),
			chromedp.SendKeys(`input[name="password"]`, storetest.Password),
			chromedp.Submit(`input[name="password"]`),
			chromedp.WaitVisible(fmt.Sprintf(`#participants li[data-user="%d"]`, u.ID)),
		)
		if err != nil {
			t.Fatalf("%s enters the room: %v", u.Email, err)
		}
	}
	aliceCtx := browser(t)
	enter(aliceCtx, f.alice)
	bobCtx, closeBob := chromedp.NewContext(aliceCtx, chromedp.WithNewBrowserContext())
	defer closeBob()
	enter(bobCtx, f.bob)
	bobHere := fmt.Sprintf(`#participants li[data-user="%d"]`, f.bob.ID)
	if err := chromedp.Do(aliceCtx, chromedp.WaitVisible(bobHere)); err != nil {
		t.Fatalf("alice does not see bob arrive: %v", err)
	}
	err := chromedp.Do(bobCtx,
		chromedp.SendKeys(`#chat-body`, "Hello from Bob, see https://example.com/deck"),
		chromedp.Click(`#chat-form button[type="submit"]`),
	)
	if err != nil {
		t.Fatalf("bob sends: %v", err)
	}
	if _, err := chromedp.Run(aliceCtx, chromedp.Poll[bool](
		`document.querySelector('#chat-list').innerText.includes('Hello from Bob') && !!document.querySelector('#chat-list a[href="https://example.com/deck"]')`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		html, _ := chromedp.Run(aliceCtx, chromedp.OuterHTML(`#chat-list`))
		t.Fatalf("bob's message did not reach alice: %v\n%s", err, html)
	}
	screenshot(t, aliceCtx, "room-alice")
	// Bob's own page has it too, once, and the box is empty again.
	n, err := chromedp.Run(bobCtx, chromedp.Poll[int](
		`document.querySelectorAll('#chat-list li.message').length === 1 && document.querySelector('#chat-body').value === '' ? 1 : 0`,
		chromedp.WithPollingTimeout(5*time.Second)))
	if err != nil || n != 1 {
		t.Fatalf("bob's page after sending: %d %v", n, err)
	}
	closed := time.Now()
	closeBob()
	if _, err := chromedp.Run(aliceCtx, chromedp.Poll[bool](`!document.querySelector('`+bobHere+`')`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("bob still listed 5 s after closing his page: %v", err)
	}
	t.Logf("bob gone from alice's list %s after closing his page", time.Since(closed).Round(time.Millisecond))
	if _, err := chromedp.Run(aliceCtx, chromedp.Poll[bool](
		`document.querySelector('#events-list').innerText.includes('was disconnected')`,
		chromedp.WithPollingTimeout(2*time.Second))); err != nil {
		t.Fatalf("the organiser's events log lacks the leave: %v", err)
	}
	// Ended by an admin elsewhere: alice's page says so, without a chat box.
	if st, _ := f.call(t, f.root, "POST", f.path("/end"), "", nil); st != 200 {
		t.Fatalf("end: %d", st)
	}
	if _, err := chromedp.Run(aliceCtx, chromedp.Poll[bool](
		`document.querySelector('#room-ended').innerText.includes('This meeting has ended') && !document.querySelector('#chat-form') && document.querySelector('#participants').innerText.includes('Nobody') && !document.querySelector('#room-controls').innerText.includes('End for everyone')`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		html, _ := chromedp.Run(aliceCtx, chromedp.OuterHTML(`#room`))
		t.Fatalf("alice's page after the end: %v\n%.2000s", err, html)
	}
	screenshot(t, aliceCtx, "room-ended")
}

// TestRoomSettingsForm: the organiser restricts the room from its page; a
// bad address is a 422 beside the field.
func TestRoomSettingsForm(t *testing.T) {
	f := newRoomFixture(t)
	url := fmt.Sprintf("%s/meetings/%d/room/settings", f.a.Server.URL, f.meeting.ID)
	resp, body := do(t, f.clients[f.alice], "POST", url, formType, "access=audience&audience=bob%40example.com%0Anot-an-address&video_url=https%3A%2F%2Fmeet.example%2Fx", "HX-Request", "true")
	if resp.StatusCode != 422 || !strings.Contains(body, `id="room-audience-error"`) || !strings.Contains(body, "not-an-address") {
		t.Fatalf("bad address: %d\n%s", resp.StatusCode, body)
	}
	resp, body = do(t, f.clients[f.alice], "POST", url, formType, "access=audience&audience=bob%40example.com%0Acarol%40example.com&video_url=https%3A%2F%2Fmeet.example%2Fx", "HX-Request", "true")
	if resp.StatusCode != 200 || !strings.Contains(body, "Saved.") {
		t.Fatalf("good settings: %d\n%s", resp.StatusCode, body)
	}
	var room roomJSON
	if f.call(t, f.alice, "GET", f.path(""), "", &room); room.Access != "audience" || strings.Join(room.Audience, ",") != "bob@example.com,carol@example.com" {
		t.Fatalf("saved room: %+v", room)
	}
	if resp, _ := do(t, f.clients[f.bob], "POST", url, formType, "access=public"); resp.StatusCode != 403 {
		t.Fatalf("settings by a non-organiser: %d", resp.StatusCode)
	}
}

// TestBrowserRoomOpensWhileWaiting: a page open before the room opens
// joins when it opens, and gets its chat box, without a reload.
func TestBrowserRoomOpensWhileWaiting(t *testing.T) {
	f := newRoomFixture(t)
	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/meetings/%d/room", f.a.Server.URL, f.meeting.ID)),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, f.bob.Email),
		chromedp.SendKeys(`input[name="password"]`, storetest.Password),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(`#room-state`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#chat-form').length`)); err != nil || n != 0 {
		t.Fatalf("chat box before the room opens: %d %v", n, err)
	}
	time.Sleep(300 * time.Millisecond) // the stream connects
	if st, _ := f.call(t, f.alice, "POST", f.path("/open"), "", nil); st != 200 {
		t.Fatalf("open: %d", st)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		fmt.Sprintf(`!!document.querySelector('#chat-form') && !!document.querySelector('#participants li[data-user="%d"]')`, f.bob.ID),
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(`#room`))
		t.Fatalf("bob's page after the room opened: %v\n%.2000s", err, html)
	}
}

// TestRoomStreamEndsWithAccess: a stream makes no new requests, so it asks
// again on its own: losing the client, or the session, closes it within
// streamRecheck.
func TestRoomStreamEndsWithAccess(t *testing.T) {
	f := newRoomFixture(t)
	f.call(t, f.alice, "POST", f.path("/open"), "", nil)
	streamURL := fmt.Sprintf("%s/meetings/%d/room/stream", f.a.Server.URL, f.meeting.ID)
	follow := func(u *store.User) <-chan sseEvent {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", streamURL, nil)
		resp, err := f.clients[u].Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream as %s: %v %v", u.Email, resp, err)
		}
		return readSSE(resp)
	}
	closes := func(who string, ch <-chan sseEvent) {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return
				}
			case <-timeout:
				t.Fatalf("%s's stream still open 15 s after access ended", who)
			}
		}
	}
	carol, bob := follow(f.carol), follow(f.bob)
	// Carol loses the client; Bob signs out everywhere.
	if err := f.a.Store.AssignClient(t.Context(), admin(), f.carol.ID, f.meeting.CompanyID, false); err != nil {
		t.Fatal(err)
	}
	if resp, _ := do(t, f.clients[f.bob], "POST", f.a.Server.URL+"/me/sessions/delete-all", formType, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", resp.StatusCode)
	}
	closes("carol", carol)
	closes("bob", bob)
}

// TestAudienceByUser: the audience lets a user in by who they are, not by
// the address they give themselves: taking an address that is on the list
// (a client contact's) does not open the room.
func TestAudienceByUser(t *testing.T) {
	f := newRoomFixture(t)
	if st, body := f.call(t, f.alice, "PUT", f.path(""), `{"access":"audience","audience":["bob@example.com","lee@client.example"]}`, nil); st != 200 {
		t.Fatalf("restrict: %d %s", st, body)
	}
	f.call(t, f.alice, "POST", f.path("/open"), "", nil)
	if st, _ := f.call(t, f.bob, "POST", f.path("/join"), "", nil); st != 200 {
		t.Fatalf("bob, on the list: %d", st)
	}
	resp, _ := do(t, f.clients[f.carol], "POST", f.a.Server.URL+"/me", formType, "name=Carol&email=lee%40client.example&time_zone=UTC")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("carol takes the address: %d", resp.StatusCode)
	}
	if st, body := f.call(t, f.carol, "POST", f.path("/join"), "", nil); st != 403 {
		t.Errorf("carol with an address on the list: %d %s, want 403", st, body)
	}
}
