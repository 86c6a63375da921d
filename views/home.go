package views

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/maphash"
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
	// Version and RoomsVersion are store.Home's: the rooms are rendered
	// once per RoomsVersion, the other sections once per Version
	// (homeSection); 0 renders them each time.
	Version, RoomsVersion uint64
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

// A home's meetings are rendered once per version of what they show and
// kept, as timeline items are: the key hashes every field the markup
// shows (and the company's name), with the zone its time is written in,
// which list it is in and whether it is overdue, so an edit simply misses.
type homeMeetingKey struct {
	id             int64
	sum            uint64
	zone           string
	today, overdue bool
}

var homeMeetings = cache.New(4<<20, func(k homeMeetingKey, b []byte) int { return 32 + len(k.zone) + len(b) })

// meetingItem is m in the today list (its clock time) or the week's (its
// day and time).
func (h Home) meetingItem(m store.Meeting, today bool) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		var sum maphash.Hash
		sum.SetSeed(itemSeed)
		for _, s := range []string{m.Type, m.Status, m.Subject, h.companyName(m.CompanyID)} {
			sum.WriteString(s)
			sum.WriteByte(0)
		}
		var b [8]byte
		for _, n := range []int64{m.CompanyID, m.StartsAt} {
			binary.LittleEndian.PutUint64(b[:], uint64(n))
			sum.Write(b[:])
		}
		key := homeMeetingKey{m.ID, sum.Sum64(), zoneName(ctx), today, h.overdue(m)}
		html, ok := homeMeetings.Get(key)
		if !ok {
			when := dayTime(ctx, m.StartsAt)
			if today {
				when = clockTime(ctx, m.StartsAt)
			}
			var buf bytes.Buffer
			if err := homeMeeting(h, m, when).Render(ctx, &buf); err != nil {
				return err
			}
			html = buf.Bytes()
			homeMeetings.Put(key, html)
		}
		_, err := w.Write(html)
		return err
	})
}

// A kept home's sections are rendered once per Version (the live rooms,
// kept apart, per RoomsVersion), zone, day and empty state, and replayed
// until something on them would read otherwise: an open meeting turning
// overdue, or a relative time ("5 minutes ago") changing its text. The
// relative times on a kept section are written as of the start of the
// minute (clock), so a section is rendered at most once a minute however
// many times it lists, at the cost of reading up to a minute behind.
type homeSectionKey struct {
	version        uint64
	section        string
	zone           string
	day            int64
	admin, clients bool
}

type homeRendering struct {
	html  []byte
	until int64 // unix ms from which it is rendered anew
}

var homeSections = cache.New(8<<20, func(k homeSectionKey, r homeRendering) int { return 64 + len(k.zone) + len(r.html) })

// clock is the time a kept section's relative times are written at, and
// the first moment one of them would read otherwise (relTime lowers it).
type clock struct{ at, until time.Time }

type clockKey struct{}

// homeSection is c, the home's section name of the given version, kept as
// above; until is when c turns stale for a reason of its own (openUntil),
// beside its relative times.
func (h Home) homeSection(version uint64, name string, until int64, c templ.Component) templ.Component {
	if version == 0 {
		return c
	}
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		key := homeSectionKey{version, name, zoneName(ctx), h.Day.UnixMilli(), h.Admin, h.Clients}
		r, ok := homeSections.Get(key)
		if !ok || h.Now >= r.until {
			clk := &clock{at: time.UnixMilli(h.Now).Truncate(time.Minute), until: time.UnixMilli(until)}
			var buf bytes.Buffer
			if err := c.Render(context.WithValue(ctx, clockKey{}, clk), &buf); err != nil {
				return err
			}
			r = homeRendering{buf.Bytes(), clk.until.UnixMilli()}
			homeSections.Put(key, r)
		}
		_, err := w.Write(r.html)
		return err
	})
}

// openUntil is when the first of ms that is open and not yet overdue
// turns overdue.
func (h Home) openUntil(ms []store.Meeting) int64 {
	until := never.UnixMilli()
	for _, m := range ms {
		if m.Status == store.MeetingOpen && m.StartsAt >= h.Now {
			until = min(until, m.StartsAt+1)
		}
	}
	return until
}
