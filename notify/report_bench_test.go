package notify_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/jobs"
	"github.com/rolodex/rolodex/notify"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestNotifyBenchReport measures the notification pipeline end to end
// (issue 12) and appends a table to ROLODEX_BENCH_OUT (make bench). Both
// parts run the real pipeline (notify.Pipeline.Run with the production
// tick of 1 s, and for the burst the real outbox relay) over a SQLite file
// and a redis-server of their own, all in this process and on this
// machine. Sizes come from the environment:
//
//	ROLODEX_BENCH_BURST           activities committed at once, 3 recipients each (30000)
//	ROLODEX_BENCH_PENDING         recipients with a digest pending (100000)
//	ROLODEX_BENCH_DIGEST_QUIET_S  their quiet period, seconds (10)
//	ROLODEX_BENCH_DIGEST_WINDOW_S the window their deadlines fall in, seconds (10)
//
// The burst goes into SQLite as the store's write path leaves it: each
// activity row with its outbox row (kind "activity"), here all in one
// transaction on a second handle, as if 30,000 changes had committed at
// the same moment. From that commit, the relay (jobs.Relay, what applies
// outbox rows a request did not) hands them to the sink in batches of 500
// (digest_pending rows, then the stream), and the pipeline's worker
// schedules them; the clock stops when the outbox and the stream are
// both empty.
//
// The digests: pending rows for every recipient written straight into
// SQLite, their deadlines spread evenly over the window starting a few
// seconds ahead; the schedule is rebuilt from them (Pipeline.Rebuild, as
// after Redis lost everything), idle ticks are timed while all of them
// are pending and none due, then the pipeline runs. Each digest's
// lateness is its inbox row's time against its deadline, two ways: the
// row's created_at (the clock the scheduler's tick read before it
// claimed) and when a poller (every 50 ms) first saw the committed row.
func TestNotifyBenchReport(t *testing.T) {
	out := os.Getenv("ROLODEX_BENCH_OUT")
	if out == "" {
		t.Skip("set ROLODEX_BENCH_OUT (make bench) to run the benchmark")
	}
	size := func(name string, def int) int {
		if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
			return n
		}
		return def
	}
	burst := size("ROLODEX_BENCH_BURST", 30000)
	pending := size("ROLODEX_BENCH_PENDING", 100000)
	quiet := time.Duration(size("ROLODEX_BENCH_DIGEST_QUIET_S", 10)) * time.Second
	window := time.Duration(size("ROLODEX_BENCH_DIGEST_WINDOW_S", 10)) * time.Second
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	b := benchBurst(t, log, burst)
	d := benchDigests(t, log, pending, quiet, window)

	var report strings.Builder
	row := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		fmt.Fprintln(&report, line)
		t.Log(line)
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
	row("")
	row("## Notification pipeline (issue 12)")
	row("")
	row("Command: `make bench`, which runs `ROLODEX_BENCH_OUT=BENCHMARKS.md go test -run TestNotifyBenchReport -v ./notify/` with ROLODEX_BENCH_BURST=%d ROLODEX_BENCH_PENDING=%d ROLODEX_BENCH_DIGEST_QUIET_S=%d ROLODEX_BENCH_DIGEST_WINDOW_S=%d; machine: %d cores; %s",
		burst, pending, int(quiet/time.Second), int(window/time.Second), runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	row("")
	row("| measure | result | target |")
	row("| --- | --- | --- |")
	row("| burst of %d activities (3 recipients each, %d pending rows) committed at once: until all are recorded pending and scheduled in Redis | %s: **%.0f activities/s** (sink done after %s) | ≥ 10,000 activities/s |",
		burst, 3*burst, b.total.Round(time.Millisecond), float64(burst)/b.total.Seconds(), b.sunk.Round(time.Millisecond))
	row("| schedule rebuilt from SQLite, %d recipients pending | %s | |", pending, d.rebuild.Round(time.Millisecond))
	row("| idle scheduler tick, %d recipients pending, none due: Redis time (INFO commandstats, EVALSHA) / round trip at the client (%d ticks) | %.1f µs / %.1f µs | ≤ 0.2 ms of Redis time |",
		pending, d.ticks, d.idleRedisUS, d.idleWallUS)
	row("| %d digests due over %s (quiet %s): delivered within 2 s of the deadline (by the poller) | %d of %d | p99 within 2 s |", pending, window, quiet, d.inTime, pending)
	row("| lateness by the inbox row's created_at, p50 / p99 / max | %s / %s / %s | p99 ≤ 2 s |", ms(d.created[0]), ms(d.created[1]), ms(d.created[2]))
	row("| lateness by when the committed row was first seen (50 ms poll), p50 / p99 / max | %s / %s / %s | p99 ≤ 2 s |", ms(d.seen[0]), ms(d.seen[1]), ms(d.seen[2]))
	row("| digests delivered / a second, from the first deadline to the last delivery | %d / %.0f | |", d.delivered, d.rate)
	row("")
	row("Everything in one process on one machine: the pipeline (one worker and scheduler, `Pipeline.Run` with the production 1 s tick), the relay, its redis-server (a child) and SQLite, and the load. The burst's activity and outbox rows go in with one transaction on a second SQLite handle (as 30,000 writes committed at once would leave them); from that commit the relay hands them to the sink (`ApplyActivities`: `digest_pending` rows in one SQLite transaction per 500, then `XADD`) and the worker schedules them (`XREADGROUP`, then per batch of up to 500 entries one pipelined round trip of `EVALSHA`s, each script acknowledging and deleting its own entry); the clock stops when the outbox and the stream are both empty, and every pending row and pending-set member was then checked. The digests' pending rows are written straight into SQLite, their deadlines spread evenly over the window from 5 s ahead; the schedule is rebuilt from them as after a Redis loss. A row's created_at is the tick's clock, read before it claims up to 200 recipients (delivered in one SQLite transaction), so it can run ahead of the commit; the poller's time is an upper bound on the commit.")
	f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(report.String()); err != nil {
		t.Fatal(err)
	}
}

type burstResult struct{ sunk, total time.Duration }

// benchBurst commits n activities, each on a client with 3 staff users
// assigned, and times the relay and the pipeline until every one is
// pending in SQLite and scheduled in Redis.
func benchBurst(t *testing.T, log *slog.Logger, n int) burstResult {
	env := storetest.Open(t)
	ctx := context.Background()
	ws := store.DefaultWorkspace
	db := benchDB(t, env)
	const staff, companies = 300, 1000
	now := time.Now().UnixMilli()
	bulk(t, db, func(tx *sql.Tx) {
		for u := 1; u <= staff; u++ {
			mustExec(t, tx, `INSERT INTO users (id, workspace_id, email, name, password_hash, role, created_at) VALUES (?, ?, ?, ?, 'x', 'staff', ?)`,
				1000+u, ws, fmt.Sprintf("burst%d@example.com", u), fmt.Sprintf("Staff %d", u), now)
		}
		for c := 1; c <= companies; c++ {
			mustExec(t, tx, `INSERT INTO companies (id, workspace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`, c, ws, fmt.Sprintf("Client %d", c), now, now)
			for k := 0; k < 3; k++ {
				mustExec(t, tx, `INSERT INTO user_clients (workspace_id, user_id, company_id) VALUES (?, ?, ?)`, ws, 1000+1+(c+k)%staff, c)
			}
		}
	})

	p := notify.New(env.Store, log, []time.Duration{time.Hour}, "bench")
	env.Store.ActivitySink = p
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go p.Run(runCtx, time.Second)

	// The burst: what n committed writes leave behind, in one commit.
	bulk(t, db, func(tx *sql.Tx) {
		act, err := tx.Prepare(`INSERT INTO activities (workspace_id, company_id, actor_id, kind, ref_id, summary, created_at) VALUES (?, ?, NULL, ?, ?, ?, ?)`)
		if err != nil {
			t.Fatal(err)
		}
		ob, err := tx.Prepare(`INSERT INTO outbox (workspace_id, kind, ref_id, created_at) VALUES (?, ?, ?, ?)`)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now().UnixMilli()
		for i := 0; i < n; i++ {
			res, err := act.Exec(ws, 1+i%companies, store.ActivityNoteCreated, i+1, fmt.Sprintf("Rolodex added a note “Note %d”", i), at)
			if err != nil {
				t.Fatal(err)
			}
			id, _ := res.LastInsertId()
			if _, err := ob.Exec(ws, store.OutboxActivity, id, at); err != nil {
				t.Fatal(err)
			}
		}
	})
	began := time.Now()
	relay := &jobs.Relay{Store: env.Store, Log: log, Interval: time.Second}
	go relay.Run(runCtx)

	var r burstResult
	stream := store.Key(ws, "notify", "stream")
	for deadline := began.Add(10 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("burst: not scheduled after 10 minutes")
		}
		// Outbox first: its rows go after their XADD, so an empty outbox
		// and then an empty stream (entries go with their XACK) is done.
		left, err := env.Store.CountOutbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if left > 0 {
			continue
		}
		if r.sunk == 0 {
			r.sunk = time.Since(began)
		}
		if l, err := env.Redis.XLen(ctx, stream).Result(); err != nil || l > 0 {
			continue
		}
		r.total = time.Since(began)
		break
	}
	stop()
	var rows int
	if err := db.QueryRow(`SELECT count(*) FROM digest_pending`).Scan(&rows); err != nil || rows != 3*n {
		t.Fatalf("burst: %d pending rows (%v), want %d", rows, err, 3*n)
	}
	var members int64
	for u := 1; u <= staff; u++ {
		c, err := env.Redis.ZCard(ctx, store.Key(ws, "notify", "pending", 1000+u)).Result()
		if err != nil {
			t.Fatal(err)
		}
		members += c
	}
	if due, _ := env.Redis.ZCard(ctx, store.Key(ws, "notify", "due")).Result(); members != int64(3*n) || due != staff {
		t.Fatalf("burst: %d pending-set members, %d due, want %d and %d", members, due, 3*n, staff)
	}
	return r
}

type digestResult struct {
	rebuild                 time.Duration
	ticks                   int
	idleRedisUS, idleWallUS float64
	created, seen           [3]time.Duration // p50, p99, max
	inTime, delivered       int
	rate                    float64
}

// benchDigests gives n recipients one pending activity each, due over
// window, and times their delivery by the running pipeline.
func benchDigests(t *testing.T, log *slog.Logger, n int, quiet, window time.Duration) digestResult {
	env := storetest.Open(t)
	ctx := context.Background()
	ws := store.DefaultWorkspace
	db := benchDB(t, env)
	const companies = 1000
	now := time.Now().UnixMilli()
	bulk(t, db, func(tx *sql.Tx) {
		for c := 1; c <= companies; c++ {
			mustExec(t, tx, `INSERT INTO companies (id, workspace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`, c, ws, fmt.Sprintf("Client %d", c), now, now)
			mustExec(t, tx, `INSERT INTO activities (id, workspace_id, company_id, actor_id, kind, ref_id, summary, created_at) VALUES (?, ?, ?, NULL, ?, 1, 'Rolodex added a note “Pricing”', ?)`,
				c, ws, c, store.ActivityNoteCreated, now)
		}
		for u := 1; u <= n; u++ {
			mustExec(t, tx, `INSERT INTO users (id, workspace_id, email, name, password_hash, role, created_at) VALUES (?, ?, ?, ?, 'x', 'staff', ?)`,
				1000+u, ws, fmt.Sprintf("d%d@example.com", u), fmt.Sprintf("User %d", u), now)
			mustExec(t, tx, `INSERT INTO user_clients (workspace_id, user_id, company_id) VALUES (?, ?, ?)`, ws, 1000+u, 1+u%companies)
		}
	})
	// Deadlines spread evenly over the window from lead ahead; each
	// activity came quiet before its recipient's deadline.
	const lead = 5 * time.Second
	first := time.Now().Add(lead).UnixMilli()
	deadline := make(map[int64]int64, n)
	bulk(t, db, func(tx *sql.Tx) {
		st, err := tx.Prepare(`INSERT INTO digest_pending (workspace_id, user_id, activity_id, created_at) VALUES (?, ?, ?, ?)`)
		if err != nil {
			t.Fatal(err)
		}
		for u := 1; u <= n; u++ {
			due := first + int64(u-1)*window.Milliseconds()/int64(n)
			deadline[int64(1000+u)] = due
			if _, err := st.Exec(ws, 1000+u, 1+u%companies, due-quiet.Milliseconds()); err != nil {
				t.Fatal(err)
			}
		}
	})

	var r digestResult
	p := notify.New(env.Store, log, []time.Duration{quiet}, "bench")
	began := time.Now()
	if err := p.Rebuild(ctx, ws); err != nil {
		t.Fatal(err)
	}
	r.rebuild = time.Since(began)
	if c, _ := env.Redis.ZCard(ctx, store.Key(ws, "notify", "due")).Result(); c != int64(n) {
		t.Fatalf("digests: %d due after the rebuild, want %d", c, n)
	}

	// Idle ticks: everything pending, nothing due yet.
	if _, err := p.Tick(ctx, ws, 200); err != nil { // loads the script
		t.Fatal(err)
	}
	env.Redis.ConfigResetStat(ctx)
	r.ticks = 1000
	began = time.Now()
	for i := 0; i < r.ticks; i++ {
		if k, err := p.Tick(ctx, ws, 200); err != nil || k != 0 {
			t.Fatalf("idle tick handled %d (%v): the setup took past the first deadline", k, err)
		}
	}
	r.idleWallUS = float64(time.Since(began).Microseconds()) / float64(r.ticks)
	info, err := env.Redis.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_evalsha:"); ok {
			var calls, usec int64
			fmt.Sscanf(rest, "calls=%d,usec=%d,usec_per_call=%f", &calls, &usec, &r.idleRedisUS)
			if calls != int64(r.ticks) {
				t.Fatalf("commandstats: %d EVALSHA calls, want %d", calls, r.ticks)
			}
		}
	}
	if time.Now().UnixMilli() >= first {
		t.Fatal("digests: the setup took past the first deadline; raise the lead")
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go p.Run(runCtx, time.Second)

	// The poller: when each inbox row was first seen committed.
	var created, seen []time.Duration
	var last int64
	var lastAt int64
	limit := time.UnixMilli(first).Add(window + 10*time.Minute)
	for len(seen) < n {
		if time.Now().After(limit) {
			t.Fatalf("digests: %d of %d delivered by 10 minutes after the window", len(seen), n)
		}
		time.Sleep(50 * time.Millisecond)
		at := time.Now().UnixMilli()
		rows, err := db.Query(`SELECT id, user_id, created_at FROM notifications WHERE id > ? ORDER BY id`, last)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for rows.Next() {
			var uid, c int64
			if err := rows.Scan(&last, &uid, &c); err != nil {
				t.Fatal(err)
			}
			due, ok := deadline[uid]
			if !ok {
				t.Fatalf("digests: a notification for user %d", uid)
			}
			created = append(created, time.Duration(c-due)*time.Millisecond)
			seen = append(seen, time.Duration(at-due)*time.Millisecond)
			k++
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if k > 0 {
			lastAt = at
		}
	}
	stop()
	r.delivered = len(seen)
	for _, d := range seen {
		if d <= 2*time.Second {
			r.inTime++
		}
	}
	slices.Sort(created)
	slices.Sort(seen)
	pct := func(s []time.Duration, p int) time.Duration { return s[min(len(s)-1, len(s)*p/100)] }
	r.created = [3]time.Duration{pct(created, 50), pct(created, 99), created[len(created)-1]}
	r.seen = [3]time.Duration{pct(seen, 50), pct(seen, 99), seen[len(seen)-1]}
	// Throughput: from the first deadline to the last row seen.
	r.rate = float64(n) / (float64(max(lastAt-first, 1)) / 1000)
	return r
}

// benchDB opens a second handle on env's SQLite file for the bulk writes
// and the checks.
func benchDB(t *testing.T, env *storetest.Env) *sql.DB {
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(env.Dir, "rolodex.db")+"?_busy_timeout=10000&_foreign_keys=on&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// bulk runs fn in one transaction on db.
func bulk(t *testing.T, db *sql.DB, fn func(tx *sql.Tx)) {
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	fn(tx)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func mustExec(t *testing.T, tx *sql.Tx, q string, args ...any) {
	if _, err := tx.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
