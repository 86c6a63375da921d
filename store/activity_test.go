package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// sinkRecorder is a notification pipeline that notes what it was handed.
type sinkRecorder struct {
	mu   sync.Mutex
	ids  []int64
	fail error
}

func (r *sinkRecorder) ApplyActivities(ctx context.Context, items []store.OutboxItem) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	for _, it := range items {
		if it.Kind != store.OutboxActivity {
			return errors.New("handed a row of kind " + it.Kind)
		}
		r.ids = append(r.ids, it.RefID)
	}
	return nil
}

func (r *sinkRecorder) handed(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.ids, id)
}

// activityWatch reads what each change wrote to the activity table.
type activityWatch struct {
	t     *testing.T
	st    *store.Store
	admin *store.User
	sink  *sinkRecorder
	last  int64
}

// since returns the activities written since the previous call, oldest
// first.
func (w *activityWatch) since() []store.Activity {
	w.t.Helper()
	page, err := w.st.Activities(context.Background(), w.admin, store.ActivityQuery{Limit: 200})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []store.Activity
	for _, a := range page.Items {
		if a.ID > w.last {
			out = append([]store.Activity{a}, out...)
		}
	}
	if len(out) > 0 {
		w.last = out[len(out)-1].ID
	}
	return out
}

// one checks that the change just made wrote exactly one activity of kind
// on company (0: none) by actor (nil: the system), handed to the sink
// after commit, and returns it.
func (w *activityWatch) one(name, kind string, company int64, actor *store.User) store.Activity {
	w.t.Helper()
	got := w.since()
	if len(got) != 1 {
		w.t.Fatalf("%s: %d activities, want 1: %+v", name, len(got), got)
	}
	a := got[0]
	if a.Kind != kind {
		w.t.Errorf("%s: kind %q, want %q", name, a.Kind, kind)
	}
	if company == 0 && a.CompanyID != nil || company != 0 && (a.CompanyID == nil || *a.CompanyID != company) {
		w.t.Errorf("%s: company %v, want %d", name, a.CompanyID, company)
	}
	if actor == nil && a.ActorID != nil || actor != nil && (a.ActorID == nil || *a.ActorID != actor.ID) {
		w.t.Errorf("%s: actor %v, want %v", name, a.ActorID, actor)
	}
	if a.Summary == "" || a.CreatedAt == 0 || a.WorkspaceID != store.DefaultWorkspace {
		w.t.Errorf("%s: %+v", name, a)
	}
	if !w.sink.handed(a.ID) {
		w.t.Errorf("%s: activity %d not handed to the sink", name, a.ID)
	}
	return a
}

// none checks that a refused change wrote no activity.
func (w *activityWatch) none(name string, err error) {
	w.t.Helper()
	if err == nil {
		w.t.Errorf("%s: accepted", name)
	}
	if got := w.since(); len(got) != 0 {
		w.t.Errorf("%s: refused, yet wrote %+v", name, got)
	}
}

// TestActivityPerChange makes every kind of change a person makes to a
// client and checks that each writes exactly one activity, in its own
// transaction (a refused change writes none), and that every activity
// reaches the sink once committed.
func TestActivityPerChange(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	sink := &sinkRecorder{}
	st.ActivitySink = sink
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	bob := env.User(t, "bob@example.com", store.RoleStaff)
	w := &activityWatch{t: t, st: st, admin: admin, sink: sink}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	c, err := st.CreateCompany(ctx, alice, store.CompanyInput{Name: "Acme"})
	must(err)
	if a := w.one("create company", store.ActivityCompanyCreated, c.ID, alice); a.RefID != c.ID || a.Summary != "alice@example.com created “Acme”" {
		t.Errorf("create company: %+v", a)
	}
	_, err = st.CreateCompany(ctx, alice, store.CompanyInput{Name: ""})
	w.none("create company without a name", err)
	_, err = st.UpdateCompany(ctx, alice, c.ID, store.CompanyInput{Name: "Acme Inc"})
	must(err)
	w.one("edit company", store.ActivityCompanyUpdated, c.ID, alice)
	_, err = st.UpdateCompany(ctx, alice, c.ID, store.CompanyInput{Name: "Acme", Website: "javascript:alert(1)"})
	w.none("edit company with a bad website", err)
	_, err = st.UpdateCompany(ctx, bob, c.ID, store.CompanyInput{Name: "Bob's"})
	w.none("edit a company one may not see", err)

	n, err := st.AddNote(ctx, alice, c.ID, store.NoteInput{Title: "Pricing call", Body: "x"})
	must(err)
	if a := w.one("add note", store.ActivityNoteCreated, c.ID, alice); a.RefID != n.ID || a.Summary != "alice@example.com added a note “Pricing call”" {
		t.Errorf("add note: %+v", a)
	}
	_, err = st.AddNote(ctx, alice, c.ID, store.NoteInput{})
	w.none("add note without a title", err)
	_, err = st.UpdateNote(ctx, alice, n.ID, store.NoteInput{Title: "Pricing call, again"})
	must(err)
	if a := w.one("edit note", store.ActivityNoteUpdated, c.ID, alice); a.Summary != "alice@example.com changed the note “Pricing call, again”" {
		t.Errorf("edit note: %+v", a)
	}
	must(st.DeleteItem(ctx, alice, store.TypeNote, n.ID))
	if a := w.one("delete note", store.ActivityNoteDeleted, c.ID, alice); a.Summary != "alice@example.com deleted the note “Pricing call, again”" {
		t.Errorf("delete note: %+v", a)
	}
	w.none("delete note twice", st.DeleteItem(ctx, alice, store.TypeNote, n.ID))

	ct, err := st.AddContact(ctx, alice, c.ID, store.ContactInput{Name: "Carol", Email: "carol@acme.example"})
	must(err)
	w.one("add contact", store.ActivityContactCreated, c.ID, alice)
	_, err = st.AddContact(ctx, alice, c.ID, store.ContactInput{Name: "Carol again", Email: "carol@acme.example"})
	w.none("add contact with a taken address", err)
	_, err = st.UpdateContact(ctx, alice, ct.ID, store.ContactInput{Name: "Carol B", Email: "carol@acme.example"})
	must(err)
	w.one("edit contact", store.ActivityContactUpdated, c.ID, alice)
	must(st.DeleteItem(ctx, alice, store.TypeContact, ct.ID))
	w.one("delete contact", store.ActivityContactDeleted, c.ID, alice)

	l, err := st.AddLink(ctx, alice, c.ID, store.LinkInput{Title: "Site", URL: "https://acme.example"})
	must(err)
	w.one("add link", store.ActivityLinkCreated, c.ID, alice)
	_, err = st.AddLink(ctx, alice, c.ID, store.LinkInput{Title: "Bad", URL: "javascript:alert(1)"})
	w.none("add link with a bad address", err)
	_, err = st.UpdateLink(ctx, alice, l.ID, store.LinkInput{Title: "Website", URL: "https://acme.example"})
	must(err)
	w.one("edit link", store.ActivityLinkUpdated, c.ID, alice)
	must(st.DeleteItem(ctx, alice, store.TypeLink, l.ID))
	w.one("delete link", store.ActivityLinkDeleted, c.ID, alice)

	start := time.Now().Add(time.Hour).UnixMilli()
	m, err := st.CreateMeeting(ctx, alice, c.ID, store.MeetingInput{Type: "call", Subject: "Kickoff", StartsAt: start})
	must(err)
	w.one("add meeting", store.ActivityMeetingCreated, c.ID, alice)
	_, err = st.CreateMeeting(ctx, alice, c.ID, store.MeetingInput{Type: "no such type", Subject: "Kickoff", StartsAt: start})
	w.none("add meeting of an unknown type", err)
	_, err = st.UpdateMeeting(ctx, alice, m.ID, store.MeetingInput{Type: "call", Subject: "Kickoff call", StartsAt: start})
	must(err)
	w.one("edit meeting", store.ActivityMeetingUpdated, c.ID, alice)
	_, err = st.SetMeetingStatus(ctx, alice, m.ID, store.MeetingClosed)
	must(err)
	w.one("close meeting", store.ActivityMeetingClosed, c.ID, alice)
	_, err = st.SetMeetingStatus(ctx, alice, m.ID, store.MeetingOpen)
	must(err)
	w.one("reopen meeting", store.ActivityMeetingReopened, c.ID, alice)
	_, err = st.SetMeetingStatus(ctx, alice, m.ID, "maybe")
	w.none("set an unknown status", err)

	// A room is held when it ends: by its organiser, or on schedule.
	_, err = st.OpenRoom(ctx, alice, m.ID)
	must(err)
	if got := w.since(); len(got) != 0 {
		t.Errorf("opening a room wrote %+v", got)
	}
	_, err = st.EndRoom(ctx, alice, m.ID)
	must(err)
	w.one("end room", store.ActivityRoomHeld, c.ID, alice)
	_, err = st.EndRoom(ctx, alice, m.ID)
	w.none("end an ended room", err)
	m2, err := st.CreateMeeting(ctx, alice, c.ID, store.MeetingInput{Type: "call", Subject: "Review", StartsAt: start})
	must(err)
	w.since()
	if ok, err := st.OpenRoomAt(ctx, m2.ID, time.Now().UnixMilli()); !ok || err != nil {
		t.Fatalf("open room on schedule: %v %v", ok, err)
	}
	if ok, err := st.EndRoomAt(ctx, m2.ID, time.Now().UnixMilli()); !ok || err != nil {
		t.Fatalf("end room on schedule: %v %v", ok, err)
	}
	w.one("room ends on schedule", store.ActivityRoomHeld, c.ID, nil)

	must(st.DeleteMeeting(ctx, alice, m.ID))
	w.one("delete meeting", store.ActivityMeetingDeleted, c.ID, alice)

	must(st.AssignClient(ctx, admin, bob.ID, c.ID, true))
	if a := w.one("assign", store.ActivityClientAssigned, c.ID, admin); a.RefID != bob.ID {
		t.Errorf("assign: ref %d, want bob %d", a.RefID, bob.ID)
	}
	w.none("assign twice", st.AssignClient(ctx, admin, bob.ID, c.ID, true))
	must(st.AssignClient(ctx, admin, bob.ID, c.ID, false))
	w.one("unassign", store.ActivityClientUnassigned, c.ID, admin)
	if err := st.AssignClient(ctx, admin, bob.ID, c.ID, false); err != nil {
		t.Fatal(err)
	}
	if got := w.since(); len(got) != 0 {
		t.Errorf("taking away a client bob did not have wrote %+v", got)
	}

	// Replacing a user's clients: one activity per client given or taken,
	// none for one kept.
	c2, err := st.CreateCompany(ctx, admin, store.CompanyInput{Name: "Beta"})
	must(err)
	c3, err := st.CreateCompany(ctx, admin, store.CompanyInput{Name: "Gamma"})
	must(err)
	w.since()
	must(st.SetUserClients(ctx, admin, bob.ID, []int64{c.ID, c2.ID}))
	must(st.SetUserClients(ctx, admin, bob.ID, []int64{c2.ID, c3.ID, c3.ID}))
	var kinds []string
	for _, a := range w.since() {
		kinds = append(kinds, a.Kind+" "+a.CompanyName)
	}
	slices.Sort(kinds)
	want := []string{"client.assigned Acme Inc", "client.assigned Beta", "client.assigned Gamma", "client.unassigned Acme Inc"}
	if !slices.Equal(kinds, want) {
		t.Errorf("set clients: %v, want %v", kinds, want)
	}

	// One import, one activity, on no company.
	b := newBulkAction(t, st, admin, store.BulkActionInput{FileName: "people.csv"})
	claimed, err := st.ClaimBulkAction(ctx, b.ID, "w1", 0)
	if err != nil || claimed == nil {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	w.since()
	must(st.FinishBulkAction(ctx, b.ID, "w1", store.StatusDone, ""))
	if a := w.one("import", store.ActivityImportFinished, 0, admin); a.RefID != b.ID {
		t.Errorf("import: %+v", a)
	}

	if left := pendingActivities(t, st); len(left) != 0 {
		t.Errorf("activity rows left pending: %+v", left)
	}
}

// pendingActivities returns the outbox rows of kind activity not yet done.
// (Without a search index, the store's other rows wait for one.)
func pendingActivities(t *testing.T, st *store.Store) []store.OutboxItem {
	t.Helper()
	items, err := st.PendingOutbox(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.OutboxItem
	for _, it := range items {
		if it.Kind == store.OutboxActivity {
			out = append(out, it)
		}
	}
	return out
}

// TestActivityOutbox checks that activity rows in the outbox neither stay
// pending without a sink nor get lost when the sink fails: the relay hands
// them over again.
func TestActivityOutbox(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	if _, err := st.CreateCompany(ctx, admin, store.CompanyInput{Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if left := pendingActivities(t, st); len(left) != 0 {
		t.Fatalf("no sink: pending %+v", left)
	}

	sink := &sinkRecorder{fail: errors.New("pipeline down")}
	st.ActivitySink = sink
	c, err := st.CreateCompany(ctx, admin, store.CompanyInput{Name: "Beta"})
	if err != nil {
		t.Fatal(err)
	}
	pending := pendingActivities(t, st)
	if len(pending) != 1 {
		t.Fatalf("failing sink: pending %+v", pending)
	}
	sink.fail = nil
	if err := st.ApplyOutbox(ctx, pending); err != nil {
		t.Fatal(err)
	}
	if !sink.handed(pending[0].RefID) {
		t.Error("the retried row did not reach the sink")
	}
	if left := pendingActivities(t, st); len(left) != 0 {
		t.Errorf("pending after the retry: %+v", left)
	}
	got, err := st.ActivitiesByID(ctx, []int64{pending[0].RefID})
	if a := got[pending[0].RefID]; err != nil || a == nil || a.Kind != store.ActivityCompanyCreated || a.CompanyName != "Beta" || *a.CompanyID != c.ID {
		t.Errorf("ActivitiesByID: %+v %v", got, err)
	}
}

// TestActivitiesRead checks client security and paging of the activity
// reader: staff see their clients' activity only (never an import's), a
// company they may not see is not found, and pages join up.
func TestActivitiesRead(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	bob := env.User(t, "bob@example.com", store.RoleStaff)
	var mine, theirs []int64
	for i := 0; i < 6; i++ {
		c, err := st.CreateCompany(ctx, admin, store.CompanyInput{Name: "Company " + string(rune('A'+i))})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			mine = append(mine, c.ID)
		} else {
			theirs = append(theirs, c.ID)
		}
	}
	if err := st.SetUserClients(ctx, admin, alice.ID, mine); err != nil {
		t.Fatal(err)
	}
	if err := st.SetUserClients(ctx, admin, bob.ID, theirs); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		for _, id := range mine {
			if _, err := st.AddNote(ctx, alice, id, store.NoteInput{Title: "mine"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range theirs {
			if _, err := st.AddNote(ctx, bob, id, store.NoteInput{Title: "theirs"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := newBulkAction(t, st, admin, store.BulkActionInput{FileName: "people.csv"})
	if a, err := st.ClaimBulkAction(ctx, b.ID, "w1", 0); err != nil || a == nil {
		t.Fatal(a, err)
	}
	if err := st.FinishBulkAction(ctx, b.ID, "w1", store.StatusDone, ""); err != nil {
		t.Fatal(err)
	}

	all := func(u *store.User, q store.ActivityQuery) []store.Activity {
		t.Helper()
		var out []store.Activity
		for {
			page, err := st.Activities(ctx, u, q)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page.Items...)
			if page.Next == "" {
				return out
			}
			q.Cursor = page.Next
		}
	}
	newestFirst := func(name string, list []store.Activity) {
		t.Helper()
		for i := 1; i < len(list); i++ {
			if list[i].ID >= list[i-1].ID {
				t.Fatalf("%s: not newest first at %d", name, i)
			}
		}
	}
	everything := all(admin, store.ActivityQuery{Limit: 200})
	newestFirst("admin", everything)
	// 6 created, 6 assigned, 30 notes, 1 import.
	if len(everything) != 43 || everything[0].Kind != store.ActivityImportFinished {
		t.Fatalf("admin sees %d, newest %+v", len(everything), everything[0])
	}
	var want []int64
	for _, a := range everything {
		if a.CompanyID != nil && slices.Contains(mine, *a.CompanyID) {
			want = append(want, a.ID)
		}
	}
	for _, limit := range []int{1, 4, 7, 200} {
		got := all(alice, store.ActivityQuery{Limit: limit})
		newestFirst("alice", got)
		var ids []int64
		for _, a := range got {
			ids = append(ids, a.ID)
		}
		if !slices.Equal(ids, want) {
			t.Errorf("alice, %d a page: %v, want %v", limit, ids, want)
		}
	}
	// By others: alice wrote her notes, the admin created and assigned.
	for _, a := range all(alice, store.ActivityQuery{NotBy: alice.ID, Limit: 3}) {
		if a.ActorID != nil && *a.ActorID == alice.ID {
			t.Errorf("NotBy: %+v", a)
		}
	}
	if got := all(alice, store.ActivityQuery{CompanyID: mine[1], Limit: 2}); len(got) != 7 {
		t.Errorf("one company: %d, want 7", len(got))
	}
	if _, err := st.Activities(ctx, alice, store.ActivityQuery{CompanyID: theirs[0]}); store.ErrorCode(err) != store.ENotFound {
		t.Errorf("another's company: %v", err)
	}
	for _, q := range []store.ActivityQuery{{Limit: -1}, {Limit: 201}, {Cursor: "%%%"}, {Cursor: "e30"}} {
		if _, err := st.Activities(ctx, alice, q); store.ErrorCode(err) != store.EInvalid {
			t.Errorf("%+v: %v", q, err)
		}
	}
}
