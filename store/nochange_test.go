package store_test

import (
	"context"
	"testing"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestEditThatChangesNothing: saving a company, note, contact, link or
// meeting as it is (after normalising: spaces, case, attendees' order,
// the room's audience) writes nothing: no updated_at, no activity, so no
// notification or webhook delivery either. Any real change, a meeting's
// attendees or room alone included, still is one.
func TestEditThatChangesNothing(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	sink := &sinkRecorder{}
	st.ActivitySink = sink
	w := &activityWatch{t: t, st: st, admin: admin, sink: sink}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	c, err := st.CreateCompany(ctx, admin, store.CompanyInput{Name: "Acme", Website: "https://acme.example"})
	must(err)
	n, err := st.AddNote(ctx, admin, c.ID, store.NoteInput{Title: "Call", Body: "b"})
	must(err)
	ct, err := st.AddContact(ctx, admin, c.ID, store.ContactInput{Name: "Ann", Email: "ann@example.com"})
	must(err)
	ct2, err := st.AddContact(ctx, admin, c.ID, store.ContactInput{Name: "Bob"})
	must(err)
	l, err := st.AddLink(ctx, admin, c.ID, store.LinkInput{Title: "Site", URL: "https://acme.example"})
	must(err)
	min := store.MeetingInput{Type: "call", Subject: "Kick-off", StartsAt: 1772373600000, Attendees: &[]int64{ct.ID, ct2.ID},
		Room: &store.RoomInput{Access: store.AccessAudience, Audience: []string{"b@example.com", "a@example.com"}}}
	m, err := st.CreateMeeting(ctx, admin, c.ID, min)
	must(err)
	company := func() int64 {
		got, err := st.Company(ctx, admin, c.ID)
		must(err)
		return got.UpdatedAt
	}
	w.since()
	before := company()

	// As it is: nothing.
	for _, tc := range []struct {
		name string
		save func() (updatedAt int64, was int64, err error)
	}{
		{"company", func() (int64, int64, error) {
			got, err := st.UpdateCompany(ctx, admin, c.ID, store.CompanyInput{Name: " Acme ", Website: "acme.example", OwnerID: &admin.ID})
			if got == nil {
				return 0, 0, err
			}
			return got.UpdatedAt, before, err
		}},
		{"note", func() (int64, int64, error) {
			got, err := st.UpdateNote(ctx, admin, n.ID, store.NoteInput{Title: "Call ", Body: "b"})
			if got == nil {
				return 0, 0, err
			}
			return got.UpdatedAt, n.UpdatedAt, err
		}},
		{"contact", func() (int64, int64, error) {
			got, err := st.ChangeContact(ctx, admin, ct.ID, func(cur *store.Contact) (store.ContactInput, error) {
				return store.ContactInput{Name: cur.Name, Email: " " + cur.Email}, nil
			})
			if got == nil {
				return 0, 0, err
			}
			return got.UpdatedAt, ct.UpdatedAt, err
		}},
		{"link", func() (int64, int64, error) {
			got, err := st.UpdateLink(ctx, admin, l.ID, store.LinkInput{Title: "Site", URL: "https://acme.example"})
			if got == nil {
				return 0, 0, err
			}
			return got.UpdatedAt, l.UpdatedAt, err
		}},
		{"meeting", func() (int64, int64, error) {
			in := min
			in.Type, in.Attendees = "Call", &[]int64{ct2.ID, ct.ID, ct.ID}
			in.Room = &store.RoomInput{Access: "Audience", Audience: []string{"A@example.com", "b@example.com"}}
			got, err := st.UpdateMeeting(ctx, admin, m.ID, in)
			if got == nil {
				return 0, 0, err
			}
			if len(got.AttendeeIDs) != 2 {
				t.Errorf("meeting answered with attendees %v", got.AttendeeIDs)
			}
			return got.UpdatedAt, m.UpdatedAt, err
		}},
		{"meeting status", func() (int64, int64, error) {
			got, err := st.SetMeetingStatus(ctx, admin, m.ID, store.MeetingOpen)
			if got == nil {
				return 0, 0, err
			}
			return got.UpdatedAt, m.UpdatedAt, err
		}},
	} {
		at, was, err := tc.save()
		must(err)
		if at != was {
			t.Errorf("%s saved as it is: updated_at %d, was %d", tc.name, at, was)
		}
		if got := w.since(); len(got) != 0 {
			t.Errorf("%s saved as it is: activities %+v", tc.name, got)
		}
	}
	if after := company(); after != before {
		t.Errorf("company updated_at %d, was %d", after, before)
	}

	// A change is one: a meeting's attendees alone, its room alone.
	in := min
	in.Attendees = &[]int64{ct.ID}
	_, err = st.UpdateMeeting(ctx, admin, m.ID, in)
	must(err)
	w.one("attendees changed", store.ActivityMeetingUpdated, c.ID, admin)
	in.Room = &store.RoomInput{Access: store.AccessAudience, Audience: []string{"a@example.com"}}
	_, err = st.UpdateMeeting(ctx, admin, m.ID, in)
	must(err)
	w.one("room changed", store.ActivityMeetingUpdated, c.ID, admin)
	_, err = st.UpdateNote(ctx, admin, n.ID, store.NoteInput{Title: "Call", Body: "b2"})
	must(err)
	w.one("note changed", store.ActivityNoteUpdated, c.ID, admin)
	_, err = st.UpdateCompany(ctx, admin, c.ID, store.CompanyInput{Name: "Acme", Website: "https://acme.example", Town: "Leeds"})
	must(err)
	w.one("company changed", store.ActivityCompanyUpdated, c.ID, admin)
}
