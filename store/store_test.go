package store_test

import (
	"context"
	"fmt"
	"slices"
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
	// The client sets are written when the assignment commits (the store
	// applies its own outbox rows; no relay runs here), and ClientIDs reads
	// them while the generation marker is there.
	if !env.Store.RedisReady(ctx, store.DefaultWorkspace) {
		t.Fatal("generation marker missing: ClientIDs would read SQLite")
	}
	for _, c := range []struct {
		key  string
		want []string
	}{
		{store.Key(1, "clients_for_user", bob.ID), []string{fmt.Sprint(acme.ID)}},
		{store.Key(1, "clients_for_user", alice.ID), []string{fmt.Sprint(own.ID)}},
		{store.Key(1, "users_for_client", acme.ID), []string{fmt.Sprint(bob.ID)}},
		{store.Key(1, "users_for_client", own.ID), []string{fmt.Sprint(alice.ID)}},
	} {
		got, err := env.Redis.SMembers(ctx, c.key).Result()
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("redis %s = %v (%v), want %v", c.key, got, err, c.want)
		}
	}
	ids, err := env.Store.ClientIDs(ctx, bob)
	if err != nil || !slices.Equal(ids, []int64{acme.ID}) {
		t.Fatalf("bob's clients = %v, %v; want [%d]", ids, err, acme.ID)
	}
}
