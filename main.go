// Command rolodex is a self-hosted CRM for sales teams: one binary that
// serves the web app and JSON API, and runs its own maintenance commands.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/handlers"
	"github.com/rolodex/rolodex/jobs"
	"github.com/rolodex/rolodex/rooms"
	"github.com/rolodex/rolodex/search"
	"github.com/rolodex/rolodex/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `Rolodex %s — a self-hosted CRM for sales teams.

Usage: rolodex [command] [flags]

Commands:
  serve     start the web server (default)
  demo      load the demo workspace: ~50 companies, 3 staff users
  reindex   rebuild the search index and all Redis state from SQLite
  import    import a CSV file: rolodex import contacts|companies FILE [-mode create|upsert|update]
  version   print the version
  help      show this help

Flags (each also read from the environment variable shown):
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "rolodex:", err)
		os.Exit(1)
	}
}

type config struct {
	Addr          string
	Data          string
	RedisURL      string
	AdminEmail    string
	AdminPassword string
	LogFormat     string
	SecureCookie  bool
	Demo          bool

	ImportMaxBytes  int64  // largest upload the server takes
	ImportWorkers   int    // import workers of this process
	ImportBatchRows int    // rows per import transaction
	ImportKind      string // rolodex import KIND FILE
	ImportFile      string
	ImportMode      string
	ImportWorkspace int64
}

// parseConfig reads flags, falling back to the environment, then defaults.
func parseConfig(cmd string, args []string, out io.Writer, getenv func(string) string) (*config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	cfg := &config{}
	fs := flag.NewFlagSet("rolodex "+cmd, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.Addr, "addr", env("ROLODEX_ADDR", ":8080"), "listen address (ROLODEX_ADDR)")
	fs.StringVar(&cfg.Data, "data", env("ROLODEX_DATA", "./data"), "data directory: database, index, keys (ROLODEX_DATA)")
	fs.StringVar(&cfg.RedisURL, "redis", env("REDIS_URL", ""), "Redis URL; empty starts a private redis-server (REDIS_URL)")
	fs.StringVar(&cfg.AdminEmail, "admin-email", env("ROLODEX_ADMIN_EMAIL", "admin@example.com"), "first admin's e-mail, on an empty database (ROLODEX_ADMIN_EMAIL)")
	fs.StringVar(&cfg.AdminPassword, "admin-password", env("ROLODEX_ADMIN_PASSWORD", ""), "first admin's password; empty generates one (ROLODEX_ADMIN_PASSWORD)")
	fs.StringVar(&cfg.LogFormat, "log", env("ROLODEX_LOG", "text"), "log format: text or json (ROLODEX_LOG)")
	fs.BoolVar(&cfg.SecureCookie, "secure-cookie", env("ROLODEX_SECURE_COOKIE", "") == "true", "mark the session cookie Secure, when served over TLS (ROLODEX_SECURE_COOKIE=true)")
	if cmd == "serve" {
		fs.BoolVar(&cfg.Demo, "demo", false, "load the demo workspace first when the database has no companies")
	}
	fs.Int64Var(&cfg.ImportMaxBytes, "import-max-bytes", envInt(getenv, "ROLODEX_IMPORT_MAX_BYTES", 2<<30), "largest CSV upload in bytes (ROLODEX_IMPORT_MAX_BYTES)")
	fs.IntVar(&cfg.ImportWorkers, "import-workers", int(envInt(getenv, "ROLODEX_IMPORT_WORKERS", 1)), "import workers in this process (ROLODEX_IMPORT_WORKERS)")
	fs.IntVar(&cfg.ImportBatchRows, "import-batch-rows", int(envInt(getenv, "ROLODEX_IMPORT_BATCH_ROWS", jobs.DefaultBatchRows)), "rows per import transaction (ROLODEX_IMPORT_BATCH_ROWS)")
	if cmd == "import" {
		fs.StringVar(&cfg.ImportMode, "mode", store.ModeCreate, "import: create (new records only), upsert (create and update) or update (existing only)")
		fs.Int64Var(&cfg.ImportWorkspace, "workspace", store.DefaultWorkspace, "import: workspace to import into")
	}
	fs.Usage = func() {
		fmt.Fprintf(out, usage, version)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if cmd == "import" {
		if err := importArgs(fs, cfg); err != nil {
			return nil, err
		}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	// Child processes (redis-server) and later chdirs must not resolve a
	// relative data path against another directory.
	abs, err := filepath.Abs(cfg.Data)
	if err != nil {
		return nil, fmt.Errorf("-data: %w", err)
	}
	cfg.Data = abs
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return nil, fmt.Errorf("-log must be text or json, not %q", cfg.LogFormat)
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version":
		fmt.Fprintln(out, "rolodex", version)
		return nil
	case "help", "-h", "--help":
		_, err := parseConfig("help", []string{"-h"}, out, getenv)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	case "serve", "demo", "reindex", "import":
	default:
		return fmt.Errorf("unknown command %q (try: rolodex help)", cmd)
	}
	cfg, err := parseConfig(cmd, args, out, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	var logOut io.Writer = os.Stderr
	if cmd == "serve" {
		// One line per request: buffered, so that requests never queue
		// behind a write to stderr (handlers.LogWriter).
		lw := handlers.NewLogWriter(os.Stderr, 100*time.Millisecond)
		defer lw.Close()
		logOut = lw
	}
	log := newLogger(cfg.LogFormat, logOut)
	slog.SetDefault(log)
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, log, cmd == "reindex")
	if err != nil {
		return err
	}
	defer a.close()
	switch cmd {
	case "demo":
		return loadDemo(ctx, a.store, out)
	case "reindex":
		return a.reindex(ctx, out)
	case "import":
		return a.importCSV(ctx, out)
	}
	if err := ensureAdmin(ctx, a.store, cfg, out); err != nil {
		return err
	}
	if cfg.Demo {
		if err := loadDemo(ctx, a.store, out); err != nil {
			return err
		}
	}
	if getenv("GOGC") == "" {
		defer handlers.TuneGC()()
	}
	return a.serve(ctx, cfg)
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// app is the set of opened parts; close releases them in reverse order.
type app struct {
	cfg   *config
	log   *slog.Logger
	redis atomic.Pointer[store.RedisServer] // nil when REDIS_URL names an external server
	rdb   *redis.Client
	store *store.Store
	index *search.Index
}

func openApp(ctx context.Context, cfg *config, log *slog.Logger, freshIndex bool) (*app, error) {
	a := &app{cfg: cfg, log: log}
	ok := false
	defer func() {
		if !ok {
			a.close()
		}
	}()
	var opts *redis.Options
	if cfg.RedisURL == "" {
		rs, err := store.StartRedis(ctx, filepath.Join(cfg.Data, "redis"))
		if err != nil {
			return nil, err
		}
		a.redis.Store(rs)
		opts = rs.Options()
		log.Info("started redis-server", "socket", rs.URL())
	} else {
		var err error
		if opts, err = redis.ParseURL(cfg.RedisURL); err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
	}
	a.rdb = redis.NewClient(store.RedisOptions(opts))
	var err error
	if a.store, err = store.Open(ctx, filepath.Join(cfg.Data, "rolodex.db"), a.rdb, log); err != nil {
		return nil, err
	}
	indexDir := filepath.Join(cfg.Data, "index.bleve")
	if freshIndex {
		if err := os.RemoveAll(indexDir); err != nil {
			return nil, err
		}
	}
	a.index, err = search.Open(indexDir)
	stale := errors.Is(err, search.ErrStale)
	if stale {
		// Built by an older release with another mapping: start afresh.
		log.Warn("search index has an old mapping; rebuilding it", "dir", indexDir)
		if err := os.RemoveAll(indexDir); err != nil {
			return nil, err
		}
		a.index, err = search.Open(indexDir)
	}
	if err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	a.store.Applier = &jobs.Indexer{Store: a.store, Index: a.index}
	if stale {
		if err := jobs.Reindex(ctx, a.store, a.index, nil); err != nil {
			return nil, fmt.Errorf("rebuild search index: %w", err)
		}
	}
	ok = true
	return a, nil
}

func (a *app) close() {
	if a.index != nil {
		a.index.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
	if a.rdb != nil {
		a.rdb.Close()
	}
	if rs := a.redis.Load(); rs != nil {
		rs.Stop()
	}
}

func (a *app) reindex(ctx context.Context, out io.Writer) error {
	start := time.Now()
	err := jobs.Reindex(ctx, a.store, a.index, func(n int) {
		fmt.Fprintf(out, "\rindexed %d documents", n)
	})
	fmt.Fprintln(out)
	if err != nil {
		return err
	}
	wss, err := a.store.Workspaces(ctx)
	if err != nil {
		return err
	}
	for _, ws := range wss {
		if err := a.store.RebuildRedis(ctx, ws); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "search index and Redis rebuilt in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// serve runs the HTTP server and the background jobs until ctx is done,
// then shuts down in order: server first, then the jobs.
func (a *app) serve(ctx context.Context, cfg *config) error {
	sess, err := handlers.NewSessionStore(cfg.Data, cfg.SecureCookie)
	if err != nil {
		return err
	}
	importer := &jobs.Importer{Store: a.store, Log: a.log, Dir: filepath.Join(cfg.Data, "imports"), Workers: cfg.ImportWorkers, BatchRows: cfg.ImportBatchRows}
	h := handlers.New(a.store, a.index, sess, a.log)
	h.Imports = handlers.Imports{Dir: importer.Dir, MaxBytes: cfg.ImportMaxBytes, Wake: importer.Wake}
	h.Rooms = rooms.New(a.store, a.log, rooms.DefaultConfig)
	h.Rooms.Start()
	defer h.Rooms.Stop()
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           h.Routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	// Room streams never finish by themselves; shutting down ends them.
	srv.RegisterOnShutdown(h.Rooms.Stop)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	// Redis may have missed changes while this server was down; readers use
	// SQLite until the relay's first round has rebuilt it.
	wss, err := a.store.Workspaces(ctx)
	if err != nil {
		return err
	}
	for _, ws := range wss {
		if err := a.store.InvalidateRedis(ctx, ws); err != nil {
			a.log.Warn("redis unavailable at start; serving from sqlite", "err", err)
		}
	}
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&jobs.Relay{Store: a.store, Log: a.log}).Run(jobsCtx)
	}()
	importsDone := make(chan struct{})
	go func() {
		defer close(importsDone)
		importer.Run(jobsCtx)
	}()
	if a.redis.Load() != nil {
		go a.superviseRedis(jobsCtx)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("rolodex listening", "addr", ln.Addr().String(), "version", version)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		a.log.Warn("shutdown", "err", err)
	}
	stopJobs()
	<-done
	<-importsDone
	return nil
}

// superviseRedis restarts the private redis-server if it dies. Rolodex
// answers from SQLite meanwhile and the relay rebuilds Redis afterwards.
func (a *app) superviseRedis(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.redis.Load().Exited():
		}
		a.log.Error("redis-server exited; restarting")
		for ctx.Err() == nil {
			rs, err := store.StartRedis(ctx, filepath.Join(a.cfg.Data, "redis"))
			if err == nil {
				a.redis.Store(rs)
				break
			}
			a.log.Error("restart redis-server", "err", err)
			time.Sleep(2 * time.Second)
		}
	}
}

// ensureAdmin creates the first admin on an empty database. Without a
// configured password it generates one and prints it, once.
func ensureAdmin(ctx context.Context, st *store.Store, cfg *config, out io.Writer) error {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw := cfg.AdminPassword
	generated := pw == ""
	if generated {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		pw = base64.RawURLEncoding.EncodeToString(b)
	}
	if _, err := st.CreateUser(ctx, store.DefaultWorkspace, store.UserInput{Email: cfg.AdminEmail, Name: "Admin", Password: pw, Role: store.RoleAdmin}); err != nil {
		return fmt.Errorf("create first admin: %w", err)
	}
	if generated {
		fmt.Fprintf(out, "\n  First admin created: %s\n  Password (shown once): %s\n\n", cfg.AdminEmail, pw)
	} else {
		fmt.Fprintf(out, "First admin created: %s\n", cfg.AdminEmail)
	}
	return nil
}
