package store

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// Key builds a Redis key scoped to workspace ws. The workspace is a hash
// tag ({w1}) so every key of a workspace lands in one Redis Cluster slot and
// multi-key commands and scripts work there unchanged.
func Key(ws int64, parts ...any) string {
	b := make([]byte, 0, 48)
	b = append(b, "{w"...)
	b = strconv.AppendInt(b, ws, 10)
	b = append(b, '}')
	for _, p := range parts {
		b = append(b, ':')
		b = fmt.Append(b, p)
	}
	return string(b)
}

// The generation marker says the workspace's derived Redis state is
// complete. A flushed or restarted Redis lacks it; until a rebuild sets it
// again, readers answer from SQLite.
func generationKey(ws int64) string       { return Key(ws, "generation") }
func clientsKey(ws, userID int64) string  { return Key(ws, "clients_for_user", userID) }
func usersKey(ws, companyID int64) string { return Key(ws, "users_for_client", companyID) }

// ClientIDs returns the ids of the companies u may see, or nil for an
// admin, who sees them all. The Redis set is the fast path; when Redis is
// unreachable or not yet rebuilt the answer comes from SQLite, so a viewer
// is never shown a client that is not theirs, whatever state Redis is in.
func (s *Store) ClientIDs(ctx context.Context, u *User) ([]int64, error) {
	if u.IsAdmin() {
		return nil, nil
	}
	if s.rdb != nil {
		var gen *redis.IntCmd
		var members *redis.StringSliceCmd
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			gen = p.Exists(ctx, generationKey(u.WorkspaceID))
			members = p.SMembers(ctx, clientsKey(u.WorkspaceID, u.ID))
			return nil
		})
		if err == nil && gen.Val() == 1 && s.trusted(u.WorkspaceID) {
			ids := make([]int64, 0, len(members.Val()))
			for _, m := range members.Val() {
				id, err := strconv.ParseInt(m, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("bad member %q in %s", m, clientsKey(u.WorkspaceID, u.ID))
				}
				ids = append(ids, id)
			}
			return ids, nil
		}
		if err == nil {
			s.rebuildSoon(u.WorkspaceID)
		}
	}
	return s.clientIDsSQL(ctx, u.ID)
}

func (s *Store) clientIDsSQL(ctx context.Context, userID int64) ([]int64, error) {
	return queryColumn[int64](ctx, s.r, `SELECT company_id FROM user_clients WHERE user_id = ?`, userID)
}

// SyncUserClients rewrites a user's Redis client set, and the reverse sets,
// from SQLite. It is idempotent and reads the truth at the time it runs, so
// the outbox may apply it any number of times, in any order.
func (s *Store) SyncUserClients(ctx context.Context, ws, userID int64) error {
	if s.rdb == nil {
		return nil
	}
	var role string
	err := s.r.QueryRowContext(ctx, `SELECT role FROM users WHERE id = ?`, userID).Scan(&role)
	var want []int64
	switch {
	case err == nil && role == RoleStaff:
		if want, err = s.clientIDsSQL(ctx, userID); err != nil {
			return err
		}
	case err == nil || isNoRows(err):
		// Admins and deleted users have no set.
	default:
		return err
	}
	// Two syncs of one user can overlap, and the one that read SQLite
	// first could write last. Reading SQLite again after writing, until
	// the two agree, leaves the last word with the newest truth.
	for attempt := 0; ; attempt++ {
		if err = s.writeClientSet(ctx, ws, userID, want); err != nil || role != RoleStaff || attempt == 5 {
			break
		}
		var now []int64
		if now, err = s.clientIDsSQL(ctx, userID); err != nil || sameIDs(now, want) {
			break
		}
		want = now
	}
	if err != nil {
		// The set may now be stale in the unsafe direction (a removed client
		// still listed).
		s.dropGeneration(ctx, ws)
	}
	return err
}

func (s *Store) writeClientSet(ctx context.Context, ws, userID int64, want []int64) error {
	key := clientsKey(ws, userID)
	old, err := s.rdb.SMembers(ctx, key).Result()
	if err != nil {
		return err
	}
	keep := make(map[string]bool, len(want))
	members := make([]any, len(want))
	for i, id := range want {
		keep[strconv.FormatInt(id, 10)] = true
		members[i] = id
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		for i := 0; i < len(members); i += 5000 {
			p.SAdd(ctx, key, members[i:min(i+5000, len(members))]...)
		}
		for _, m := range old {
			if !keep[m] {
				id, _ := strconv.ParseInt(m, 10, 64)
				p.SRem(ctx, usersKey(ws, id), userID)
			}
		}
		for _, id := range want {
			p.SAdd(ctx, usersKey(ws, id), userID)
		}
		return nil
	})
	return err
}

// RebuildRedis rewrites every derived Redis structure of workspace ws from
// SQLite, then sets the generation marker.
func (s *Store) RebuildRedis(ctx context.Context, ws int64) error {
	if s.rdb == nil {
		return nil
	}
	// A rebuild writes the whole workspace: no request waits on it.
	ctx = Background(ctx)
	distrust, _ := s.distrusted.Load(ws)
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM users WHERE workspace_id = ? AND role = ?`, ws, RoleStaff)
	if err != nil {
		return err
	}
	var users []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		users = append(users, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range users {
		if err := s.SyncUserClients(ctx, ws, id); err != nil {
			return err
		}
	}
	for _, fn := range s.rebuilders {
		if err := fn(ctx, ws); err != nil {
			return err
		}
	}
	if err := s.rdb.Set(ctx, generationKey(ws), now(), 0).Err(); err != nil {
		return err
	}
	// Trusted again, unless a write failed while this rebuild ran.
	if distrust != nil {
		s.distrusted.CompareAndDelete(ws, distrust)
	}
	return nil
}

// OnRebuild registers more derived state to rebuild with the client sets.
func (s *Store) OnRebuild(fn func(ctx context.Context, ws int64) error) {
	s.rebuilders = append(s.rebuilders, fn)
}

// InvalidateRedis drops workspace ws's generation marker: readers go to
// SQLite until the relay has rebuilt Redis. A server does this at start,
// since a shared Redis may have missed changes while it was down.
func (s *Store) InvalidateRedis(ctx context.Context, ws int64) error {
	if s.rdb == nil {
		return nil
	}
	return s.dropGeneration(ctx, ws)
}

// dropGeneration sends workspace ws's readers to SQLite until the next
// rebuild: its derived state may now list a client a user no longer has.
// The marker is deleted for every process; and since a Redis that refused
// a write may refuse the delete too (a read-only replica after a
// failover), this process also stops trusting the marker until a rebuild
// of its own succeeds.
func (s *Store) dropGeneration(ctx context.Context, ws int64) error {
	s.distrusted.Store(ws, s.distrusts.Add(1))
	return s.rdb.Del(context.WithoutCancel(ctx), generationKey(ws)).Err()
}

// trusted reports whether this process may believe workspace ws's
// generation marker.
func (s *Store) trusted(ws int64) bool {
	_, bad := s.distrusted.Load(ws)
	return !bad
}

// RedisReady reports whether workspace ws's derived Redis state is complete.
func (s *Store) RedisReady(ctx context.Context, ws int64) bool {
	if s.rdb == nil || !s.trusted(ws) {
		return false
	}
	n, err := s.rdb.Exists(ctx, generationKey(ws)).Result()
	return err == nil && n == 1
}

// rebuildSoon starts one background rebuild per workspace at a time. A
// workspace whose Redis writes failed is left to the relay, whose rounds
// are paced: Redis may refuse writes for a long while.
func (s *Store) rebuildSoon(ws int64) {
	if !s.trusted(ws) {
		return
	}
	if _, busy := s.rebuilding.LoadOrStore(ws, true); busy {
		return
	}
	s.background("redis rebuild", func(ctx context.Context) {
		defer s.rebuilding.Delete(ws)
		if err := s.RebuildRedis(ctx, ws); err != nil {
			s.log.Warn("redis rebuild failed", "workspace", ws, "err", err)
			return
		}
		s.log.Info("redis rebuilt from sqlite", "workspace", ws)
	})
}

// background runs fn in a goroutine that Close cancels and waits for. A
// panic in it is logged with its stack, not allowed to end the process.
func (s *Store) background(name string, fn func(ctx context.Context)) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("background work panicked", "work", name, "panic", r, "stack", string(debug.Stack()))
			}
		}()
		fn(s.bgCtx)
	}()
}

// rebuildState is embedded in Store.
type rebuildState struct {
	// bgCtx is cancelled by Close, which then waits for bg.
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup

	rebuilding sync.Map
	rebuilders []func(ctx context.Context, ws int64) error
	// distrusted holds the workspaces whose marker this process ignores
	// (dropGeneration), each with the count of its latest failure, so a
	// rebuild that began before a failure does not clear it.
	distrusted sync.Map
	distrusts  atomic.Uint64
}

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }

// sameIDs reports whether a and b hold the same ids, in any order.
func sameIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[int64]bool, len(a))
	for _, id := range a {
		seen[id] = true
	}
	for _, id := range b {
		if !seen[id] {
			return false
		}
	}
	return true
}

// GenerationKey names workspace ws's generation marker, for derived state
// kept outside this package (meetindex) that reads it in its own round
// trip. Such a reader must also ask Trusted.
func GenerationKey(ws int64) string { return generationKey(ws) }

// Trusted reports whether this process may believe workspace ws's
// generation marker (see dropGeneration).
func (s *Store) Trusted(ws int64) bool { return s.trusted(ws) }
