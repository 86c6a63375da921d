package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rolodex/rolodex/store"
)

// TestReadOnlyRedisMeetingsAPI: after a failover leaves Redis a read-only
// replica, a client taken away from a staff user is gone from the meetings
// API at once (as from the company page), and /healthz calls Redis
// degraded while answering 200.
func TestReadOnlyRedisMeetingsAPI(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	co := mustCompany(t, a, "Acme")
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, co.ID, true); err != nil {
		t.Fatal(err)
	}
	mustMeeting(t, a, co.ID, store.MeetingInput{Type: "call", Subject: "Secret plans", Details: "the price", StartsAt: march1})
	c := a.client(t, staff)
	if _, body := do(t, c, "GET", a.Server.URL+"/api/v1/meetings", "", ""); !strings.Contains(body, "Secret plans") {
		t.Fatalf("meetings before: %s", body)
	}

	if err := a.Redis.Do(ctx, "REPLICAOF", "127.0.0.1", "1").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Redis.Do(context.Background(), "REPLICAOF", "NO", "ONE") })
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, co.ID, false); err != nil {
		t.Fatal(err)
	}
	if resp, _ := do(t, c, "GET", fmt.Sprintf("%s/companies/%d", a.Server.URL, co.ID), "", ""); resp.StatusCode != 404 {
		t.Errorf("company page after unassigning: %d", resp.StatusCode)
	}
	for i := 0; i < 2; i++ {
		resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/meetings", "", "")
		if resp.StatusCode != 200 || strings.Contains(body, "Secret plans") || strings.Contains(body, "the price") {
			t.Errorf("meetings API after unassigning, read-only redis: %d %s", resp.StatusCode, body)
		}
	}
	resp, body := do(t, c, "GET", a.Server.URL+"/healthz", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"redis":"degraded: `) {
		t.Errorf("healthz with read-only redis: %d %s", resp.StatusCode, body)
	}
	t.Logf("healthz: %s", body)
}
