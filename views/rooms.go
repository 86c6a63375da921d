package views

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"github.com/rolodex/rolodex/store"
)

// RoomView is what the room page shows.
type RoomView struct {
	Room        *store.Room
	CompanyName string
	Messages    *store.MessagePage
	Events      []store.RoomEvent // for those who manage the room
	Filter      int64             // only this user's messages; 0 for all
	FilterName  string
	After       string // the stream position the page was rendered at
	Form        Form   // the chat box
	Settings    Form   // access, audience, video_url (RoomSettingsValues)
}

// RoomSettingsValues fills the settings form from the room.
func RoomSettingsValues(r *store.Room) Form {
	return Form{Values: map[string]string{"access": r.Access, "audience": strings.Join(r.Audience, "\n"), "video_url": r.VideoURL}}
}

func roomSettingsFields(f Form) []field {
	return withFocus([]field{
		{form: "room", name: "audience", label: "E-mail addresses, one a line", rows: 3, hint: "Used when access is “only these people”."},
		{form: "room", name: "video_url", label: "Video call link", typ: "url", placeholder: "https://"},
	}, f)
}

func roomPath(meetingID int64) string { return meetingPath(meetingID) + "/room" }

func (v RoomView) streamURL(ctx context.Context) string {
	return roomBase(ctx, v.Room.MeetingID) + "/stream?after=" + url.QueryEscape(v.After)
}

type guestBaseKey struct{}

// WithGuest marks ctx as rendering a guest's room page: its links and
// forms go to base (/guest/{token}), not /meetings/{id}/room, and it
// leaves out every link into the rest of Rolodex.
func WithGuest(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, guestBaseKey{}, base)
}

func isGuest(ctx context.Context) bool { _, ok := ctx.Value(guestBaseKey{}).(string); return ok }

// roomBase is where the room's page and its routes are for this viewer.
func roomBase(ctx context.Context, meetingID int64) string {
	if base, ok := ctx.Value(guestBaseKey{}).(string); ok {
		return base
	}
	return roomPath(meetingID)
}

func earlierQuery(cursor string, filter int64) string {
	q := url.Values{"cursor": {cursor}}
	if filter != 0 {
		q.Set("user_id", id(filter))
	}
	return q.Encode()
}

func roomStateLabel(state string) string {
	switch state {
	case store.RoomOpen:
		return "Live"
	case store.RoomEnded:
		return "Ended"
	default:
		return "Scheduled"
	}
}

func eventText(e store.RoomEvent) string {
	switch e.Kind {
	case store.EventOpened:
		return "The room opened."
	case store.EventEnded:
		return "The meeting ended."
	case store.EventJoined:
		return e.Name + " joined."
	}
	switch e.Reason {
	case store.ReasonDisconnected:
		return e.Name + " was disconnected."
	case store.ReasonRemoved:
		return e.Name + " was removed."
	case store.ReasonEnded:
		return e.Name + " left when the meeting ended."
	}
	return e.Name + " left."
}

type textPart struct {
	text string
	url  bool
}

// webAddress finds http(s) addresses in chat text; a trailing full stop,
// comma or closing bracket is taken as punctuation, not address.
var webAddress = regexp.MustCompile(`https?://[^\s<>"]+[^\s<>".,;:!?)\]']`)

// linkify splits chat text into plain runs and web addresses.
func linkify(s string) []textPart {
	var out []textPart
	last := 0
	for _, loc := range webAddress.FindAllStringIndex(s, -1) {
		if loc[0] > last {
			out = append(out, textPart{text: s[last:loc[0]]})
		}
		out = append(out, textPart{text: s[loc[0]:loc[1]], url: true})
		last = loc[1]
	}
	if last < len(s) {
		out = append(out, textPart{text: s[last:]})
	}
	return out
}

// RoomChoices is what the meeting form's "Live room" section offers: the
// addresses that may be picked for the audience. A nil *RoomChoices
// leaves the section out (the viewer does not organise the meeting).
type RoomChoices struct {
	Invitees []store.Invitee
}

// roomPick is one checkbox of the section.
type roomPick struct {
	store.Invitee
	Checked bool
}

// roomSection splits the form's audience (Values["audience"], one address
// a line) into the invitees' checkboxes and the typed rest, which comes
// back in the returned form as audience_more, with the audience's error.
func roomSection(f Form, c *RoomChoices) ([]roomPick, Form) {
	chosen := map[string]bool{}
	for _, e := range strings.Fields(f.Value("audience")) {
		chosen[strings.ToLower(e)] = true
	}
	picks := make([]roomPick, 0, len(c.Invitees))
	for _, in := range c.Invitees {
		picks = append(picks, roomPick{Invitee: in, Checked: chosen[in.Email]})
		delete(chosen, in.Email)
	}
	var more []string
	for _, e := range strings.Fields(f.Value("audience")) {
		if chosen[strings.ToLower(e)] {
			more = append(more, e)
		}
	}
	sub := Form{Values: map[string]string{"audience_more": strings.Join(more, "\n"), "video_url": f.Value("video_url")},
		Errors: map[string]string{"audience_more": f.Error("audience"), "video_url": f.Error("video_url")}}
	return picks, sub
}

func roomSectionFields(form string, f Form) []field {
	return withFocus([]field{
		{form: form, name: "audience_more", label: "Other addresses, one a line", rows: 2, span2: true},
		{form: form, name: "video_url", label: "Video call link", typ: "url", placeholder: "https://", span2: true},
	}, f)
}

// Carry copies onto to what rendering reads from from: the viewer's zone
// and a guest's base path. A room stream that leaves its request behind
// (handlers' detach) renders with it.
func Carry(from, to context.Context) context.Context {
	to = WithZone(to, zoneOf(from))
	if base, ok := from.Value(guestBaseKey{}).(string); ok {
		to = WithGuest(to, base)
	}
	return to
}
