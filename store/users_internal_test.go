package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestUserCache: a loaded user is served from the cache for userTTL (an
// edit made by hand does not show yet), as a copy callers cannot change
// for each other, and read again once the entry is old.
func TestUserCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "rolodex.db"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.w.ExecContext(ctx, `INSERT INTO users (id, workspace_id, email, name, role, password_hash, created_at) VALUES (5, 1, 'sam@example.com', 'Sam', 'staff', 'x', 1)`); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByID(ctx, 5)
	if err != nil || u.Name != "Sam" {
		t.Fatalf("UserByID = %+v, %v", u, err)
	}
	u.Name = "changed by a caller"
	if _, err := s.w.ExecContext(ctx, `UPDATE users SET name = 'Samantha' WHERE id = 5`); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UserByID(ctx, 5); u.Name != "Sam" {
		t.Fatalf("within the TTL got %q, want the cached %q", u.Name, "Sam")
	}
	v, _ := s.users.m.Load(int64(5))
	v.(*cachedUser).until = time.Now().Add(-time.Second)
	if u, _ := s.UserByID(ctx, 5); u.Name != "Samantha" {
		t.Fatalf("after the TTL got %q, want %q", u.Name, "Samantha")
	}
	if _, err := s.UserByID(ctx, 6); ErrorCode(err) != ENotFound {
		t.Fatalf("unknown user: %v", err)
	}
}
