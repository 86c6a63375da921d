package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
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
	Clients     int    `json:"clients"` // filled by ListUsers
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
// [min, max]; min 0 makes the field optional.
func checkLen(p Problems, field, value string, min, max int) {
	n := len([]rune(value))
	switch {
	case min > 0 && n == 0:
		p.Add(field, "This field is required.")
	case n < min || n > max:
		p.Add(field, fmt.Sprintf("Use at most %d characters.", max))
	}
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
	hash, err := hashPassword(in.Password)
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

const userCols = `id, workspace_id, email, name, role, created_at, time_zone`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	u := &User{}
	err := row.Scan(&u.ID, &u.WorkspaceID, &u.Email, &u.Name, &u.Role, &u.CreatedAt, &u.TimeZone)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENotFound, "User not found.")
	}
	return u, err
}

// UserByID returns a user by id. Every request loads its signed-in user
// this way, so users are remembered for a while (userCache).
func (s *Store) UserByID(ctx context.Context, id int64) (*User, error) {
	if u, ok := s.users.get(id); ok {
		return u, nil
	}
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err == nil {
		s.users.put(u)
	}
	return u, err
}

// userCache remembers users by id for userTTL. Users edit their own row
// (name, e-mail, time zone: UpdateProfile, SetTimeZoneIfUnset), and each
// such write deletes the entry (forget), so this process shows the change
// at once. Another process sharing the database, or an edit made to the
// users table by hand, shows within userTTL. The login throttle's columns
// and the password hash are not part of User, so writing them needs no
// forget. It holds at most one entry per user.
type userCache struct{ m sync.Map } // user id → cachedUser

type cachedUser struct {
	u     User
	until time.Time
}

const userTTL = time.Minute

// get returns a copy, so no caller can change what others are given.
func (c *userCache) get(id int64) (*User, bool) {
	v, ok := c.m.Load(id)
	if !ok {
		return nil, false
	}
	e := v.(*cachedUser)
	if time.Now().After(e.until) {
		c.m.CompareAndDelete(id, v)
		return nil, false
	}
	u := e.u
	return &u, true
}

func (c *userCache) put(u *User) {
	c.m.Store(u.ID, &cachedUser{u: *u, until: time.Now().Add(userTTL)})
}

// WorkspaceUser returns user id of the admin's workspace; another
// workspace's user is ENotFound.
func (s *Store) WorkspaceUser(ctx context.Context, admin *User, id int64) (*User, error) {
	if !admin.IsAdmin() {
		return nil, errNotAdminUsers
	}
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ? AND workspace_id = ?`, id, admin.WorkspaceID))
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
	rows, err := s.r.QueryContext(ctx, `SELECT u.id, u.workspace_id, u.email, u.name, u.role, u.created_at,
		(SELECT count(*) FROM user_clients uc WHERE uc.user_id = u.id)
		FROM users u WHERE u.workspace_id = ? ORDER BY u.name COLLATE NOCASE, u.id`, ws)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []User
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.WorkspaceID, &u.Email, &u.Name, &u.Role, &u.CreatedAt, &u.Clients); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// Sign-in throttling: after maxFailures wrong passwords in a row the
// account is locked for a period that doubles with each further failure.
const (
	maxFailures = 5
	baseLock    = 30 * time.Second
	maxLock     = 15 * time.Minute
)

// ErrThrottled is the code of a sign-in refused because of throttling.
const EThrottled = "throttled"

// dummyHash is checked against when the e-mail is unknown, so that the
// answer takes as long as for a known one.
var dummyHash, _ = hashPassword("rolodex-dummy-password")

// Authenticate checks an e-mail and password.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*User, error) {
	email = strings.TrimSpace(email)
	var hash string
	var failed int
	var lockedUntil int64
	u := &User{}
	err := s.r.QueryRowContext(ctx, `SELECT `+userCols+`, password_hash, failed_logins, locked_until FROM users WHERE email = ?`, email).
		Scan(&u.ID, &u.WorkspaceID, &u.Email, &u.Name, &u.Role, &u.CreatedAt, &u.TimeZone, &hash, &failed, &lockedUntil)
	bad := Errorf(EInvalid, "Wrong e-mail address or password.")
	if errors.Is(err, sql.ErrNoRows) {
		checkPassword(dummyHash, password)
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if t := now(); lockedUntil > t {
		wait := time.Duration(lockedUntil-t) * time.Millisecond
		return nil, Errorf(EThrottled, "Too many failed sign-ins. Try again in %s.", wait.Round(time.Second))
	}
	if !checkPassword(hash, password) {
		failed++
		var until int64
		if failed >= maxFailures {
			lock := baseLock << min(failed-maxFailures, 10)
			until = now() + min(lock, maxLock).Milliseconds()
		}
		if _, err := s.w.ExecContext(ctx, `UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?`, failed, until, u.ID); err != nil {
			return nil, err
		}
		return nil, bad
	}
	if failed > 0 {
		if _, err := s.w.ExecContext(ctx, `UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = ?`, u.ID); err != nil {
			return nil, err
		}
	}
	return u, nil
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

// forget drops id's entry, after a write to the user's row.
func (c *userCache) forget(id int64) { c.m.Delete(id) }

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
	res, err := s.w.ExecContext(ctx, `UPDATE users SET time_zone = ? WHERE id = ? AND time_zone = ''`, zone, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		s.users.forget(id)
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
	s.users.forget(id)
	return s.UserByID(ctx, id)
}

// ChangePassword sets user id's password to next when current is their
// password now. Signed-in sessions are left as they are.
func (s *Store) ChangePassword(ctx context.Context, id int64, current, next string) error {
	var hash string
	err := s.r.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, id).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Errorf(ENotFound, "User not found.")
	}
	if err != nil {
		return err
	}
	p := Problems{}
	if !checkPassword(hash, current) {
		p.Add("current_password", "That is not your current password.")
	}
	if n := len([]rune(next)); n < 10 || n > 200 {
		p.Add("new_password", "Use 10 to 200 characters.")
	}
	if err := p.Err(); err != nil {
		return err
	}
	if hash, err = hashPassword(next); err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, id)
	return err
}
