// Package rooms keeps meeting rooms live: who is connected (presence in
// Redis, per connection, with an expiry this process refreshes), the
// schedule that opens and closes rooms on time, and the fan-out of a
// room's messages and events to the streams this process serves. SQLite
// (package store) stays the record; everything here can be rebuilt from it.
package rooms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/store"
)

// Config holds the hub's timings. Tests shorten them.
type Config struct {
	// ConnTTL is how long a connection stays present without a refresh:
	// the longest a killed process can leave a ghost (plus one Sweep).
	ConnTTL time.Duration
	// Refresh is how often this process renews its connections.
	Refresh time.Duration
	// Grace is how long a cleanly closed connection still counts, so that
	// a page refresh is not a leave and a join.
	Grace time.Duration
	// APITTL is how long a participant who joined over the JSON API stays
	// without a request of theirs to the room.
	APITTL time.Duration
	// Sweep is the period of the leased sweep (due times, presence).
	Sweep time.Duration
	// Lookahead is how far ahead the sweep puts opening times in Redis.
	Lookahead time.Duration
}

// DefaultConfig is what the server runs with: a dead process's
// participants are gone within ConnTTL + Sweep = 11 s.
var DefaultConfig = Config{
	ConnTTL:   10 * time.Second,
	Refresh:   3 * time.Second,
	Grace:     2 * time.Second,
	APITTL:    30 * time.Second,
	Sweep:     time.Second,
	Lookahead: time.Minute,
}

// Hub is one process's share of the live rooms.
type Hub struct {
	st  *store.Store
	rdb *redis.Client
	log *slog.Logger
	cfg Config
	id  string // this process, in connection ids

	mu    sync.Mutex
	conns map[*Conn]struct{}
	feeds map[int64]*feed // by meeting id
	ps    *redis.PubSub
	// psMu orders a room's SUBSCRIBE and UNSUBSCRIBE without holding mu
	// across a round trip to Redis (see Sub.Close).
	psMu sync.Mutex

	stop     context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	done     chan struct{} // closed by Stop: streams end
	wake     chan struct{} // the scheduler's timer: a due time may have moved
}

// New returns a hub; Start runs it.
func New(st *store.Store, log *slog.Logger, cfg Config) *Hub {
	if log == nil {
		log = slog.Default()
	}
	b := make([]byte, 6)
	rand.Read(b)
	return &Hub{st: st, rdb: st.Redis(), log: log, cfg: cfg, id: hex.EncodeToString(b),
		conns: map[*Conn]struct{}{}, feeds: map[int64]*feed{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Redis keys (docs/ARCHITECTURE.md lists them).
func connsKey(ws, meetingID int64) string { return store.Key(ws, "room", meetingID, "conns") }
func channel(ws, meetingID int64) string  { return store.Key(ws, "room", meetingID) }
func dueKey(ws int64) string              { return store.Key(ws, "rooms", "due") }
func leaseKey(ws int64) string            { return store.Key(ws, "rooms", "lease") }
func sinceKey(ws int64) string            { return store.Key(ws, "rooms", "since") }

// Start runs the hub's loops until Stop.
func (h *Hub) Start() {
	// The hub's work is a job's, not a request's: Redis's own timeouts,
	// outside the request budget and its circuit breaker.
	ctx, cancel := context.WithCancel(store.Background(context.Background()))
	h.stop = cancel
	h.ps = h.rdb.Subscribe(ctx)
	h.run(ctx, h.schedule)
	h.run(ctx, h.refresh)
	h.run(ctx, h.receive)
}

func (h *Hub) run(ctx context.Context, fn func(ctx context.Context)) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		fn(ctx)
	}()
}

// Done is closed when the hub stops: the streams it serves end then, so
// that a server shutting down is not held by them.
func (h *Hub) Done() <-chan struct{} { return h.done }

// Stop ends the hub's loops and streams. This process's connections get
// the grace period, as if each had closed, so the others sweep them soon.
// Later calls do nothing.
func (h *Hub) Stop() {
	h.stopOnce.Do(h.stopNow)
}

func (h *Hub) stopNow() {
	close(h.done)
	h.mu.Lock()
	var conns []*Conn
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	h.halt()
}

// halt stops the loops and nothing else: what a killed process leaves.
func (h *Hub) halt() {
	h.stop()
	h.ps.Close()
	h.wg.Wait()
}

// Conn is one connection's presence in a room: a stream, or the API
// requests of one user.
type Conn struct {
	h      *Hub
	ws     int64
	room   int64
	member string // "<user id>:<connection id>" in the room's set; a guest's id is negative (store.GuestID)
	once   sync.Once
}

// Connect records a connection of user userID to a room; the hub renews
// it until Close. A user is in the room while any of their connections
// is: several tabs are one participant.
func (h *Hub) Connect(ctx context.Context, ws, meetingID, userID int64) *Conn {
	b := make([]byte, 6)
	rand.Read(b)
	c := &Conn{h: h, ws: ws, room: meetingID, member: strconv.FormatInt(userID, 10) + ":" + h.id + hex.EncodeToString(b)}
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	h.present(ctx, c.ws, c.room, c.member, h.cfg.ConnTTL)
	return c
}

// Close ends a connection. It still counts for the grace period, so a
// page that reloads comes back before anyone sees it leave.
func (c *Conn) Close() {
	c.once.Do(func() {
		c.h.mu.Lock()
		delete(c.h.conns, c)
		c.h.mu.Unlock()
		c.h.present(context.Background(), c.ws, c.room, c.member, c.h.cfg.Grace)
	})
}

// Touch keeps a user who joined over the API present for APITTL more:
// every request of theirs to the room calls it.
func (h *Hub) Touch(ctx context.Context, ws, meetingID, userID int64) {
	h.present(ctx, ws, meetingID, strconv.FormatInt(userID, 10)+":api", h.cfg.APITTL)
}

// Visit keeps a user present for the grace period: a page that joins
// before its stream connects.
func (h *Hub) Visit(ctx context.Context, ws, meetingID, userID int64) {
	h.present(ctx, ws, meetingID, strconv.FormatInt(userID, 10)+":page", h.cfg.Grace)
}

func (h *Hub) present(ctx context.Context, ws, meetingID int64, member string, ttl time.Duration) {
	exp := time.Now().Add(ttl).UnixMilli()
	_, err := h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		key := connsKey(ws, meetingID)
		p.ZAdd(ctx, key, redis.Z{Score: float64(exp), Member: member})
		h.keep(ctx, p, key)
		return nil
	})
	if err != nil {
		// A stream's connection is written again at the next refresh;
		// a sweep needs Redis too, so nobody is reaped meanwhile.
		h.log.Warn("rooms: presence not recorded", "room", meetingID, "err", err)
	}
}

// keep makes a room's connection set outlive its longest-lived member
// but not much more, so that the set of a room viewed before it opened,
// and never reaped, goes by itself. NX gives the new set an expiry, GT
// lets a later write only lengthen it.
func (h *Hub) keep(ctx context.Context, p redis.Pipeliner, key string) {
	life := max(h.cfg.ConnTTL, h.cfg.APITTL) + time.Second
	p.ExpireNX(ctx, key, life)
	p.ExpireGT(ctx, key, life)
}

// refresh renews this process's connections.
func (h *Hub) refresh(ctx context.Context) {
	t := time.NewTicker(h.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		conns := make([]*Conn, 0, len(h.conns))
		for c := range h.conns {
			conns = append(conns, c)
		}
		feeds := make([]*feed, 0, len(h.feeds))
		for _, f := range h.feeds {
			feeds = append(feeds, f)
		}
		h.mu.Unlock()
		exp := float64(time.Now().Add(h.cfg.ConnTTL).UnixMilli())
		_, err := h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, c := range conns {
				key := connsKey(c.ws, c.room)
				p.ZAdd(ctx, key, redis.Z{Score: exp, Member: c.member})
				h.keep(ctx, p, key)
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			h.log.Warn("rooms: refresh failed", "err", err)
		}
		// A wake-up lost on the way is made up here.
		for _, f := range feeds {
			f.poll(ctx)
		}
	}
}

// Changed tells every process serving the room that it has news in
// SQLite. The message carries nothing: each reads what it lacks by id.
func (h *Hub) Changed(ctx context.Context, ws, meetingID int64) {
	h.changed(ctx, ws, []int64{meetingID})
}

// changed is Changed for many rooms, published in one round trip.
func (h *Hub) changed(ctx context.Context, ws int64, ids []int64) {
	if len(ids) == 0 {
		return
	}
	for _, id := range ids {
		h.mu.Lock()
		f := h.feeds[id]
		h.mu.Unlock()
		if f != nil {
			f.poll(ctx)
		}
	}
	_, err := h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Publish(ctx, channel(ws, id), "")
		}
		return nil
	})
	if err != nil {
		h.log.Warn("rooms: publish failed; other processes catch up at their next refresh", "rooms", ids[:min(len(ids), 10)], "err", err)
	}
}

// Ended forgets a room's connections once it has ended.
func (h *Hub) Ended(ctx context.Context, ws, meetingID int64) {
	h.rdb.Del(ctx, connsKey(ws, meetingID))
	h.Changed(ctx, ws, meetingID)
}

// Rescheduled makes the scheduler look at a room's times again now
// (opened early, extended), rather than at its next sweep.
func (h *Hub) Rescheduled(ctx context.Context, ws, meetingID int64) {
	if t, err := h.st.RoomTimesOf(ctx, meetingID); err == nil && t != nil {
		h.due(ctx, *t)
	}
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// receive turns wake-ups from other processes into reads.
func (h *Hub) receive(ctx context.Context) {
	ch := h.ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			id, err := strconv.ParseInt(msg.Channel[strings.LastIndexByte(msg.Channel, ':')+1:], 10, 64)
			if err != nil {
				continue
			}
			h.mu.Lock()
			f := h.feeds[id]
			h.mu.Unlock()
			if f != nil {
				f.poll(ctx)
			}
		}
	}
}
