package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// openRoomFixture makes a company seen by staff, a meeting of it owned by owner
// that started a minute ago, and opens its room.
func openRoomFixture(t *testing.T, env *storetest.Env, owner *store.User, staff ...*store.User) *store.Meeting {
	t.Helper()
	ctx := context.Background()
	adm := &store.User{WorkspaceID: store.DefaultWorkspace, Role: store.RoleAdmin}
	c, err := env.Store.CreateCompany(ctx, adm, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range append(staff, owner) {
		if err := env.Store.AssignClient(ctx, adm, u.ID, c.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	m, err := env.Store.CreateMeeting(ctx, owner, c.ID, store.MeetingInput{Type: "call", Subject: "Kick-off", StartsAt: time.Now().Add(-time.Minute).UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.OpenRoom(ctx, owner, m.ID); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRoomChatRules(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	owner := env.User(t, "owner@example.com", store.RoleStaff)
	guest := env.User(t, "guest@example.com", store.RoleStaff)
	stranger := env.User(t, "stranger@example.com", store.RoleStaff)
	m := openRoomFixture(t, env, owner, guest)

	// Not a participant yet: refused.
	if _, err := env.Store.PostMessage(ctx, guest, m.ID, "hi"); store.ErrorCode(err) != store.EForbidden {
		t.Fatalf("post before joining: %v", err)
	}
	if _, err := env.Store.JoinRoom(ctx, guest, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.JoinRoom(ctx, stranger, m.ID); store.ErrorCode(err) != store.ENotFound {
		t.Fatalf("join by a user who cannot see the client: %v, want not found", err)
	}
	for _, bad := range []string{"", "  \n ", strings.Repeat("x", 4001), "bell\x07", "nul\x00"} {
		if _, err := env.Store.PostMessage(ctx, guest, m.ID, bad); store.ErrorCode(err) != store.EInvalid || store.ErrorFields(err)["body"] == "" {
			t.Errorf("post %.20q: %v, want invalid body", bad, err)
		}
	}
	if msg, err := env.Store.PostMessage(ctx, guest, m.ID, "tab\there\r\nline two "+strings.Repeat("é", 3970)); err != nil || !strings.HasPrefix(msg.Body, "tab\there\nline two") {
		t.Fatalf("valid message: %v", err)
	}
	// The rate limit: ten in ten seconds, the eleventh is throttled.
	for i := 2; i <= 10; i++ {
		if _, err := env.Store.PostMessage(ctx, guest, m.ID, "m"); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if _, err := env.Store.PostMessage(ctx, guest, m.ID, "one too many"); store.ErrorCode(err) != store.EThrottled || !strings.Contains(store.ErrorMessage(err), "10 in 10 seconds") {
		t.Fatalf("11th message: %v, want throttled", err)
	}
	// Others are not throttled by it.
	if _, err := env.Store.JoinRoom(ctx, owner, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.PostMessage(ctx, owner, m.ID, "owner here"); err != nil {
		t.Fatal(err)
	}
	// Paging: latest first page, oldest first within it, back to the start.
	var ids []int64
	cursor := ""
	for {
		page, err := env.Store.RoomMessages(ctx, owner, m.ID, store.MessageQuery{Cursor: cursor, Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		var pageIDs []int64
		for _, it := range page.Items {
			pageIDs = append(pageIDs, it.ID)
		}
		ids = append(pageIDs, ids...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if len(ids) != 11 {
		t.Fatalf("paged %d messages, want 11", len(ids))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("messages out of order: %v", ids)
		}
	}
	mine, err := env.Store.RoomMessages(ctx, guest, m.ID, store.MessageQuery{UserID: owner.ID})
	if err != nil || len(mine.Items) != 1 || mine.Items[0].Body != "owner here" {
		t.Fatalf("one user's messages: %+v %v", mine, err)
	}
	if _, err := env.Store.RoomMessages(ctx, stranger, m.ID, store.MessageQuery{}); store.ErrorCode(err) != store.ENotFound {
		t.Fatalf("messages for a user who cannot see the client: %v", err)
	}
	// Ending makes everyone leave, logged as ended; then nobody can post.
	if _, err := env.Store.EndRoom(ctx, guest, m.ID); store.ErrorCode(err) != store.EForbidden {
		t.Fatalf("end by a participant who does not organise: %v", err)
	}
	if _, err := env.Store.EndRoom(ctx, owner, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.PostMessage(ctx, owner, m.ID, "after"); store.ErrorCode(err) != store.EConflict {
		t.Fatalf("post after the end: %v, want conflict", err)
	}
	r, err := env.Store.Room(ctx, owner, m.ID)
	if err != nil || r.State != store.RoomEnded || len(r.Participants) != 0 {
		t.Fatalf("after end: %+v %v", r, err)
	}
	log, err := env.Store.RoomEvents(ctx, owner, m.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range log.Items {
		kinds = append(kinds, e.Kind+"/"+e.Reason)
	}
	if got := strings.Join(kinds, " "); got != "opened/ joined/ joined/ left/ended left/ended ended/" {
		t.Fatalf("events log: %s", got)
	}
}
