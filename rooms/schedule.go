package rooms

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/store"
)

// The schedule: every room that will open or close soon has its due time
// in the workspace's due sorted set. Every process sleeps until the
// earliest (a timer, not a minute cron) and claims what is due by removing
// it; the transition itself is a conditional write in SQLite, so it
// happens once however many processes race. One process at a time (the
// holder of a short lease) sweeps: it puts the due times back from SQLite,
// so a flushed Redis, a missed write or a meeting edited since are caught
// within a sweep, and it ends the presence of expired connections.

// schedule runs the timers and, when it holds the lease, the sweep.
func (h *Hub) schedule(ctx context.Context) {
	nextSweep := time.Now()
	for {
		now := time.Now()
		if !now.Before(nextSweep) {
			h.sweepAll(ctx)
			nextSweep = now.Add(h.cfg.Sweep)
		}
		next := h.fireDue(ctx)
		wait := time.Until(nextSweep)
		if !next.IsZero() {
			wait = min(wait, time.Until(next))
		}
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-h.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (h *Hub) sweepAll(ctx context.Context) {
	wss, err := h.st.Workspaces(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("rooms: sweep", "err", err)
		}
		return
	}
	for _, ws := range wss {
		ok, err := h.rdb.SetNX(ctx, leaseKey(ws), h.id, h.cfg.Sweep*9/10).Result()
		if err != nil || !ok {
			continue
		}
		if err := h.sweep(ctx, ws); err != nil && ctx.Err() == nil {
			h.log.Warn("rooms: sweep", "workspace", ws, "err", err)
		}
	}
}

// sweep puts every open room's closing time, and the opening time of
// every room due within the lookahead, in the due set, and reaps the
// presence of open rooms.
func (h *Hub) sweep(ctx context.Context, ws int64) error {
	now := time.Now().UnixMilli()
	rooms, err := h.st.RoomsDue(ctx, ws, now, now+h.cfg.Lookahead.Milliseconds())
	if err != nil {
		return err
	}
	// Presence is trusted only once every process has had a full
	// connection lifetime to write its connections back after Redis
	// lost them (FLUSHALL, restart): until then nobody is reaped for
	// lacking a connection.
	if err := h.rdb.SetNX(ctx, sinceKey(ws), now, 0).Err(); err != nil {
		return err
	}
	since, err := h.rdb.Get(ctx, sinceKey(ws)).Int64()
	if err != nil {
		return err
	}
	trusted := now-since >= h.cfg.ConnTTL.Milliseconds()
	for _, r := range rooms {
		h.due(ctx, r)
		if r.State == store.RoomOpen && trusted {
			if err := h.reap(ctx, ws, r.MeetingID, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// due puts a room's next transition in the due set.
func (h *Hub) due(ctx context.Context, r store.RoomTimes) {
	at := r.OpensAt
	switch r.State {
	case store.RoomOpen:
		at = r.ClosesAt
	case store.RoomEnded:
		return
	}
	h.rdb.ZAdd(ctx, dueKey(r.WorkspaceID), redis.Z{Score: float64(at), Member: r.MeetingID})
}

// reap ends the presence of the room's participants who have no live
// connection: their process died, their network went, or they closed the
// page and did not come back within the grace period.
func (h *Hub) reap(ctx context.Context, ws, meetingID, now int64) error {
	key := connsKey(ws, meetingID)
	if err := h.rdb.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(now, 10)).Err(); err != nil {
		return err
	}
	live, err := h.rdb.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		return err
	}
	here := map[int64]bool{}
	for _, m := range live {
		uid, _, _ := strings.Cut(m, ":")
		id, _ := strconv.ParseInt(uid, 10, 64)
		here[id] = true
	}
	people, err := h.st.RoomParticipants(ctx, meetingID)
	if err != nil {
		return err
	}
	changed := false
	for _, p := range people {
		// A join is written to SQLite just before its connection reaches
		// Redis; the grace period covers the gap.
		if here[p.UserID] || p.JoinedAt > now-h.cfg.Grace.Milliseconds() {
			continue
		}
		left, err := h.st.LeaveRoomAs(ctx, meetingID, p.UserID, store.ReasonDisconnected)
		if err != nil {
			return err
		}
		changed = changed || left
	}
	if changed {
		h.Changed(ctx, ws, meetingID)
	}
	return nil
}

// fireDue applies every transition that is due in any workspace and
// returns the time of the next one (zero when none is known).
func (h *Hub) fireDue(ctx context.Context) time.Time {
	wss, err := h.st.Workspaces(ctx)
	if err != nil {
		return time.Time{}
	}
	var next time.Time
	for _, ws := range wss {
		now := time.Now().UnixMilli()
		ids, err := h.rdb.ZRangeByScore(ctx, dueKey(ws), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now, 10)}).Result()
		if err != nil {
			continue
		}
		for _, m := range ids {
			// Removing the member is the claim: one process gets it.
			if n, err := h.rdb.ZRem(ctx, dueKey(ws), m).Result(); err != nil || n == 0 {
				continue
			}
			id, _ := strconv.ParseInt(m, 10, 64)
			if err := h.transition(ctx, id); err != nil && ctx.Err() == nil {
				h.log.Warn("rooms: transition failed; the next sweep retries it", "room", id, "err", err)
			}
		}
		first, err := h.rdb.ZRangeWithScores(ctx, dueKey(ws), 0, 0).Result()
		if err == nil && len(first) == 1 {
			t := time.UnixMilli(int64(first[0].Score))
			if next.IsZero() || t.Before(next) {
				next = t
			}
		}
	}
	return next
}

// transition opens or ends a room whose time has come, reading its times
// from SQLite: a meeting moved since it was scheduled is put back at its
// new time.
func (h *Hub) transition(ctx context.Context, meetingID int64) error {
	r, err := h.st.RoomTimesOf(ctx, meetingID)
	if err != nil || r == nil {
		return err
	}
	now := time.Now().UnixMilli()
	switch {
	case r.State == store.RoomScheduled && r.OpensAt <= now && now < r.ClosesAt:
		opened, err := h.st.OpenRoomAt(ctx, meetingID, now)
		if err != nil {
			return err
		}
		if opened {
			h.log.Info("room opened", "room", meetingID)
			h.Changed(ctx, r.WorkspaceID, meetingID)
		}
		r.State = store.RoomOpen
		h.due(ctx, *r)
	case r.State == store.RoomOpen && r.ClosesAt <= now:
		// At its closing time, which is in the past when the server was
		// down then: participants are logged as having left at the end.
		ended, err := h.st.EndRoomAt(ctx, meetingID, r.ClosesAt)
		if err != nil {
			return err
		}
		if ended {
			h.log.Info("room ended", "room", meetingID)
			h.Ended(ctx, r.WorkspaceID, meetingID)
		}
	case r.State != store.RoomEnded && r.ClosesAt > now:
		h.due(ctx, *r) // not yet: moved later
	}
	return nil
}
