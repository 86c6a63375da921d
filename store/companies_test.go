package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestCompanyPaging walks the company list forwards and backwards in every
// sort and checks it against the same order computed in Go, for an admin
// and for a staff user who sees a subset.
func TestCompanyPaging(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	staff := env.User(t, "staff@example.com", store.RoleStaff)
	rng := rand.New(rand.NewPCG(1, 1))
	var all []store.Company
	var mine []int64
	for i := 0; i < 60; i++ {
		// Duplicate names and mixed case exercise the tie-break on id and
		// the case-insensitive order.
		name := []string{"acme", "Acme", "beta", "Gamma", "delta"}[rng.IntN(5)] + fmt.Sprint(rng.IntN(4))
		c, err := env.Store.CreateCompany(ctx, admin, store.CompanyInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if i%7 == 3 { // an edit moves it in the "updated" order
			if c, err = env.Store.UpdateCompany(ctx, admin, c.ID, store.CompanyInput{Name: name + " edited"}); err != nil {
				t.Fatal(err)
			}
		}
		all = append(all, *c)
		if rng.IntN(3) == 0 {
			mine = append(mine, c.ID)
		}
	}
	if err := env.Store.SetUserClients(ctx, admin, staff.ID, mine); err != nil {
		t.Fatal(err)
	}
	// Reload: later edits changed updated_at.
	page, err := env.Store.ListCompanies(ctx, admin, store.CompanyQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	all = page.Items
	visible := map[int64]bool{}
	for _, id := range mine {
		visible[id] = true
	}
	for _, viewer := range []*store.User{admin, staff} {
		for _, sortBy := range []string{"name", "created", "updated"} {
			for _, desc := range []bool{false, true} {
				var want []string
				var rows []store.Company
				for _, c := range all {
					if viewer.IsAdmin() || visible[c.ID] {
						rows = append(rows, c)
					}
				}
				key := func(c store.Company) (string, int64) {
					switch sortBy {
					case "created":
						return "", c.CreatedAt
					case "updated":
						return "", c.UpdatedAt
					}
					return strings.ToLower(c.Name), 0
				}
				sort.Slice(rows, func(i, j int) bool {
					si, ni := key(rows[i])
					sj, nj := key(rows[j])
					less := si < sj || si == sj && (ni < nj || ni == nj && rows[i].ID < rows[j].ID)
					if desc {
						return !less
					}
					return less
				})
				for _, c := range rows {
					want = append(want, fmt.Sprint(c.ID))
				}
				name := fmt.Sprintf("%s/%s/desc=%v", viewer.Role, sortBy, desc)
				// Forwards to the end, then backwards to the start.
				var got []string
				var pages []*store.CompanyPage
				q := store.CompanyQuery{Sort: sortBy, Desc: desc, Limit: 7}
				for i := 0; i < 30; i++ {
					p, err := env.Store.ListCompanies(ctx, viewer, q)
					if err != nil {
						t.Fatal(err)
					}
					pages = append(pages, p)
					for _, c := range p.Items {
						got = append(got, fmt.Sprint(c.ID))
					}
					if p.Next == "" {
						break
					}
					q.Cursor = p.Next
				}
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("%s forwards:\n got %v\nwant %v", name, got, want)
					continue
				}
				last := pages[len(pages)-1]
				for i := len(pages) - 2; i >= 0 && last.Prev != ""; i-- {
					q.Cursor = last.Prev
					p, err := env.Store.ListCompanies(ctx, viewer, q)
					if err != nil {
						t.Fatal(err)
					}
					if companyIDs(p.Items) != companyIDs(pages[i].Items) {
						t.Errorf("%s backwards page %d: got %s want %s", name, i, companyIDs(p.Items), companyIDs(pages[i].Items))
					}
					last = p
				}
				if last.Prev != "" {
					t.Errorf("%s: first page reached backwards still has a previous page", name)
				}
			}
		}
	}
}

func companyIDs(cs []store.Company) string {
	var s []string
	for _, c := range cs {
		s = append(s, fmt.Sprint(c.ID))
	}
	return strings.Join(s, ",")
}

func TestSignInThrottle(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	u := env.User(t, "lee@example.com", store.RoleStaff)
	for i := 0; i < 5; i++ {
		if _, err := env.Store.Authenticate(ctx, u.Email, "wrong password", "192.0.2.1"); store.ErrorCode(err) != store.EInvalid {
			t.Fatalf("attempt %d: %v, want invalid", i, err)
		}
	}
	// Locked now, even with the right password.
	if _, err := env.Store.Authenticate(ctx, u.Email, storetest.Password, "192.0.2.1"); store.ErrorCode(err) != store.EThrottled {
		t.Fatalf("after 5 failures: %v, want throttled", err)
	}
	// Another account is unaffected.
	v := env.User(t, "sam@example.com", store.RoleStaff)
	if _, err := env.Store.Authenticate(ctx, v.Email, storetest.Password, "192.0.2.1"); err != nil {
		t.Fatalf("other account: %v", err)
	}
	if _, err := env.Store.Authenticate(ctx, "nobody@example.com", "x", "192.0.2.1"); store.ErrorCode(err) != store.EInvalid {
		t.Fatalf("unknown e-mail: %v", err)
	}
}

func TestValidation(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	admin := env.User(t, "admin@example.com", store.RoleAdmin)
	c, err := env.Store.CreateCompany(ctx, admin, store.CompanyInput{Name: "Acme", Website: "acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Website != "https://acme.example" {
		t.Errorf("website %q, want https:// added", c.Website)
	}
	cases := []struct {
		name  string
		err   error
		field string
	}{
		{"link scheme", second(env.Store.AddLink(ctx, admin, c.ID, store.LinkInput{Title: "x", URL: "javascript:alert(1)"})), "url"},
		{"link data url", second(env.Store.AddLink(ctx, admin, c.ID, store.LinkInput{Title: "x", URL: "data:text/html,hi"})), "url"},
		{"note title", second(env.Store.AddNote(ctx, admin, c.ID, store.NoteInput{Title: " "})), "title"},
		{"contact empty", second(env.Store.AddContact(ctx, admin, c.ID, store.ContactInput{})), "name"},
		{"contact email", second(env.Store.AddContact(ctx, admin, c.ID, store.ContactInput{Name: "x", Email: "not-an-email"})), "email"},
		{"user password", second(env.Store.CreateWorkspaceUser(ctx, 1, store.UserInput{Email: "a@b.co", Name: "A", Password: "short"})), "password"},
		{"user role", second(env.Store.CreateWorkspaceUser(ctx, 1, store.UserInput{Email: "a@b.co", Name: "A", Password: "long enough pw", Role: "root"})), "role"},
	}
	for _, tc := range cases {
		if store.ErrorCode(tc.err) != store.EInvalid || store.ErrorFields(tc.err)[tc.field] == "" {
			t.Errorf("%s: %v, want an invalid %s", tc.name, tc.err, tc.field)
		}
	}
	if _, err := env.Store.AddContact(ctx, admin, c.ID, store.ContactInput{Name: "Lee", Email: "lee@acme.example"}); err != nil {
		t.Fatal(err)
	}
	_, err = env.Store.AddContact(ctx, admin, c.ID, store.ContactInput{Name: "Lee again", Email: "LEE@acme.example"})
	if store.ErrorCode(err) != store.EConflict || store.ErrorFields(err)["email"] == "" {
		t.Errorf("duplicate e-mail: %v, want a conflict on email", err)
	}
}

func second[T any](_ T, err error) error { return err }
