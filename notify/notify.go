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

// scheduleScript adds one activity to each recipient's pending set,
// moves the recipient's deadline in the due set, and then acknowledges and
// deletes the stream entry that brought it, all atomically: an entry is
// acknowledged only with its effects done. KEYS[1] due set, KEYS[2] the
// stream, KEYS[3..] pending sets; ARGV[1] activity id, ARGV[2] its time,
// ARGV[3] the entry's id, ARGV[4] the group, ARGV[5..] each recipient's id
// then quiet period.
var scheduleScript = redis.NewScript(`
for i = 3, #KEYS do
  local uid, quiet = ARGV[2*i-1], tonumber(ARGV[2*i])
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
  local first = tonumber(redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')[2])
  local last = tonumber(redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')[2])
  redis.call('ZADD', KEYS[1], math.min(last + quiet, first + 4 * quiet), uid)
end
redis.call('XACK', KEYS[2], ARGV[4], ARGV[3])
redis.call('XDEL', KEYS[2], ARGV[3])
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
	if err := p.scheduleBatch(ctx, ws, msgs); err != nil {
		return 0, err
	}
	return len(msgs), nil
}

// scheduleBatch runs scheduleScript for each entry of msgs, which also
// acknowledges it, in one pipelined round trip of EVALSHAs. Entries the
// script was not loaded for (NOSCRIPT: Redis restarted or flushed its
// scripts) are run again one by one, loading it. A malformed entry is
// acknowledged and dropped.
func (p *Pipeline) scheduleBatch(ctx context.Context, ws int64, msgs []redis.XMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	rdb := p.Store.Redis()
	type job struct {
		keys []string
		args []any
		cmd  *redis.Cmd
	}
	jobs := make([]job, 0, len(msgs))
	pipe := rdb.Pipeline()
	for _, m := range msgs {
		keys, args, ok := p.scheduleArgs(ws, m)
		if !ok {
			pipe.XAck(ctx, streamKey(ws), group, m.ID)
			pipe.XDel(ctx, streamKey(ws), m.ID)
			continue
		}
		jobs = append(jobs, job{keys: keys, args: args, cmd: scheduleScript.EvalSha(ctx, pipe, keys, args...)})
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil && len(cmds) == 0 {
		return err
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil && !isNoScript(err) {
			return err
		}
	}
	for _, j := range jobs {
		err := j.cmd.Err()
		if err != nil && isNoScript(err) {
			err = scheduleScript.Run(ctx, rdb, j.keys, j.args...).Err()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// scheduleArgs are scheduleScript's keys and arguments for one stream
// entry; false when the entry is malformed.
func (p *Pipeline) scheduleArgs(ws int64, m redis.XMessage) ([]string, []any, bool) {
	aid, _ := m.Values["a"].(string)
	at, _ := m.Values["t"].(string)
	recips, _ := m.Values["r"].(string)
	keys := []string{dueKey(ws), streamKey(ws)}
	args := []any{aid, at, m.ID, group}
	for _, r := range strings.Split(recips, ",") {
		uid, quiet, ok := strings.Cut(r, ":")
		id, err := strconv.ParseInt(uid, 10, 64)
		if !ok || err != nil {
			p.Log.Warn("notify: malformed stream entry", "id", m.ID, "r", recips)
			return nil, nil, false
		}
		keys = append(keys, pendingKey(ws, id))
		args = append(args, uid, quiet)
	}
	return keys, args, true
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
	raw, _ := res.([]any)
	uids := make([]int64, 0, len(raw))
	for _, v := range raw {
		uid, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		uids = append(uids, uid)
	}
	if err := p.deliver(ctx, ws, uids, now); err != nil {
		return 0, err
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

// deliver sends the windows of the claimed recipients uids that SQLite
// agrees are due (Redis may be behind a changed preference), all in one
// SQLite transaction, then settles Redis with what each has left, in one
// pipelined round trip. Each digest keeps its deterministic key, so a
// scheduler that dies anywhere in here leaves its lease to run out and
// the next delivers each window once: the transaction is all or nothing
// and a key already delivered is skipped.
func (p *Pipeline) deliver(ctx context.Context, ws int64, uids []int64, now int64) error {
	if len(uids) == 0 {
		return nil
	}
	rdb := p.Store.Redis()
	pipe := rdb.Pipeline()
	ranges := make([]*redis.StringSliceCmd, len(uids))
	for i, uid := range uids {
		ranges[i] = pipe.ZRange(ctx, pendingKey(ws, uid), 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	known := make([][]string, len(uids))
	for i, c := range ranges {
		k, err := c.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		known[i] = k
	}
	windows := make([]*window, len(uids))
	var digests []store.Digest
	var at []int // digests[j] is uids[at[j]]'s
	for i, uid := range uids {
		w, err := p.window(ctx, ws, uid)
		if err != nil {
			return err
		}
		windows[i] = w
		if len(w.ids) > 0 && w.deadline <= now && !w.off {
			digests = append(digests, store.Digest{UserID: uid, Key: store.DigestKey(ws, uid, w.ids[0]), ActivityIDs: w.ids, Email: w.email})
			at = append(at, i)
		}
	}
	if len(digests) > 0 {
		if err := p.Store.DeliverDigests(ctx, ws, digests, now); err != nil {
			return err
		}
		for _, i := range at {
			w, err := p.window(ctx, ws, uids[i])
			if err != nil {
				return err
			}
			windows[i] = w
		}
	}
	pipe = rdb.Pipeline()
	for i, uid := range uids {
		p.settleIn(ctx, pipe, ws, uid, known[i], windows[i])
	}
	_, err := pipe.Exec(ctx)
	return err
}

// settle writes uid's window to Redis: its activities, and its deadline
// under the current choice. known are the pending set's members read
// before the window was: each was in SQLite then, so one SQLite no longer
// holds is gone (delivered, by this worker or another, or dropped), while
// members added since are left alone.
func (p *Pipeline) settle(ctx context.Context, ws, uid int64, known []string, w *window) error {
	pipe := p.Store.Redis().Pipeline()
	p.settleIn(ctx, pipe, ws, uid, known, w)
	_, err := pipe.Exec(ctx)
	return err
}

// settleIn queues settle's commands on pipe.
func (p *Pipeline) settleIn(ctx context.Context, pipe redis.Pipeliner, ws, uid int64, known []string, w *window) {
	left := map[string]bool{}
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
