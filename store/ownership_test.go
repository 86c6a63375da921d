package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestCompanyOwner: a new company is owned by its creator; admins and the
// owner change the owner, other staff get EForbidden and change nothing;
// the owner must be an active user of the workspace (EInvalid on
// owner_id otherwise); a staff owner is given the client, in SQLite and
// in their Redis client set; each change is one activity.
func TestCompanyOwner(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	sink := &sinkRecorder{}
	st.ActivitySink = sink
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	bob := env.User(t, "bob@example.com", store.RoleStaff)
	carol := env.User(t, "carol@example.com", store.RoleStaff)
	gone := env.User(t, "gone@example.com", store.RoleStaff)
	if err := st.SetUserActive(ctx, admin, gone.ID, false); err != nil {
		t.Fatal(err)
	}
	ws2, err := st.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := st.CreateWorkspaceUser(ctx, ws2, store.UserInput{Email: "x@other.example", Name: "X", Password: storetest.Password, Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	w := &activityWatch{t: t, st: st, admin: admin, sink: sink}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ownerOf := func(id int64) *int64 {
		t.Helper()
		c, err := st.Company(ctx, admin, id)
		must(err)
		return c.OwnerID
	}
	ptr := func(n int64) *int64 { return &n }
	isOwner := func(name string, got *int64, want *store.User) {
		t.Helper()
		if want == nil && got != nil || want != nil && (got == nil || *got != want.ID) {
			t.Errorf("%s: owner %v, want %v", name, got, want)
		}
	}

	// Created: owned by the creator, staff or admin.
	c, err := st.CreateCompany(ctx, alice, store.CompanyInput{Name: "Acme"})
	must(err)
	isOwner("alice's new company", c.OwnerID, alice)
	if c.OwnerName == nil || *c.OwnerName != alice.Name {
		t.Errorf("owner name %v", c.OwnerName)
	}
	isOwner("alice's company read back", ownerOf(c.ID), alice)
	w.since()
	byAdmin, err := st.CreateCompany(ctx, admin, store.CompanyInput{Name: "Globex"})
	must(err)
	isOwner("admin's new company", byAdmin.OwnerID, admin)
	w.since()

	// Bob, assigned but not the owner, edits fields as before, but may
	// not change the owner; naming the owner it has is no change.
	must(st.AssignClient(ctx, admin, bob.ID, c.ID, true))
	w.since()
	_, err = st.UpdateCompany(ctx, bob, c.ID, store.CompanyInput{Name: "Acme Inc"})
	must(err)
	w.one("bob edits", store.ActivityCompanyUpdated, c.ID, bob)
	_, err = st.UpdateCompany(ctx, bob, c.ID, store.CompanyInput{Name: "Acme Bob", OwnerID: ptr(alice.ID)})
	must(err)
	w.one("bob saves the same owner", store.ActivityCompanyUpdated, c.ID, bob)
	_, err = st.UpdateCompany(ctx, bob, c.ID, store.CompanyInput{Name: "Acme Inc", OwnerID: ptr(alice.ID)})
	must(err)
	w.one("bob edits back", store.ActivityCompanyUpdated, c.ID, bob)
	_, err = st.UpdateCompany(ctx, bob, c.ID, store.CompanyInput{Name: "Acme Bob", OwnerID: ptr(bob.ID)})
	if store.ErrorCode(err) != store.EForbidden {
		t.Fatalf("bob takes ownership: %v, want forbidden", err)
	}
	w.none("bob takes ownership", err)
	isOwner("after bob's attempt", ownerOf(c.ID), alice)
	if c2, _ := st.Company(ctx, admin, c.ID); c2.Name != "Acme Inc" {
		t.Errorf("a refused owner change kept the rest of the edit: %q", c2.Name)
	}

	// Alice, the owner, hands it to Carol, who had not been assigned it:
	// Carol now sees it, from SQLite and from her Redis client set.
	if _, err := st.Company(ctx, carol, c.ID); store.ErrorCode(err) != store.ENotFound {
		t.Fatalf("carol before: %v", err)
	}
	got, err := st.UpdateCompany(ctx, alice, c.ID, store.CompanyInput{Name: "Acme Inc", OwnerID: ptr(carol.ID)})
	must(err)
	isOwner("handed to carol", got.OwnerID, carol)
	if got.OwnerName == nil || *got.OwnerName != carol.Name {
		t.Errorf("owner name after the change: %v", got.OwnerName)
	}
	kinds := []string{}
	for _, a := range w.since() {
		kinds = append(kinds, a.Kind)
		if a.ActorID == nil || *a.ActorID != alice.ID {
			t.Errorf("activity %+v not by alice", a)
		}
		if a.Kind == store.ActivityCompanyOwnerChanged && (a.RefID != carol.ID || a.Summary != "alice@example.com made carol@example.com the owner of “Acme Inc”") {
			t.Errorf("owner activity %+v", a)
		}
	}
	// The name is as it was: a change of owner only, not an edit.
	if want := []string{store.ActivityClientAssigned, store.ActivityCompanyOwnerChanged}; !slices.Equal(kinds, want) {
		t.Errorf("activities %v, want %v", kinds, want)
	}
	if _, err := st.Company(ctx, carol, c.ID); err != nil {
		t.Errorf("carol, the new owner, cannot see it: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ids, err := st.ClientIDs(ctx, carol)
		must(err)
		if slices.Contains(ids, c.ID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("carol's client set %v lacks %d", ids, c.ID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Alice is no longer the owner.
	_, err = st.UpdateCompany(ctx, alice, c.ID, store.CompanyInput{Name: "Acme Inc", OwnerID: ptr(alice.ID)})
	if store.ErrorCode(err) != store.EForbidden {
		t.Fatalf("former owner: %v, want forbidden", err)
	}
	w.none("former owner", err)

	// Owners that cannot be: unknown, another workspace's, deactivated.
	for name, id := range map[string]int64{"unknown": 999999, "other workspace": foreign.ID, "deactivated": gone.ID, "negative": -1} {
		_, err := st.UpdateCompany(ctx, admin, c.ID, store.CompanyInput{Name: "Acme Inc", OwnerID: ptr(id)})
		if store.ErrorCode(err) != store.EInvalid || store.ErrorFields(err)["owner_id"] == "" {
			t.Errorf("%s owner: %v, want invalid owner_id", name, err)
		}
		w.none(name+" owner", err)
		_, err = st.CreateCompany(ctx, admin, store.CompanyInput{Name: "New " + name, OwnerID: ptr(id)})
		if store.ErrorCode(err) != store.EInvalid || store.ErrorFields(err)["owner_id"] == "" {
			t.Errorf("new company, %s owner: %v, want invalid owner_id", name, err)
		}
		w.none("new company, "+name+" owner", err)
	}
	isOwner("after refused owners", ownerOf(c.ID), carol)

	// An admin may always change it, to an admin (who needs no
	// assignment) or to nobody.
	_, err = st.UpdateCompany(ctx, admin, c.ID, store.CompanyInput{Name: "Acme Inc", OwnerID: ptr(admin.ID)})
	must(err)
	isOwner("admin takes it", ownerOf(c.ID), admin)
	w.since()
	got, err = st.UpdateCompany(ctx, admin, c.ID, store.CompanyInput{Name: "Acme Inc", OwnerID: ptr(0)})
	must(err)
	if got.OwnerID != nil || got.OwnerName != nil || ownerOf(c.ID) != nil {
		t.Errorf("cleared owner: %v %v", got.OwnerID, got.OwnerName)
	}
	var cleared bool
	for _, a := range w.since() {
		cleared = cleared || a.Kind == store.ActivityCompanyOwnerChanged && a.RefID == 0
	}
	if !cleared {
		t.Error("clearing the owner wrote no activity")
	}
	// With no owner, only an admin may name one.
	_, err = st.UpdateCompany(ctx, bob, c.ID, store.CompanyInput{Name: "Acme Inc", OwnerID: ptr(bob.ID)})
	if store.ErrorCode(err) != store.EForbidden {
		t.Errorf("staff claims an ownerless company: %v", err)
	}

	// A new company may name its owner at once; a staff owner is assigned.
	d, err := st.CreateCompany(ctx, admin, store.CompanyInput{Name: "Initech", OwnerID: ptr(bob.ID)})
	must(err)
	isOwner("created for bob", d.OwnerID, bob)
	if _, err := st.Company(ctx, bob, d.ID); err != nil {
		t.Errorf("bob cannot see the company created for him: %v", err)
	}

	// The owner choices: active users of the workspace, for admins and
	// the owner only.
	choices, err := st.OwnerChoices(ctx, bob, d.ID)
	must(err)
	names := []string{}
	for _, u := range choices {
		names = append(names, u.Email)
	}
	if want := []string{"admin@example.com", "alice@example.com", "bob@example.com", "carol@example.com"}; !slices.Equal(names, want) {
		t.Errorf("owner choices %v, want %v", names, want)
	}
	if _, err := st.OwnerChoices(ctx, carol, byAdmin.ID); store.ErrorCode(err) != store.ENotFound {
		t.Errorf("choices for a company carol cannot see: %v", err)
	}
	must(st.AssignClient(ctx, admin, carol.ID, d.ID, true))
	if _, err := st.OwnerChoices(ctx, carol, d.ID); store.ErrorCode(err) != store.EForbidden {
		t.Errorf("choices for staff who do not own it: %v", err)
	}
}

// TestMyClients: "mine" lists the companies the viewer owns or is
// assigned, and nothing else they may see.
func TestMyClients(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	other := env.User(t, "other@example.com", store.RoleAdmin)
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	mk := func(u *store.User, name string) *store.Company {
		t.Helper()
		c, err := st.CreateCompany(ctx, u, store.CompanyInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mk(admin, "A owned by admin")
	mk(other, "B owned by the other admin")
	assigned := mk(other, "C assigned to alice")
	mk(alice, "D created by alice")
	if err := st.AssignClient(ctx, admin, alice.ID, assigned.ID, true); err != nil {
		t.Fatal(err)
	}
	list := func(u *store.User, mine bool) []string {
		t.Helper()
		var out []string
		q := store.CompanyQuery{Mine: mine, Limit: 1}
		for {
			page, err := st.ListCompanies(ctx, u, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page.Items {
				out = append(out, c.Name)
			}
			if page.Next == "" {
				return out
			}
			q.Cursor = page.Next
		}
	}
	for _, tc := range []struct {
		who  *store.User
		mine bool
		want []string
	}{
		{admin, false, []string{"A owned by admin", "B owned by the other admin", "C assigned to alice", "D created by alice"}},
		{admin, true, []string{"A owned by admin"}},
		{other, true, []string{"B owned by the other admin", "C assigned to alice"}},
		{alice, true, []string{"C assigned to alice", "D created by alice"}},
	} {
		if got := list(tc.who, tc.mine); !slices.Equal(got, tc.want) {
			t.Errorf("%s mine=%v: %v, want %v", tc.who.Email, tc.mine, got, tc.want)
		}
	}
}

// TestItemAuthors: every kind of timeline item says who added it, on the
// timeline and when read alone; a system writer is nobody.
func TestItemAuthors(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	c, err := st.CreateCompany(ctx, alice, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	isAlice := func(name string, a store.Author) {
		t.Helper()
		if a.AuthorID == nil || *a.AuthorID != alice.ID || a.AuthorName == nil || *a.AuthorName != alice.Name {
			t.Errorf("%s: author %v %v, want alice", name, a.AuthorID, a.AuthorName)
		}
	}
	n, err := st.AddNote(ctx, alice, c.ID, store.NoteInput{Title: "Call"})
	must(err)
	isAlice("added note", n.Author)
	ct, err := st.AddContact(ctx, alice, c.ID, store.ContactInput{Name: "Jo"})
	must(err)
	isAlice("added contact", ct.Author)
	l, err := st.AddLink(ctx, alice, c.ID, store.LinkInput{Title: "Site", URL: "https://acme.example"})
	must(err)
	isAlice("added link", l.Author)
	_, err = st.CreateMeeting(ctx, alice, c.ID, store.MeetingInput{Type: "call", Subject: "Kickoff", StartsAt: time.Now().UnixMilli()})
	must(err)
	system := &store.User{WorkspaceID: store.DefaultWorkspace, Role: store.RoleAdmin} // as the demo loader writes
	anon, err := st.AddContact(ctx, system, c.ID, store.ContactInput{Email: "nobody@acme.example"})
	must(err)
	if anon.AuthorID != nil || anon.AuthorName != nil {
		t.Errorf("a system writer's contact has an author: %+v", anon.Author)
	}

	items, _, err := st.Timeline(ctx, alice, c.ID, store.TimelineQuery{})
	must(err)
	seen := map[string]bool{}
	for _, it := range items {
		if it.Type == store.TypeContact && it.ID == anon.ID {
			if it.AuthorID != nil || it.AuthorName != nil || it.Contact.AuthorID != nil {
				t.Errorf("system contact on the timeline has an author: %+v", it.Author)
			}
			continue
		}
		seen[it.Type] = true
		isAlice("timeline "+it.Type, it.Author)
		switch {
		case it.Note != nil:
			isAlice("timeline note row", it.Note.Author)
		case it.Contact != nil:
			isAlice("timeline contact row", it.Contact.Author)
		case it.Link != nil:
			isAlice("timeline link row", it.Link.Author)
		}
	}
	if len(seen) != 4 {
		t.Errorf("timeline types %v, want all four", seen)
	}
	rn, err := st.Note(ctx, alice, n.ID)
	must(err)
	isAlice("note read", rn.Author)
	rc, err := st.Contact(ctx, alice, ct.ID)
	must(err)
	isAlice("contact read", rc.Author)
	rl, err := st.Link(ctx, alice, l.ID)
	must(err)
	isAlice("link read", rl.Author)

	// Names on the timeline come from a cache: a rename shows at once, and
	// so does an author created after it was filled.
	alice, err = st.UpdateProfile(ctx, alice.ID, store.ProfileInput{Name: "Alice Smith", Email: alice.Email, TimeZone: "UTC"})
	must(err)
	items, _, err = st.Timeline(ctx, alice, c.ID, store.TimelineQuery{})
	must(err)
	for _, it := range items {
		if it.AuthorID != nil {
			isAlice("after the rename, "+it.Type, it.Author)
		}
	}
	newcomer := env.User(t, "newcomer@example.com", store.RoleAdmin)
	_, err = st.AddNote(ctx, newcomer, c.ID, store.NoteInput{Title: "Hello"})
	must(err)
	items, _, err = st.Timeline(ctx, alice, c.ID, store.TimelineQuery{})
	must(err)
	if it := items[0]; it.AuthorName == nil || *it.AuthorName != newcomer.Name || it.Note.AuthorName == nil || *it.Note.AuthorName != newcomer.Name {
		t.Errorf("newcomer's note: %+v", it.Author)
	}
}

// TestUnassignOwner: taking a client away from its staff owner, one at a
// time or by replacing their clients, leaves the company with no owner,
// in the same transaction, with its company.owner_changed activity.
func TestUnassignOwner(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	s := env.User(t, "s@example.com", store.RoleStaff)
	w := &activityWatch{t: t, st: st, admin: admin, sink: &sinkRecorder{}}
	for _, tc := range []struct {
		name   string
		remove func(c *store.Company) error
	}{
		{"AssignClient", func(c *store.Company) error { return st.AssignClient(ctx, admin, s.ID, c.ID, false) }},
		{"SetUserClients", func(*store.Company) error { return st.SetUserClients(ctx, admin, s.ID, nil) }},
	} {
		c, err := st.CreateCompany(ctx, admin, store.CompanyInput{Name: "Acme " + tc.name})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateCompany(ctx, admin, c.ID, store.CompanyInput{Name: c.Name, OwnerID: &s.ID}); err != nil {
			t.Fatal(err)
		}
		w.since()
		if err := tc.remove(c); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := st.Company(ctx, admin, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.OwnerID != nil {
			t.Errorf("%s: owner %d, want nobody", tc.name, *got.OwnerID)
		}
		var kinds []string
		for _, a := range w.since() {
			if a.CompanyID == nil || *a.CompanyID != c.ID || a.ActorID == nil || *a.ActorID != admin.ID {
				t.Errorf("%s: activity %+v", tc.name, a)
			}
			kinds = append(kinds, a.Kind)
		}
		if want := []string{store.ActivityClientUnassigned, store.ActivityCompanyOwnerChanged}; !slices.Equal(kinds, want) {
			t.Errorf("%s: activities %v, want %v", tc.name, kinds, want)
		}
	}
}
