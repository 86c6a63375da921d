package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"runtime"
	"strings"
	"sync"
	"time"
	// The zone database in the binary: users pick zones by name, and a
	// host without /usr/share/zoneinfo (a slim container) must know them.
	_ "time/tzdata"

	"golang.org/x/crypto/argon2"
)

// Roles.
const (
	RoleAdmin = "admin"
	RoleStaff = "staff"
)

// User is a person who signs in. It is also the viewer every read path is
// scoped by: admins see the whole workspace, staff their clients only.
type User struct {
	ID          int64  `json:"id"`
	WorkspaceID int64  `json:"workspace_id"`
	Email       string `json:"email"`
	Name        string `json:"name"`
	Role        string `json:"role"`
	CreatedAt   int64  `json:"created_at"`
	// DeactivatedAt is when an admin deactivated the user (unix ms), 0 while
	// active. A deactivated user keeps their history but cannot sign in.
	DeactivatedAt int64 `json:"deactivated_at,omitempty"`
	Clients       int   `json:"clients"` // filled by ListUsers
	// TimeZone is an IANA name, "" until chosen (pages then show UTC); see
	// Location. Left out of JSON so that the API's answers stay as they were.
	TimeZone string `json:"-"`
}

// IsAdmin reports whether u sees the whole workspace.
func (u *User) IsAdmin() bool { return u != nil && u.Role == RoleAdmin }

// UserInput is what creating a user takes.
type UserInput struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
	Role     string `json:"role"`
}

func (in *UserInput) normalize() error {
	in.Email = strings.TrimSpace(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	in.Role = strings.TrimSpace(in.Role)
	if in.Role == "" {
		in.Role = RoleStaff
	}
	p := Problems{}
	if !validEmail(in.Email) {
		p.Add("email", "Enter a valid e-mail address.")
	}
	checkLen(p, "name", in.Name, 1, 200)
	if n := len([]rune(in.Password)); n < 10 || n > 200 {
		p.Add("password", "Use 10 to 200 characters.")
	}
	if in.Role != RoleAdmin && in.Role != RoleStaff {
		p.Add("role", "Choose admin or staff.")
	}
	return p.Err()
}

func validEmail(s string) bool {
	if s == "" || len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}

// checkLen adds a problem when value's length in characters is outside
// [min, max]; min 0 makes the field optional. Every text field passes
// through it, so it also refuses control characters (checkText).
func checkLen(p Problems, field, value string, min, max int) {
	n := len([]rune(value))
	switch {
	case min > 0 && n == 0:
		p.Add(field, "This field is required.")
	case n < min || n > max:
		p.Add(field, fmt.Sprintf("Use at most %d characters.", max))
	}
	checkText(p, field, value)
}

// CreateUser adds a user to the admin's workspace.
func (s *Store) CreateUser(ctx context.Context, admin *User, in UserInput) (*User, error) {
	if !admin.IsAdmin() {
		return nil, errNotAdminUsers
	}
	return s.createUser(ctx, admin.WorkspaceID, in)
}

var errNotAdminUsers = Errorf(EForbidden, "Only an admin can manage users.")

func (s *Store) createUser(ctx context.Context, ws int64, in UserInput) (*User, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	var hash string
	err := withHashSlot(ctx, func() (err error) {
		hash, err = hashPassword(in.Password)
		return err
	})
	if err != nil {
		return nil, err
	}
	u := &User{WorkspaceID: ws, Email: in.Email, Name: in.Name, Role: in.Role, CreatedAt: now()}
	err = s.tx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(`INSERT INTO users (workspace_id, email, name, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			ws, u.Email, u.Name, hash, u.Role, u.CreatedAt)
		if isUnique(err) {
			return &Error{Code: EConflict, Message: "That e-mail address is taken.", Fields: map[string]string{"email": "A user with this e-mail address exists."}}
		}
		if err != nil {
			return err
		}
		u.ID, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

const userCols = `id, workspace_id, email, name, role, created_at, deactivated_at, time_zone`

// userFields are the destinations of userCols' columns in u.
func userFields(u *User) []any {
	return []any{&u.ID, &u.WorkspaceID, &u.Email, &u.Name, &u.Role, &u.CreatedAt, &u.DeactivatedAt, &u.TimeZone}
}

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	u := &User{}
	err := row.Scan(userFields(u)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENotFound, "User not found.")
	}
	return u, err
}

// UserByID returns a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (*User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
}

// WorkspaceUser returns user id of the admin's workspace; another
// workspace's user is ENotFound.
func (s *Store) WorkspaceUser(ctx context.Context, admin *User, id int64) (*User, error) {
	if !admin.IsAdmin() {
		return nil, errNotAdminUsers
	}
	return s.Colleague(ctx, admin, id)
}

// Colleague returns user id if they work in u's workspace: anyone signed in
// may see who organises a meeting or wrote a message. Another workspace's
// user is ENotFound.
func (s *Store) Colleague(ctx context.Context, u *User, id int64) (*User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ? AND workspace_id = ?`, id, u.WorkspaceID))
}

// CountUsers returns the number of users (zero on a fresh install).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// ListUsers returns the users of the admin's workspace with their client
// counts.
func (s *Store) ListUsers(ctx context.Context, admin *User) ([]User, error) {
	if !admin.IsAdmin() {
		return nil, errNotAdminUsers
	}
	ws := admin.WorkspaceID
	rows, err := s.r.QueryContext(ctx, `SELECT u.id, u.workspace_id, u.email, u.name, u.role, u.created_at, u.deactivated_at, u.time_zone,
		(SELECT count(*) FROM user_clients uc WHERE uc.user_id = u.id)
		FROM users u WHERE u.workspace_id = ? ORDER BY u.name COLLATE NOCASE, u.id`, ws)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []User
	for rows.Next() {
		var u User
		if err := rows.Scan(append(userFields(&u), &u.Clients)...); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// SetUserActive deactivates user id of by's workspace, which ends their
// sessions at once, or reactivates them. by is the admin doing it, who
// cannot deactivate themself (nobody would be left to undo it).
func (s *Store) SetUserActive(ctx context.Context, by *User, id int64, active bool) error {
	if !by.IsAdmin() {
		return Errorf(EForbidden, "Only admins can deactivate users.")
	}
	if !active && id == by.ID {
		return Errorf(EInvalid, "You cannot deactivate yourself.")
	}
	return s.tx(ctx, func(tx *Tx) error {
		at := int64(0)
		if !active {
			at = now()
		}
		res, err := tx.Exec(`UPDATE users SET deactivated_at = CASE WHEN ? = 0 THEN 0 WHEN deactivated_at = 0 THEN ? ELSE deactivated_at END
			WHERE id = ? AND workspace_id = ?`, at, at, id, by.WorkspaceID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Errorf(ENotFound, "User not found.")
		}
		if active {
			return nil
		}
		_, err = tx.Exec(`DELETE FROM sessions WHERE user_id = ?`, id)
		return err
	})
}

// Sign-in throttling. Every attempt is counted before its password is
// checked, by one statement that returns the new counts, so attempts sent
// in parallel cannot all read the same count. An e-mail address gets
// pairAttempts per window from one source address, and accountAttempts
// from everywhere together: someone elsewhere cannot lock the owner out
// without trying far more often than a person would. Addresses without an
// account are counted and answered the same way, so the answers do not
// tell which addresses have one.
const (
	pairAttempts    = 5
	accountAttempts = 100
	attemptWindow   = 15 * time.Minute
)

// EThrottled is the code of a sign-in refused because of throttling.
const EThrottled = "throttled"

// EBusy is the code of a request refused because the server is at
// capacity for it; the client should try again shortly.
const EBusy = "busy"

// dummyHash is checked against when the e-mail is unknown, so that the
// answer takes as long as for a known one.
var dummyHash, _ = hashPassword("rolodex-dummy-password")

// Authenticate checks an e-mail and password sent from source (the
// client's address).
func (s *Store) Authenticate(ctx context.Context, email, password, source string) (*User, error) {
	email = strings.TrimSpace(email)
	if err := s.countAttempt(ctx, email, source); err != nil {
		return nil, err
	}
	var hash string
	u := &User{}
	err := s.r.QueryRowContext(ctx, `SELECT `+userCols+`, password_hash FROM users WHERE email = ?`, email).
		Scan(append(userFields(u), &hash)...)
	if errors.Is(err, sql.ErrNoRows) {
		u, hash = nil, dummyHash
	} else if err != nil {
		return nil, err
	}
	var ok bool
	if err := withHashSlot(ctx, func() error {
		ok = checkPassword(hash, password)
		return nil
	}); err != nil {
		return nil, err
	}
	if !ok || u == nil {
		return nil, Errorf(EInvalid, "Wrong e-mail address or password.")
	}
	if u.DeactivatedAt != 0 {
		return nil, Errorf(EForbidden, "This account is deactivated. Ask an admin of your workspace to reactivate it.")
	}
	// The pair starts afresh; the account keeps its count but for this
	// attempt, so its owner signing in does not reset an attack elsewhere.
	err = s.tx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(`DELETE FROM login_attempts WHERE key = ?`, attemptKey(email, source)); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE login_attempts SET attempts = attempts - 1 WHERE key = ?`, attemptKey(email))
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// countAttempt counts a sign-in attempt for email from source and refuses
// it when either count is past its limit.
func (s *Store) countAttempt(ctx context.Context, email, source string) error {
	t := now()
	stale := t - attemptWindow.Milliseconds()
	pair, account := attemptKey(email, source), attemptKey(email)
	rows, err := s.w.QueryContext(ctx, `INSERT INTO login_attempts (key, attempts, window_start) VALUES (?, 1, ?), (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET
			attempts = CASE WHEN window_start < ? THEN 1 ELSE attempts + 1 END,
			window_start = CASE WHEN window_start < ? THEN excluded.window_start ELSE window_start END
		RETURNING key, attempts, window_start`, pair, t, account, t, stale, stale)
	if err != nil {
		return err
	}
	defer rows.Close()
	var until int64
	for rows.Next() {
		var key []byte
		var n, start int64
		if err := rows.Scan(&key, &n, &start); err != nil {
			return err
		}
		limit := int64(accountAttempts)
		if string(key) == string(pair) {
			limit = pairAttempts
		}
		if n > limit {
			until = max(until, start+attemptWindow.Milliseconds())
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	s.pruneAttempts(ctx, t)
	if until > 0 {
		minutes := (until - t + time.Minute.Milliseconds() - 1) / time.Minute.Milliseconds()
		if minutes <= 1 {
			return Errorf(EThrottled, "Too many failed sign-ins. Try again in a minute.")
		}
		return Errorf(EThrottled, "Too many failed sign-ins. Try again in %d minutes.", minutes)
	}
	return nil
}

// attemptKey names a login_attempts row. The e-mail address is folded to
// lower case, as the users table compares it; a hash keeps the table's
// keys short and the addresses people mistyped out of it.
func attemptKey(parts ...string) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strings.ToLower(p)))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// pruneAttempts deletes the rows of windows that have ended, at most once
// a minute: the table holds at most what one window of attempts can add,
// and the hashes' concurrency limit bounds how fast that is.
func (s *Store) pruneAttempts(ctx context.Context, t int64) {
	last := s.attemptsPruned.Load()
	if t-last < time.Minute.Milliseconds() || !s.attemptsPruned.CompareAndSwap(last, t) {
		return
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM login_attempts WHERE window_start < ?`, t-attemptWindow.Milliseconds()); err != nil {
		s.log.Warn("prune sign-in attempts", "err", err)
	}
}

// hashSlots bounds the argon2id hashes running at once. Each holds
// argonMemory (19 MiB) for its whole run, so a hundred sign-ins at once
// took 2 GB; one per CPU keeps the CPUs busy, and more would only share
// them.
var hashSlots = make(chan struct{}, runtime.NumCPU())

// hashWait is how long a hash waits for a slot before the request is
// refused as busy.
const hashWait = 3 * time.Second

// withHashSlot runs fn, which hashes a password, once a slot is free.
func withHashSlot(ctx context.Context, fn func() error) error {
	timer := time.NewTimer(hashWait)
	defer timer.Stop()
	select {
	case hashSlots <- struct{}{}:
	case <-timer.C:
		return Errorf(EBusy, "The server is busy. Try again in a few seconds.")
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-hashSlots }()
	return fn()
}

// argon2id parameters: OWASP's minimum recommendation (19 MiB, 2 passes).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

func hashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func checkPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Zone returns the location of an IANA time zone name ("Europe/London").
// The empty name and "Local" (the server's zone, which means nothing to a
// user) are not zones here. Locations are kept by name: loading one reads
// and parses the zone's file, and every page needs its viewer's. Only
// names that loaded are kept, so there are at most as many entries as the
// zone database has zones.
func Zone(name string) (*time.Location, bool) {
	if v, ok := zones.Load(name); ok {
		return v.(*time.Location), true
	}
	if name == "" || name == "Local" {
		return nil, false
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	zones.Store(name, loc)
	return loc, true
}

var zones sync.Map // name → *time.Location

// Location is where u's times are shown and read: their time zone, UTC
// until they have one.
func (u *User) Location() *time.Location {
	if u != nil {
		if loc, ok := Zone(u.TimeZone); ok {
			return loc
		}
	}
	return time.UTC
}

// SetTimeZoneIfUnset stores zone as user id's time zone unless they have
// one: the browser's zone, sent at sign-in, is a default and never
// overrides a choice. An unknown name is EInvalid and stores nothing.
func (s *Store) SetTimeZoneIfUnset(ctx context.Context, id int64, zone string) error {
	if _, ok := Zone(zone); !ok {
		return Errorf(EInvalid, "Unknown time zone %q.", zone)
	}
	_, err := s.w.ExecContext(ctx, `UPDATE users SET time_zone = ? WHERE id = ? AND time_zone = ''`, zone, id)
	if err != nil {
		return err
	}
	return nil
}

// ProfileInput is what a user may change about themselves.
type ProfileInput struct {
	Name     string
	Email    string
	TimeZone string
}

// UpdateProfile changes user id's name, e-mail address and time zone.
func (s *Store) UpdateProfile(ctx context.Context, id int64, in ProfileInput) (*User, error) {
	in.Name, in.Email, in.TimeZone = strings.TrimSpace(in.Name), strings.TrimSpace(in.Email), strings.TrimSpace(in.TimeZone)
	p := Problems{}
	checkLen(p, "name", in.Name, 1, 200)
	if !validEmail(in.Email) {
		p.Add("email", "Enter a valid e-mail address, like lee@example.com.")
	}
	if _, ok := Zone(in.TimeZone); !ok {
		p.Add("time_zone", "Choose a time zone from the list, like Europe/London.")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE users SET name = ?, email = ?, time_zone = ? WHERE id = ?`, in.Name, in.Email, in.TimeZone, id)
	if isUnique(err) {
		return nil, &Error{Code: EConflict, Message: "That e-mail address is taken.", Fields: map[string]string{"email": "Another user has this e-mail address."}}
	}
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, Errorf(ENotFound, "User not found.")
	}
	u, err := s.UserByID(ctx, id)
	if err == nil {
		s.forgetNames(u.WorkspaceID)
	}
	return u, err
}

// ChangePassword sets u's password to next when current is their password
// now, sent from source (the client's address). Guesses at current count
// like sign-in attempts, so a stolen session cannot try passwords at will.
// In the same transaction every other session of u ends and session keep
// gets a new token, which it returns. Both hashes wait for a slot like a
// sign-in's.
func (s *Store) ChangePassword(ctx context.Context, u *User, keep int64, source, current, next string) (string, error) {
	if err := s.countAttempt(ctx, u.Email, source); err != nil {
		return "", err
	}
	var hash string
	err := s.r.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", Errorf(ENotFound, "User not found.")
	}
	if err != nil {
		return "", err
	}
	p := Problems{}
	var ok bool
	if err := withHashSlot(ctx, func() error { ok = checkPassword(hash, current); return nil }); err != nil {
		return "", err
	}
	if !ok {
		p.Add("current_password", "That is not your current password.")
	}
	if n := len([]rune(next)); n < 10 || n > 200 {
		p.Add("new_password", "Use 10 to 200 characters.")
	}
	if err := p.Err(); err != nil {
		return "", err
	}
	if err := withHashSlot(ctx, func() (err error) { hash, err = hashPassword(next); return err }); err != nil {
		return "", err
	}
	var token string
	err = s.tx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(`UPDATE users SET password_hash = ? WHERE id = ?`, hash, u.ID); err != nil {
			return err
		}
		token, err = rotateSessions(tx, u.ID, keep)
		return err
	})
	return token, err
}
