package store

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a fast path, never the only one: every read it serves has a
// SQLite answer too. A hung Redis (a stopped process, a full network
// buffer) must therefore cost a request little, and only once. The guard
// below, a hook on the store's client, gives every call a short budget and
// stops calling for a while after one fails; callers then take their
// SQLite path at once.
const (
	// redisBudget bounds one command or pipeline round on a request path.
	// Our calls take well under a millisecond when Redis is well.
	redisBudget = 250 * time.Millisecond
	// redisCooldown is how long Redis is skipped after a failure before a
	// ping in the background probes it again.
	redisCooldown = 2 * time.Second
)

// ErrRedisSkipped is the error of a call the guard did not make because
// Redis failed a moment ago.
var ErrRedisSkipped = errors.New("redis skipped: it failed a moment ago")

type backgroundKey struct{}

// Background marks ctx as a background job's (the relay, imports, a
// rebuild): its Redis calls keep the client's own, longer timeouts and
// ignore the guard, since no user waits on them and a retry loop of their
// own handles failure.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

func isBackground(ctx context.Context) bool { return ctx.Value(backgroundKey{}) != nil }

// redisGuard is a go-redis hook: a time budget per call and a circuit
// breaker shared by every request.
type redisGuard struct {
	// openUntil is when the breaker next probes Redis, in unix ns; 0 while
	// closed.
	openUntil atomic.Int64
	budget    time.Duration
	cooldown  time.Duration
	ping      func(ctx context.Context) error
}

// allow reports whether a call may go to Redis now. While the breaker is
// open, a ping in the background probes Redis once per cooldown, so no
// request waits on a Redis that is still hung.
func (g *redisGuard) allow() bool {
	until := g.openUntil.Load()
	if until == 0 {
		return true
	}
	if now := time.Now().UnixNano(); now >= until && g.openUntil.CompareAndSwap(until, now+int64(g.cooldown)) {
		go g.probe()
	}
	return false
}

// probe closes the breaker if Redis answers within the budget.
func (g *redisGuard) probe() {
	ctx, cancel := context.WithTimeout(Background(context.Background()), g.budget)
	defer cancel()
	if answered(g.ping(ctx)) {
		g.openUntil.Store(0)
	}
}

// answered reports whether err (from a call) means Redis is there: no
// error, or a reply error such as READONLY, NOSCRIPT or redis.Nil.
func answered(err error) bool {
	var reply redis.Error
	return err == nil || errors.As(err, &reply)
}

// report opens the breaker when err says Redis is unreachable or slow, and
// closes it on an answer.
func (g *redisGuard) report(ctx context.Context, err error) {
	switch {
	case answered(err):
		if g.openUntil.Load() != 0 {
			g.openUntil.Store(0)
		}
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The caller gave up (a client went away): says nothing of Redis.
	default:
		g.openUntil.Store(time.Now().Add(g.cooldown).UnixNano())
	}
}

// call runs fn under the guard: skipped while the breaker is open, bounded
// by the budget otherwise. The client must have ContextTimeoutEnabled
// (RedisOptions), or the deadline would not reach the socket.
func (g *redisGuard) call(ctx context.Context, fn func(ctx context.Context) error) error {
	if isBackground(ctx) {
		return fn(ctx)
	}
	if !g.allow() {
		return ErrRedisSkipped
	}
	budget, cancel := context.WithTimeout(ctx, g.budget)
	defer cancel()
	err := fn(budget)
	g.report(ctx, err)
	return err
}

// DialHook leaves dialling alone: the budget of the call that dials
// covers it.
func (g *redisGuard) DialHook(next redis.DialHook) redis.DialHook { return next }

func (g *redisGuard) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := g.call(ctx, func(ctx context.Context) error { return next(ctx, cmd) })
		if errors.Is(err, ErrRedisSkipped) {
			cmd.SetErr(err)
		}
		return err
	}
}

func (g *redisGuard) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := g.call(ctx, func(ctx context.Context) error { return next(ctx, cmds) })
		if errors.Is(err, ErrRedisSkipped) {
			for _, c := range cmds {
				c.SetErr(err)
			}
		}
		return err
	}
}
