package views

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/rolodex/rolodex/store"
)

// TestRelTimeUntil: a relative time reads the same up to the moment
// relTimeAt says, and otherwise from that moment, in every range (just
// now, minutes, hours, days, this year, other years, the future).
func TestRelTimeUntil(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, mustZone(t, "America/New_York"), mustZone(t, "Asia/Kolkata")}
	spans := []time.Duration{2 * time.Minute, 2 * time.Hour, 48 * time.Hour, 10 * 24 * time.Hour, 400 * 24 * time.Hour}
	for i := range 20_000 {
		loc := zones[i%len(zones)]
		span := spans[i%len(spans)]
		at := testNow.Add(time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour))))
		tm := at.Add(-time.Duration(rng.Int64N(int64(span))) + span/20).In(loc).Truncate(time.Millisecond)
		text, until := relTimeAt(tm, at)
		if !until.After(at) {
			t.Fatalf("%v at %v: %q until %v, not after", tm, at, text, until)
		}
		if until.Equal(never) {
			continue
		}
		if before, _ := relTimeAt(tm, until.Add(-1)); before != text {
			t.Fatalf("%v at %v: %q until %v, but %q just before", tm, at, text, until, before)
		}
		if after, _ := relTimeAt(tm, until); after == text {
			t.Fatalf("%v at %v: %q until %v, but the same then", tm, at, text, until)
		}
	}
}

// TestHomeSectionsKept: a kept home's sections are rendered once per
// Version and zone and replayed, until a relative time on them reads
// otherwise (at the minute) or an open meeting turns overdue; another
// Version or zone never gets them.
func TestHomeSectionsKept(t *testing.T) {
	cid := int64(7)
	h := Home{
		Version: 1 << 40, Clients: true, Now: testNow.UnixMilli(), Day: testNow.Truncate(24 * time.Hour),
		Today:    []store.Meeting{{ID: 5, CompanyID: cid, Subject: "Call Acme", Type: "call", Status: store.MeetingOpen, StartsAt: testNow.Add(40 * time.Second).UnixMilli()}},
		Activity: []store.Activity{{ID: 1, CompanyID: &cid, CompanyName: "Acme", Summary: "Note added", CreatedAt: testNow.Add(-30 * time.Second).UnixMilli()}},
		Unread: []store.Notification{{ID: 3, CreatedAt: testNow.Add(-3 * time.Hour).UnixMilli(),
			Items: []store.Activity{{ID: 2, CompanyID: &cid, Summary: "Contact changed"}}}},
	}
	at := func(h Home, after time.Duration) string {
		h.Now = testNow.Add(after).UnixMilli()
		return render(t, HomePage(Page{User: staff}, h))
	}
	out := at(h, 0)
	contains(t, out, "Note added", ">just now</time>", ">3 hours ago</time>", "Call Acme")
	if strings.Contains(out, "badge-overdue") {
		t.Fatalf("overdue before its start:\n%s", out)
	}

	// The store never changes a Version's contents; doing so here shows
	// which sections are replayed rather than rendered.
	h.Activity = []store.Activity{h.Activity[0]}
	h.Activity[0].Summary = "Renamed behind its back"
	out = at(h, 30*time.Second)
	contains(t, out, "Note added", ">just now</time>")
	if strings.Contains(out, "badge-overdue") {
		t.Fatalf("overdue before its start:\n%s", out)
	}
	// The meeting starts: today's section is rendered again, the rest
	// replayed.
	out = at(h, 41*time.Second)
	contains(t, out, "badge-overdue", "Note added", ">just now</time>")
	// The minute turns: "just now" would read "1 minute ago".
	out = at(h, 60*time.Second)
	contains(t, out, "Renamed behind its back", ">1 minute ago</time>", ">3 hours ago</time>")

	// Another Version (another viewer, or the same after a change) and
	// another zone render their own.
	other := h
	other.Version++
	other.Activity = []store.Activity{{ID: 9, CompanyID: &cid, CompanyName: "Acme", Summary: "Another viewer's change", CreatedAt: h.Activity[0].CreatedAt}}
	contains(t, at(other, 60*time.Second), "Another viewer&#39;s change")
	ny := renderIn(t, WithZone(context.Background(), mustZone(t, "America/New_York")), HomePage(Page{User: staff}, h))
	contains(t, ny, "Renamed behind its back", "07:59 America/New_York", "05:00 America/New_York", ">08:00</time>")
	if strings.Contains(at(h, 60*time.Second), "America/New_York") {
		t.Fatal("the UTC viewer got the New York rendering")
	}

	// A Home that is not kept is rendered each time.
	h.Version = 0
	h.Activity[0].Summary = "Fresh"
	contains(t, at(h, 30*time.Second), "Fresh")
}

func renderIn(t *testing.T, ctx context.Context, c templ.Component) string {
	t.Helper()
	var b strings.Builder
	if err := c.Render(ctx, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
