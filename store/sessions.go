package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"time"
)

// Session is a signed-in browser. The cookie carries a random token; the
// sessions table keeps only the token's SHA-256, so logging out, "sign out
// everywhere" and deactivating a user end a session on its next request.
type Session struct {
	ID         int64  `json:"id"`
	UserID     int64  `json:"user_id"`
	CreatedAt  int64  `json:"created_at"`
	LastSeenAt int64  `json:"last_seen_at"`
	Address    string `json:"address"`
	UserAgent  string `json:"user_agent"`
}

// A session ends after SessionIdle without a request, and SessionLifetime
// after sign-in whatever happens.
const (
	SessionIdle     = 7 * 24 * time.Hour
	SessionLifetime = 30 * 24 * time.Hour
)

// touchEvery is how stale last_seen_at may get: writing it on every
// request would make every page a write.
const touchEvery = time.Minute

const sessionCols = `s.id, s.user_id, s.created_at, s.last_seen_at, s.address, s.user_agent`

func sessionFields(x *Session) []any {
	return []any{&x.ID, &x.UserID, &x.CreatedAt, &x.LastSeenAt, &x.Address, &x.UserAgent}
}

// newToken returns a random session token and the hash that is stored.
func newToken() (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	return token, tokenHash(token), nil
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// liveSince returns the oldest created_at and last_seen_at a live session
// may have at t.
func liveSince(t int64) (created, seen int64) {
	return t - SessionLifetime.Milliseconds(), t - SessionIdle.Milliseconds()
}

// CreateSession starts a session for user id, seen from address with
// userAgent, and returns its token for the cookie. The user's ended
// sessions are deleted on the way, so the table holds live ones only.
func (s *Store) CreateSession(ctx context.Context, userID int64, address, userAgent string) (string, error) {
	token, hash, err := newToken()
	if err != nil {
		return "", err
	}
	if len(userAgent) > 300 {
		userAgent = strings.ToValidUTF8(userAgent[:300], "")
	}
	t := now()
	created, seen := liveSince(t)
	err = s.tx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(`DELETE FROM sessions WHERE user_id = ? AND (created_at <= ? OR last_seen_at <= ?)`, userID, created, seen); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, address, user_agent) VALUES (?, ?, ?, ?, ?, ?)`,
			hash, userID, t, t, address, userAgent)
		return err
	})
	return token, err
}

// SessionUser returns the live session with token and its user, in one
// indexed query: every signed-in request asks. The session's address and
// user agent are left out (they are for the list, and cost allocations
// here). An unknown or ended token, or a deactivated user, is ENotFound.
func (s *Store) SessionUser(ctx context.Context, token string) (*Session, *User, error) {
	t := now()
	created, seen := liveSince(t)
	x, u := &Session{}, &User{}
	err := s.r.QueryRowContext(ctx, sessionUserQuery, tokenHash(token), created, seen).
		Scan(append([]any{&x.ID, &x.UserID, &x.CreatedAt, &x.LastSeenAt}, userFields(u)...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, Errorf(ENotFound, "Session not found.")
	}
	if err != nil {
		return nil, nil, err
	}
	if t-x.LastSeenAt >= touchEvery.Milliseconds() {
		if _, err := s.w.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, t, x.ID); err != nil {
			return nil, nil, err
		}
		x.LastSeenAt = t
	}
	return x, u, nil
}

var sessionUserQuery = `SELECT s.id, s.user_id, s.created_at, s.last_seen_at, u.` + strings.ReplaceAll(userCols, ", ", ", u.") + `
	FROM sessions s JOIN users u ON u.id = s.user_id
	WHERE s.token_hash = ? AND s.created_at > ? AND s.last_seen_at > ? AND u.deactivated_at = 0`

// Sessions lists user id's live sessions, the most recently seen first.
func (s *Store) Sessions(ctx context.Context, userID int64) ([]Session, error) {
	created, seen := liveSince(now())
	rows, err := s.r.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions s
		WHERE s.user_id = ? AND s.created_at > ? AND s.last_seen_at > ? ORDER BY s.last_seen_at DESC, s.id DESC`, userID, created, seen)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var x Session
		if err := rows.Scan(sessionFields(&x)...); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// EndSessionToken ends the session with token (sign-out). An unknown
// token is not an error: there is nothing left to end.
func (s *Store) EndSessionToken(ctx context.Context, token string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash(token))
	return err
}

// EndSession ends session id of user userID; another user's session is
// ENotFound.
func (s *Store) EndSession(ctx context.Context, userID, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Errorf(ENotFound, "Session not found.")
	}
	return nil
}

// EndSessions ends every session of user userID ("sign out everywhere").
func (s *Store) EndSessions(ctx context.Context, userID int64) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	return err
}

// RotateSessions ends every session of user userID but keepID, and gives
// that one a new token, which it returns for the cookie: whoever held a
// copied cookie is out. A password change does the same in its own
// transaction (ChangePassword).
func (s *Store) RotateSessions(ctx context.Context, userID, keepID int64) (token string, err error) {
	err = s.tx(ctx, func(tx *Tx) error {
		token, err = rotateSessions(tx, userID, keepID)
		return err
	})
	return token, err
}

func rotateSessions(tx *Tx, userID, keepID int64) (string, error) {
	token, hash, err := newToken()
	if err != nil {
		return "", err
	}
	res, err := tx.Exec(`UPDATE sessions SET token_hash = ? WHERE id = ? AND user_id = ?`, hash, keepID, userID)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", Errorf(ENotFound, "Session not found.")
	}
	_, err = tx.Exec(`DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, keepID)
	return token, err
}
