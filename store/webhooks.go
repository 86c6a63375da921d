package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Webhook is an admin's URL that hears about the workspace's activity.
// It sees the whole workspace, as an admin does.
type Webhook struct {
	ID          int64    `json:"id"`
	WorkspaceID int64    `json:"-"`
	URL         string   `json:"url"`
	Events      []string `json:"events"` // activity kinds, or ["*"] for all
	CreatedAt   int64    `json:"created_at"`
	Secret      string   `json:"-"` // shown once, by the handler that creates it
}

// Host is the host of w's URL: what logs may show of it, since the rest
// often carries the receiver's token.
func (w *Webhook) Host() string {
	u, err := url.Parse(w.URL)
	if err != nil {
		return ""
	}
	return u.Host
}

// WebhookInput is what an admin gives for a new webhook. An empty secret
// is generated.
type WebhookInput struct {
	URL    string   `json:"url"`
	Secret string   `json:"secret"`
	Events []string `json:"events"`
}

// AllEvents subscribes a webhook to every activity kind, including kinds
// added in later releases.
const AllEvents = "*"

// WebhookEvents are the event kinds a webhook may pick: the activity kinds.
var WebhookEvents = []string{
	ActivityCompanyCreated, ActivityCompanyUpdated, ActivityCompanyOwnerChanged, ActivityCompanyDeleted,
	ActivityNoteCreated, ActivityNoteUpdated, ActivityNoteDeleted,
	ActivityContactCreated, ActivityContactUpdated, ActivityContactDeleted,
	ActivityLinkCreated, ActivityLinkUpdated, ActivityLinkDeleted,
	ActivityMeetingCreated, ActivityMeetingUpdated, ActivityMeetingDeleted, ActivityMeetingClosed, ActivityMeetingReopened,
	ActivityRoomHeld, ActivityClientAssigned, ActivityClientUnassigned, ActivityImportFinished,
}

// WebhookRetryWindow is how long after its event (or its resend) a
// delivery is retried before it is marked failed.
const WebhookRetryWindow = 24 * time.Hour

// webhookSecretPrefix starts a generated secret, so one pasted into the
// wrong place is recognisable.
const webhookSecretPrefix = "whsec_"

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one event on its way to one webhook, with its log.
type Delivery struct {
	ID          int64           `json:"id"`
	WebhookID   int64           `json:"webhook_id"`
	WorkspaceID int64           `json:"-"`
	Event       string          `json:"event"`
	OccurredAt  int64           `json:"occurred_at"`
	Data        json.RawMessage `json:"data"`
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	Failures    int             `json:"-"`
	NextAt      int64           `json:"next_attempt_at,omitempty"` // pending only
	GiveUpAt    int64           `json:"-"`
	CreatedAt   int64           `json:"created_at"`
	Log         []Attempt       `json:"log"` // newest first; filled by WebhookDeliveries
	URL         string          `json:"-"`   // filled by ClaimDeliveries
	Secret      string          `json:"-"`
}

// Attempt is one try at sending a delivery. Status 0 means no answer.
type Attempt struct {
	Attempt    int    `json:"attempt"`
	At         int64  `json:"at"`
	DurationMS int64  `json:"duration_ms"`
	Status     int    `json:"status"`
	Error      string `json:"error,omitempty"`
	Response   string `json:"response,omitempty"`
}

// DeliveryPage is one page of a webhook's deliveries, newest first.
type DeliveryPage struct {
	Items []Delivery `json:"items"`
	Next  string     `json:"next_cursor,omitempty"`
}

// WebhookData is a delivery's "data": the activity, as an admin sees it.
type WebhookData struct {
	ActivityID  int64  `json:"activity_id"`
	ActorID     *int64 `json:"actor_id"`
	ActorName   string `json:"actor_name,omitempty"`
	CompanyID   *int64 `json:"company_id"`
	CompanyName string `json:"company_name,omitempty"`
	ResourceID  int64  `json:"resource_id"`
	Summary     string `json:"summary"`
}

// privateHost reports whether host is localhost or a literal address
// PublicAddr refuses. A name that resolves to one is refused when the
// deliverer dials it (webhooks), which also covers DNS that changes later.
func privateHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && !PublicAddr(a)
}

// reserved are the IPv4 ranges, besides those netip classifies, that are
// no public host's: "this network", carrier-grade NAT (where some clouds
// put their metadata service), IETF protocol assignments, benchmarking,
// and the reserved 240/4 with the broadcast address.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

// nat64 is the well-known NAT64 prefix: its addresses stand for the IPv4
// address in their last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// PublicAddr reports whether a webhook may be sent to a: not loopback,
// private (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10, where
// cloud metadata services answer), unspecified, multicast or reserved. A
// workspace admin is not the host's operator: without this a webhook
// could reach the services beside Rolodex and show their answers in its
// delivery log.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() ||
		a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

func adminOnly(u *User) error {
	if !u.IsAdmin() {
		return Errorf(EForbidden, "Admins only.")
	}
	return nil
}

// CreateWebhook registers a webhook in admin's workspace. It hears the
// activity that comes after it.
func (s *Store) CreateWebhook(ctx context.Context, admin *User, in WebhookInput) (*Webhook, error) {
	if err := adminOnly(admin); err != nil {
		return nil, err
	}
	in.URL = strings.TrimSpace(in.URL)
	in.Secret = strings.TrimSpace(in.Secret)
	p := Problems{}
	checkLen(p, "url", in.URL, 1, 2000)
	if u, err := url.Parse(in.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		p.Add("url", "Give an http:// or https:// address.")
	} else if !s.WebhooksAllowPrivate && privateHost(u.Hostname()) {
		p.Add("url", "Give a public address: loopback and private network addresses are refused.")
	}
	if in.Secret != "" {
		checkLen(p, "secret", in.Secret, 16, 200)
		checkText(p, "secret", in.Secret)
	}
	events, problem := checkEvents(in.Events)
	if problem != "" {
		p.Add("events", problem)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if in.Secret == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		in.Secret = webhookSecretPrefix + base64.RawURLEncoding.EncodeToString(b)
	}
	w := &Webhook{WorkspaceID: admin.WorkspaceID, URL: in.URL, Events: events, Secret: in.Secret, CreatedAt: now()}
	err := s.tx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(`INSERT INTO webhooks (workspace_id, url, secret, events, after_activity, created_at)
			VALUES (?, ?, ?, ?, (SELECT coalesce(max(id), 0) FROM activities), ?)`,
			w.WorkspaceID, w.URL, w.Secret, strings.Join(events, " "), w.CreatedAt)
		if err == nil {
			w.ID, err = res.LastInsertId()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// checkEvents returns the kinds sorted and without repeats, or what is
// wrong with them.
func checkEvents(in []string) ([]string, string) {
	if len(in) == 0 {
		return nil, "Pick at least one event, or * for all."
	}
	out := make([]string, 0, len(in))
	for _, e := range in {
		e = strings.TrimSpace(e)
		if e != AllEvents && !slices.Contains(WebhookEvents, e) {
			return nil, "Unknown event " + strconv.Quote(e) + "; the events are " + strings.Join(WebhookEvents, ", ") + ", or *."
		}
		out = append(out, e)
	}
	if slices.Contains(out, AllEvents) {
		return []string{AllEvents}, ""
	}
	slices.Sort(out)
	return slices.Compact(out), ""
}

const webhookCols = `id, workspace_id, url, secret, events, created_at`

func scanWebhook(row interface{ Scan(...any) error }, w *Webhook) error {
	var events string
	err := row.Scan(&w.ID, &w.WorkspaceID, &w.URL, &w.Secret, &events, &w.CreatedAt)
	w.Events = strings.Fields(events)
	return err
}

// Webhooks lists admin's workspace's webhooks, newest first.
func (s *Store) Webhooks(ctx context.Context, admin *User) ([]Webhook, error) {
	if err := adminOnly(admin); err != nil {
		return nil, err
	}
	out := []Webhook{}
	err := queryEach(ctx, s.r, scanWebhook, func(w *Webhook) error { out = append(out, *w); return nil },
		`SELECT `+webhookCols+` FROM webhooks WHERE workspace_id = ? ORDER BY id DESC`, admin.WorkspaceID)
	return out, err
}

// Webhook returns one of admin's workspace's webhooks; another
// workspace's is ENotFound.
func (s *Store) Webhook(ctx context.Context, admin *User, id int64) (*Webhook, error) {
	if err := adminOnly(admin); err != nil {
		return nil, err
	}
	w := &Webhook{}
	err := scanWebhook(s.r.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = ? AND workspace_id = ?`, id, admin.WorkspaceID), w)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENotFound, "Webhook not found.")
	}
	return w, err
}

// DeleteWebhook removes a webhook with its deliveries and their log;
// what was still pending is not sent.
func (s *Store) DeleteWebhook(ctx context.Context, admin *User, id int64) error {
	if err := adminOnly(admin); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(`DELETE FROM webhooks WHERE id = ? AND workspace_id = ?`, id, admin.WorkspaceID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Errorf(ENotFound, "Webhook not found.")
		}
		return nil
	})
}

const deliveryCols = `d.id, d.webhook_id, d.workspace_id, d.event, d.occurred_at, d.data, d.status, d.attempts, d.failures, d.next_at, d.give_up_at, d.created_at`

// deliveryFields are the scan targets of deliveryCols; the data column
// (JSON text) goes to data.
func deliveryFields(d *Delivery, data *string) []any {
	return []any{&d.ID, &d.WebhookID, &d.WorkspaceID, &d.Event, &d.OccurredAt, data, &d.Status, &d.Attempts, &d.Failures, &d.NextAt, &d.GiveUpAt, &d.CreatedAt}
}

func scanDelivery(row interface{ Scan(...any) error }, d *Delivery) error {
	var data string
	err := row.Scan(deliveryFields(d, &data)...)
	d.Data = json.RawMessage(data)
	if d.Status != DeliveryPending {
		d.NextAt = 0
	}
	return err
}

// WebhookDeliveries returns a page of a webhook's deliveries, newest
// first, each with its attempts. limit is 1 to 200; 0 means 50.
func (s *Store) WebhookDeliveries(ctx context.Context, admin *User, hookID int64, cursor string, limit int) (*DeliveryPage, error) {
	p := Problems{}
	checkLimit(p, &limit, 50, 200)
	if err := p.Err(); err != nil {
		return nil, err
	}
	if _, err := s.Webhook(ctx, admin, hookID); err != nil {
		return nil, err
	}
	before := int64(1<<63 - 1)
	if cursor != "" {
		var cur listCursor
		if err := decodeCursor(cursor, &cur); err != nil || cur.ID <= 0 {
			return nil, errBadCursor()
		}
		before = cur.ID
	}
	page := &DeliveryPage{Items: []Delivery{}}
	err := queryEach(ctx, s.r, scanDelivery, func(d *Delivery) error { page.Items = append(page.Items, *d); return nil },
		`SELECT `+deliveryCols+` FROM webhook_deliveries d WHERE d.webhook_id = ? AND d.id < ? ORDER BY d.id DESC LIMIT ?`, hookID, before, limit+1)
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
	at := map[int64]int{}
	args := make([]any, len(page.Items))
	for i, d := range page.Items {
		at[d.ID] = i
		args[i] = d.ID
		page.Items[i].Log = []Attempt{}
	}
	var id int64
	err = queryEach(ctx, s.r, func(row interface{ Scan(...any) error }, a *Attempt) error {
		return row.Scan(&id, &a.Attempt, &a.At, &a.DurationMS, &a.Status, &a.Error, &a.Response)
	}, func(a *Attempt) error {
		d := &page.Items[at[id]]
		d.Log = append(d.Log, *a)
		return nil
	}, `SELECT delivery_id, attempt, at, duration_ms, status, error, response FROM webhook_attempts
		WHERE delivery_id IN (`+placeholders(len(args))+`) ORDER BY id DESC`, args...)
	return page, err
}

// ResendDelivery queues a new attempt of a delivery at once, retried for
// another WebhookRetryWindow if it fails.
func (s *Store) ResendDelivery(ctx context.Context, admin *User, hookID, deliveryID int64) error {
	if _, err := s.Webhook(ctx, admin, hookID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *Tx) error {
		t := now()
		res, err := tx.Exec(`UPDATE webhook_deliveries SET status = 'pending', failures = 0, next_at = ?, give_up_at = ?
			WHERE id = ? AND webhook_id = ?`, t, t+WebhookRetryWindow.Milliseconds(), deliveryID, hookID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Errorf(ENotFound, "Delivery not found.")
		}
		return nil
	})
}

// The dispatcher and the deliverer (package webhooks) below work for no
// viewer: a webhook sees its whole workspace.

// DispatchWebhooks turns up to limit activities past the cursor into
// deliveries, one per webhook that hears them, and moves the cursor, in
// one transaction. It returns how many activities it read and how many
// deliveries it made, due at at.
func (s *Store) DispatchWebhooks(ctx context.Context, at int64, limit int) (read, made int, err error) {
	// Most rounds find nothing: ask the read pool before taking the writer.
	var cursor, newest int64
	if err := s.r.QueryRowContext(ctx, `SELECT activity_id, (SELECT coalesce(max(id), 0) FROM activities) FROM webhook_cursor`).Scan(&cursor, &newest); err != nil {
		return 0, 0, err
	}
	if newest <= cursor {
		return 0, 0, nil
	}
	err = s.tx(ctx, func(tx *Tx) error {
		if err := tx.QueryRow(`SELECT activity_id FROM webhook_cursor`).Scan(&cursor); err != nil {
			return err
		}
		type hook struct {
			id, ws, after int64
			events        []string
		}
		byWS := map[int64][]hook{}
		rows, err := tx.Query(`SELECT id, workspace_id, events, after_activity FROM webhooks`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var h hook
			var events string
			if err := rows.Scan(&h.id, &h.ws, &events, &h.after); err != nil {
				rows.Close()
				return err
			}
			h.events = strings.Fields(events)
			byWS[h.ws] = append(byWS[h.ws], h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(byWS) == 0 {
			// Nobody listens: skip what happened (a webhook made later
			// hears only what comes after it anyway).
			_, err := tx.Exec(`UPDATE webhook_cursor SET activity_id = (SELECT coalesce(max(id), 0) FROM activities)`)
			return err
		}
		var acts []Activity
		var actors []string
		rows, err = tx.Query(`SELECT `+activityCols+`, coalesce(u.name, '') FROM activities a
			LEFT JOIN companies c ON c.id = a.company_id LEFT JOIN users u ON u.id = a.actor_id
			WHERE a.id > ? ORDER BY a.id LIMIT ?`, cursor, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a Activity
			var actor string
			if err := rows.Scan(&a.ID, &a.WorkspaceID, &a.CompanyID, &a.CompanyName, &a.ActorID, &a.Kind, &a.RefID, &a.Summary, &a.CreatedAt, &actor); err != nil {
				rows.Close()
				return err
			}
			acts = append(acts, a)
			actors = append(actors, actor)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(acts) == 0 {
			return nil
		}
		// OR IGNORE: an activity that already has its delivery (the
		// cursor moved back) keeps the one it has.
		ins, err := tx.Prepare(`INSERT OR IGNORE INTO webhook_deliveries (webhook_id, workspace_id, activity_id, event, occurred_at, data, status, next_at, give_up_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for i, a := range acts {
			var data []byte
			for _, h := range byWS[a.WorkspaceID] {
				if a.ID <= h.after || !(slices.Contains(h.events, AllEvents) || slices.Contains(h.events, a.Kind)) {
					continue
				}
				if data == nil {
					data, _ = json.Marshal(WebhookData{ActivityID: a.ID, ActorID: a.ActorID, ActorName: actors[i], CompanyID: a.CompanyID,
						CompanyName: a.CompanyName, ResourceID: a.RefID, Summary: a.Summary})
				}
				res, err := ins.Exec(h.id, a.WorkspaceID, a.ID, a.Kind, a.CreatedAt, string(data), at, a.CreatedAt+WebhookRetryWindow.Milliseconds(), at)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				made += int(n)
			}
		}
		read = len(acts)
		_, err = tx.Exec(`UPDATE webhook_cursor SET activity_id = ?`, acts[len(acts)-1].ID)
		return err
	})
	return read, made, err
}

// ClaimDeliveries takes up to limit deliveries due at at, with their
// webhook's URL and secret, and keeps other deliverers off them until
// at+lease: a deliverer that dies mid-send lets them fall due again then.
func (s *Store) ClaimDeliveries(ctx context.Context, at, lease int64, limit int) ([]Delivery, error) {
	var out []Delivery
	err := s.tx(ctx, func(tx *Tx) error {
		out = out[:0]
		rows, err := tx.Query(`SELECT `+deliveryCols+`, w.url, w.secret FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
			WHERE d.status = 'pending' AND d.next_at <= ? ORDER BY d.next_at LIMIT ?`, at, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d Delivery
			var data string
			if err := rows.Scan(append(deliveryFields(&d, &data), &d.URL, &d.Secret)...); err != nil {
				rows.Close()
				return err
			}
			d.Data = json.RawMessage(data)
			out = append(out, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			out[i].NextAt = at + lease
			if _, err := tx.Exec(`UPDATE webhook_deliveries SET next_at = ? WHERE id = ?`, out[i].NextAt, out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// RecordAttempt logs an attempt at d (as claimed) and what follows: done
// when it was answered with a 2xx; otherwise the next attempt at next, or
// failed when next is past d's give-up time. A resend since the claim
// wins: the attempt is logged but the delivery is left as it is.
func (s *Store) RecordAttempt(ctx context.Context, d *Delivery, a Attempt, done bool, next int64) error {
	a.Error = clip(a.Error, 500)
	a.Response = clip(a.Response, 500)
	return s.tx(ctx, func(tx *Tx) error {
		var n int
		err := tx.QueryRow(`UPDATE webhook_deliveries SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`, d.ID).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // its webhook was deleted meanwhile
		}
		if err != nil {
			return err
		}
		failed := 1
		if done {
			failed = 0
		}
		if _, err := tx.Exec(`UPDATE webhook_deliveries SET failures = failures + ?, status = ?, next_at = ?
			WHERE id = ? AND status = 'pending' AND next_at = ?`, failed, deliveryOutcome(d, done, next), next, d.ID, d.NextAt); err != nil {
			return err
		}
		_, err = tx.Exec(`INSERT INTO webhook_attempts (delivery_id, attempt, at, duration_ms, status, error, response) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			d.ID, n, a.At, a.DurationMS, a.Status, a.Error, a.Response)
		return err
	})
}

func deliveryOutcome(d *Delivery, done bool, next int64) string {
	switch {
	case done:
		return DeliveryDelivered
	case next > d.GiveUpAt:
		return DeliveryFailed
	}
	return DeliveryPending
}

// NextDeliveryAt is when the earliest pending delivery falls due, 0 when
// none is pending: the deliverer sleeps until then.
func (s *Store) NextDeliveryAt(ctx context.Context) (int64, error) {
	var at sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT min(next_at) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&at)
	return at.Int64, err
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
