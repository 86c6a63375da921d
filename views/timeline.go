package views

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"io"

	"github.com/a-h/templ"

	"github.com/rolodex/rolodex/cache"
	"github.com/rolodex/rolodex/store"
)

// Timeline items are read far more often than they change, and rendering
// them is most of a company page's work. All of an item but its relative
// time ("5 minutes ago") follows from its row and the viewer's time zone
// alone, so that part is rendered once per version of the row and zone and
// kept, as fragment caching does elsewhere: the key is the row's identity
// plus a hash of every field and the zone's name, so an edit (or an import
// that rewrites a contact) simply misses and nothing has to be
// invalidated. The relative time is written on every page.

// itemFragment is a rendered item cut where its relative time goes.
type itemFragment struct{ before, after []byte }

// itemKey names one version of one item.
type itemKey struct {
	typ  string
	id   int64
	sum  uint64
	zone string // the viewer's time zone
}

var (
	fragments = cache.New(16<<20, func(k itemKey, f itemFragment) int { return 32 + len(k.typ) + len(f.before) + len(f.after) })
	itemSeed  = maphash.MakeSeed()
)

// timeSlot stands for the relative time while an item is rendered for the
// cache. HTML escaping leaves it alone, and it comes before any text a user
// wrote, so the first occurrence is the slot.
const timeSlot = "\x00rolodex-time\x00"

// timelineItem renders one item of a company's timeline. The item just
// added (highlighted) is rendered apart: it is one item, once.
func timelineItem(it store.TimelineItem, added bool) templ.Component {
	if added {
		return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			return timelineEntry(it, relTime(ctx, it.CreatedAt), true).Render(ctx, w)
		})
	}
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		key := keyOf(it)
		key.zone = zoneName(ctx) // the item's times are written in it
		f, ok := fragments.Get(key)
		if !ok {
			var buf bytes.Buffer
			if err := timelineEntry(it, timeSlot, false).Render(ctx, &buf); err != nil {
				return err
			}
			before, after, found := bytes.Cut(buf.Bytes(), []byte(timeSlot))
			if !found {
				return errors.New("views: timeline item rendered without its time")
			}
			f = itemFragment{before, after}
			fragments.Put(key, f)
		}
		if _, err := w.Write(f.before); err != nil {
			return err
		}
		if _, err := io.WriteString(w, templ.EscapeString(relTime(ctx, it.CreatedAt))); err != nil {
			return err
		}
		_, err := w.Write(f.after)
		return err
	})
}

// keyOf hashes every field of the item's row (TestItemKeyCoversEveryField
// checks that none is left out when a field is added).
func keyOf(it store.TimelineItem) itemKey {
	var h maphash.Hash
	h.SetSeed(itemSeed)
	str := func(ss ...string) {
		for _, s := range ss {
			h.WriteString(s)
			h.WriteByte(0)
		}
	}
	num := func(ns ...int64) {
		var b [8]byte
		for _, n := range ns {
			binary.LittleEndian.PutUint64(b[:], uint64(n))
			h.Write(b[:])
		}
	}
	opt := func(p *int64) {
		if p == nil {
			h.WriteByte(0)
			return
		}
		h.WriteByte(1)
		num(*p)
	}
	author := func(a store.Author) {
		opt(a.AuthorID)
		if a.AuthorName == nil {
			h.WriteByte(0)
			return
		}
		h.WriteByte(1)
		str(*a.AuthorName)
	}
	num(it.ID, it.CompanyID, it.CreatedAt)
	author(it.Author)
	switch {
	case it.Note != nil:
		n := it.Note
		num(n.ID, n.CompanyID, n.CreatedAt, n.UpdatedAt)
		author(n.Author)
		str(n.Title, n.Body)
	case it.Contact != nil:
		c := it.Contact
		num(c.ID, c.CompanyID, c.CreatedAt, c.UpdatedAt)
		author(c.Author)
		str(c.Name, c.Email, c.Phone, c.Title)
	case it.Link != nil:
		l := it.Link
		num(l.ID, l.CompanyID, l.CreatedAt, l.UpdatedAt)
		author(l.Author)
		str(l.Title, l.URL)
	case it.Meeting != nil:
		m := it.Meeting
		num(m.ID, m.CompanyID, m.StartsAt, m.CreatedAt, m.UpdatedAt)
		opt(m.EndsAt)
		author(store.Author{AuthorID: m.OwnerID, AuthorName: m.AuthorName})
		str(m.Type, m.Status, m.Subject, m.Details)
		num(m.AttendeeIDs...)
		// Attendees are named as they are now: a renamed contact shows.
		for _, a := range it.Attendees {
			num(a.ID)
			str(a.Name, a.Email)
		}
	}
	// A meeting's room summary appears when the room ends.
	if held := it.Held; held != nil {
		num(1, held.From, held.To, int64(held.Messages), int64(len(held.Attendees)))
		str(held.Attendees...)
	}
	return itemKey{typ: it.Type, id: it.ID, sum: h.Sum64()}
}
