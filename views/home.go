package views

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"github.com/rolodex/rolodex/cache"
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
	Activity     []store.Activity     // by others, newest first
	Unread       []store.Notification // the newest few unread
	Companies    map[int64]string     // names of the meetings' companies
}

func (h Home) companyName(cid int64) string {
	return h.Companies[cid]
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

// A home's meetings are rendered once per version of their row and kept,
// as timeline items are: a meeting's updated_at grows with every write of
// its row, so with its id it names every field; the key adds what else the
// markup shows (the company's name, the zone its time is written in, which
// list it is in and whether it is overdue), so nothing is invalidated.
type homeMeetingKey struct {
	id, version    int64
	company, zone  string
	today, overdue bool
}

var homeMeetings = cache.New(4<<20, func(k homeMeetingKey, b []byte) int { return 32 + len(k.company) + len(k.zone) + len(b) })

// meetingItem is m in the today list (its clock time) or the week's (its
// day and time).
func (h Home) meetingItem(m store.Meeting, today bool) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		key := homeMeetingKey{m.ID, m.UpdatedAt, h.companyName(m.CompanyID), zoneName(ctx), today, h.overdue(m)}
		b, ok := homeMeetings.Get(key)
		if !ok {
			when := dayTime(ctx, m.StartsAt)
			if today {
				when = clockTime(ctx, m.StartsAt)
			}
			var buf bytes.Buffer
			if err := homeMeeting(h, m, when).Render(ctx, &buf); err != nil {
				return err
			}
			b = buf.Bytes()
			homeMeetings.Put(key, b)
		}
		_, err := w.Write(b)
		return err
	})
}
