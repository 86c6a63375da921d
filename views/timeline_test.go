package views

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/rolodex/rolodex/store"
)

// TestItemKeyCoversEveryField changes each field of each item type in turn:
// every change must give a new key, or an edit could show a stale cached
// rendering. A field added to one of the structs fails here until keyOf
// hashes it.
func TestItemKeyCoversEveryField(t *testing.T) {
	end, owner, author, name := int64(5), int64(6), int64(7), "Alice"
	by := store.Author{AuthorID: &author, AuthorName: &name}
	items := []store.TimelineItem{
		{Type: store.TypeNote, ID: 1, CompanyID: 2, CreatedAt: 3, Author: by, Note: &store.Note{ID: 1, CompanyID: 2, Author: by, Title: "t", Body: "b", CreatedAt: 3, UpdatedAt: 4}},
		{Type: store.TypeContact, ID: 1, CompanyID: 2, CreatedAt: 3, Author: by, Contact: &store.Contact{ID: 1, CompanyID: 2, Author: by, Name: "n", Email: "e", Phone: "p", Title: "t", CreatedAt: 3, UpdatedAt: 4}},
		{Type: store.TypeLink, ID: 1, CompanyID: 2, CreatedAt: 3, Author: by, Link: &store.Link{ID: 1, CompanyID: 2, Author: by, Title: "t", URL: "u", CreatedAt: 3, UpdatedAt: 4}},
		{Type: store.TypeMeeting, ID: 1, CompanyID: 2, CreatedAt: 3, Author: by, Meeting: &store.Meeting{ID: 1, CompanyID: 2, Type: "call", Status: "open", Subject: "s", Details: "d", StartsAt: 9, EndsAt: &end, OwnerID: &owner, AuthorName: by.AuthorName, CreatedAt: 3, UpdatedAt: 4}},
	}
	for _, it := range items {
		base := keyOf(it)
		row := reflect.ValueOf(&it).Elem().FieldByName(strings.ToUpper(it.Type[:1]) + it.Type[1:]).Elem()
		// The item's own author, then every field of its row (an embedded
		// struct's fields one by one).
		fields := []reflect.Value{reflect.ValueOf(&it.Author).Elem().Field(0), reflect.ValueOf(&it.Author).Elem().Field(1)}
		names := []string{"Author.AuthorID", "Author.AuthorName"}
		var walk func(v reflect.Value, prefix string)
		walk = func(v reflect.Value, prefix string) {
			for i := 0; i < v.NumField(); i++ {
				if v.Field(i).Kind() == reflect.Struct {
					walk(v.Field(i), prefix+v.Type().Field(i).Name+".")
					continue
				}
				fields, names = append(fields, v.Field(i)), append(names, prefix+v.Type().Field(i).Name)
			}
		}
		walk(row, it.Type+".")
		for i, f := range fields {
			old := reflect.ValueOf(f.Interface())
			switch {
			case f.Kind() == reflect.String:
				f.SetString(f.String() + "x")
			case f.Kind() == reflect.Int64:
				f.SetInt(f.Int() + 1)
			case f.Kind() == reflect.Slice:
				f.Set(reflect.Append(f, reflect.ValueOf(int64(1))))
			case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Int64:
				n := f.Elem().Int() + 1
				f.Set(reflect.ValueOf(&n))
			case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.String:
				s := f.Elem().String() + "x"
				f.Set(reflect.ValueOf(&s))
			default:
				t.Fatalf("%s: a %s; teach keyOf and this test about it", names[i], f.Kind())
			}
			if keyOf(it) == base {
				t.Errorf("%s changed but the item's key did not", names[i])
			}
			if f.Kind() == reflect.Pointer {
				f.Set(reflect.Zero(f.Type()))
				if keyOf(it) == base {
					t.Errorf("%s set to nil but the item's key did not change", names[i])
				}
			}
			f.Set(old)
		}
		if keyOf(it) != base {
			t.Fatalf("%s: key not stable", it.Type)
		}
	}
}

// TestTimelineItemCache: a cached item renders exactly as the template does,
// its relative time stays live, and an edit shows at once.
func TestTimelineItemCache(t *testing.T) {
	it := store.TimelineItem{Type: store.TypeNote, ID: 901, CompanyID: 7, CreatedAt: hourAgo,
		Note: &store.Note{ID: 901, CompanyID: 7, Title: "Call <b>", Body: "**Big** deal", CreatedAt: hourAgo, UpdatedAt: hourAgo}}
	direct := render(t, timelineEntry(it, relTime(context.Background(), it.CreatedAt), false))
	for i := 0; i < 2; i++ { // a miss, then a hit
		if got := render(t, timelineItem(it, false)); got != direct {
			t.Fatalf("render %d through the cache:\n%s\nwant\n%s", i, got, direct)
		}
	}
	if !strings.Contains(direct, ">1 hour ago</time>") || !strings.Contains(direct, "<h3>Call &lt;b&gt;</h3>") {
		t.Fatalf("unexpected item:\n%s", direct)
	}

	// Time passes: the cached item says so.
	defer func(f func() time.Time) { now = f }(now)
	now = func() time.Time { return testNow.Add(2 * time.Hour) }
	if got := render(t, timelineItem(it, false)); !strings.Contains(got, ">3 hours ago</time>") {
		t.Errorf("relative time frozen in the cache:\n%s", got)
	}

	// An edit (a new title and updated_at) renders anew.
	edited := *it.Note
	edited.Title, edited.UpdatedAt = "Renamed", hourAgo+1
	it.Note = &edited
	if got := render(t, timelineItem(it, false)); !strings.Contains(got, "<h3>Renamed</h3>") {
		t.Errorf("edited item still shows the cached version:\n%s", got)
	}
}

// TestReplayKeys: the parts of a company page rendered once and replayed
// (the filter tabs, the collapsed add forms) come out for the company and
// filter asked for, the same as a fresh render, whatever was cached before.
func TestReplayKeys(t *testing.T) {
	other := *evilCompany
	other.ID = 8
	fresh := func(c templ.Component) string {
		var b strings.Builder
		if err := c.Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for round := range 2 { // the first round fills the caches, the second replays
		for _, c := range []*store.Company{evilCompany, &other} {
			for _, active := range append([]string{""}, store.TimelineTypes()...) {
				out := render(t, TimelineSection(Timeline{Company: c, Type: active}))
				if want := fresh(timelineTabs(c.ID, active)); !strings.Contains(out, want) {
					t.Fatalf("round %d, company %d, filter %q: the tabs differ from a fresh render:\n%s", round, c.ID, active, out)
				}
				current := fmt.Sprintf(`href="%s" hx-get="%s" hx-target="#timeline" hx-swap="outerHTML" hx-push-url="%s" aria-current="page"`,
					timelinePageURL(c.ID, active, ""), timelineFragmentURL(c.ID, active, ""), timelinePageURL(c.ID, active, ""))
				contains(t, out, current)
				if n := strings.Count(out, `aria-current`); n != 1 {
					t.Fatalf("%d tabs are current", n)
				}
			}
			page := render(t, CompanyPage(Page{User: staff}, c, Timeline{Company: c}, ItemForms{}))
			want := fresh(addForms(c, ItemForms{}, false))
			if !strings.Contains(page, want) || !strings.Contains(want, newItemPath(c.ID, store.TypeNote)) {
				t.Fatalf("round %d, company %d: the add forms differ from a fresh render:\n%s", round, c.ID, page)
			}
		}
	}
}

// TestItemKeyCoversHeld: a meeting's room summary, which appears when the
// room ends, is part of its item's key, and so is each of its fields.
func TestItemKeyCoversHeld(t *testing.T) {
	it := store.TimelineItem{Type: store.TypeMeeting, ID: 1, CompanyID: 2, CreatedAt: 3, Meeting: &store.Meeting{ID: 1, CompanyID: 2, Type: "call", Status: "closed", Subject: "s", StartsAt: 9, CreatedAt: 3, UpdatedAt: 4}}
	keys := map[itemKey]string{keyOf(it): "no summary"}
	for name, held := range map[string]*store.RoomSummary{
		"summary":   {From: 1, To: 2, Attendees: []string{"a"}, Messages: 3},
		"from":      {From: 0, To: 2, Attendees: []string{"a"}, Messages: 3},
		"to":        {From: 1, To: 3, Attendees: []string{"a"}, Messages: 3},
		"attendees": {From: 1, To: 2, Attendees: []string{"b"}, Messages: 3},
		"more":      {From: 1, To: 2, Attendees: []string{"a", "b"}, Messages: 3},
		"messages":  {From: 1, To: 2, Attendees: []string{"a"}, Messages: 4},
		"no one":    {From: 1, To: 2, Messages: 3},
	} {
		it.Held = held
		k := keyOf(it)
		if other, ok := keys[k]; ok {
			t.Errorf("%s: same key as %s", name, other)
		}
		keys[k] = name
	}
}
