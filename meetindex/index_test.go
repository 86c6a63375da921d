package meetindex_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/rolodex/rolodex/meetindex"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestLateApply: an apply that read a row before a later write lands after
// that write's own apply. The index keeps the newer row, and a deleted
// meeting stays deleted.
func TestLateApply(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	x := env.Meetings
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	acme, err := st.CreateCompany(ctx, alice, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	const base = 1772373600000
	old, err := st.CreateMeeting(ctx, alice, acme.ID, store.MeetingInput{Type: "call", Subject: "Old", StartsAt: base})
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.UpdateMeeting(ctx, alice, old.ID, store.MeetingInput{Type: "video", Status: "closed", Subject: "New", StartsAt: base + 3600_000})
	if err != nil {
		t.Fatal(err)
	}
	same := func(want []int64) {
		t.Helper()
		for _, u := range []*store.User{alice, admin} {
			for _, q := range []store.MeetingQuery{{}, {Types: []string{"call"}}, {Types: []string{"video"}, Statuses: []string{"closed"}}} {
				got, ready, err := listRedis(ctx, st, x, u, q)
				if err != nil || !ready {
					t.Fatalf("redis: ready %v, %v", ready, err)
				}
				ref, err := st.ListMeetingsSQL(ctx, u, q)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got.Items, ref.Items) {
					t.Fatalf("%s %+v: redis %+v, sqlite %+v", u.Email, q, got.Items, ref.Items)
				}
				if q.Types == nil && !reflect.DeepEqual(idsOf(got.Items), want) {
					t.Fatalf("%s: ids %v, want %v", u.Email, idsOf(got.Items), want)
				}
			}
		}
	}
	if err := x.PutRow(ctx, store.DefaultWorkspace, old); err != nil {
		t.Fatal(err)
	}
	same([]int64{m.ID})
	if err := st.DeleteMeeting(ctx, alice, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := x.PutRow(ctx, store.DefaultWorkspace, m); err != nil {
		t.Fatal(err)
	}
	same([]int64{})
}

func listRedis(ctx context.Context, st *store.Store, x *meetindex.Index, u *store.User, q store.MeetingQuery) (*store.MeetingPage, bool, error) {
	pq, err := st.PrepareMeetingQuery(ctx, u, q)
	if err != nil {
		return nil, false, err
	}
	return x.List(ctx, u, pq)
}

func idsOf(ms []store.Meeting) []int64 {
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}
