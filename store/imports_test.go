package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

func newBulkAction(t *testing.T, st *store.Store, admin *store.User, in store.BulkActionInput) *store.BulkAction {
	t.Helper()
	if in.Header == nil {
		in.Header, in.Delimiter, in.Mapping = []string{"name", "email"}, ",", map[string]int{"name": 0, "email": 1}
	}
	a, err := st.CreateBulkAction(context.Background(), admin, in, func(id int64) (string, error) { return "/nowhere.csv", nil })
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestBulkActionLifeCycle(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	staff := env.User(t, "staff@example.com", store.RoleStaff)

	if _, err := st.CreateBulkAction(ctx, staff, store.BulkActionInput{Header: []string{"a"}, Delimiter: ","}, nil); store.ErrorCode(err) != store.EForbidden {
		t.Errorf("staff import: %v", err)
	}
	_, err := st.CreateBulkAction(ctx, admin, store.BulkActionInput{Kind: "deals", Mode: "merge", Header: []string{"a"}, Delimiter: ",",
		Mapping: map[string]int{"name": 3}}, nil)
	if f := store.ErrorFields(err); f["kind"] == "" || f["mode"] == "" || f["mapping"] == "" {
		t.Errorf("bad input: %v", err)
	}

	draft := newBulkAction(t, st, admin, store.BulkActionInput{Draft: true, FileName: "people.csv"})
	if draft.Status != store.StatusDraft || draft.Kind != store.ImportContacts || draft.Mode != store.ModeCreate || draft.CreatedBy == nil {
		t.Fatalf("draft: %+v", draft)
	}
	// A draft is not work: no worker can claim it.
	if a, err := st.ClaimBulkAction(ctx, draft.ID, "w1", time.Now().UnixMilli()); a != nil || err != nil {
		t.Errorf("claimed a draft: %v %v", a, err)
	}
	started, err := st.StartBulkAction(ctx, admin, draft.ID, store.ModeUpsert, map[string]int{"email": 1})
	if err != nil || started.Status != store.StatusQueued || started.Mode != store.ModeUpsert || started.Mapping["email"] != 1 {
		t.Fatalf("start: %+v %v", started, err)
	}
	if _, err := st.StartBulkAction(ctx, admin, draft.ID, store.ModeCreate, nil); store.ErrorCode(err) != store.EConflict {
		t.Errorf("second start: %v", err)
	}
	// The start put it on the workspace's stream.
	if n, _ := env.Redis.XLen(ctx, store.ImportQueueKey(store.DefaultWorkspace)).Result(); n != 1 {
		t.Errorf("%d stream entries after start", n)
	}

	// Claims: one worker at a time, until its heartbeat is stale.
	a, err := st.ClaimBulkAction(ctx, started.ID, "w1", time.Now().Add(-time.Minute).UnixMilli())
	if err != nil || a == nil || a.Status != store.StatusRunning || a.StartedAt == nil {
		t.Fatalf("claim: %+v %v", a, err)
	}
	if a, _ := st.ClaimBulkAction(ctx, started.ID, "w2", time.Now().Add(-time.Minute).UnixMilli()); a != nil {
		t.Error("a second worker claimed a live one's import")
	}
	if err := st.HeartbeatBulkAction(ctx, started.ID, "w2"); !errors.Is(err, store.ErrImportStopped) {
		t.Errorf("heartbeat by a non-holder: %v", err)
	}
	// A cut-off in the future makes w1's heartbeat stale whatever the
	// clocks say (the store's clock never repeats a millisecond, so it can
	// run a little ahead of the wall clock).
	if a, _ := st.ClaimBulkAction(ctx, started.ID, "w2", time.Now().Add(time.Minute).UnixMilli()); a == nil || a.Worker != "w2" {
		t.Error("a stale claim was not taken over")
	}
	if err := st.FinishBulkAction(ctx, started.ID, "w1", store.StatusDone, ""); !errors.Is(err, store.ErrImportStopped) {
		t.Errorf("the old holder finished it: %v", err)
	}
	if err := st.ReleaseBulkAction(ctx, started.ID, "w2"); err != nil {
		t.Fatal(err)
	}
	if a, _ := st.BulkActionByID(ctx, started.ID); a.Status != store.StatusQueued || a.Worker != "" {
		t.Errorf("after release: %s %q", a.Status, a.Worker)
	}
	if open, _ := st.OpenBulkActions(ctx); len(open) != 1 {
		t.Errorf("%d open imports", len(open))
	}

	before, err := st.CancelBulkAction(ctx, admin, started.ID)
	if err != nil || before.Status != store.StatusQueued {
		t.Fatalf("cancel: %v %v", before, err)
	}
	if _, err := st.CancelBulkAction(ctx, admin, started.ID); store.ErrorCode(err) != store.EConflict {
		t.Errorf("second cancel: %v", err)
	}
	if a, _ := st.ClaimBulkAction(ctx, started.ID, "w3", time.Now().UnixMilli()); a != nil {
		t.Error("claimed a cancelled import")
	}

	list, err := st.ListBulkActions(ctx, admin, 0)
	if err != nil || len(list) != 1 || list[0].ID != started.ID {
		t.Errorf("list: %v %v", list, err)
	}
	other := &store.User{ID: 99, WorkspaceID: 2, Role: store.RoleAdmin}
	if _, err := st.BulkAction(ctx, other, started.ID); store.ErrorCode(err) != store.ENotFound {
		t.Errorf("another workspace's admin: %v", err)
	}
	if list, _ := st.ListBulkActions(ctx, other, 0); len(list) != 0 {
		t.Errorf("another workspace lists %d imports", len(list))
	}
}

func TestBulkActionRate(t *testing.T) {
	start := int64(1_000_000)
	a := &store.BulkAction{Status: store.StatusRunning, Total: 1000, Processed: 250, StartedAt: &start}
	now := store.Time(start + 5000)
	if r := a.Rate(now); r != 50 {
		t.Errorf("rate %v, want 50 rows/s", r)
	}
	if d, ok := a.Left(now); !ok || d != 15*time.Second {
		t.Errorf("left %v %v, want 15s", d, ok)
	}
	if _, ok := (&store.BulkAction{Total: 10}).Left(now); ok {
		t.Error("time left without a rate")
	}
}
