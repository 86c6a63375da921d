package redisproc

import (
	"context"
	"log/slog"
	"net"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Supervised is a redis-server that is restarted whenever it exits, until
// its context ends. Rolodex answers from SQLite while it is down, and the
// relay rebuilds Redis afterwards.
type Supervised struct {
	dir     string
	log     *slog.Logger
	retry   time.Duration // wait between failed restarts
	current atomic.Pointer[Server]
	done    chan struct{}
}

// Supervise starts a redis-server in dir and keeps one running until ctx
// is done; then it stops the one running, and Done is closed once it has
// exited.
func Supervise(ctx context.Context, dir string, log *slog.Logger) (*Supervised, error) {
	rs, err := Start(ctx, dir)
	if err != nil {
		return nil, err
	}
	s := &Supervised{dir: dir, log: log, retry: 2 * time.Second, done: make(chan struct{})}
	s.current.Store(rs)
	go s.run(ctx)
	return s, nil
}

// Server is the server running now (or the one that just died).
func (s *Supervised) Server() *Server { return s.current.Load() }

// Options are client options that reach whichever server is running: a
// restarted server in a deep data directory gets a new socket path.
func (s *Supervised) Options() *redis.Options {
	var d net.Dialer
	return &redis.Options{Network: "unix", Addr: s.Server().socket,
		Dialer: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", s.Server().socket)
		}}
}

// Done is closed when supervision has ended and the last server exited.
func (s *Supervised) Done() <-chan struct{} { return s.done }

func (s *Supervised) run(ctx context.Context) {
	defer close(s.done)
	defer func() { s.Server().Stop() }()
	defer func() {
		// A panic here would otherwise kill the whole server with the
		// child left behind; log it with its stack and stop supervising.
		if p := recover(); p != nil {
			s.log.Error("redis supervisor panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.Server().Exited():
		}
		s.log.Error("redis-server exited; restarting", "err", s.Server().err)
		for {
			rs, err := Start(ctx, s.dir)
			if err == nil {
				s.current.Store(rs)
				break
			}
			s.log.Error("restart redis-server", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(s.retry):
			}
		}
	}
}
