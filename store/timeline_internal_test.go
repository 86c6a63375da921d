package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestTimelineTies pages through a timeline whose items collide on
// created_at across and within tables, and on ids across tables (an import
// stamps a whole batch with one time), with every page size and type
// filter: the pages together must be the whole timeline in
// (created_at, id, type rank) order, newest first, each item once.
func TestTimelineTies(t *testing.T) {
	ctx := context.Background()
	s, exec := openRaw(t)
	exec(`INSERT INTO companies (id, workspace_id, name, created_at, updated_at) VALUES (1, 1, 'Acme', 1, 1), (2, 1, 'Other', 1, 1)`)
	type key struct {
		t, id int64
		rank  int
	}
	var all []key
	for id := int64(1); id <= 9; id++ {
		at := 100 * (1 + id%3) // three times shared by many rows
		exec(`INSERT INTO notes (id, workspace_id, company_id, title, created_at, updated_at) VALUES (?, 1, 1, 'n', ?, ?)`, id, at, at)
		exec(`INSERT INTO contacts (id, workspace_id, company_id, name, created_at, updated_at) VALUES (?, 1, 1, 'c', ?, ?)`, id, at, at)
		exec(`INSERT INTO links (id, workspace_id, company_id, title, url, created_at, updated_at) VALUES (?, 1, 1, 'l', 'https://x.example', ?, ?)`, id, at, at)
		exec(`INSERT INTO meetings (id, workspace_id, company_id, type, subject, starts_at, created_at, updated_at) VALUES (?, 1, 1, 'call', 'm', 0, ?, ?)`, id, at, at)
		all = append(all, key{at, id, 1}, key{at, id, 2}, key{at, id, 3}, key{at, id, 4})
		// Another company's items never show.
		exec(`INSERT INTO notes (id, workspace_id, company_id, title, created_at, updated_at) VALUES (?, 1, 2, 'other', ?, ?)`, 100+id, at, at)
	}
	slices.SortFunc(all, func(a, b key) int {
		if a.t != b.t {
			return int(b.t - a.t)
		}
		if a.id != b.id {
			return int(b.id - a.id)
		}
		return b.rank - a.rank
	})
	for _, types := range [][]string{nil, {TypeContact}, {TypeNote, TypeMeeting}} {
		var want []string
		for _, k := range all {
			typ := timelineSources[k.rank-1].typ
			if types == nil || slices.Contains(types, typ) {
				want = append(want, fmt.Sprintf("%s:%d@%d", typ, k.id, k.t))
			}
		}
		for limit := 1; limit <= 7; limit++ {
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > len(want) {
					t.Fatalf("types %v limit %d: paging does not end", types, limit)
				}
				items, next, err := s.timelinePage(ctx, &Company{ID: 1}, TimelineQuery{Types: types, Cursor: cursor, Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range items {
					got = append(got, fmt.Sprintf("%s:%d@%d", it.Type, it.ID, it.CreatedAt))
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(got, want) {
				t.Errorf("types %v limit %d:\n got %v\nwant %v", types, limit, got, want)
			}
		}
	}
}
