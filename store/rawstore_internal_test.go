package store

import (
	"context"
	"path/filepath"
	"testing"
)

// openRaw opens a store on a new database for the tests that write rows
// directly; exec runs a statement on the writer and fails the test if it
// fails.
func openRaw(t *testing.T) (*Store, func(q string, args ...any)) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "rolodex.db"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.w.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	return s, exec
}
