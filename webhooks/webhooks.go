// Package webhooks sends the workspace's activity to the URLs admins
// register: a dispatcher turns committed activities into deliveries in
// SQLite, and a deliverer claims the due ones with a lease, POSTs them
// signed, and records each attempt, retrying with backoff for 24 hours.
// Nothing here runs in a user's request.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rolodex/rolodex/store"
)

// Deliverer runs the dispatcher and sends deliveries. Several processes
// may run one each over the same SQLite: claims are leased.
type Deliverer struct {
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time // the clock; tests set their own
	// Client sends the requests; it must not follow redirects (New's
	// does not): a receiver that moved is told so by a failed delivery.
	// New's dials only public addresses (allowDial) and uses no proxy.
	Client *http.Client
	// AllowPrivate lets New's client dial loopback and private network
	// addresses (ROLODEX_WEBHOOK_ALLOW_PRIVATE; tests whose receivers are
	// on 127.0.0.1).
	AllowPrivate bool
	Timeout      time.Duration // per attempt
	// Lease is how long a claimed delivery stays out of other deliverers'
	// reach; one that dies mid-send lets it fall due again after this.
	// Longer than Timeout, or a slow answer is sent twice.
	Lease   time.Duration
	Workers int           // deliveries in flight at once
	Poll    time.Duration // how often SQLite is asked for new activity and due deliveries

	wake chan struct{}
}

// New returns a deliverer with the defaults filled in.
func New(st *store.Store, log *slog.Logger) *Deliverer {
	d := &Deliverer{
		Store: st, Log: log, Now: time.Now,
		Timeout: 10 * time.Second, Lease: time.Minute, Workers: 8, Poll: time.Second,
		wake: make(chan struct{}, 1),
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	// A proxy would dial for us, past allowDial.
	t.Proxy = nil
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: d.allowDial}).DialContext
	d.Client = &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return d
}

// errPrivate is an attempt's error when its address is refused. It names
// no address: a name's private address is the host's to know.
var errPrivate = errors.New("refused: private address")

// allowDial refuses to connect to an address store.PublicAddr refuses,
// unless AllowPrivate. It runs on the address being dialled, after DNS,
// so a name that resolves (or is later made to resolve) to a private
// address is caught too.
func (d *Deliverer) allowDial(network, address string, _ syscall.RawConn) error {
	if d.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !store.PublicAddr(ap.Addr()) {
		return errPrivate
	}
	return nil
}

// Wake makes Run look for work now rather than at its next poll.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// dispatchBatch is how many activities one dispatch transaction reads.
const dispatchBatch = 500

// Run dispatches and delivers until ctx ends, then waits for the sends in
// flight, which ctx cancels (their claims lapse and they go again).
func (d *Deliverer) Run(ctx context.Context) {
	slots := make(chan struct{}, d.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(d.Poll)
	defer tick.Stop()
	for {
		if err := d.round(ctx, slots, &wg); err != nil && ctx.Err() == nil {
			d.Log.Warn("webhooks", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-d.wake:
		}
	}
}

// round dispatches new activity, then starts sending what is due, as
// many as there are free slots.
func (d *Deliverer) round(ctx context.Context, slots chan struct{}, wg *sync.WaitGroup) error {
	for {
		read, _, err := d.Store.DispatchWebhooks(ctx, d.Now().UnixMilli(), dispatchBatch)
		if err != nil {
			return err
		}
		if read < dispatchBatch {
			break
		}
	}
	free := cap(slots) - len(slots)
	if free == 0 {
		return nil
	}
	at := d.Now().UnixMilli()
	due, err := d.Store.NextDeliveryAt(ctx)
	if err != nil || due == 0 || due > at {
		return err
	}
	claimed, err := d.Store.ClaimDeliveries(ctx, at, d.Lease.Milliseconds(), free)
	if err != nil {
		return err
	}
	for _, dl := range claimed {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots; d.Wake() }()
			if err := d.send(ctx, &dl); err != nil && ctx.Err() == nil {
				d.Log.Warn("webhook attempt not recorded", "delivery", dl.ID, "err", err)
			}
		}()
	}
	return nil
}

// Body is what a delivery POSTs: the same bytes on every attempt.
func Body(dl *store.Delivery) []byte {
	b, _ := json.Marshal(struct {
		ID          int64           `json:"id"`
		Event       string          `json:"event"`
		OccurredAt  int64           `json:"occurred_at"`
		WorkspaceID int64           `json:"workspace_id"`
		Data        json.RawMessage `json:"data"`
	}{dl.ID, dl.Event, dl.OccurredAt, dl.WorkspaceID, dl.Data})
	return b
}

// Sign is the Rolodex-Signature header of body sent at unix second t:
// "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>". The time is signed
// so a receiver can refuse an old request replayed.
func Sign(secret string, t int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	ts := strconv.FormatInt(t, 10)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// snippet is how much of an answer or error the log keeps.
const snippet = 500

// send makes one attempt at dl and records it with what follows.
func (d *Deliverer) send(ctx context.Context, dl *store.Delivery) error {
	body := Body(dl)
	at := d.Now()
	reqCtx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, dl.URL, bytes.NewReader(body))
	if err != nil {
		// Not err: it quotes the URL, and the caller logs it.
		return fmt.Errorf("webhook %d: its URL does not parse", dl.WebhookID)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Rolodex-Webhooks")
	req.Header.Set("Rolodex-Webhook-Id", strconv.FormatInt(dl.ID, 10))
	req.Header.Set("Rolodex-Signature", Sign(dl.Secret, at.Unix(), body))
	started := time.Now()
	resp, err := d.Client.Do(req)
	if err != nil && ctx.Err() != nil {
		// Shutting down cut the send short: not the receiver's failure.
		// The claim lapses and another deliverer sends it again.
		return nil
	}
	a := store.Attempt{At: at.UnixMilli()}
	if err == nil {
		// An answer is recorded even if shutdown began meanwhile, or a
		// 2xx would be sent again by another deliverer.
		b, _ := io.ReadAll(io.LimitReader(resp.Body, snippet))
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		resp.Body.Close()
		a.Status, a.Response = resp.StatusCode, string(b)
	} else if errors.Is(err, errPrivate) {
		a.Error = errPrivate.Error()
	} else {
		a.Error = err.Error()
	}
	a.DurationMS = time.Since(started).Milliseconds()
	ok := a.Status >= 200 && a.Status < 300
	var next int64
	if !ok {
		next = at.Add(Backoff(dl.Failures)).UnixMilli()
	}
	return d.Store.RecordAttempt(context.WithoutCancel(ctx), dl, a, ok, next)
}

// Backoff is the wait after the failures+1-th failure in a row: 10 s,
// then three times longer each time up to an hour, each ±20% at random so
// that deliveries that failed together do not retry together.
func Backoff(failures int) time.Duration {
	wait := 10 * time.Second
	for range failures {
		wait *= 3
		if wait >= time.Hour {
			wait = time.Hour
			break
		}
	}
	return time.Duration(float64(wait) * (0.8 + 0.4*rand.Float64()))
}
