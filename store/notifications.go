package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strconv"
)

// Notification modes a user may choose.
const (
	NotifyOff       = "off"       // no notifications at all
	NotifyImmediate = "immediate" // each activity as it is handled
	NotifyDigest    = "digest"    // one digest after a quiet period
)

// NotificationSettings is a user's choice. QuietMS 0 means the operator's
// default period, which the notification pipeline knows and the store
// does not.
type NotificationSettings struct {
	Mode    string
	QuietMS int64
	Email   bool
}

// NotificationSettings returns u's choice, the default (a digest after the
// default period, with e-mail) until they make one.
func (s *Store) NotificationSettings(ctx context.Context, u *User) (*NotificationSettings, error) {
	ns := &NotificationSettings{Mode: NotifyDigest, Email: true}
	err := s.r.QueryRowContext(ctx, `SELECT mode, quiet_ms, email FROM notification_settings WHERE user_id = ?`, u.ID).Scan(&ns.Mode, &ns.QuietMS, &ns.Email)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return ns, err
}

// SetNotificationSettings saves u's choice. offered are the quiet periods
// the operator allows (ms); a digest must use one of them. Turning
// notifications off drops what u was still to hear about.
func (s *Store) SetNotificationSettings(ctx context.Context, u *User, ns NotificationSettings, offered []int64) error {
	fields := map[string]string{}
	switch ns.Mode {
	case NotifyOff, NotifyImmediate:
		ns.QuietMS = 0
	case NotifyDigest:
		if !slices.Contains(offered, ns.QuietMS) {
			fields["quiet_seconds"] = "Choose one of the offered periods."
		}
	default:
		fields["mode"] = "Choose off, immediate or digest."
	}
	if len(fields) > 0 {
		return &Error{Code: EInvalid, Message: "Check the notification settings.", Fields: fields}
	}
	return s.tx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(`INSERT INTO notification_settings (user_id, mode, quiet_ms, email) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET mode = excluded.mode, quiet_ms = excluded.quiet_ms, email = excluded.email`,
			u.ID, ns.Mode, ns.QuietMS, ns.Email); err != nil {
			return err
		}
		if ns.Mode == NotifyOff {
			_, err := tx.Exec(`DELETE FROM digest_pending WHERE workspace_id = ? AND user_id = ?`, u.WorkspaceID, u.ID)
			return err
		}
		return nil
	})
}

// Recipient is one user to notify of an activity, with the quiet period
// (ms) their window waits for: 0 for immediately.
type Recipient struct {
	UserID  int64
	QuietMS int64
}

// PendingActivity is a committed activity and who is to hear of it.
type PendingActivity struct {
	ID         int64
	CreatedAt  int64
	Recipients []Recipient
}

// RecordPending finds the recipients of committed activities (the users
// assigned to the client, except the actor and those who turned
// notifications off; admins hear only of clients assigned to them) and
// records a pending row for each, defaultQuiet standing for a user who has
// not chosen, at being when the pipeline took them (their window's
// clock). Doing it again is harmless: a pending row is written once,
// and never for an activity a notification already told that user of.
func (s *Store) RecordPending(ctx context.Context, ids []int64, defaultQuiet, at int64) ([]PendingActivity, error) {
	var out []PendingActivity
	err := s.tx(ctx, func(tx *Tx) error {
		for _, id := range ids {
			var ws int64
			err := tx.QueryRowContext(ctx, `SELECT workspace_id FROM activities WHERE id = ?`, id).Scan(&ws)
			if errors.Is(err, sql.ErrNoRows) {
				continue // its company was deleted since
			}
			if err != nil {
				return err
			}
			pa := PendingActivity{ID: id, CreatedAt: at}
			err = queryEach(ctx, tx, func(row interface{ Scan(...any) error }, r *Recipient) error { return row.Scan(&r.UserID, &r.QuietMS) },
				func(r *Recipient) error { pa.Recipients = append(pa.Recipients, *r); return nil },
				`SELECT uc.user_id, CASE coalesce(ns.mode, 'digest') WHEN 'immediate' THEN 0 ELSE coalesce(nullif(ns.quiet_ms, 0), ?) END
				FROM activities a JOIN user_clients uc ON uc.company_id = a.company_id
				JOIN users u ON u.id = uc.user_id AND u.deactivated_at = 0
				LEFT JOIN notification_settings ns ON ns.user_id = uc.user_id
				WHERE a.id = ? AND uc.user_id IS NOT coalesce(a.actor_id, 0) AND coalesce(ns.mode, 'digest') <> 'off'
				AND NOT EXISTS (SELECT 1 FROM notification_items ni JOIN notifications n ON n.id = ni.notification_id
					WHERE ni.activity_id = a.id AND n.user_id = uc.user_id)
				ORDER BY uc.user_id`, defaultQuiet, id)
			if err != nil {
				return err
			}
			for _, r := range pa.Recipients {
				if _, err := tx.Exec(`INSERT OR IGNORE INTO digest_pending (workspace_id, user_id, activity_id, created_at) VALUES (?, ?, ?, ?)`,
					ws, r.UserID, id, at); err != nil {
					return err
				}
			}
			out = append(out, pa)
		}
		return nil
	})
	return out, err
}

// Pending is one activity a user has yet to hear about.
type Pending struct {
	UserID     int64
	ActivityID int64
	CreatedAt  int64
}

func scanPending(row interface{ Scan(...any) error }, p *Pending) error {
	return row.Scan(&p.UserID, &p.ActivityID, &p.CreatedAt)
}

// PendingFor returns what user uid has yet to hear about, oldest first.
func (s *Store) PendingFor(ctx context.Context, ws, uid int64) ([]Pending, error) {
	var out []Pending
	err := queryEach(ctx, s.r, scanPending, func(p *Pending) error { out = append(out, *p); return nil },
		`SELECT user_id, activity_id, created_at FROM digest_pending WHERE workspace_id = ? AND user_id = ? ORDER BY created_at, activity_id`, ws, uid)
	return out, err
}

// EachPending calls fn with every pending row of workspace ws, by user,
// and the user's quiet period (ms; 0 for immediately, defaultQuiet for a
// user who has not chosen): what the Redis schedule is rebuilt from.
func (s *Store) EachPending(ctx context.Context, ws, defaultQuiet int64, fn func(p *Pending, quiet int64) error) error {
	type row struct {
		Pending
		quiet int64
	}
	return queryEach(ctx, s.r, func(r interface{ Scan(...any) error }, v *row) error {
		return r.Scan(&v.UserID, &v.ActivityID, &v.CreatedAt, &v.quiet)
	}, func(v *row) error { return fn(&v.Pending, v.quiet) },
		`SELECT p.user_id, p.activity_id, p.created_at,
			CASE coalesce(ns.mode, 'digest') WHEN 'immediate' THEN 0 ELSE coalesce(nullif(ns.quiet_ms, 0), ?) END
		FROM digest_pending p LEFT JOIN notification_settings ns ON ns.user_id = p.user_id
		WHERE p.workspace_id = ? ORDER BY p.user_id, p.created_at`, defaultQuiet, ws)
}

// DeliverDigest writes digest key for user uid in one transaction: the
// inbox row with those of activityIDs that uid may still see, their
// pending rows gone, and, with email, the mail outbox row. A key already
// delivered changes nothing and reports false, so a replaced worker that
// retries a window delivers it once. A window with nothing visible left is
// dropped without a notification.
func (s *Store) DeliverDigest(ctx context.Context, ws, uid int64, key string, activityIDs []int64, email bool, at int64) (bool, error) {
	d := []Digest{{UserID: uid, Key: key, ActivityIDs: activityIDs, Email: email}}
	if err := s.DeliverDigests(ctx, ws, d, at); err != nil {
		return false, err
	}
	return d[0].Delivered, nil
}

// Digest is one window to deliver with DeliverDigests; Delivered reports
// whether this call wrote it.
type Digest struct {
	UserID      int64
	Key         string
	ActivityIDs []int64
	Email       bool
	Delivered   bool
}

// DeliverDigests delivers many digests of workspace ws in one transaction,
// each exactly as DeliverDigest does: keyed by its digest id, so a retry
// after a crash delivers none of them twice and, the transaction being
// all or nothing, none never.
func (s *Store) DeliverDigests(ctx context.Context, ws int64, digests []Digest, at int64) error {
	for i := range digests {
		digests[i].Delivered = false
	}
	err := s.tx(ctx, func(tx *Tx) error {
		for i := range digests {
			ok, err := deliverDigest(ctx, tx, ws, &digests[i], at)
			if err != nil {
				return err
			}
			digests[i].Delivered = ok
		}
		return nil
	})
	if err != nil {
		for i := range digests {
			digests[i].Delivered = false
		}
	}
	return err
}

func deliverDigest(ctx context.Context, tx *Tx, ws int64, d *Digest, at int64) (bool, error) {
	uid, key, activityIDs := d.UserID, d.Key, d.ActivityIDs
	if len(activityIDs) == 0 {
		return false, nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM notifications WHERE digest_key = ?`, key).Scan(&n); err != nil || n > 0 {
		return false, err
	}
	args := make([]any, 0, len(activityIDs)+2)
	for _, id := range activityIDs {
		args = append(args, id)
	}
	in := placeholders(len(activityIDs))
	visibleIDs, err := queryColumn[int64](ctx, tx, `SELECT a.id FROM activities a
		JOIN users u ON u.id = ? AND u.deactivated_at = 0
		WHERE a.id IN (`+in+`) AND a.workspace_id = u.workspace_id
		AND (u.role = 'admin' OR EXISTS (SELECT 1 FROM user_clients uc WHERE uc.user_id = u.id AND uc.company_id = a.company_id))`,
		append([]any{uid}, args...)...)
	if err != nil {
		return false, err
	}
	if _, err := tx.Exec(`DELETE FROM digest_pending WHERE workspace_id = ? AND user_id = ? AND activity_id IN (`+in+`)`,
		append([]any{ws, uid}, args...)...); err != nil {
		return false, err
	}
	if len(visibleIDs) == 0 {
		return false, nil
	}
	res, err := tx.Exec(`INSERT INTO notifications (workspace_id, user_id, digest_key, created_at) VALUES (?, ?, ?, ?)`, ws, uid, key, at)
	if err != nil {
		return false, err
	}
	nid, _ := res.LastInsertId()
	for _, id := range visibleIDs {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO notification_items (activity_id, notification_id) VALUES (?, ?)`, id, nid); err != nil {
			return false, err
		}
	}
	if d.Email {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO mail_outbox (digest_key, workspace_id, user_id, created_at) VALUES (?, ?, ?, ?)`, key, ws, uid, at); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Notification is one inbox entry: the activities of a digest that its
// reader may see now.
type Notification struct {
	ID        int64      `json:"id"`
	Key       string     `json:"digest_id"`
	CreatedAt int64      `json:"created_at"`
	Read      bool       `json:"read"`
	Items     []Activity `json:"items"`
}

// Summary is n's headline: "7 updates on 3 clients".
func (n *Notification) Summary() string {
	clients := map[int64]bool{}
	for _, a := range n.Items {
		if a.CompanyID != nil {
			clients[*a.CompanyID] = true
		}
	}
	return countOf(len(n.Items), "update") + " on " + countOf(len(clients), "client")
}

func countOf(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// NotificationPage is a page of notifications, newest first.
type NotificationPage struct {
	Items []Notification `json:"items"`
	Next  string         `json:"next_cursor,omitempty"`
}

// notificationVisible limits notifications n to those with an activity
// their reader u may see now: client security is checked as they are
// read, not as they were sent.
func notificationVisible(u *User) (string, []any) {
	cond, args := visible(u, "c")
	return `EXISTS (SELECT 1 FROM notification_items ni JOIN activities a ON a.id = ni.activity_id
		JOIN companies c ON c.id = a.company_id WHERE ni.notification_id = n.id AND ` + cond + `)`, args
}

// Notifications returns a page of u's notifications, newest first, each
// with only the activities u may see now.
func (s *Store) Notifications(ctx context.Context, u *User, unread bool, cursor string, limit int) (*NotificationPage, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	before := int64(math.MaxInt64)
	if cursor != "" {
		var cur listCursor
		if err := decodeCursor(cursor, &cur); err != nil || cur.ID <= 0 {
			return nil, errBadCursor()
		}
		before = cur.ID
	}
	cond, cargs := notificationVisible(u)
	q := `SELECT n.id, n.digest_key, n.created_at, n.read_at <> 0 FROM notifications n
		WHERE n.user_id = ? AND n.id < ? AND ` + cond
	if unread {
		q += ` AND n.read_at = 0`
	}
	q += ` ORDER BY n.id DESC LIMIT ?`
	page := &NotificationPage{Items: []Notification{}}
	err := queryEach(ctx, s.r, func(row interface{ Scan(...any) error }, n *Notification) error {
		return row.Scan(&n.ID, &n.Key, &n.CreatedAt, &n.Read)
	}, func(n *Notification) error { page.Items = append(page.Items, *n); return nil },
		q, append(append([]any{u.ID, before}, cargs...), limit+1)...)
	if err != nil {
		return nil, err
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.Next = encodeCursor(listCursor{ID: page.Items[limit-1].ID})
	}
	if len(page.Items) == 0 {
		return page, nil
	}
	byID := map[int64]*Notification{}
	args := []any{}
	for i := range page.Items {
		byID[page.Items[i].ID] = &page.Items[i]
		args = append(args, page.Items[i].ID)
	}
	vcond, vargs := visible(u, "c")
	err = queryEach(ctx, s.r, func(row interface{ Scan(...any) error }, v *struct {
		nid int64
		a   Activity
	}) error {
		return row.Scan(append([]any{&v.nid}, &v.a.ID, &v.a.WorkspaceID, &v.a.CompanyID, &v.a.CompanyName, &v.a.ActorID, &v.a.Kind, &v.a.RefID, &v.a.Summary, &v.a.CreatedAt)...)
	}, func(v *struct {
		nid int64
		a   Activity
	}) error {
		n := byID[v.nid]
		n.Items = append(n.Items, v.a)
		return nil
	}, `SELECT ni.notification_id, `+activityCols+` FROM notification_items ni JOIN activities a ON a.id = ni.activity_id
		JOIN companies c ON c.id = a.company_id
		WHERE ni.notification_id IN (`+placeholders(len(args))+`) AND `+vcond+` ORDER BY c.name, c.id, a.id`,
		append(args, vargs...)...)
	return page, err
}

// UnreadNotifications counts u's unread notifications that u may still see.
func (s *Store) UnreadNotifications(ctx context.Context, u *User) (int, error) {
	cond, args := notificationVisible(u)
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM notifications n WHERE n.user_id = ? AND n.read_at = 0 AND `+cond,
		append([]any{u.ID}, args...)...).Scan(&n)
	return n, err
}

// MarkNotificationsRead marks u's notifications ids (or all of them) read;
// ids of other users' notifications change nothing.
func (s *Store) MarkNotificationsRead(ctx context.Context, u *User, ids []int64, all bool) error {
	if !all && len(ids) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *Tx) error {
		q, args := `UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at = 0`, []any{now(), u.ID}
		if !all {
			q += ` AND id IN (` + placeholders(len(ids)) + `)`
			for _, id := range ids {
				args = append(args, id)
			}
		}
		_, err := tx.Exec(q, args...)
		return err
	})
}

// Mail is a digest e-mail in the outbox.
type Mail struct {
	Key       string `json:"digest_id"`
	UserID    int64  `json:"user_id"`
	To        string `json:"to"`
	Subject   string `json:"subject"`
	CreatedAt int64  `json:"created_at"`
	SentAt    int64  `json:"sent_at"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
}

const mailCols = `m.digest_key, m.user_id, u.email, m.subject, m.created_at, m.sent_at, m.attempts, m.last_error`

func scanMail(row interface{ Scan(...any) error }, m *Mail) error {
	return row.Scan(&m.Key, &m.UserID, &m.To, &m.Subject, &m.CreatedAt, &m.SentAt, &m.Attempts, &m.LastError)
}

// UnsentMail returns up to limit digest e-mails not yet sent whose next
// attempt is due by now, oldest first.
func (s *Store) UnsentMail(ctx context.Context, now int64, limit int) ([]Mail, error) {
	var out []Mail
	err := queryEach(ctx, s.r, scanMail, func(m *Mail) error { out = append(out, *m); return nil },
		`SELECT `+mailCols+` FROM mail_outbox m JOIN users u ON u.id = m.user_id WHERE m.sent_at = 0 AND m.next_at <= ? ORDER BY m.next_at, m.created_at LIMIT ?`, now, limit)
	return out, err
}

// DigestMail returns the notification of digest key as its recipient may
// see it now, for its e-mail; ENotFound when nothing of it is visible.
func (s *Store) DigestMail(ctx context.Context, key string) (*User, *Notification, error) {
	var uid, nid int64
	err := s.r.QueryRowContext(ctx, `SELECT user_id, id FROM notifications WHERE digest_key = ?`, key).Scan(&uid, &nid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, Errorf(ENotFound, "Digest not found.")
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := s.UserByID(ctx, uid)
	if err != nil {
		return nil, nil, err
	}
	page, err := s.Notifications(ctx, u, false, encodeCursor(listCursor{ID: nid + 1}), 1)
	if err != nil {
		return nil, nil, err
	}
	if len(page.Items) == 0 || page.Items[0].ID != nid {
		return u, nil, Errorf(ENotFound, "Nothing in this digest is visible.")
	}
	return u, &page.Items[0], nil
}

// MailSent records that digest key's e-mail went out (done), or that an
// attempt failed with errMsg: the next waits twice as long as the last,
// from 10 s up to an hour, so a mail server that is down is not hammered.
func (s *Store) MailSent(ctx context.Context, key, subject, errMsg string, at int64, done bool) error {
	return s.tx(ctx, func(tx *Tx) error {
		if done {
			_, err := tx.Exec(`UPDATE mail_outbox SET sent_at = ?, subject = ?, attempts = attempts + 1, last_error = ? WHERE digest_key = ?`, at, subject, errMsg, key)
			return err
		}
		_, err := tx.Exec(`UPDATE mail_outbox SET subject = ?, attempts = attempts + 1, last_error = ?,
			next_at = ? + min(3600000, 10000 << min(attempts, 20)) WHERE digest_key = ?`, subject, errMsg, at, key)
		return err
	})
}

// SentMail returns the workspace's latest sent e-mails, for the admin's
// mail page.
func (s *Store) SentMail(ctx context.Context, admin *User, limit int) ([]Mail, error) {
	if !admin.IsAdmin() {
		return nil, Errorf(EForbidden, "Admins only.")
	}
	out := []Mail{}
	err := queryEach(ctx, s.r, scanMail, func(m *Mail) error { out = append(out, *m); return nil },
		`SELECT `+mailCols+` FROM mail_outbox m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ? AND m.sent_at > 0 ORDER BY m.sent_at DESC LIMIT ?`,
		admin.WorkspaceID, limit)
	return out, err
}

// DigestKey is the id of user uid's digest whose window opened with
// activity first: the same for every worker that builds that window.
func DigestKey(ws, uid, first int64) string {
	return "d" + strconv.FormatInt(ws, 10) + "." + strconv.FormatInt(uid, 10) + "." + strconv.FormatInt(first, 10)
}
