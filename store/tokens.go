package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Token is a personal API token: it acts as its user, and a read-only one
// (ScopeRead) only reads. The secret is never kept, only its SHA-256.
type Token struct {
	ID         int64  `json:"id"`
	UserID     int64  `json:"-"`
	Name       string `json:"name"`
	Scope      string `json:"scope"`
	CreatedAt  int64  `json:"created_at"`
	ExpiresAt  int64  `json:"expires_at"`
	LastUsedAt int64  `json:"last_used_at"` // 0: never
}

// Token scopes.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// tokenPrefix starts every secret, so that one pasted into the wrong place
// is recognisable (and can be scanned for in code).
const tokenPrefix = "rdx_"

// maxTokenLife is the longest a token may be made to last.
const maxTokenLife = 366 * 24 * time.Hour

// TokenInput is what a user gives for a new token.
type TokenInput struct {
	Name      string `json:"name"`
	Scope     string `json:"scope"`
	ExpiresAt int64  `json:"expires_at"` // unix ms
}

// CreateToken makes a token for u and returns it with its secret, which is
// not kept and cannot be shown again.
func (s *Store) CreateToken(ctx context.Context, u *User, in TokenInput) (*Token, string, error) {
	in.Name = strings.TrimSpace(in.Name)
	p := Problems{}
	checkLen(p, "name", in.Name, 1, 100)
	if in.Scope != ScopeRead && in.Scope != ScopeWrite {
		p.Add("scope", "Choose read or write.")
	}
	t := now()
	switch {
	case in.ExpiresAt <= t:
		p.Add("expires_at", "Choose a date in the future.")
	case in.ExpiresAt > t+maxTokenLife.Milliseconds():
		p.Add("expires_at", "Choose a date within a year.")
	}
	if err := p.Err(); err != nil {
		return nil, "", err
	}
	raw, _, err := newToken()
	if err != nil {
		return nil, "", err
	}
	secret := tokenPrefix + raw
	hash := tokenHash(secret)
	tok := &Token{UserID: u.ID, Name: in.Name, Scope: in.Scope, CreatedAt: t, ExpiresAt: in.ExpiresAt}
	err = s.tx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(`INSERT INTO api_tokens (user_id, name, scope, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, tok.Name, tok.Scope, hash, tok.CreatedAt, tok.ExpiresAt)
		if err == nil {
			tok.ID, err = res.LastInsertId()
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return tok, secret, nil
}

const tokenCols = `t.id, t.user_id, t.name, t.scope, t.created_at, t.expires_at, t.last_used_at`

func tokenFields(t *Token) []any {
	return []any{&t.ID, &t.UserID, &t.Name, &t.Scope, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt}
}

// Tokens lists u's live tokens (not expired, not revoked), newest first.
func (s *Store) Tokens(ctx context.Context, u *User) ([]Token, error) {
	out := []Token{}
	err := queryEach(ctx, s.r, func(row interface{ Scan(...any) error }, t *Token) error { return row.Scan(tokenFields(t)...) },
		func(t *Token) error { out = append(out, *t); return nil },
		`SELECT `+tokenCols+` FROM api_tokens t WHERE t.user_id = ? AND t.revoked_at = 0 AND t.expires_at > ? ORDER BY t.id DESC`, u.ID, now())
	return out, err
}

// RevokeToken ends u's token id at once. Another user's token is
// ENotFound, as if it did not exist.
func (s *Store) RevokeToken(ctx context.Context, u *User, id int64) error {
	return s.tx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(`UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at = 0`, now(), id, u.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Errorf(ENotFound, "Token not found.")
		}
		return nil
	})
}

// tokenUsedEvery is how often last_used_at is written: the list shows the
// day, and a write per API call would serialise every reader on the one
// writer.
const tokenUsedEvery = time.Minute

var tokenUserQuery = `SELECT ` + tokenCols + `, u.` + strings.ReplaceAll(userCols, ", ", ", u.") + `
	FROM api_tokens t JOIN users u ON u.id = t.user_id
	WHERE t.token_hash = ? AND t.revoked_at = 0 AND t.expires_at > ? AND u.deactivated_at = 0`

// TokenUser returns the live token with secret and its user, in one
// indexed query. A malformed, unknown, expired or revoked token, or one of
// a deactivated user, is ENotFound.
func (s *Store) TokenUser(ctx context.Context, secret string) (*Token, *User, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return nil, nil, Errorf(ENotFound, "Token not found.")
	}
	t := now()
	tok, u := &Token{}, &User{}
	err := s.r.QueryRowContext(ctx, tokenUserQuery, tokenHash(secret), t).Scan(append(tokenFields(tok), userFields(u)...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, Errorf(ENotFound, "Token not found.")
	}
	if err != nil {
		return nil, nil, err
	}
	if t-tok.LastUsedAt >= tokenUsedEvery.Milliseconds() {
		if _, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, t, tok.ID); err != nil {
			return nil, nil, err
		}
		tok.LastUsedAt = t
	}
	return tok, u, nil
}
