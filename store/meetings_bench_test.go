package store_test

// Meetings list benchmarks. Sized by the environment, small by default:
//
//	ROLODEX_BENCH_MEETINGS=1000000 ROLODEX_BENCH_CLIENTS=50000 \
//	  go test -run '^$' -bench 'Meetings' -benchtime 2000x ./store/
//
// BenchmarkListMeetings reports p50/p99 latency of a page for staff users
// with 10 and 1,000 clients and an admin, from the Redis index and from the
// SQLite fallback, and runs the seed's Lua script (seed 000) on the same
// data for comparison. BenchmarkMeetingsRebuild times a full rebuild.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// seedLuaScript is the seed's script (000_2b6cc80cad59f286.txt), verbatim.
// KEYS: user id, hash field to sort by, SORT LIMIT offset and count. ARGV:
// the type and status sets to intersect. It needs the seed's layout
// (loadSeedLayout) and leaves its sampleset1<user>/sampleset2<user> keys
// behind, as the seed notes.
const seedLuaScript = `--[[
1) get user_id; (from keys[1])
2) get sort_by parameter as KEYS[2]
3) get start_limit and end_limit.
4) get meeting filtered set;
5) get client_for_user:x set;
6) iterate through meeting filtered set and get client id of that particular meeting from hashmap.
	6.1) check if that client id is member of set "client_for_user:x"
	6.2) store that meeting_id into a set, so that later we can perform sorting on that set.
7) sort the obtained filterd meeting set and apply limit over it.
8) fetch the details from the meeting:id from the hashmap.
	8.1) To fetch you can run a loop over available meeting ids and do 'hget key details'// key is the meeting_id
--]]

local user_id = KEYS[1] --  get user_id;

local sort_by = KEYS[2]
local start_limit = KEYS[3]
local end_limit = KEYS[4]

local meeting_filter_set = redis.call("sinterstore", "sampleset1"..user_id,  unpack(ARGV)) -- meeting filtered set.
local mfs = redis.call("sinter", unpack(ARGV)) -- meeting filtered set.

local clients_for_user_set_name = 'clients_for_user:'..user_id

local members_of_clients = redis.call("smembers", clients_for_user_set_name) -- client_for_user:x

-- iterating through meeting filtered set
for _,key in ipairs(mfs) do
	local obtained_client_ids = redis.call("HGET", 'meeting:'..key, "clientid")
	-- check if clientid obtained is contained in "members_of_clients"
	local val = redis.call("sismember", clients_for_user_set_name, obtained_client_ids)
	-- check if val is 0 or 1. If val == 1, store meeting:id into a set (or if val == 0, delete meetingid from the meeting_filtered_set)
	if val == 1 then
		redis.call("sadd", "sampleset2"..user_id, 'meeting:'..key)
	end
end

--[[local val2 = redis.call("sort", "sampleset1", "get", "meeting:*->clientid")--]]

-- get the members from set named "sampleset1"..user_id
local security_level_filter = redis.call("smembers", "sampleset2"..user_id)

-- use security_level_filter set name to sort according to whatever is passed as keys[2]
local sorted_content = redis.call("sort", "sampleset2"..user_id, "by", '*->'..sort_by, "limit" , start_limit, end_limit);

local allString = ""

-- fetch the details section from the hashmap of meeting:ids
for k, value in ipairs(sorted_content) do
	local details_str = redis.call("HGET", value, "details")
	allString = allString..', '..tostring(details_str)
end


return allString

--[[
Bugs:
1) 	new elements get appended with old elements in the sets created in memory, eg : sampleset1..user_id,
	sampleset2..user_id. this creates problem in getting the required meeting_ids after filtering.
--]]
`

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchData is a generated workspace.
type benchData struct {
	env      *storetest.Env
	admin    *store.User
	u10      *store.User // staff with 10 clients
	u1000    *store.User // staff with 1,000 clients (or all, if fewer)
	u20000   *store.User // staff with 20,000 clients (or all, if fewer)
	meetings []store.Meeting
}

// genMeetings makes n meetings over c companies: types uniform, 30% open,
// starts over two years on whole minutes, updated within a month after.
func genMeetings(tb testing.TB, n, c int) *benchData {
	tb.Helper()
	ctx := context.Background()
	env := storetest.Open(tb)
	d := &benchData{env: env}
	d.admin = env.User(tb, "admin@example.com", store.RoleAdmin)
	d.u10 = env.User(tb, "u10@example.com", store.RoleStaff)
	d.u1000 = env.User(tb, "u1000@example.com", store.RoleStaff)
	d.u20000 = env.User(tb, "u20000@example.com", store.RoleStaff)
	start := time.Now()
	companies, err := env.Store.BulkCompanies(ctx, store.DefaultWorkspace, "Client", c)
	if err != nil {
		tb.Fatal(err)
	}
	if err := env.Store.SetUserClients(ctx, d.admin, d.u10.ID, companies[:min(10, c)]); err != nil {
		tb.Fatal(err)
	}
	if err := env.Store.SetUserClients(ctx, d.admin, d.u1000.ID, companies[:min(1000, c)]); err != nil {
		tb.Fatal(err)
	}
	if err := env.Store.SetUserClients(ctx, d.admin, d.u20000.ID, companies[:min(20000, c)]); err != nil {
		tb.Fatal(err)
	}
	types, _ := env.Store.MeetingTypes(ctx, &store.User{WorkspaceID: store.DefaultWorkspace})
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	d.meetings = make([]store.Meeting, n)
	for i := range d.meetings {
		starts := t0 + int64(r.IntN(2*365*24*60))*60000
		created := starts - int64(r.IntN(30*24*60))*60000
		status := store.MeetingClosed
		if r.IntN(10) < 3 {
			status = store.MeetingOpen
		}
		d.meetings[i] = store.Meeting{CompanyID: companies[r.IntN(c)], Type: types[r.IntN(len(types))], Status: status,
			Subject: fmt.Sprintf("Meeting %d", i), Details: "Agenda: pricing, next steps, who calls whom.",
			StartsAt: starts, CreatedAt: created, UpdatedAt: created + int64(r.IntN(30*24*60))*60000}
	}
	if err := env.Store.BulkMeetings(ctx, store.DefaultWorkspace, d.meetings); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("generated %d meetings over %d clients in SQLite in %s", n, c, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := env.Store.RebuildRedis(ctx, store.DefaultWorkspace); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("rebuilt the Redis index in %s", time.Since(start).Round(time.Millisecond))
	return d
}

// loadSeedLayout writes the seed's data layout for d's meetings.
func (d *benchData) loadSeedLayout(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	rdb := d.env.Redis
	ws := store.DefaultWorkspace
	for start := 0; start < len(d.meetings); start += 5000 {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, m := range d.meetings[start:min(start+5000, len(d.meetings))] {
				p.SAdd(ctx, fmt.Sprintf("meeting_type:%s_ins_%d", m.Type, ws), m.ID)
				p.SAdd(ctx, fmt.Sprintf("meeting_status:%s_ins_%d", m.Status, ws), m.ID)
				p.HSet(ctx, fmt.Sprintf("meeting:%d", m.ID), "clientid", m.CompanyID, "details", "m"+strconv.FormatInt(m.ID, 10), "date", m.StartsAt)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, u := range []*store.User{d.u10, d.u1000} {
		ids, err := d.env.Store.ClientIDs(ctx, u)
		if err != nil {
			tb.Fatal(err)
		}
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		if err := rdb.SAdd(ctx, "clients_for_user:"+strconv.FormatInt(u.ID, 10), args...).Err(); err != nil {
			tb.Fatal(err)
		}
	}
}

// timed runs fn b.N times and reports the median and 99th percentile.
func timed(b *testing.B, fn func(i int)) {
	b.Helper()
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		fn(i)
		d = append(d, time.Since(t))
	}
	b.StopTimer()
	slices.Sort(d)
	us := func(p float64) float64 { return float64(d[min(len(d)-1, int(p*float64(len(d))))].Nanoseconds()) / 1e3 }
	b.ReportMetric(us(0.50), "p50-µs")
	b.ReportMetric(us(0.99), "p99-µs")
}

func BenchmarkListMeetings(b *testing.B) {
	n := envInt("ROLODEX_BENCH_MEETINGS", 20000)
	c := envInt("ROLODEX_BENCH_CLIENTS", 2000)
	d := genMeetings(b, n, c)
	ctx := context.Background()
	st := d.env.Store
	shapes := []struct {
		name string
		q    store.MeetingQuery
	}{
		{"email-open-by-date", store.MeetingQuery{Types: []string{"email"}, Statuses: []string{"open"}}},
		{"all-newest-first", store.MeetingQuery{Desc: true}},
		{"3types-closed-updated", store.MeetingQuery{Types: []string{"call", "video", "in-person"}, Statuses: []string{"closed"}, Sort: "updated", Desc: true}},
	}
	users := []struct {
		name string
		u    *store.User
	}{{"staff-10-clients", d.u10}, {"staff-1000-clients", d.u1000}, {"staff-20000-clients", d.u20000}, {"admin", d.admin}}
	// Cursors some pages deep, so that a run measures later pages too.
	cursors := func(b *testing.B, u *store.User, q store.MeetingQuery) []string {
		out := []string{""}
		for i := 0; i < 20; i++ {
			q.Cursor = out[len(out)-1]
			p, err := st.ListMeetings(ctx, u, q)
			if err != nil {
				b.Fatal(err)
			}
			if p.Next == "" {
				break
			}
			out = append(out, p.Next)
		}
		return out
	}
	rdb := d.env.Redis
	// Every Redis command slower than 1 ms goes to the slow log while the
	// Redis path runs; the seed's script runs later, after the check.
	rdb.ConfigSet(ctx, "slowlog-log-slower-than", "1000")
	rdb.ConfigSet(ctx, "slowlog-max-len", "1024")
	rdb.SlowLogReset(ctx)
	for _, path := range []string{"redis", "sqlite"} {
		if path == "sqlite" {
			b.Run("redis-health", func(b *testing.B) {
				slow, err := rdb.SlowLogGet(ctx, 1024).Result()
				if err != nil {
					b.Fatal(err)
				}
				var worst time.Duration
				for _, e := range slow {
					if e.Duration > worst {
						worst = e.Duration
						b.Logf("slow command %v: %v", e.Duration, e.Args)
					}
				}
				info, err := rdb.Info(ctx, "memory").Result()
				if err != nil {
					b.Fatal(err)
				}
				var used float64
				for _, line := range strings.Split(info, "\r\n") {
					if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
						used, _ = strconv.ParseFloat(v, 64)
					}
				}
				b.ReportMetric(float64(len(slow)), "cmds-over-1ms")
				b.ReportMetric(float64(worst.Microseconds()), "slowest-cmd-µs")
				b.ReportMetric(used/float64(n), "redis-bytes/meeting")
			})
		}
		for _, us := range users {
			for _, sh := range shapes {
				b.Run(path+"/"+us.name+"/"+sh.name, func(b *testing.B) {
					cs := cursors(b, us.u, sh.q)
					list := st.ListMeetings
					if path == "sqlite" {
						list = st.ListMeetingsSQL
					}
					var items int
					timed(b, func(i int) {
						q := sh.q
						q.Cursor = cs[i%len(cs)]
						p, err := list(ctx, us.u, q)
						if err != nil {
							b.Fatal(err)
						}
						items += len(p.Items)
					})
					b.ReportMetric(float64(items)/float64(b.N), "items/op")
				})
			}
		}
	}
	// The seed's script answers email-open-by-date, first page of 25.
	d.loadSeedLayout(b)
	seed := redis.NewScript(seedLuaScript)
	for _, us := range users[:2] {
		b.Run("seed-lua/"+us.name+"/email-open-by-date", func(b *testing.B) {
			uid := strconv.FormatInt(us.u.ID, 10)
			keys := []string{uid, "date", "0", "25"}
			args := []any{"meeting_type:email_ins_1", "meeting_status:open_ins_1"}
			var out string
			timed(b, func(int) {
				var err error
				if out, err = seed.Run(ctx, d.env.Redis, keys, args...).Text(); err != nil {
					b.Fatal(err)
				}
			})
			// Same question, same answer (the seed breaks ties between
			// equal dates by "meeting:<id>" as text; compare dates).
			p, err := st.ListMeetings(ctx, us.u, store.MeetingQuery{Types: []string{"email"}, Statuses: []string{"open"}})
			if err != nil {
				b.Fatal(err)
			}
			starts := map[int64]int64{}
			for _, m := range d.meetings {
				starts[m.ID] = m.StartsAt
			}
			var seedDates, ours []int64
			for _, f := range strings.Split(out, ", ") {
				if id, err := strconv.ParseInt(strings.TrimPrefix(f, "m"), 10, 64); err == nil {
					seedDates = append(seedDates, starts[id])
				}
			}
			for _, m := range p.Items {
				ours = append(ours, m.StartsAt)
			}
			if !slices.Equal(seedDates, ours) {
				b.Fatalf("the seed's page differs:\nseed %v\nours %v", seedDates, ours)
			}
		})
	}
}

func BenchmarkMeetingsRebuild(b *testing.B) {
	n := envInt("ROLODEX_BENCH_MEETINGS", 20000)
	c := envInt("ROLODEX_BENCH_CLIENTS", 2000)
	d := genMeetings(b, n, c)
	ctx := context.Background()
	// On a shared machine wall time says little; CPU time per side does.
	redisCPU := func() float64 {
		info, err := d.env.Redis.Info(ctx, "cpu").Result()
		if err != nil {
			b.Fatal(err)
		}
		var total float64
		for _, line := range strings.Split(info, "\r\n") {
			k, v, _ := strings.Cut(line, ":")
			if k == "used_cpu_user" || k == "used_cpu_sys" {
				f, _ := strconv.ParseFloat(v, 64)
				total += f
			}
		}
		return total
	}
	goCPU := func() float64 {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	r0, g0 := redisCPU(), goCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.env.Store.RebuildRedis(ctx, store.DefaultWorkspace); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "meetings/s")
	b.ReportMetric((redisCPU()-r0)/float64(b.N), "redis-cpu-s/op")
	b.ReportMetric((goCPU()-g0)/float64(b.N), "go-cpu-s/op")
	if mem, err := d.env.Redis.Info(ctx, "memory").Result(); err == nil {
		for _, line := range strings.Split(mem, "\r\n") {
			if strings.HasPrefix(line, "used_memory_human:") {
				b.Logf("redis %s for %d meetings", line, n)
			}
		}
	}
}
