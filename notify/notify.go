// Package notify turns committed activities into notifications and
// debounced digests (seed 004): a Redis stream read by a consumer group
// feeds each recipient's pending set and one due set, a leased scheduler
// delivers what is due, and SQLite keeps everything needed to rebuild
// Redis from nothing.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/store"
)

// MaxWaitFactor bounds a window: a digest goes out at most this many quiet
// periods after its first activity, however busy the client stays.
const MaxWaitFactor = 4

const group = "notify"

func streamKey(ws int64) string       { return store.Key(ws, "notify", "stream") }
func dueKey(ws int64) string          { return store.Key(ws, "notify", "due") }
func pendingKey(ws, uid int64) string { return store.Key(ws, "notify", "pending", uid) }
func builtKey(ws int64) string        { return store.Key(ws, "notify", "built") }

// Deadline is when a window goes out: quiet after its last activity, and
// never later than MaxWaitFactor quiet periods after its first. Times are
// unix ms. scheduleScript computes the same in Redis.
func Deadline(first, last, quiet int64) int64 {
	return min(last+quiet, first+MaxWaitFactor*quiet)
}

// Pipeline is the notification pipeline of one process. Several processes
// may run one each over the same SQLite and Redis.
type Pipeline struct {
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time // the clock; tests set their own
	// Periods are the quiet periods users may choose, shortest first.
	Periods []time.Duration
	// Consumer names this worker in the stream's group; unique per process.
	Consumer string
	// Lease is how long a claimed recipient stays out of other schedulers'
	// reach; a scheduler that dies lets it fall due again after this.
	Lease time.Duration
	// ClaimIdle is how long a stream entry may stay unacknowledged before
	// another worker takes it over (XAUTOCLAIM).
	ClaimIdle time.Duration
	Mail      *Mailer // nil: no e-mail goes out from this process
}

// New returns a pipeline with the defaults filled in.
func New(st *store.Store, log *slog.Logger, periods []time.Duration, consumer string) *Pipeline {
	return &Pipeline{Store: st, Log: log, Now: time.Now, Periods: periods, Consumer: consumer,
		Lease: 30 * time.Second, ClaimIdle: 30 * time.Second}
}

// DefaultPeriods is ROLODEX_DIGEST_PERIODS's default.
const DefaultPeriods = "15m,1h,4h"

// ParsePeriods reads a comma-separated list of durations, each whole
// seconds and at least one.
func ParsePeriods(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		// Whole seconds: the API and the form choose a period in seconds.
		if err != nil || d < time.Second || d%time.Second != 0 {
			return nil, fmt.Errorf("digest period %q: want whole seconds, at least 1s", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// DefaultQuiet is a new user's period: 1 h, or the first offered when 1 h
// is not.
func (p *Pipeline) DefaultQuiet() time.Duration {
	for _, d := range p.Periods {
		if d == time.Hour {
			return d
		}
	}
	return p.Periods[0]
}

// OfferedMS are the periods in ms, as the store checks a choice against.
func (p *Pipeline) OfferedMS() []int64 {
	out := make([]int64, len(p.Periods))
	for i, d := range p.Periods {
		out[i] = d.Milliseconds()
	}
	return out
}

func (p *Pipeline) nowMS() int64 { return p.Now().UnixMilli() }

// ApplyActivities is the store's ActivitySink: it records each activity's
// recipients in SQLite first (so Redis may lose everything after), then
// puts it on the stream. Replays are harmless on both sides.
func (p *Pipeline) ApplyActivities(ctx context.Context, items []store.OutboxItem) error {
	byWS := map[int64][]int64{}
	for _, it := range items {
		byWS[it.WorkspaceID] = append(byWS[it.WorkspaceID], it.RefID)
	}
	for ws, ids := range byWS {
		pending, err := p.Store.RecordPending(ctx, ids, p.DefaultQuiet().Milliseconds(), p.nowMS())
		if err != nil {
			return err
		}
		pipe := p.Store.Redis().Pipeline()
		for _, pa := range pending {
			if len(pa.Recipients) == 0 {
				continue
			}
			var r strings.Builder
			for i, rc := range pa.Recipients {
				if i > 0 {
					r.WriteByte(',')
				}
				fmt.Fprintf(&r, "%d:%d", rc.UserID, rc.QuietMS)
			}
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: streamKey(ws), Values: []any{"a", pa.ID, "t", pa.CreatedAt, "r", r.String()}})
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
	}
	return nil
}

// scheduleScript adds one activity to each recipient's pending set and
// moves the recipient's deadline in the due set, atomically.
// KEYS[1] due set, KEYS[2..] pending sets; ARGV[1] activity id, ARGV[2]
// its time, ARGV[3..] each recipient's id then quiet period.
var scheduleScript = redis.NewScript(`
for i = 2, #KEYS do
  local uid, quiet = ARGV[2*i-1], tonumber(ARGV[2*i])
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
  local first = tonumber(redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')[2])
  local last = tonumber(redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')[2])
  redis.call('ZADD', KEYS[1], math.min(last + quiet, first + 4 * quiet), uid)
end
return 1`)

// ensureGroup creates the stream's consumer group (and the stream).
func (p *Pipeline) ensureGroup(ctx context.Context, ws int64) error {
	err := p.Store.Redis().XGroupCreateMkStream(ctx, streamKey(ws), group, "0").Err()
	if err != nil && strings.HasPrefix(err.Error(), "BUSYGROUP") {
		err = nil
	}
	return err
}

// Work reads up to count entries of workspace ws's stream (first those
// another worker left unacknowledged past ClaimIdle), schedules them and
// acknowledges them. It returns how many it handled; block > 0 waits that
// long for new entries.
func (p *Pipeline) Work(ctx context.Context, ws int64, count int64, block time.Duration) (int, error) {
	rdb := p.Store.Redis()
	if err := p.ensureGroup(ctx, ws); err != nil {
		return 0, err
	}
	msgs, _, err := rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: streamKey(ws), Group: group, Consumer: p.Consumer,
		MinIdle: p.ClaimIdle, Start: "0-0", Count: count}).Result()
	if err != nil {
		return 0, err
	}
	if len(msgs) == 0 {
		args := &redis.XReadGroupArgs{Group: group, Consumer: p.Consumer, Streams: []string{streamKey(ws), ">"}, Count: count, Block: block}
		if block <= 0 {
			args.Block = -1 // no BLOCK argument: return at once
		}
		streams, err := rdb.XReadGroup(ctx, args).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return 0, err
		}
		for _, s := range streams {
			msgs = append(msgs, s.Messages...)
		}
	}
	for _, m := range msgs {
		if err := p.schedule(ctx, ws, m); err != nil {
			return 0, err
		}
		if err := p.ack(ctx, ws, m.ID); err != nil {
			return 0, err
		}
	}
	return len(msgs), nil
}

// ack acknowledges an entry and deletes it: the group is the stream's only
// reader, so an acknowledged entry is done and nothing unacknowledged is
// ever trimmed.
func (p *Pipeline) ack(ctx context.Context, ws int64, id string) error {
	pipe := p.Store.Redis().TxPipeline()
	pipe.XAck(ctx, streamKey(ws), group, id)
	pipe.XDel(ctx, streamKey(ws), id)
	_, err := pipe.Exec(ctx)
	return err
}

// schedule runs scheduleScript for one stream entry.
func (p *Pipeline) schedule(ctx context.Context, ws int64, m redis.XMessage) error {
	aid, _ := m.Values["a"].(string)
	at, _ := m.Values["t"].(string)
	recips, _ := m.Values["r"].(string)
	keys := []string{dueKey(ws)}
	args := []any{aid, at}
	for _, r := range strings.Split(recips, ",") {
		uid, quiet, ok := strings.Cut(r, ":")
		id, err := strconv.ParseInt(uid, 10, 64)
		if !ok || err != nil {
			p.Log.Warn("notify: malformed stream entry", "id", m.ID, "r", recips)
			return nil
		}
		keys = append(keys, pendingKey(ws, id))
		args = append(args, uid, quiet)
	}
	return scheduleScript.Run(ctx, p.Store.Redis(), keys, args...).Err()
}

// claimScript takes up to ARGV[3] recipients due by ARGV[1] and pushes
// their deadline to ARGV[2] (the lease), or answers -1 when the workspace's
// schedule is not built (Redis lost it). An idle tick is this one call.
var claimScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, uid in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], uid) end
return due`)

// settleScript drops delivered activities from a recipient's pending set
// and gives the recipient its next deadline, or none when nothing is left.
// The deadline is never before SQLite's (ARGV[3]), which the scheduler
// has just checked, so a recipient it found not yet due is not claimed
// again at once. KEYS[1] due, KEYS[2] pending; ARGV[1] uid, ARGV[2]
// quiet, ARGV[3] SQLite's deadline (0: none), ARGV[4..] gone ids.
var settleScript = redis.NewScript(`
for i = 4, #ARGV do redis.call('ZREM', KEYS[2], ARGV[i]) end
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #first == 0 then redis.call('ZREM', KEYS[1], ARGV[1]) return 0 end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local quiet = tonumber(ARGV[2])
local due = math.min(tonumber(last[2]) + quiet, tonumber(first[2]) + 4 * quiet)
redis.call('ZADD', KEYS[1], math.max(due, tonumber(ARGV[3])), ARGV[1])
return 1`)

// Tick delivers what is due in workspace ws, up to limit recipients, and
// reports how many it handled. When Redis has lost the schedule it is
// rebuilt from SQLite first, and overdue windows go out at once.
func (p *Pipeline) Tick(ctx context.Context, ws int64, limit int) (int, error) {
	now := p.nowMS()
	res, err := claimScript.Run(ctx, p.Store.Redis(), []string{dueKey(ws), builtKey(ws)}, now, now+p.Lease.Milliseconds(), limit).Result()
	if err != nil {
		return 0, err
	}
	if n, ok := res.(int64); ok && n == -1 {
		if err := p.Rebuild(ctx, ws); err != nil {
			return 0, err
		}
		return p.Tick(ctx, ws, limit)
	}
	uids, _ := res.([]any)
	for _, v := range uids {
		uid, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		if err := p.deliver(ctx, ws, uid, now); err != nil {
			return 0, err
		}
	}
	return len(uids), nil
}

// window is what a recipient has pending, as SQLite says, and when it is
// due under their current choice.
type window struct {
	ids      []int64
	times    []int64
	deadline int64
	quiet    int64
	email    bool
	off      bool
}

func (p *Pipeline) window(ctx context.Context, ws, uid int64) (*window, error) {
	u, err := p.Store.UserByID(ctx, uid)
	if err != nil {
		return nil, err
	}
	ns, err := p.Store.NotificationSettings(ctx, u)
	if err != nil {
		return nil, err
	}
	w := &window{email: ns.Email, off: ns.Mode == store.NotifyOff, quiet: ns.QuietMS}
	if ns.Mode == store.NotifyImmediate {
		w.quiet = 0
	} else if w.quiet == 0 {
		w.quiet = p.DefaultQuiet().Milliseconds()
	}
	pending, err := p.Store.PendingFor(ctx, ws, uid)
	if err != nil {
		return nil, err
	}
	for _, pr := range pending {
		w.ids = append(w.ids, pr.ActivityID)
		w.times = append(w.times, pr.CreatedAt)
	}
	if len(pending) > 0 {
		w.deadline = Deadline(pending[0].CreatedAt, pending[len(pending)-1].CreatedAt, w.quiet)
	}
	return w, nil
}

// deliver sends uid's window if SQLite agrees it is due (Redis may be
// behind a changed preference), then settles Redis with what is left.
func (p *Pipeline) deliver(ctx context.Context, ws, uid, now int64) error {
	known, err := p.Store.Redis().ZRange(ctx, pendingKey(ws, uid), 0, -1).Result()
	if err != nil {
		return err
	}
	w, err := p.window(ctx, ws, uid)
	if err != nil {
		return err
	}
	if len(w.ids) > 0 && w.deadline <= now && !w.off {
		if _, err := p.Store.DeliverDigest(ctx, ws, uid, store.DigestKey(ws, uid, w.ids[0]), w.ids, w.email, now); err != nil {
			return err
		}
		if w, err = p.window(ctx, ws, uid); err != nil {
			return err
		}
	}
	return p.settle(ctx, ws, uid, known, w)
}

// settle writes uid's window to Redis: its activities, and its deadline
// under the current choice. known are the pending set's members read
// before the window was: each was in SQLite then, so one SQLite no longer
// holds is gone (delivered, by this worker or another, or dropped), while
// members added since are left alone.
func (p *Pipeline) settle(ctx context.Context, ws, uid int64, known []string, w *window) error {
	left := map[string]bool{}
	pipe := p.Store.Redis().Pipeline()
	for i, id := range w.ids {
		left[strconv.FormatInt(id, 10)] = true
		pipe.ZAdd(ctx, pendingKey(ws, uid), redis.Z{Score: float64(w.times[i]), Member: id})
	}
	args := []any{uid, w.quiet, w.deadline}
	for _, id := range known {
		if !left[id] {
			args = append(args, id)
		}
	}
	settleScript.Eval(ctx, pipe, []string{dueKey(ws), pendingKey(ws, uid)}, args...)
	_, err := pipe.Exec(ctx)
	return err
}

// Resync brings user uid's schedule in line with SQLite and their current
// choice: after they change their settings, a window already open is due
// under the new period at once.
func (p *Pipeline) Resync(ctx context.Context, ws, uid int64) error {
	known, err := p.Store.Redis().ZRange(ctx, pendingKey(ws, uid), 0, -1).Result()
	if err != nil {
		return err
	}
	w, err := p.window(ctx, ws, uid)
	if err != nil {
		return err
	}
	return p.settle(ctx, ws, uid, known, w)
}

// Rebuild writes workspace ws's schedule from SQLite's pending rows, with
// their original times, in one pass over them and pipelined writes, then
// marks it built. Running it twice, or beside live workers, is harmless:
// a ZADD of the same scores, and a deadline the scheduler checks against
// SQLite before it sends anything.
func (p *Pipeline) Rebuild(ctx context.Context, ws int64) error {
	rdb := p.Store.Redis()
	pipe := rdb.Pipeline()
	var uid, first, last, quiet int64
	due := func() {
		if uid != 0 {
			pipe.ZAdd(ctx, dueKey(ws), redis.Z{Score: float64(Deadline(first, last, quiet)), Member: uid})
		}
	}
	err := p.Store.EachPending(ctx, ws, p.DefaultQuiet().Milliseconds(), func(pr *store.Pending, q int64) error {
		if pr.UserID != uid {
			due()
			uid, first, quiet = pr.UserID, pr.CreatedAt, q
		}
		last = pr.CreatedAt
		pipe.ZAdd(ctx, pendingKey(ws, uid), redis.Z{Score: float64(pr.CreatedAt), Member: pr.ActivityID})
		if pipe.Len() >= 10000 {
			if _, err := pipe.Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	due()
	if err == nil {
		_, err = pipe.Exec(ctx)
	}
	if err != nil {
		return fmt.Errorf("notify: rebuild: %w", err)
	}
	if err := p.ensureGroup(ctx, ws); err != nil {
		return err
	}
	return rdb.Set(ctx, builtKey(ws), 1, 0).Err()
}

// Run works the stream and the scheduler, and sends the mail outbox in a
// loop of its own (a slow mail server must not hold digests back), until
// ctx ends.
func (p *Pipeline) Run(ctx context.Context, tick time.Duration) {
	mailDone := make(chan struct{})
	go func() {
		defer close(mailDone)
		if p.Mail != nil {
			every(ctx, tick, func() {
				if err := p.Mail.SendPending(ctx, p.Store, p.nowMS()); err != nil {
					p.Log.Warn("notify: mail", "err", err)
				}
			})
		}
	}()
	every(ctx, tick, func() {
		wss, err := p.Store.Workspaces(ctx)
		if err != nil {
			p.Log.Warn("notify: workspaces", "err", err)
		}
		for _, ws := range wss {
			p.drain(ctx, "stream", func() (int, error) { return p.Work(ctx, ws, 500, 0) })
			p.drain(ctx, "schedule", func() (int, error) { return p.Tick(ctx, ws, 200) })
		}
	})
	<-mailDone
}

// drain calls step until it has nothing left to do or fails.
func (p *Pipeline) drain(ctx context.Context, what string, step func() (int, error)) {
	for ctx.Err() == nil {
		n, err := step()
		if err != nil {
			p.Log.Warn("notify: "+what, "err", err)
		}
		if n == 0 || err != nil {
			return
		}
	}
}

// every calls fn now and then each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for ctx.Err() == nil {
		fn()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}
