package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/rolodex/rolodex/store"
)

// TestMeetingFormLiveRoom: the meeting form's "Live room" section, on the
// company page's add form and the edit page. It offers the client's users
// and contacts, saves with the meeting (nothing saved when either is
// refused: 422 beside the field), is the organiser's, and never lets in
// anyone who cannot see the client.
func TestMeetingFormLiveRoom(t *testing.T) {
	f := newRoomFixture(t)
	ctx := context.Background()
	cid := f.meeting.CompanyID
	if _, err := f.a.Store.AddContact(ctx, admin(), cid, store.ContactInput{Name: "Gina Guest", Email: "gina@client.example"}); err != nil {
		t.Fatal(err)
	}
	base := f.a.Server.URL
	alice := f.clients[f.alice]

	_, form := do(t, alice, "GET", fmt.Sprintf("%s/companies/%d/meetings/new", base, cid), "", "", "HX-Request", "true")
	for _, want := range []string{"Live room", `name="audience" value="bob@example.com"`, `name="audience" value="gina@client.example"`, "(guest)", `name="video_url"`} {
		if !strings.Contains(form, want) {
			t.Errorf("the add form lacks %q", want)
		}
	}
	if strings.Contains(form, "dave@example.com") {
		t.Error("the add form offers a user who cannot see the client")
	}

	add := func(room url.Values) (int, string) {
		v := url.Values{"type": {"video"}, "subject": {"Kickoff"}, "starts_at": {"2026-12-01T10:00"}, "room": {"1"}}
		for k, vs := range room {
			v[k] = vs
		}
		resp, body := do(t, alice, "POST", fmt.Sprintf("%s/companies/%d/meetings", base, cid), formType, v.Encode(), "HX-Request", "true")
		return resp.StatusCode, body
	}
	st, body := add(url.Values{"access": {"audience"}, "audience": {"bob@example.com", "gina@client.example"},
		"audience_more": {"carol@example.com, not-an-address"}, "video_url": {"javascript:alert(1)"}})
	if st != 422 || !strings.Contains(body, `id="meeting-room-audience_more-error"`) || !strings.Contains(body, "not-an-address") ||
		!strings.Contains(body, `id="meeting-room-video_url-error"`) || !strings.Contains(body, `value="gina@client.example" checked`) {
		t.Fatalf("bad room settings: %d\n%s", st, body)
	}
	if n := meetingsNamed(t, f, "Kickoff"); n != 0 {
		t.Fatalf("a refused form saved %d meetings", n)
	}
	if st, body := add(url.Values{"access": {"audience"}, "audience": {"bob@example.com", "gina@client.example"},
		"audience_more": {"carol@example.com\ndave@example.com"}, "video_url": {"https://meet.example/k"}}); st != 200 {
		t.Fatalf("good form: %d %s", st, body)
	}
	id := lastMeeting(t, f, "Kickoff")
	var room roomJSON
	var extra struct {
		VideoURL string `json:"video_url"`
	}
	path := fmt.Sprintf("/api/v1/meetings/%d/room", id)
	f.call(t, f.alice, "GET", path, "", &room)
	f.call(t, f.alice, "GET", path, "", &extra)
	if room.Access != "audience" || strings.Join(room.Audience, ",") != "bob@example.com,carol@example.com,dave@example.com,gina@client.example" || extra.VideoURL != "https://meet.example/k" {
		t.Fatalf("saved room: %+v %q", room, extra.VideoURL)
	}
	// In the audience, dave still cannot see the client.
	if st, _ := f.call(t, f.dave, "GET", path, "", nil); st != 404 {
		t.Fatalf("an audience member without the client: %d, want 404", st)
	}

	edit := fmt.Sprintf("%s/meetings/%d/edit", base, id)
	if _, page := do(t, alice, "GET", edit, "", ""); !strings.Contains(page, `<legend>Live room</legend>`) || !strings.Contains(page, `value="gina@client.example" checked`) ||
		!strings.Contains(page, "https://meet.example/k") {
		t.Fatalf("the organiser's edit page:\n%s", page)
	}
	if _, page := do(t, f.clients[f.bob], "GET", edit, "", ""); strings.Contains(page, `name="room"`) {
		t.Fatal("the edit page offers the room's settings to someone who does not organise it")
	}
	update := func(u *store.User, v url.Values) int {
		v.Set("type", "video")
		v.Set("subject", "Kickoff")
		v.Set("starts_at", "2026-12-01T10:00")
		resp, _ := do(t, f.clients[u], "POST", fmt.Sprintf("%s/meetings/%d", base, id), formType, v.Encode())
		return resp.StatusCode
	}
	if st := update(f.bob, url.Values{"room": {"1"}, "access": {"public"}}); st != 403 {
		t.Fatalf("room settings from a non-organiser: %d, want 403", st)
	}
	if st := update(f.bob, url.Values{"details": {"agenda"}}); st != 303 {
		t.Fatalf("a plain edit by a non-organiser: %d", st)
	}
	if st := update(f.alice, url.Values{"room": {"1"}, "access": {"audience"}, "audience": {"bob@example.com"}}); st != 303 {
		t.Fatalf("organiser's edit: %d", st)
	}
	f.call(t, f.alice, "GET", path, "", &room)
	f.call(t, f.alice, "GET", path, "", &extra)
	if strings.Join(room.Audience, ",") != "bob@example.com" || extra.VideoURL != "" {
		t.Fatalf("room after the edit: %+v %q", room, extra.VideoURL)
	}

	// The JSON API takes the same settings with the meeting.
	st, body = f.call(t, f.alice, "POST", fmt.Sprintf("/api/v1/companies/%d/meetings", cid), `{"type":"video","subject":"Api","starts_at":1796112000000,"room":{"access":"audience","audience":["bob@example.com"],"video_url":"ftp://x"}}`, nil)
	if st != 422 || !strings.Contains(body, `"video_url"`) {
		t.Fatalf("API meeting with a bad video link: %d %s", st, body)
	}
}

// meetingsNamed counts the meetings with subject s that alice sees.
func meetingsNamed(t *testing.T, f *roomFixture, s string) int {
	var list struct{ Items []struct{ Subject string } }
	f.call(t, f.alice, "GET", "/api/v1/meetings?limit=100", "", &list)
	n := 0
	for _, m := range list.Items {
		if m.Subject == s {
			n++
		}
	}
	return n
}

// lastMeeting is the id of the meeting with subject s that alice sees.
func lastMeeting(t *testing.T, f *roomFixture, s string) int64 {
	var list struct {
		Items []struct {
			ID      int64
			Subject string
		}
	}
	f.call(t, f.alice, "GET", "/api/v1/meetings?limit=100", "", &list)
	for _, m := range list.Items {
		if m.Subject == s {
			return m.ID
		}
	}
	t.Fatalf("no meeting %q", s)
	return 0
}
