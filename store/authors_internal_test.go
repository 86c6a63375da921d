package store

import (
	"context"
	"testing"
)

// TestNamesLoadAcrossRename: a names load that began before a rename and
// ends after it was forgotten does not keep the old name; the next page
// reads the new one.
func TestNamesLoadAcrossRename(t *testing.T) {
	ctx := context.Background()
	s, exec := openRaw(t)
	exec(`INSERT INTO users (id, workspace_id, email, name, password_hash, role, created_at) VALUES (7, 1, 'a@x.example', 'Old', '', 'staff', 1)`)
	all := func(map[int64]*string) bool { return true }
	// The load begins, and reads the old name...
	_, gen := s.names.current(1)
	old := "Old"
	loaded := map[int64]*string{7: &old}
	// ...the rename commits and is forgotten...
	if _, err := s.w.ExecContext(ctx, `UPDATE users SET name = 'New' WHERE id = 7`); err != nil {
		t.Fatal(err)
	}
	s.forgetNames(1)
	// ...and then the load ends.
	s.names.keep(1, gen, loaded)
	names, err := s.userNameMap(ctx, 1, all)
	if err != nil {
		t.Fatal(err)
	}
	if n := names[7]; n == nil || *n != "New" {
		t.Errorf("name %q, want New", deref(n))
	}
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}
