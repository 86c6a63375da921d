package store_test

import (
	"context"
	"testing"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

func TestCompanyVisibility(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	alice := env.User(t, "alice@example.com", store.RoleStaff)
	bob := env.User(t, "bob@example.com", store.RoleStaff)

	acme, err := env.Store.CreateCompany(ctx, admin, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	// Staff who create a company are assigned to it.
	own, err := env.Store.CreateCompany(ctx, alice, store.CompanyInput{Name: "Alice Co"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.AssignClient(ctx, admin, bob.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		user *store.User
		id   int64
		want bool
	}{
		{admin, acme.ID, true}, {admin, own.ID, true},
		{alice, acme.ID, false}, {alice, own.ID, true},
		{bob, acme.ID, true}, {bob, own.ID, false},
	}
	for _, c := range cases {
		_, err := env.Store.Company(ctx, c.user, c.id)
		if got := err == nil; got != c.want {
			t.Errorf("%s sees company %d: got %v (%v), want %v", c.user.Email, c.id, got, err, c.want)
		}
		if err != nil && store.ErrorCode(err) != store.ENotFound {
			t.Errorf("hidden company answered %v, want not found", err)
		}
	}
	ids, err := env.Store.ClientIDs(ctx, bob)
	if err != nil || len(ids) != 1 || ids[0] != acme.ID {
		t.Fatalf("bob's clients from redis = %v, %v", ids, err)
	}
	if n, _ := env.Redis.SCard(ctx, store.Key(1, "clients_for_user", bob.ID)).Result(); n != 0 {
		// No applier is wired in this test, so Redis waits for the relay.
		t.Logf("redis set has %d members before relay", n)
	}
}
