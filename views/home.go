package views

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/rolodex/rolodex/store"
)

// Home is the home page ("my day"): what the viewer's clients (an admin's
// workspace) hold today and in the coming week, the rooms live now and what
// colleagues changed lately. The handler reads it; the page only shows it.
type Home struct {
	Admin bool
	// Clients is false for a staff user with no clients: every empty
	// state then says to ask an admin for some.
	Clients bool
	Now     int64     // unix ms; an open meeting that started before it is overdue
	Day     time.Time // the start of today in the viewer's zone
	Today   []store.Meeting
	Week    []store.Meeting // tomorrow to the end of the seventh day
	// MoreMeetings is how many of the week's meetings did not fit, -1 for
	// an uncounted many.
	MoreMeetings int64
	Rooms        []store.LiveRoom
	Activity     []store.Activity         // by others, newest first
	Unread       []store.Notification     // the newest few unread
	Companies    map[int64]*store.Company // of the meetings and rooms
}

func (h Home) companyName(cid int64) string {
	if c := h.Companies[cid]; c != nil {
		return c.Name
	}
	return ""
}

// overdue reports whether m should have happened by now and is still open.
func (h Home) overdue(m store.Meeting) bool {
	return m.Status == store.MeetingOpen && m.StartsAt < h.Now
}

// moreMeetings is the link text to the week's meetings that did not fit.
func (h Home) moreMeetings() string {
	if h.MoreMeetings < 0 {
		return "More meetings this week"
	}
	return plural(int(h.MoreMeetings), "more meeting") + " this week"
}

// weekURL lists every meeting of today and the coming week (the list's
// dates are days in the viewer's zone, to inclusive).
func (h Home) weekURL() string {
	return "/meetings?" + url.Values{"from": {h.Day.Format(time.DateOnly)}, "to": {h.Day.AddDate(0, 0, 7).Format(time.DateOnly)}}.Encode()
}

// peopleIn says how many are in a live room.
func peopleIn(n int) string {
	switch n {
	case 0:
		return "Nobody in yet"
	case 1:
		return "1 person in"
	}
	return strconv.Itoa(n) + " people in"
}

// clockTime is a time of today: "14:30".
func clockTime(ctx context.Context, ms int64) string { return localTime(ctx, ms).Format("15:04") }

// dayTime is a time of another day: "Tue Dec 1, 14:30".
func dayTime(ctx context.Context, ms int64) string {
	return localTime(ctx, ms).Format("Mon Jan 2, 15:04")
}

// meetingEditPath is where a meeting is seen and changed.
func meetingEditPath(mid int64) string { return meetingPath(mid) + "/edit" }
