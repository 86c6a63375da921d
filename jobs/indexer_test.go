package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rolodex/rolodex/search"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestReindex rebuilds an index from SQLite alone (what `rolodex reindex`
// and a stale index at start do): every company and contact is in it once,
// it is compacted, and staff searches still see only their clients.
func TestReindex(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	adm := &store.User{WorkspaceID: store.DefaultWorkspace, Role: store.RoleAdmin}
	var mine []int64
	for i := 0; i < 30; i++ {
		c, err := env.Store.CreateCompany(ctx, adm, store.CompanyInput{Name: fmt.Sprintf("Andertons %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Store.AddContact(ctx, adm, c.ID, store.ContactInput{Name: fmt.Sprintf("Lee %d", i), Email: fmt.Sprintf("lee%d@andertons.example", i)}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			mine = append(mine, c.ID)
		}
	}
	idx, err := search.Open(filepath.Join(env.Dir, "index.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	var n int
	if err := Reindex(ctx, env.Store, idx, func(done int) { n = done }); err != nil {
		t.Fatal(err)
	}
	if docs, err := idx.Count(); err != nil || docs != 60 || n != 60 {
		t.Fatalf("after reindex: %d docs (%v), progress %d; want 60", docs, err, n)
	}
	hits, err := idx.Search(ctx, search.Query{WorkspaceID: store.DefaultWorkspace, Text: "andertons", Clients: mine, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2*len(mine) {
		t.Errorf("staff search: %d hits, want %d (their companies and contacts)", len(hits), 2*len(mine))
	}
	for _, h := range hits {
		if (h.CompanyID-mine[0])%3 != 0 {
			t.Errorf("hit %+v is not one of the staff user's companies", h)
		}
	}
	// Running it again (an index that already has the docs) changes nothing.
	if err := Reindex(ctx, env.Store, idx, nil); err != nil {
		t.Fatal(err)
	}
	if docs, _ := idx.Count(); docs != 60 {
		t.Fatalf("second reindex: %d docs, want 60", docs)
	}
}
