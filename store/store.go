// Package store is the Rolodex system of record: SQLite holds every record,
// and the Redis structures derived from it (client security sets) are kept in
// step through the outbox and can be rebuilt from SQLite at any time.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/cache"
	"github.com/rolodex/rolodex/migrations"
)

// DefaultWorkspace is the workspace a fresh install creates.
const DefaultWorkspace int64 = 1

// Store is the Rolodex database: a single-connection writer pool, a read
// pool, and Redis for the derived, rebuildable state.
type Store struct {
	w   *sql.DB // one connection: SQLite allows one writer at a time
	r   *sql.DB
	rdb *redis.Client
	log *slog.Logger
	rebuildState
	guard          redisGuard
	attemptsPruned atomic.Int64 // unix ms of the last pruneAttempts

	meetings MeetingIndex // set by UseMeetingIndex

	names userNames                        // authors' names for timelines (authors.go)
	homes *cache.Cache[homeKey, *keptHome] // the home pages read lately (home.go)

	// Applier applies the outbox rows the store does not own (search
	// index updates) after their transaction commits. Left nil, those rows
	// stay pending.
	Applier Applier

	// ActivitySink is handed each committed activity (the notification
	// pipeline). Left nil, activity rows are done at once: nobody is
	// waiting for them.
	ActivitySink ActivitySink

	// WebhooksAllowPrivate lets a webhook's URL name localhost or a
	// private network address, for an operator whose receivers are there
	// (ROLODEX_WEBHOOK_ALLOW_PRIVATE). Off, CreateWebhook refuses them.
	WebhooksAllowPrivate bool
}

// Applier applies committed outbox rows to the search index.
type Applier interface {
	Apply(ctx context.Context, items []OutboxItem) error
}

// dsn puts the pragmas in the connection string so that every connection
// the pool opens gets them, not just the first.
func dsn(path string, write bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_cache_size", "-65536") // 64 MiB page cache per connection
	// Pages run the same few queries over and over; keeping them prepared
	// per connection saves parsing and planning each time.
	q.Set("_stmt_cache_size", "64")
	if write {
		q.Set("_txlock", "immediate")
	} else {
		q.Set("mode", "ro")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the SQLite database at path, applies
// pending migrations and returns the Store. rdb may be nil in tools that
// do not touch Redis.
func Open(ctx context.Context, path string, rdb *redis.Client, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.Default()
	}
	w, err := sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	r, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s := &Store{w: w, r: r, rdb: rdb, log: log, guard: redisGuard{budget: redisBudget, cooldown: redisCooldown}, homes: newHomeCache()}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	if rdb != nil {
		s.guard.ping = func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
		rdb.AddHook(&s.guard)
	}
	if ok, err := s.PlannerStable(ctx); err == nil && !ok {
		qpsgWarning.Do(func() {
			log.Warn("SQLite was built without SQLITE_ENABLE_QPSG: reads re-plan their statements on every run and cost several times more; build with `make build`")
		})
	}
	return s, nil
}

var qpsgWarning sync.Once

// PlannerStable reports whether SQLite was compiled with
// SQLITE_ENABLE_QPSG (the Makefile sets it). Without it, SQLite marks a
// statement for re-planning whenever its plan looked at a bound value, and
// mattn/go-sqlite3 clears bindings before each run, so such statements
// (most of ours: LIMIT ?, ORDER BY after company_id = ?, EXISTS) are parsed
// and planned again every time despite the statement cache.
func (s *Store) PlannerStable(ctx context.Context) (bool, error) {
	rows, err := s.r.QueryContext(ctx, `PRAGMA compile_options`)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	for rows.Next() {
		var opt string
		if err := rows.Scan(&opt); err != nil {
			return false, err
		}
		if opt == "ENABLE_QPSG" {
			return true, nil
		}
	}
	return false, rows.Err()
}

// Close stops the background work (rebuilds), waits for it, then closes
// both pools.
func (s *Store) Close() error {
	s.bgCancel()
	s.bg.Wait()
	err1 := s.r.Close()
	// A final checkpoint keeps the WAL file from growing across restarts.
	_, _ = s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	err2 := s.w.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// RedisOptions tunes client options for derived state: when Redis is away
// a request should fall back to SQLite quickly rather than retry for
// seconds. The timeouts here are background jobs'; a request's calls get
// the store's much shorter budget (redisguard.go), which only reaches the
// socket with ContextTimeoutEnabled.
func RedisOptions(o *redis.Options) *redis.Options {
	o.MaxRetries = 1
	o.ContextTimeoutEnabled = true
	o.DialTimeout = 500 * time.Millisecond
	o.ReadTimeout = 2 * time.Second
	o.WriteTimeout = 2 * time.Second
	return o
}

// Redis returns the Redis client (nil when the store runs without Redis).
func (s *Store) Redis() *redis.Client { return s.rdb }

// Ping checks SQLite and Redis; it reports each separately for /healthz.
func (s *Store) Ping(ctx context.Context) (sqliteErr, redisErr error) {
	sqliteErr = s.r.PingContext(ctx)
	if s.rdb == nil {
		redisErr = fmt.Errorf("not configured")
	} else {
		redisErr = s.rdb.Ping(ctx).Err()
	}
	return
}

// outboxStuckAfter is how long a pending outbox row may wait before
// /healthz calls Redis degraded.
const outboxStuckAfter = time.Minute

// RedisDegraded says why Redis, though it answers, is not serving as it
// should, or "" when it is: it refuses writes (a replica), this process
// stopped trusting it after a failed write, or the outbox is stuck.
func (s *Store) RedisDegraded(ctx context.Context) (string, error) {
	if s.rdb != nil {
		// ROLE is a read: asking does not need a write to fail first.
		if role, err := s.rdb.Do(ctx, "ROLE").Slice(); err == nil && len(role) > 0 && role[0] != "master" {
			return fmt.Sprintf("refuses writes (role %v)", role[0]), nil
		}
	}
	distrusted := false
	s.distrusted.Range(func(any, any) bool { distrusted = true; return false })
	if distrusted {
		return "a write failed; reading from sqlite until a rebuild", nil
	}
	oldest, err := s.OldestOutbox(ctx)
	if err != nil {
		return "", err
	}
	if oldest > outboxStuckAfter {
		return fmt.Sprintf("outbox stuck: its oldest row has waited %v", oldest.Round(time.Second)), nil
	}
	return "", nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		body, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, now()); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// now is the store's clock in unix milliseconds, the unit of every
// timestamp column. It never returns the same value twice in a process,
// so items added in quick succession keep the order they were added in.
func now() int64 {
	for {
		last := lastNow.Load()
		t := max(time.Now().UnixMilli(), last+1)
		if lastNow.CompareAndSwap(last, t) {
			return t
		}
	}
}

var lastNow atomic.Int64

// Time converts a stored unix-millisecond timestamp.
func Time(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// tx runs fn in a write transaction and, after commit, applies the outbox
// rows fn queued. A failed apply is logged and left for the relay.
func (s *Store) tx(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	t := &Tx{Tx: sqlTx}
	if err := fn(t); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return err
	}
	if len(t.outbox) > 0 {
		if err := s.ApplyOutbox(ctx, t.outbox); err != nil {
			s.log.Warn("outbox apply failed; relay will retry", "err", err)
		}
	}
	return nil
}

// ApplyOutbox brings Redis and (through the Applier) the search index up to
// date with committed outbox rows, then deletes them. On error the rows
// stay for the relay to retry.
func (s *Store) ApplyOutbox(ctx context.Context, items []OutboxItem) error {
	if s.rdb == nil {
		// A tool without Redis (rolodex demo) leaves the rows for the
		// server's relay.
		return nil
	}
	var done, rest, activities []OutboxItem
	for _, it := range items {
		switch it.Kind {
		case OutboxUserClients:
			if err := s.SyncUserClients(ctx, it.WorkspaceID, it.RefID); err != nil {
				return err
			}
		case OutboxMeeting:
		case OutboxActivity:
			activities = append(activities, it)
		default:
			rest = append(rest, it)
		}
	}
	if len(activities) > 0 {
		if s.ActivitySink != nil {
			if err := s.ActivitySink.ApplyActivities(ctx, activities); err != nil {
				return err
			}
		}
		done = append(done, activities...)
	}
	// Without an index, meeting rows wait for a process that has one; the
	// user's meeting lists follow their clients, and a deleted company's
	// meetings leave the lists.
	if s.meetings != nil {
		if err := s.meetings.Apply(ctx, items); err != nil {
			return err
		}
		for _, it := range items {
			if it.Kind == OutboxMeeting || it.Kind == OutboxUserClients {
				done = append(done, it)
			}
		}
	}
	// Company rows go on to the search index too. Without an applier,
	// index rows wait for a process that has one.
	if len(rest) > 0 && s.Applier != nil {
		if err := s.Applier.Apply(ctx, rest); err != nil {
			return err
		}
		done = append(done, rest...)
	}
	return s.DoneOutbox(ctx, done)
}

// Tx is a write transaction that also collects outbox rows.
type Tx struct {
	*sql.Tx
	outbox []OutboxItem
}

var errNoRows = sql.ErrNoRows

// isUnique reports whether err is a SQLite unique-constraint violation.
func isUnique(err error) bool {
	if e, ok := err.(sqlite3.Error); ok {
		return e.ExtendedCode == sqlite3.ErrConstraintUnique || e.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	return false
}

// placeholders returns "?,?,?" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	b := make([]byte, 0, 2*n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
	}
	return string(b)
}
