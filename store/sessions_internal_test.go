package store

import (
	"context"
	"testing"
)

// TestSessionLifetimes: a session ends after SessionIdle without use and
// SessionLifetime after sign-in; use moves last_seen_at at most once per
// touchEvery; RotateSessions keeps one session under a new token and ends
// the others.
func TestSessionLifetimes(t *testing.T) {
	ctx := context.Background()
	s, exec := openRaw(t)
	exec(`INSERT INTO users (id, workspace_id, email, name, role, password_hash, created_at) VALUES (5, 1, 'sam@example.com', 'Sam', 'staff', 'x', 1)`)
	live := func(token string) bool {
		_, u, err := s.SessionUser(ctx, token)
		if err != nil && ErrorCode(err) != ENotFound {
			t.Fatal(err)
		}
		return err == nil && u.ID == 5
	}
	shift := func(token, col string, by int64) {
		if _, err := s.w.ExecContext(ctx, `UPDATE sessions SET `+col+` = `+col+` - ? WHERE token_hash = ?`, by, tokenHash(token)); err != nil {
			t.Fatal(err)
		}
	}
	seen := func(token string) int64 {
		var at int64
		if err := s.r.QueryRowContext(ctx, `SELECT last_seen_at FROM sessions WHERE token_hash = ?`, tokenHash(token)).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	newSession := func() string {
		token, err := s.CreateSession(ctx, 5, "192.0.2.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		return token
	}

	idle, old, fresh := newSession(), newSession(), newSession()
	if !live(idle) || live("not a token") {
		t.Fatal("a new session is not live, or an unknown token is")
	}
	before := seen(fresh)
	if live(fresh); seen(fresh) != before {
		t.Error("last_seen_at moved within touchEvery")
	}
	shift(fresh, "last_seen_at", touchEvery.Milliseconds())
	if live(fresh); seen(fresh) <= before-touchEvery.Milliseconds() {
		t.Error("last_seen_at did not move after touchEvery")
	}
	shift(idle, "last_seen_at", SessionIdle.Milliseconds())
	if live(idle) {
		t.Error("a session idle for SessionIdle is live")
	}
	shift(old, "created_at", SessionLifetime.Milliseconds())
	if live(old) {
		t.Error("a session older than SessionLifetime is live")
	}

	x, _, err := s.SessionUser(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}
	other := newSession()
	rotated, err := s.RotateSessions(ctx, 5, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	if live(fresh) || live(other) || !live(rotated) {
		t.Errorf("after RotateSessions: old token live %v, other session live %v, new token live %v", live(fresh), live(other), live(rotated))
	}
	list, err := s.Sessions(ctx, 5)
	if err != nil || len(list) != 1 || list[0].ID != x.ID {
		t.Errorf("Sessions after rotating = %+v, %v; want the kept one alone", list, err)
	}
	if _, err := s.RotateSessions(ctx, 6, x.ID); ErrorCode(err) != ENotFound {
		t.Errorf("rotating another user's session: %v", err)
	}
}
