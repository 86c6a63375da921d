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
	h.due(ctx, rooms...)
	for _, r := range rooms {
		if r.State == store.RoomOpen && trusted {
			if err := h.reap(ctx, ws, r.MeetingID, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// due puts rooms' next transitions in the due set, in one round trip:
// a sweep may carry thousands of rooms opening in the next minute.
func (h *Hub) due(ctx context.Context, rs ...store.RoomTimes) {
	if len(rs) == 0 {
		return
	}
	h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, r := range rs {
			at := r.OpensAt
			switch r.State {
			case store.RoomOpen:
				at = r.ClosesAt
			case store.RoomEnded:
				continue
			}
			p.ZAdd(ctx, dueKey(r.WorkspaceID), redis.Z{Score: float64(at), Member: r.MeetingID})
		}
		return nil
	})
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
		if len(ids) > 0 {
			// Removing a member is the claim: one process gets it. All
			// in one round trip; a claim lost to an error is put back by
			// the next sweep.
			cmds, _ := h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, m := range ids {
					p.ZRem(ctx, dueKey(ws), m)
				}
				return nil
			})
			var mine []int64
			for i, c := range cmds {
				if n, err := c.(*redis.IntCmd).Result(); err == nil && n == 1 {
					id, _ := strconv.ParseInt(ids[i], 10, 64)
					mine = append(mine, id)
				}
			}
			h.transitions(ctx, ws, mine)
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

// transitionBatch is how many rooms one SQLite transaction opens.
const transitionBatch = 500

// transitions opens or ends the rooms of workspace ws whose time has come,
// reading their times from SQLite: a meeting moved since it was scheduled
// is put back at its new time. Rooms due together (meetings start on the
// hour) open in shared transactions, and their wake-ups and next due
// times go to Redis in one round trip each.
func (h *Hub) transitions(ctx context.Context, ws int64, ids []int64) {
	now := time.Now().UnixMilli()
	var opening []store.RoomTimes
	var later []store.RoomTimes
	for _, id := range ids {
		r, err := h.st.RoomTimesOf(ctx, id)
		if err != nil || r == nil {
			h.failed(ctx, id, err)
			continue
		}
		switch {
		case r.State == store.RoomScheduled && r.OpensAt <= now && now < r.ClosesAt:
			opening = append(opening, *r)
		case r.State == store.RoomOpen && r.ClosesAt <= now:
			// At its closing time, which is in the past when the server
			// was down then: participants are logged as having left at
			// the end.
			ended, err := h.st.EndRoomAt(ctx, id, r.ClosesAt)
			if err != nil {
				h.failed(ctx, id, err)
				continue
			}
			if ended {
				h.log.Info("room ended", "room", id)
				h.Ended(ctx, ws, id)
			}
		case r.State != store.RoomEnded && r.ClosesAt > now:
			later = append(later, *r) // not yet: moved later
		}
	}
	for len(opening) > 0 {
		batch := opening[:min(len(opening), transitionBatch)]
		opening = opening[len(batch):]
		batchIDs := make([]int64, len(batch))
		for i, r := range batch {
			batchIDs[i] = r.MeetingID
		}
		opened, err := h.st.OpenRoomsAt(ctx, batchIDs, now)
		if err != nil {
			h.failed(ctx, batchIDs[0], err)
			continue
		}
		for _, id := range opened {
			h.log.Info("room opened", "room", id)
		}
		h.changed(ctx, ws, opened)
		for _, r := range batch {
			r.State = store.RoomOpen
			later = append(later, r)
		}
	}
	h.due(ctx, later...)
}

func (h *Hub) failed(ctx context.Context, meetingID int64, err error) {
	if err != nil && ctx.Err() == nil {
		h.log.Warn("rooms: transition failed; the next sweep retries it", "room", meetingID, "err", err)
	}
}
