package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/rolodex/rolodex/store"
)

// Relay retries outbox rows whose apply failed after commit (Redis or the
// index was unavailable) and rebuilds Redis when it comes back empty.
type Relay struct {
	Store    *store.Store
	Log      *slog.Logger
	Interval time.Duration // default 2s
}

// Run works until ctx is done.
func (r *Relay) Run(ctx context.Context) {
	if r.Interval == 0 {
		r.Interval = 2 * time.Second
	}
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		r.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick does one round: rebuild what Redis lost, then apply pending rows.
func (r *Relay) Tick(ctx context.Context) {
	wss, err := r.Store.Workspaces(ctx)
	if err != nil {
		r.Log.Warn("relay: list workspaces", "err", err)
		return
	}
	for _, ws := range wss {
		if !r.Store.RedisReady(ctx, ws) && r.Store.Redis().Ping(ctx).Err() == nil {
			if err := r.Store.RebuildRedis(ctx, ws); err != nil {
				r.Log.Warn("relay: rebuild redis", "workspace", ws, "err", err)
			} else {
				r.Log.Info("relay: rebuilt redis from sqlite", "workspace", ws)
			}
		}
	}
	const batch = 500
	for ctx.Err() == nil {
		items, err := r.Store.PendingOutbox(ctx, batch)
		if err != nil || len(items) == 0 {
			return
		}
		if err := r.Store.ApplyOutbox(ctx, items); err != nil {
			r.Log.Warn("relay: apply outbox", "pending", len(items), "err", err)
			return
		}
		if len(items) < batch {
			return
		}
	}
}
