package store_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestContactList pages through the contacts list forwards and backwards
// in every sort, order and filter, for an admin and for a staff user who
// sees a subset, and checks each walk against the same list computed in
// Go: every visible row exactly once, in order, and nothing else.
func TestContactList(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	staff := env.User(t, "staff@example.com", store.RoleStaff)
	rng := rand.New(rand.NewPCG(13, 13))
	var companies []*store.Company
	var mine, owned []int64 // assigned to staff; owned by admin
	nobody := int64(0)
	for i := range 9 {
		// Equal names in different case exercise the tie-breaks. The
		// admin creates every company and keeps every other one.
		in := store.CompanyInput{Name: []string{"acme", "Acme", "beta", "Gamma"}[i%4]}
		if i%2 == 1 {
			in.OwnerID = &nobody
		}
		c, err := env.Store.CreateCompany(ctx, admin, in)
		if err != nil {
			t.Fatal(err)
		}
		companies = append(companies, c)
		if i%2 == 0 {
			owned = append(owned, c.ID)
		}
		if i%3 != 0 {
			mine = append(mine, c.ID)
		}
	}
	if err := env.Store.SetUserClients(ctx, admin, staff.ID, mine); err != nil {
		t.Fatal(err)
	}
	companyName := map[int64]string{}
	for _, c := range companies {
		companyName[c.ID] = c.Name
	}
	for i := range 70 {
		c := companies[rng.IntN(len(companies))]
		in := store.ContactInput{Name: []string{"ann", "Ann", "bob", "Carla", "dee", ""}[rng.IntN(6)], Title: "t"}
		if in.Name == "" || rng.IntN(2) == 0 {
			in.Email = fmt.Sprintf("%c%d@example.com", "aBcZ"[rng.IntN(4)], i)
		}
		ct, err := env.Store.AddContact(ctx, admin, c.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 { // an edit moves it in the "updated" order
			in.Title = "edited"
			if _, err := env.Store.UpdateContact(ctx, admin, ct.ID, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Everything, as stored, from the first page of the longest kind.
	everything, err := env.Store.ListContacts(ctx, admin, store.ContactQuery{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(everything.Items) != 70 || everything.Next != "" {
		t.Fatalf("admin sees %d contacts (next %q), want all 70", len(everything.Items), everything.Next)
	}
	for _, c := range everything.Items {
		if c.CompanyName != companyName[c.CompanyID] {
			t.Fatalf("contact %d: company_name %q, want %q", c.ID, c.CompanyName, companyName[c.CompanyID])
		}
		// A listed contact is the contact as read alone, author and all.
		alone, err := env.Store.Contact(ctx, admin, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c.Contact, *alone) || c.AuthorName == nil {
			t.Fatalf("contact %d listed as %+v, read alone %+v", c.ID, c.Contact, *alone)
		}
	}
	order := map[string]func(a, b store.ListedContact) int{
		"name": func(a, b store.ListedContact) int {
			return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
		},
		"company": func(a, b store.ListedContact) int {
			return cmp.Or(strings.Compare(strings.ToLower(a.CompanyName), strings.ToLower(b.CompanyName)), cmp.Compare(a.CompanyID, b.CompanyID),
				strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
		},
		"updated": func(a, b store.ListedContact) int {
			return cmp.Or(cmp.Compare(a.UpdatedAt, b.UpdatedAt), cmp.Compare(a.ID, b.ID))
		},
	}
	type filter struct {
		name string
		q    store.ContactQuery
		keep func(c store.ListedContact) bool
	}
	filters := []filter{
		{"all", store.ContactQuery{}, func(store.ListedContact) bool { return true }},
		{"company", store.ContactQuery{CompanyID: companies[1].ID}, func(c store.ListedContact) bool { return c.CompanyID == companies[1].ID }},
		{"q=AN", store.ContactQuery{Q: "AN"}, func(c store.ListedContact) bool {
			return strings.HasPrefix(strings.ToLower(c.Name), "an") || strings.HasPrefix(strings.ToLower(c.Email), "an")
		}},
		{"q=b", store.ContactQuery{Q: "b"}, func(c store.ListedContact) bool {
			return strings.HasPrefix(strings.ToLower(c.Name), "b") || strings.HasPrefix(strings.ToLower(c.Email), "b")
		}},
		{"q=%", store.ContactQuery{Q: "%"}, func(store.ListedContact) bool { return false }},
	}
	for _, viewer := range []*store.User{admin, staff} {
		visible := func(c store.ListedContact) bool { return viewer.IsAdmin() || slices.Contains(mine, c.CompanyID) }
		// "My clients": what the viewer owns or is assigned; the staff
		// user owns nothing, the admin is assigned nothing.
		fs := append(filters, filter{"mine", store.ContactQuery{Mine: true}, func(c store.ListedContact) bool {
			if viewer.IsAdmin() {
				return slices.Contains(owned, c.CompanyID)
			}
			return slices.Contains(mine, c.CompanyID)
		}})
		for _, f := range fs {
			for sortBy, less := range order {
				for _, desc := range []bool{false, true} {
					var want []int64
					sorted := slices.Clone(everything.Items)
					slices.SortFunc(sorted, less)
					if desc {
						slices.Reverse(sorted)
					}
					for _, c := range sorted {
						if visible(c) && f.keep(c) {
							want = append(want, c.ID)
						}
					}
					// Small pages walk the sort's index; larger ones read a
					// staff user's clients and sort (readByClient).
					for _, limit := range []int{4, 25} {
						name := fmt.Sprintf("%s/%s/%s/desc=%v/limit=%d", viewer.Email, f.name, sortBy, desc, limit)
						q := f.q
						q.Sort, q.Desc, q.Limit = sortBy, desc, limit
						got, back := walkContacts(t, env.Store, viewer, q)
						if !slices.Equal(got, want) {
							t.Fatalf("%s: forwards %v, want %v", name, got, want)
						}
						slices.Reverse(back)
						if !slices.Equal(back, want) {
							t.Fatalf("%s: backwards %v, want %v", name, back, want)
						}
					}
				}
			}
		}
	}

	// A company the staff user does not have is not found, as is its
	// contact; so is a contact's page.
	hidden := companies[0]
	if _, err := env.Store.ListContacts(ctx, staff, store.ContactQuery{CompanyID: hidden.ID}); store.ErrorCode(err) != store.ENotFound {
		t.Fatalf("staff listing a hidden company's contacts: %v, want not found", err)
	}
	for _, c := range everything.Items {
		_, err := env.Store.ContactDetail(ctx, staff, c.ID)
		if slices.Contains(mine, c.CompanyID) != (err == nil) || err != nil && store.ErrorCode(err) != store.ENotFound {
			t.Fatalf("staff reading contact %d of company %d: %v", c.ID, c.CompanyID, err)
		}
	}

	// Bad input is refused beside its field.
	for _, tc := range []struct {
		q     store.ContactQuery
		field string
	}{
		{store.ContactQuery{Limit: 201}, "limit"},
		{store.ContactQuery{Limit: -1}, "limit"},
		{store.ContactQuery{Sort: "email"}, "sort"},
		{store.ContactQuery{Cursor: "!!"}, "cursor"},
		{store.ContactQuery{Sort: "updated", Cursor: everythingCursor(t, env.Store, admin)}, "cursor"}, // a name cursor
	} {
		_, err := env.Store.ListContacts(ctx, admin, tc.q)
		if store.ErrorCode(err) != store.EInvalid || store.ErrorFields(err)[tc.field] == "" {
			t.Errorf("%+v: %v (fields %v), want invalid %s", tc.q, err, store.ErrorFields(err), tc.field)
		}
	}
}

// everythingCursor is a next-page cursor of the list sorted by name.
func everythingCursor(t *testing.T, st *store.Store, u *store.User) string {
	t.Helper()
	p, err := st.ListContacts(context.Background(), u, store.ContactQuery{Limit: 1})
	if err != nil || p.Next == "" {
		t.Fatalf("first page: %v, next %q", err, p.Next)
	}
	return p.Next
}

// walkContacts reads q's list to its end by Next, then back to its start
// by Prev, and returns the ids in the order each walk met them.
func walkContacts(t *testing.T, st *store.Store, u *store.User, q store.ContactQuery) (forward, backward []int64) {
	t.Helper()
	ctx := context.Background()
	var last *store.ContactPage
	for {
		p, err := st.ListContacts(ctx, u, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Items {
			forward = append(forward, c.ID)
		}
		last = p
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	// Back from the last page: its own items, then every page before.
	for i := len(last.Items) - 1; i >= 0; i-- {
		backward = append(backward, last.Items[i].ID)
	}
	for cur := last.Prev; cur != ""; {
		q.Cursor = cur
		p, err := st.ListContacts(ctx, u, q)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(p.Items) - 1; i >= 0; i-- {
			backward = append(backward, p.Items[i].ID)
		}
		cur = p.Prev
	}
	return forward, backward
}

// TestMeetingAttendees: attendees are contacts of the meeting's company
// (another's is refused beside the field), sorted, kept by an edit that
// does not name them, changed by one that does (which bumps the meeting
// and records the change), listed on the contact's page, and gone with
// the contact.
func TestMeetingAttendees(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	acme, err := env.Store.CreateCompany(ctx, admin, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := env.Store.CreateCompany(ctx, admin, store.CompanyInput{Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	add := func(c *store.Company, name string) int64 {
		ct, err := env.Store.AddContact(ctx, admin, c.ID, store.ContactInput{Name: name, Email: strings.ToLower(name) + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		return ct.ID
	}
	ann, bob, cy := add(acme, "Ann"), add(acme, "Bob"), add(other, "Cy")
	in := store.MeetingInput{Type: "call", Subject: "Kick-off", StartsAt: 1772373600000}

	none, err := env.Store.CreateMeeting(ctx, admin, acme.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if none.AttendeeIDs != nil {
		t.Fatalf("a meeting without attendees has %#v, want none", none.AttendeeIDs)
	}
	for _, ids := range [][]int64{{ann, cy}, {-1}, {ann, 999999}} {
		in.Attendees = &ids
		_, err := env.Store.CreateMeeting(ctx, admin, acme.ID, in)
		if store.ErrorCode(err) != store.EInvalid || store.ErrorFields(err)["attendee_ids"] == "" {
			t.Fatalf("attendees %v: %v, want invalid attendee_ids", ids, err)
		}
	}
	in.Attendees = &[]int64{bob, ann, bob}
	m, err := env.Store.CreateMeeting(ctx, admin, acme.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{ann, bob}; !slices.Equal(m.AttendeeIDs, want) {
		t.Fatalf("created with %v, want %v", m.AttendeeIDs, want)
	}
	if got, err := env.Store.Meeting(ctx, admin, m.ID); err != nil || !slices.Equal(got.AttendeeIDs, []int64{ann, bob}) {
		t.Fatalf("read back %v, %v", got.AttendeeIDs, err)
	}

	// An edit without attendees keeps them; one with them replaces them.
	in.Attendees = nil
	in.Subject = "Kick-off, moved"
	if m, err = env.Store.UpdateMeeting(ctx, admin, m.ID, in); err != nil || !slices.Equal(m.AttendeeIDs, []int64{ann, bob}) {
		t.Fatalf("edit without attendees: %v, %v", m.AttendeeIDs, err)
	}
	before := m.UpdatedAt
	acts := activityCount(t, env, admin, acme.ID)
	in.Attendees = &[]int64{bob}
	if m, err = env.Store.UpdateMeeting(ctx, admin, m.ID, in); err != nil || !slices.Equal(m.AttendeeIDs, []int64{bob}) {
		t.Fatalf("edit to bob: %v, %v", m.AttendeeIDs, err)
	}
	if m.UpdatedAt <= before {
		t.Errorf("changing attendees left updated_at at %d (was %d)", m.UpdatedAt, before)
	}
	if n := activityCount(t, env, admin, acme.ID); n != acts+1 {
		t.Errorf("changing attendees recorded %d activities, want 1", n-acts)
	}
	in.Attendees = &[]int64{cy}
	if _, err := env.Store.UpdateMeeting(ctx, admin, m.ID, in); store.ErrorFields(err)["attendee_ids"] == "" {
		t.Fatalf("edit to another company's contact: %v, want invalid attendee_ids", err)
	}

	// The contact's page lists the meeting; the timeline names attendees.
	d, err := env.Store.ContactDetail(ctx, admin, bob)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Meetings) != 1 || d.Meetings[0].ID != m.ID || d.Company.ID != acme.ID {
		t.Fatalf("bob's page: meetings %+v, company %d", d.Meetings, d.Company.ID)
	}
	items, _, err := env.Store.Timeline(ctx, admin, acme.ID, store.TimelineQuery{Types: []string{store.TypeMeeting}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.ID == m.ID && (len(it.Attendees) != 1 || it.Attendees[0].Name != "Bob" || !slices.Equal(it.Meeting.AttendeeIDs, []int64{bob})) {
			t.Fatalf("timeline meeting: attendees %+v, ids %v", it.Attendees, it.Meeting.AttendeeIDs)
		}
	}

	// Deleting the contact takes their attendance with it.
	if err := env.Store.DeleteItem(ctx, admin, store.TypeContact, bob); err != nil {
		t.Fatal(err)
	}
	if got, err := env.Store.Meeting(ctx, admin, m.ID); err != nil || len(got.AttendeeIDs) != 0 {
		t.Fatalf("after deleting bob: %v, %v", got.AttendeeIDs, err)
	}
}

// TestStrayAttendeeHidden: an attendee row left linking a contact to
// another company's meeting shows neither the meeting on the contact's
// page nor the contact on the meeting.
func TestStrayAttendeeHidden(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	acme, err := env.Store.CreateCompany(ctx, admin, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	globex, err := env.Store.CreateCompany(ctx, admin, store.CompanyInput{Name: "Globex"})
	if err != nil {
		t.Fatal(err)
	}
	ann, err := env.Store.AddContact(ctx, admin, globex.ID, store.ContactInput{Name: "Ann", Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := env.Store.CreateMeeting(ctx, admin, acme.ID, store.MeetingInput{Type: "call", Subject: "Acme secret", StartsAt: 1772373600000})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", filepath.Join(env.Dir, "rolodex.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO meeting_attendees (meeting_id, contact_id) VALUES (?, ?)`, m.ID, ann.ID); err != nil {
		t.Fatal(err)
	}
	d, err := env.Store.ContactDetail(ctx, admin, ann.ID)
	if err != nil || len(d.Meetings) != 0 {
		t.Fatalf("Ann's page: meetings %+v, %v; want none", d.Meetings, err)
	}
	if got, err := env.Store.Meeting(ctx, admin, m.ID); err != nil || len(got.AttendeeIDs) != 0 {
		t.Fatalf("Acme's meeting: attendees %v, %v; want none", got.AttendeeIDs, err)
	}
}

// activityCount is how many activities company companyID has (at most
// 200, plenty here).
func activityCount(t *testing.T, env *storetest.Env, u *store.User, companyID int64) int {
	t.Helper()
	p, err := env.Store.Activities(context.Background(), u, store.ActivityQuery{CompanyID: companyID, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Items)
}

// TestContactNotes: a contact's page lists the notes of their company
// that mention their name or address, in any case, newest first; not
// another company's, and not a note that only contains a LIKE wildcard.
func TestContactNotes(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	acme, _ := env.Store.CreateCompany(ctx, admin, store.CompanyInput{Name: "Acme"})
	other, _ := env.Store.CreateCompany(ctx, admin, store.CompanyInput{Name: "Other"})
	ct, err := env.Store.AddContact(ctx, admin, acme.ID, store.ContactInput{Name: "Jo_Ann", Email: "jo@acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	note := func(c *store.Company, title, body string) int64 {
		n, err := env.Store.AddNote(ctx, admin, c.ID, store.NoteInput{Title: title, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		return n.ID
	}
	byName := note(acme, "Lunch", "Met JO_ANN at the fair.")
	note(acme, "Unrelated", "JoXAnn is someone else.") // _ is not a wildcard
	byMail := note(acme, "Mail from Jo@Acme.test", "")
	note(other, "Jo_Ann again", "")
	d, err := env.Store.ContactDetail(ctx, admin, ct.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, n := range d.Notes {
		got = append(got, n.ID)
	}
	if want := []int64{byMail, byName}; !slices.Equal(got, want) {
		t.Fatalf("notes mentioning the contact: %v, want %v", got, want)
	}
}
