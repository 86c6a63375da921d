// Package meetindex is the meetings list in Redis (seed 000, DESIGN.md
// "Meetings list"), kept in step with SQLite through the store's outbox.
//
// Every meeting is a member of sorted sets that already carry the client
// security dimension, one set per (scope, sort, type, status):
//
//	{w}:mtg:<sort>:u:<user>:<type>:<status>   a staff user's (materialised)
//	{w}:mtg:<sort>:all:<type>:<status>        the workspace's (admins)
//
// sort is "date" (by starts_at) or "updated" (by updated_at). All scores
// are 0 and members are "<time, 15 digits>:<id, 19 digits>", so the
// lexicographic order is (time, id) and ZRANGE BYLEX seeks straight to a
// keyset cursor, ties included, with no OFFSET. A page is, in one MULTI
// round trip, one ZRANGE BYLEX LIMIT per selected (type, status) set plus
// a ZLEXCOUNT each for the total; a k-way merge in Go picks the page, and
// one pipelined HMGET round fetches the rows from the {w}:mtg:<id> hashes.
// Queries create no keys and run no scripts.
//
// {w}:mtg:c:<company> is the set of a company's meeting ids. A user's
// sorted sets hold exactly the meetings of the companies in
// {w}:mtg:uc:<user> ({w}:mtg:cu:<company> is the reverse).
//
// Writes keep it in step through the outbox. OutboxMeeting reloads the row
// from SQLite and one Lua script (atomic, looping only over the users of
// one company) moves the meeting between sets, using the old type, status
// and members kept in its hash. OutboxUserClients brings {w}:mtg:uc:<user>
// in line with user_clients one company at a time, each step one atomic
// script that copies or removes that company's meetings. Every step keeps
// "a user's sets = the meetings of their companies in Redis", so no
// interleaving of writes leaves a meeting of a removed company behind.
package meetindex

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/store"
)

// Index is the meetings list of every workspace in one Redis. The store
// drives it (store.MeetingIndex): outbox rows in, rebuilds with the rest of
// the derived state, pages out. It reads SQLite only through the store's
// viewer-less reads.
type Index struct {
	st  *store.Store
	rdb *redis.Client
}

// New returns the index of st's Redis and makes it st's meetings index.
func New(st *store.Store) *Index {
	x := &Index{st: st, rdb: st.Redis()}
	st.UseMeetingIndex(x)
	return x
}

const (
	lexTimeWidth = 15 // store.maxMeetingTime has 15 digits
	lexIDWidth   = 19 // any positive int64
	lexLen       = lexTimeWidth + 1 + lexIDWidth

	rebuildLockTTL = 10 * time.Minute
	tombstoneTTL   = time.Hour
	scriptBatch    = 500
)

func mtgPrefix(ws int64) string               { return store.Key(ws, "mtg") + ":" }
func mtgHashKey(ws, id int64) string          { return store.Key(ws, "mtg", id) }
func mtgUserClientsKey(ws, user int64) string { return store.Key(ws, "mtg", "uc", user) }
func mtgClientUsersKey(ws, cid int64) string  { return store.Key(ws, "mtg", "cu", cid) }
func mtgCompanyKey(ws, cid int64) string      { return store.Key(ws, "mtg", "c", cid) }
func mtgLockKey(ws int64) string              { return store.Key(ws, "mtg-rebuild") }
func mtgTouchedKey(ws int64) string           { return store.Key(ws, "mtg-touched") }
func mtgTouchedUsersKey(ws int64) string      { return store.Key(ws, "mtg-touched-users") }
func mtgTouchedCompaniesKey(ws int64) string  { return store.Key(ws, "mtg-touched-companies") }

// mtgSetKey names the sorted set of scope ("all" or "u:<id>").
func mtgSetKey(ws int64, sort, scope, typ, status string) string {
	return store.Key(ws, "mtg", sort, scope, typ, status)
}

func appendPadded(b []byte, v int64, width int) []byte {
	var tmp [20]byte
	d := strconv.AppendInt(tmp[:0], v, 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

func lexTime(t int64) string { return string(appendPadded(nil, t, lexTimeWidth)) }

// lexMember is the set member of a meeting at time t.
func lexMember(t, id int64) string {
	b := make([]byte, 0, lexLen)
	b = appendPadded(b, t, lexTimeWidth)
	b = append(b, ':')
	return string(appendPadded(b, id, lexIDWidth))
}

func parseLexMember(m string) (store.MeetingKey, error) {
	if len(m) != lexLen || m[lexTimeWidth] != ':' {
		return store.MeetingKey{}, fmt.Errorf("bad meeting set member %q", m)
	}
	t, err1 := strconv.ParseInt(m[:lexTimeWidth], 10, 64)
	id, err2 := strconv.ParseInt(m[lexTimeWidth+1:], 10, 64)
	if err1 != nil || err2 != nil {
		return store.MeetingKey{}, fmt.Errorf("bad meeting set member %q", m)
	}
	return store.MeetingKey{N: t, ID: id}, nil
}

// putMeetingScript puts a meeting into its sets (or, mode "del", takes it
// out of all of them) atomically. The hash keeps the meeting's company,
// type, status and set members, so the previous sets are known. A row
// older than the hash (a late apply) is ignored, and so is a put of a
// meeting deleted within the hour (the tombstone). While a rebuild holds
// its lock the script only records the id for the rebuild to replay: a
// write between the rebuild's snapshot and its own write of that meeting
// would otherwise leave members no hash names.
//
// KEYS[1] the hash. ARGV: prefix, id, rebuild lock ("" to not mark),
// touched set, mode, then for "del" the tombstone TTL, for "put" company,
// type, status, date member, updated member, updated_at and the hash's
// field/value pairs.
var putMeetingScript = redis.NewScript(`
local h = KEYS[1]
local P, id, lock, touched, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if lock ~= '' and redis.call('EXISTS', lock) == 1 then
  redis.call('SADD', touched, id)
  return 2
end
local gone = P .. 'gone:' .. id
local o = redis.call('HMGET', h, 'company_id', 'type', 'status', '_md', '_mu', 'updated_at')
local function each(cid, t, s, fn)
  local tail = ':' .. t .. ':' .. s
  fn(P .. 'date:all' .. tail, P .. 'updated:all' .. tail)
  for _, u in ipairs(redis.call('SMEMBERS', P .. 'cu:' .. cid)) do
    fn(P .. 'date:u:' .. u .. tail, P .. 'updated:u:' .. u .. tail)
  end
end
local function drop()
  if o[1] then
    each(o[1], o[2], o[3], function(kd, ku) redis.call('ZREM', kd, o[4]); redis.call('ZREM', ku, o[5]) end)
    redis.call('SREM', P .. 'c:' .. o[1], id)
  end
end
if mode == 'del' then
  drop()
  redis.call('DEL', h)
  redis.call('SET', gone, '1', 'EX', ARGV[6])
  return 1
end
if redis.call('EXISTS', gone) == 1 then return 0 end
if o[6] and tonumber(o[6]) > tonumber(ARGV[11]) then return 0 end
local cid, t, s, md, mu = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
if o[1] and (o[1] ~= cid or o[2] ~= t or o[3] ~= s or o[4] ~= md or o[5] ~= mu) then drop() end
redis.call('SADD', P .. 'c:' .. cid, id)
each(cid, t, s, function(kd, ku) redis.call('ZADD', kd, 0, md); redis.call('ZADD', ku, 0, mu) end)
redis.call('HSET', h, unpack(ARGV, 12))
return 1
`)

// routeScript is the Lua both scripts below share: route(ids, fn) reads
// each meeting's hash and calls fn(sort, type, status, members) once per
// set, with the members in chunks ZADD and ZREM can unpack.
const routeLua = `
local function route(P, ids, fn)
  local by = {}
  for _, id in ipairs(ids) do
    local o = redis.call('HMGET', P .. id, 'type', 'status', '_md', '_mu')
    if o[1] then
      for i, sort in ipairs({'date', 'updated'}) do
        local k = sort .. '\0' .. o[1] .. '\0' .. o[2]
        local l = by[k]
        if not l then l = {sort, o[1], o[2], {}}; by[k] = l end
        table.insert(l[4], o[2 + i])
      end
    end
  end
  for _, l in pairs(by) do
    local ms = l[4]
    for a = 1, #ms, 1000 do
      fn(l[1], l[2], l[3], {unpack(ms, a, math.min(a + 999, #ms))})
    end
  end
end
`

// userClientScript adds ("add") or removes ("rem") one company's meetings
// to or from one user's sets, with the company in {w}:mtg:uc:<user>, in one
// atomic step. It loops over that company's meetings only. During a
// rebuild it only records the user for the rebuild to replay.
//
// KEYS[1] the user's company set. ARGV: prefix, user, company, mode,
// rebuild lock ("" to not mark), touched-users set.
var userClientScript = redis.NewScript(routeLua + `
local P, u, c, mode, lock, touched = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if lock ~= '' and redis.call('EXISTS', lock) == 1 then
  redis.call('SADD', touched, u)
  return 2
end
local cu = P .. 'cu:' .. c
if mode == 'add' then
  if redis.call('SADD', KEYS[1], c) == 0 then return 0 end
  redis.call('SADD', cu, u)
else
  if redis.call('SREM', KEYS[1], c) == 0 then return 0 end
  redis.call('SREM', cu, u)
end
route(P, redis.call('SMEMBERS', P .. 'c:' .. c), function(sort, t, s, ms)
  local dst = P .. sort .. ':u:' .. u .. ':' .. t .. ':' .. s
  if mode == 'add' then
    local args = {}
    for _, m in ipairs(ms) do args[#args + 1] = 0; args[#args + 1] = m end
    redis.call('ZADD', dst, unpack(args))
  else
    redis.call('ZREM', dst, unpack(ms))
  end
end)
return 1
`)

// purgeCompanyScript removes every meeting of a deleted company: from the
// workspace sets, from the sets of the users who had it, and their hashes.
// During a rebuild it only records the company for the rebuild to replay.
//
// KEYS[1] the company's user set. ARGV: prefix, company, tombstone TTL,
// rebuild lock ("" to not mark), touched-companies set.
var purgeCompanyScript = redis.NewScript(routeLua + `
local P, c, ttl, lock, touched = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if lock ~= '' and redis.call('EXISTS', lock) == 1 then
  redis.call('SADD', touched, c)
  return 2
end
local users = redis.call('SMEMBERS', KEYS[1])
local ids = redis.call('SMEMBERS', P .. 'c:' .. c)
route(P, ids, function(sort, t, s, ms)
  local tail = ':' .. t .. ':' .. s
  redis.call('ZREM', P .. sort .. ':all' .. tail, unpack(ms))
  for _, u in ipairs(users) do redis.call('ZREM', P .. sort .. ':u:' .. u .. tail, unpack(ms)) end
end)
for _, id in ipairs(ids) do
  redis.call('DEL', P .. id)
  redis.call('SET', P .. 'gone:' .. id, '1', 'EX', ttl)
end
for _, u in ipairs(users) do redis.call('SREM', P .. 'uc:' .. u, c) end
redis.call('DEL', KEYS[1], P .. 'c:' .. c)
return 1
`)

// userClientsScript reads a user's company set, unless a rebuild holds its
// lock: then it records the user for the rebuild to replay and answers
// "locked". Reading and checking in one step is what makes an empty diff
// safe to skip.
//
// KEYS[1] the user's company set. ARGV: rebuild lock, touched-users set,
// user.
var userClientsScript = redis.NewScript(`
if redis.call('EXISTS', ARGV[1]) == 1 then
  redis.call('SADD', ARGV[2], ARGV[3])
  return {'locked'}
end
local out = redis.call('SMEMBERS', KEYS[1])
table.insert(out, 1, 'ok')
return out
`)

var releaseLockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// releaseIfDoneScript releases the rebuild lock only if nothing is left to
// replay, in the same step: a write recorded just before would otherwise
// be lost. KEYS: the lock, the touched sets.
var releaseIfDoneScript = redis.NewScript(`
for i = 2, #KEYS do
  if redis.call('SCARD', KEYS[i]) > 0 then return 0 end
end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`)

type scriptCall struct {
	keys []string
	args []any
}

// runScript runs calls of sc in pipelines of scriptBatch, by SHA, loading
// the script once if Redis lost it. Every script here is idempotent, so a
// batch may run again.
func (x *Index) runScript(ctx context.Context, sc *redis.Script, calls []scriptCall) error {
	for start := 0; start < len(calls); start += scriptBatch {
		batch := calls[start:min(start+scriptBatch, len(calls))]
		for attempt := 0; ; attempt++ {
			_, err := x.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, c := range batch {
					sc.EvalSha(ctx, p, c.keys, c.args...)
				}
				return nil
			})
			if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
				if err := sc.Load(ctx, x.rdb).Err(); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			break
		}
	}
	return nil
}

// invalidateAfter drops the generation marker when err is set: the index may
// now show a user a company that is no longer theirs, so readers go to
// SQLite until the next rebuild. (A failed meeting or company apply cannot
// do that, since a meeting never changes company: it stays pending and the
// relay retries it.)
func (x *Index) invalidateAfter(ctx context.Context, ws int64, err error) error {
	if err != nil && x.rdb != nil {
		_ = x.st.InvalidateRedis(ctx, ws)
	}
	return err
}

// meetingHash is the hash of m, as field/value pairs.
func meetingHash(m *store.Meeting) []any {
	opt := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	return []any{"company_id", m.CompanyID, "owner_id", opt(m.OwnerID), "type", m.Type, "status", m.Status,
		"subject", m.Subject, "details", m.Details, "starts_at", m.StartsAt, "ends_at", opt(m.EndsAt),
		"created_at", m.CreatedAt, "updated_at", m.UpdatedAt,
		"_md", lexMember(m.StartsAt, m.ID), "_mu", lexMember(m.UpdatedAt, m.ID)}
}

var meetingHashFields = []string{"company_id", "owner_id", "type", "status", "subject", "details", "starts_at", "ends_at", "created_at", "updated_at"}

// applyMeetings brings the Redis entries of meetings ids of workspace ws in
// line with SQLite. mark says whether a rebuild in progress should replay
// them (false for the rebuild's own replay).
func (x *Index) applyMeetings(ctx context.Context, ws int64, ids []int64, mark bool) error {
	if x.rdb == nil || len(ids) == 0 {
		return nil
	}
	// SQLite has committed: finish even if the request that wrote is gone.
	ctx = context.WithoutCancel(ctx)
	found, err := x.st.MeetingsByID(ctx, ids)
	if err != nil {
		return err
	}
	lock := ""
	if mark {
		lock = mtgLockKey(ws)
	}
	P := mtgPrefix(ws)
	calls := make([]scriptCall, 0, len(ids))
	for _, id := range ids {
		head := []any{P, id, lock, mtgTouchedKey(ws)}
		m := found[id]
		if m == nil {
			calls = append(calls, scriptCall{[]string{mtgHashKey(ws, id)}, append(head, "del", int64(tombstoneTTL/time.Second))})
			continue
		}
		args := append(head, "put", m.CompanyID, m.Type, m.Status, lexMember(m.StartsAt, m.ID), lexMember(m.UpdatedAt, m.ID), m.UpdatedAt)
		calls = append(calls, scriptCall{[]string{mtgHashKey(ws, id)}, append(args, meetingHash(m)...)})
	}
	return x.runScript(ctx, putMeetingScript, calls)
}

// syncUserMeetings brings the companies whose meetings are in user's sets
// in line with user_clients, adding and removing one company at a time.
// It repeats until SQLite and Redis agree, so that of two syncs of one user
// running at once, a slower one holding an older answer cannot have the
// last word. mark false is the rebuild's own replay.
func (x *Index) syncUserMeetings(ctx context.Context, ws, userID int64, mark bool) error {
	if x.rdb == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	for round := 0; round < 10; round++ {
		done, err := x.syncUserMeetingsOnce(ctx, ws, userID, mark)
		if err != nil || done {
			return x.invalidateAfter(ctx, ws, err)
		}
	}
	return x.invalidateAfter(ctx, ws, fmt.Errorf("meetings of user %d: assignments keep changing", userID))
}

func (x *Index) syncUserMeetingsOnce(ctx context.Context, ws, userID int64, mark bool) (done bool, err error) {
	// Admins read the workspace sets; deleted users nothing.
	want, err := x.st.StaffClientIDs(ctx, userID)
	if err != nil {
		return false, err
	}
	lock := ""
	if mark {
		lock = mtgLockKey(ws)
	}
	var have []string
	if mark {
		res, err := userClientsScript.Run(ctx, x.rdb, []string{mtgUserClientsKey(ws, userID)}, lock, mtgTouchedUsersKey(ws), userID).StringSlice()
		if err != nil {
			return false, err
		}
		if len(res) == 0 || res[0] != "ok" {
			return true, nil // the rebuild replays this user
		}
		have = res[1:]
	} else if have, err = x.rdb.SMembers(ctx, mtgUserClientsKey(ws, userID)).Result(); err != nil {
		return false, err
	}
	keep := make(map[string]bool, len(want))
	for _, id := range want {
		keep[strconv.FormatInt(id, 10)] = true
	}
	had := make(map[string]bool, len(have))
	for _, c := range have {
		had[c] = true
	}
	call := func(company, mode string) scriptCall {
		args := []any{mtgPrefix(ws), userID, company, mode, lock, mtgTouchedUsersKey(ws)}
		return scriptCall{[]string{mtgUserClientsKey(ws, userID)}, args}
	}
	var calls []scriptCall
	// Removals first: a user's list must lose a company as soon as it can.
	for _, c := range have {
		if !keep[c] {
			calls = append(calls, call(c, "rem"))
		}
	}
	for c := range keep {
		if !had[c] {
			calls = append(calls, call(c, "add"))
		}
	}
	if len(calls) == 0 {
		return true, nil
	}
	return false, x.runScript(ctx, userClientScript, calls)
}

// applyCompanyMeetings removes the meetings of company id from Redis when
// the company is gone (SQLite deleted them with it, by cascade).
func (x *Index) applyCompanyMeetings(ctx context.Context, ws, id int64, mark bool) error {
	if x.rdb == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	c, err := x.st.CompanyByID(ctx, id)
	if err != nil || c != nil {
		return err
	}
	lock := ""
	if mark {
		lock = mtgLockKey(ws)
	}
	args := []any{mtgPrefix(ws), id, int64(tombstoneTTL / time.Second), lock, mtgTouchedCompaniesKey(ws)}
	return x.runScript(ctx, purgeCompanyScript, []scriptCall{{[]string{mtgClientUsersKey(ws, id)}, args}})
}

// Apply brings the index in line with the committed outbox rows among
// items that concern it: meetings written, users whose clients changed (a
// user's lists follow their clients) and companies (a deleted company's
// meetings leave every list).
func (x *Index) Apply(ctx context.Context, items []store.OutboxItem) error {
	byWS := map[int64][]int64{}
	for _, it := range items {
		var err error
		switch it.Kind {
		case store.OutboxUserClients:
			err = x.syncUserMeetings(ctx, it.WorkspaceID, it.RefID, true)
		case store.OutboxCompany:
			err = x.applyCompanyMeetings(ctx, it.WorkspaceID, it.RefID, true)
		case store.OutboxMeeting:
			byWS[it.WorkspaceID] = append(byWS[it.WorkspaceID], it.RefID)
		}
		if err != nil {
			return err
		}
	}
	for ws, ids := range byWS {
		if err := x.applyMeetings(ctx, ws, ids, true); err != nil {
			return err
		}
	}
	return nil
}

// Rebuild rewrites workspace ws's meeting index from SQLite. One
// rebuild runs at a time (a Redis lock); meanwhile the generation marker is
// absent, so lists come from SQLite. Writes applied while it runs are
// recorded (the touched sets) and replayed from SQLite at the end, so none
// is lost to the rebuild's older snapshot.
func (x *Index) Rebuild(ctx context.Context, ws int64) error {
	if x.rdb == nil {
		return nil
	}
	lock := mtgLockKey(ws)
	tok := make([]byte, 12)
	_, _ = rand.Read(tok)
	token := hex.EncodeToString(tok)
	for {
		ok, err := x.rdb.SetNX(ctx, lock, token, rebuildLockTTL).Result()
		if err != nil {
			return err
		}
		if ok {
			break
		}
		// Another rebuild runs; when it ends, run again: it may have read
		// SQLite before the change that asked for this one.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	released := false
	defer func() {
		if !released {
			releaseLockScript.Run(context.WithoutCancel(ctx), x.rdb, []string{lock}, token)
		}
	}()
	touched := []string{mtgTouchedKey(ws), mtgTouchedUsersKey(ws), mtgTouchedCompaniesKey(ws)}
	if err := x.rdb.Del(ctx, append([]string{store.GenerationKey(ws)}, touched...)...).Err(); err != nil {
		return err
	}
	if err := x.wipeMeetings(ctx, ws); err != nil {
		return err
	}
	if err := x.loadMeetings(ctx, ws, lock); err != nil {
		return err
	}
	// Replay, from SQLite as it is now, what was written while the lock
	// was held; the writes themselves only recorded what they touched.
	for {
		var popped [3][]int64
		for i, key := range touched {
			vals, err := x.rdb.SPopN(ctx, key, 1000).Result()
			if err != nil {
				return err
			}
			for _, v := range vals {
				id, _ := strconv.ParseInt(v, 10, 64)
				popped[i] = append(popped[i], id)
			}
		}
		if len(popped[0])+len(popped[1])+len(popped[2]) == 0 {
			ok, err := releaseIfDoneScript.Run(ctx, x.rdb, append([]string{lock}, touched...), token).Int()
			if err != nil {
				return err
			}
			if ok == 1 {
				released = true
				return nil
			}
			continue
		}
		for _, c := range popped[2] {
			if err := x.applyCompanyMeetings(ctx, ws, c, false); err != nil {
				return err
			}
		}
		if err := x.applyMeetings(ctx, ws, popped[0], false); err != nil {
			return err
		}
		for _, u := range popped[1] {
			if err := x.syncUserMeetings(ctx, ws, u, false); err != nil {
				return err
			}
		}
	}
}

// wipeMeetings unlinks every {w}:mtg:* key of workspace ws.
func (x *Index) wipeMeetings(ctx context.Context, ws int64) error {
	match, gone := mtgPrefix(ws)+"*", mtgPrefix(ws)+"gone:"
	var cursor uint64
	for {
		keys, next, err := x.rdb.Scan(ctx, cursor, match, 10000).Result()
		if err != nil {
			return err
		}
		// Tombstones stay: they stop a late apply of a meeting deleted
		// before the snapshot from bringing it back.
		keys = slices.DeleteFunc(keys, func(k string) bool { return strings.HasPrefix(k, gone) })
		if len(keys) > 0 {
			if err := x.rdb.Unlink(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// zbatch collects hashes, set and sorted-set members for one pipelined
// write.
type zbatch struct {
	hashes map[string][]any
	sets   map[string][]any
	zsets  map[string][]redis.Z
	n      int
}

func newZbatch() *zbatch {
	return &zbatch{hashes: map[string][]any{}, sets: map[string][]any{}, zsets: map[string][]redis.Z{}}
}

func (b *zbatch) zadd(key, member string) {
	b.zsets[key] = append(b.zsets[key], redis.Z{Member: member})
	b.n++
}

func (b *zbatch) sadd(key string, member any) {
	b.sets[key] = append(b.sets[key], member)
	b.n++
}

func (b *zbatch) hset(key string, fields []any) {
	b.hashes[key] = fields
	b.n += len(fields) / 2
}

// batchWriter writes zbatches with a few pipelines in flight, so that
// reading SQLite, encoding and Redis's own work overlap.
type batchWriter struct {
	ch   chan *zbatch
	errc chan error
	cur  *zbatch
	max  int
}

const rebuildWriters = 3

func (x *Index) newBatchWriter(ctx context.Context, lock string, max int) *batchWriter {
	w := &batchWriter{ch: make(chan *zbatch, rebuildWriters), errc: make(chan error, rebuildWriters), cur: newZbatch(), max: max}
	for i := 0; i < rebuildWriters; i++ {
		go func() {
			var err error
			for b := range w.ch {
				if err != nil {
					continue // drain
				}
				_, err = x.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
					for k, v := range b.hashes {
						p.HSet(ctx, k, v...)
					}
					for k, v := range b.sets {
						p.SAdd(ctx, k, v...)
					}
					for k, zs := range b.zsets {
						for i := 0; i < len(zs); i += 5000 {
							p.ZAdd(ctx, k, zs[i:min(i+5000, len(zs))]...)
						}
					}
					p.Expire(ctx, lock, rebuildLockTTL)
					return nil
				})
			}
			w.errc <- err
		}()
	}
	return w
}

// full hands the current batch to a writer when it is big enough.
func (w *batchWriter) full() {
	if w.cur.n >= w.max {
		w.ch <- w.cur
		w.cur = newZbatch()
	}
}

// close writes what is left, waits for the writers and returns the first
// error.
func (w *batchWriter) close() error {
	if w.cur.n > 0 {
		w.ch <- w.cur
	}
	close(w.ch)
	var first error
	for i := 0; i < rebuildWriters; i++ {
		if err := <-w.errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// setKeys caches set key names: Key's formatting shows at a million rows.
type setKeys map[[4]string]string

func (k setKeys) get(ws int64, sort, scope, typ, status string) string {
	id := [4]string{sort, scope, typ, status}
	key, ok := k[id]
	if !ok {
		key = mtgSetKey(ws, sort, scope, typ, status)
		k[id] = key
	}
	return key
}

// loadMeetings writes the whole index from one SQLite snapshot.
func (x *Index) loadMeetings(ctx context.Context, ws int64, lock string) (err error) {
	w := x.newBatchWriter(ctx, lock, 50000)
	defer func() {
		if werr := w.close(); err == nil {
			err = werr
		}
	}()
	P := mtgPrefix(ws)
	keys := setKeys{}
	return x.st.ReadMeetingSnapshot(ctx, ws, store.MeetingSnapshot{
		// Hashes and the workspace sets.
		Meeting: func(m *store.Meeting) error {
			fields := meetingHash(m)
			w.cur.hset(P+strconv.FormatInt(m.ID, 10), fields)
			w.cur.zadd(keys.get(ws, "date", "all", m.Type, m.Status), fields[len(fields)-3].(string))
			w.cur.zadd(keys.get(ws, "updated", "all", m.Type, m.Status), fields[len(fields)-1].(string))
			w.full()
			return nil
		},
		CompanyMeeting: func(c, id int64) error {
			w.cur.sadd(P+"c:"+strconv.FormatInt(c, 10), id)
			w.full()
			return nil
		},
		Assignment: func(u, c int64) error {
			w.cur.sadd(mtgUserClientsKey(ws, u), c)
			w.cur.sadd(mtgClientUsersKey(ws, c), u)
			w.full()
			return nil
		},
		// Each staff user's sets: the meetings of their companies.
		UserMeeting: func(u int64, m *store.Meeting) error {
			scope := "u:" + strconv.FormatInt(u, 10)
			w.cur.zadd(keys.get(ws, "date", scope, m.Type, m.Status), lexMember(m.StartsAt, m.ID))
			w.cur.zadd(keys.get(ws, "updated", scope, m.Type, m.Status), lexMember(m.UpdatedAt, m.ID))
			w.full()
			return nil
		},
	})
}

// List answers a meetings query from the index. ready is false (and the
// page nil) when the workspace's index is not complete.
func (x *Index) List(ctx context.Context, u *store.User, q *store.PreparedMeetingQuery) (page *store.MeetingPage, ready bool, err error) {
	scope := "all"
	if !u.IsAdmin() {
		scope = "u:" + strconv.FormatInt(u.ID, 10)
	}
	// The query's range, then the page's: the range narrowed by the cursor.
	lo, hi := "-", "+"
	if q.From > 0 {
		lo = "[" + lexTime(q.From)
	}
	if q.To > 0 {
		hi = "(" + lexTime(q.To)
	}
	plo, phi := lo, hi
	if q.At != nil {
		cm := lexMember(q.At.N, q.At.ID)
		if !q.ReadDesc && (lo == "-" || cm > lo[1:]) {
			plo = "(" + cm
		}
		if q.ReadDesc && (hi == "+" || cm < hi[1:]) {
			phi = "(" + cm
		}
	}
	want := int64(q.Limit + 1)
	var gen *redis.IntCmd
	ranges := make([]*redis.StringSliceCmd, 0, len(q.TypeIn)*len(q.StatusIn))
	counts := make([]*redis.IntCmd, 0, cap(ranges))
	_, err = x.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		gen = p.Exists(ctx, store.GenerationKey(q.WS))
		for _, t := range q.TypeIn {
			for _, st := range q.StatusIn {
				key := mtgSetKey(q.WS, q.Sort, scope, t, st)
				args := redis.ZRangeArgs{Key: key, Start: plo, Stop: phi, ByLex: true, Count: want}
				if q.ReadDesc {
					args.Start, args.Stop, args.Rev = phi, plo, true
				}
				ranges = append(ranges, p.ZRangeArgs(ctx, args))
				counts = append(counts, p.ZLexCount(ctx, key, lo, hi))
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if gen.Val() != 1 || !x.st.Trusted(q.WS) {
		return nil, false, nil
	}
	lists := make([][]string, len(ranges))
	page = &store.MeetingPage{Items: []store.Meeting{}}
	for i := range ranges {
		lists[i] = ranges[i].Val()
		page.Count += counts[i].Val()
	}
	members := mergeMembers(lists, q.ReadDesc, q.Limit+1)
	more := len(members) > q.Limit
	if more {
		members = members[:q.Limit]
	}
	keys := make([]store.MeetingKey, len(members))
	for i, m := range members {
		if keys[i], err = parseLexMember(m); err != nil {
			return nil, false, err
		}
	}
	if len(keys) > 0 {
		vals := make([]*redis.SliceCmd, len(keys))
		_, err = x.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				vals[i] = p.HMGet(ctx, mtgHashKey(q.WS, k.ID), meetingHashFields...)
			}
			return nil
		})
		if err != nil {
			return nil, false, err
		}
		for i, k := range keys {
			m, ok, err := meetingFromHash(k.ID, vals[i].Val())
			if err != nil {
				return nil, false, err
			}
			// Changed or deleted since the sets were read: leave it out
			// rather than show a row the filter does not match.
			if ok && slices.Contains(q.TypeIn, m.Type) && slices.Contains(q.StatusIn, m.Status) {
				page.Items = append(page.Items, m)
			}
		}
	}
	q.Finish(page, keys, more)
	return page, true, nil
}

// mergeMembers merges lists, each sorted (descending when desc), into the
// first n distinct members in that order.
func mergeMembers(lists [][]string, desc bool, n int) []string {
	out := make([]string, 0, n)
	pos := make([]int, len(lists))
	for len(out) < n {
		best := -1
		for i, l := range lists {
			if pos[i] >= len(l) {
				continue
			}
			if best < 0 || (l[pos[i]] < lists[best][pos[best]]) != desc {
				best = i
			}
		}
		if best < 0 {
			break
		}
		m := lists[best][pos[best]]
		pos[best]++
		if len(out) == 0 || out[len(out)-1] != m {
			out = append(out, m)
		}
	}
	return out
}

// meetingFromHash reads HMGET meetingHashFields; ok is false when the hash
// is gone.
func meetingFromHash(id int64, v []any) (m store.Meeting, ok bool, err error) {
	if len(v) != len(meetingHashFields) || v[0] == nil {
		return m, false, nil
	}
	str := func(i int) string { s, _ := v[i].(string); return s }
	num := func(i int) int64 {
		n, e := strconv.ParseInt(str(i), 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("meeting %d: bad %s %q", id, meetingHashFields[i], str(i))
		}
		return n
	}
	opt := func(i int) *int64 {
		if str(i) == "" {
			return nil
		}
		n := num(i)
		return &n
	}
	m = store.Meeting{ID: id, CompanyID: num(0), OwnerID: opt(1), Type: str(2), Status: str(3), Subject: str(4), Details: str(5),
		StartsAt: num(6), EndsAt: opt(7), CreatedAt: num(8), UpdatedAt: num(9)}
	return m, err == nil, err
}
