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
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/rolodex/rolodex/handlers"
	"github.com/rolodex/rolodex/imports"
	"github.com/rolodex/rolodex/jobs"
	"github.com/rolodex/rolodex/meetindex"
	"github.com/rolodex/rolodex/notify"
	"github.com/rolodex/rolodex/proc"
	"github.com/rolodex/rolodex/redisproc"
	"github.com/rolodex/rolodex/rooms"
	"github.com/rolodex/rolodex/search"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/webhooks"
)

// defaultMemoryLimit is the Go memory limit of `rolodex serve` unless
// GOMEMLIMIT is set.
const defaultMemoryLimit = 512 << 20

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
	Proxies       []netip.Prefix // reverse proxies whose X-Forwarded-For is believed
	Demo          bool
	// Webhooks may go to loopback and private network addresses: a
	// workspace admin is otherwise kept off the host's own network.
	WebhookAllowPrivate bool

	DigestPeriods []time.Duration // quiet periods users may choose
	SMTPURL       *url.URL        // nil: mail is written to <data>/mail
	MailFrom      string
	BaseURL       string // how links in e-mail start

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
	fs.BoolVar(&cfg.WebhookAllowPrivate, "webhook-allow-private", env("ROLODEX_WEBHOOK_ALLOW_PRIVATE", "") == "1", "let webhooks go to localhost and private network addresses (ROLODEX_WEBHOOK_ALLOW_PRIVATE=1)")
	proxies := fs.String("trusted-proxies", env("ROLODEX_TRUSTED_PROXIES", ""), "reverse proxies, comma-separated addresses or prefixes (10.0.0.0/8), whose X-Forwarded-For names the client (ROLODEX_TRUSTED_PROXIES)")
	periods := fs.String("digest-periods", env("ROLODEX_DIGEST_PERIODS", notify.DefaultPeriods), "quiet periods a user may choose for digests, comma-separated, each at least 1s (ROLODEX_DIGEST_PERIODS)")
	smtpURL := fs.String("smtp-url", env("ROLODEX_SMTP_URL", ""), "SMTP server for e-mail, smtp://user:pass@host:587; empty writes .eml files to <data>/mail (ROLODEX_SMTP_URL)")
	fs.StringVar(&cfg.MailFrom, "mail-from", env("ROLODEX_MAIL_FROM", "Rolodex <rolodex@localhost>"), "From address of e-mail (ROLODEX_MAIL_FROM)")
	fs.StringVar(&cfg.BaseURL, "base-url", env("ROLODEX_BASE_URL", "http://localhost:8080"), "the address users reach Rolodex at, for links in e-mail (ROLODEX_BASE_URL)")
	if cmd == "serve" {
		fs.BoolVar(&cfg.Demo, "demo", false, "load the demo workspace first when the database has no companies")
	}
	fs.Int64Var(&cfg.ImportMaxBytes, "import-max-bytes", envInt(getenv, "ROLODEX_IMPORT_MAX_BYTES", 2<<30), "largest CSV upload in bytes (ROLODEX_IMPORT_MAX_BYTES)")
	fs.IntVar(&cfg.ImportWorkers, "import-workers", int(envInt(getenv, "ROLODEX_IMPORT_WORKERS", 1)), "import workers in this process (ROLODEX_IMPORT_WORKERS)")
	fs.IntVar(&cfg.ImportBatchRows, "import-batch-rows", int(envInt(getenv, "ROLODEX_IMPORT_BATCH_ROWS", imports.DefaultBatchRows)), "rows per import transaction (ROLODEX_IMPORT_BATCH_ROWS)")
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
	if cfg.Proxies, err = parsePrefixes(*proxies); err != nil {
		return nil, fmt.Errorf("-trusted-proxies: %w", err)
	}
	if cfg.DigestPeriods, err = notify.ParsePeriods(*periods); err != nil {
		return nil, fmt.Errorf("-digest-periods: %w", err)
	}
	if *smtpURL != "" {
		if cfg.SMTPURL, err = url.Parse(*smtpURL); err != nil || cfg.SMTPURL.Scheme != "smtp" || cfg.SMTPURL.Host == "" {
			return nil, fmt.Errorf("-smtp-url: want smtp://user:pass@host:port, not %q", *smtpURL)
		}
	}
	if _, err := mail.ParseAddress(cfg.MailFrom); err != nil {
		return nil, fmt.Errorf("-mail-from: %w", err)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return nil, fmt.Errorf("-log must be text or json, not %q", cfg.LogFormat)
	}
	return cfg, nil
}

// parsePrefixes reads a comma-separated list of addresses and prefixes; an
// address is a prefix of its full length.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a prefix", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
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
		// behind a write to stderr (proc.LogWriter).
		lw := proc.NewLogWriter(os.Stderr, 100*time.Millisecond)
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
		defer proc.TuneGC()()
	}
	if getenv("GOMEMLIMIT") == "" {
		// A soft cap: past it the collector works harder rather than let
		// the heap, which TuneGC lets grow, take the machine.
		debug.SetMemoryLimit(defaultMemoryLimit)
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
	cfg       *config
	log       *slog.Logger
	redis     *redisproc.Supervised // nil when REDIS_URL names an external server
	stopRedis context.CancelFunc
	rdb       *redis.Client
	store     *store.Store
	index     *search.Index
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
		// Redis goes last at shutdown (close), not with ctx.
		redisCtx, stopRedis := context.WithCancel(context.WithoutCancel(ctx))
		rs, err := redisproc.Supervise(redisCtx, filepath.Join(cfg.Data, "redis"), log)
		if err != nil {
			stopRedis()
			return nil, err
		}
		a.redis, a.stopRedis = rs, stopRedis
		opts = rs.Options()
		log.Info("started redis-server", "socket", rs.Server().URL())
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
	a.store.WebhooksAllowPrivate = cfg.WebhookAllowPrivate
	meetindex.New(a.store)
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
	if a.redis != nil {
		a.stopRedis()
		<-a.redis.Done()
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
	importer := &imports.Importer{Store: a.store, Log: a.log, Dir: filepath.Join(cfg.Data, "imports"), Workers: cfg.ImportWorkers, BatchRows: cfg.ImportBatchRows}
	h := handlers.New(a.store, a.index, sess, a.log)
	h.Imports = handlers.Imports{Dir: importer.Dir, MaxBytes: cfg.ImportMaxBytes, Wake: importer.Wake}
	h.Proxies = cfg.Proxies
	if h.GuestKey, err = handlers.GuestKey(cfg.Data); err != nil {
		return err
	}
	h.Rooms = rooms.New(a.store, a.log, rooms.DefaultConfig)
	h.Rooms.Start()
	if h.Notify, err = newNotify(a, cfg); err != nil {
		return err
	}
	a.store.ActivitySink = h.Notify
	defer h.Rooms.Stop()
	srv := newHTTPServer(h.Routes(), a.log, serverTimeouts)
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
	// The server and the background jobs are one group: the first to fail
	// (or panic) stops the others, and serve returns once all have ended.
	// Jobs keep Redis's own timeouts, not a request's budget.
	jobsCtx, stopJobs := context.WithCancel(store.Background(context.WithoutCancel(ctx)))
	defer stopJobs()
	g, gctx := errgroup.WithContext(jobsCtx)
	background := func(name string, run func(context.Context)) {
		g.Go(func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					a.log.Error("background work panicked", "work", name, "panic", r, "stack", string(debug.Stack()))
					err = fmt.Errorf("%s panicked: %v", name, r)
				}
			}()
			run(gctx)
			return gctx.Err()
		})
	}
	background("outbox relay", (&jobs.Relay{Store: a.store, Log: a.log}).Run)
	background("importer", importer.Run)
	background("notifications", func(ctx context.Context) { h.Notify.Run(ctx, time.Second) })
	deliverer := webhooks.New(a.store, a.log)
	deliverer.AllowPrivate = cfg.WebhookAllowPrivate
	background("webhooks", deliverer.Run)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	a.log.Info("rolodex listening", "addr", ln.Addr().String(), "version", version)
	g.Go(func() error {
		select {
		case <-ctx.Done():
		case <-gctx.Done(): // something failed
		}
		a.log.Info("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			a.log.Warn("shutdown", "err", err)
		}
		stopJobs()
		return nil
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// timeouts bound how long a client may take over each part of a request.
type timeouts struct{ header, read, write, idle time.Duration }

// serverTimeouts are the server's: a client that sends or reads slowly
// (one byte a second) otherwise holds a connection and a goroutine for as
// long as it likes. A body is at most 1 MiB except an upload, and an
// answer is a page; an upload or a long download pushes its own deadline
// on while it moves (handlers/imports.go).
var serverTimeouts = timeouts{header: 10 * time.Second, read: 30 * time.Second, write: time.Minute, idle: 2 * time.Minute}

// newHTTPServer is the one place the server's limits are set.
func newHTTPServer(h http.Handler, log *slog.Logger, t timeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.header,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
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
	if _, err := st.CreateWorkspaceUser(ctx, store.DefaultWorkspace, store.UserInput{Email: cfg.AdminEmail, Name: "Admin", Password: pw, Role: store.RoleAdmin}); err != nil {
		return fmt.Errorf("create first admin: %w", err)
	}
	if generated {
		fmt.Fprintf(out, "\n  First admin created: %s\n  Password (shown once): %s\n\n", cfg.AdminEmail, pw)
	} else {
		fmt.Fprintf(out, "First admin created: %s\n", cfg.AdminEmail)
	}
	return nil
}

// newNotify builds this process's notification pipeline. The unsubscribe
// links' key lives in the data directory, so a restart keeps them valid.
func newNotify(a *app, cfg *config) (*notify.Pipeline, error) {
	keyPath := filepath.Join(cfg.Data, "unsubscribe.key")
	key, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		rand.Read(key)
		err = os.WriteFile(keyPath, key, 0o600)
	}
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	p := notify.New(a.store, a.log, cfg.DigestPeriods, fmt.Sprintf("%s-%d", host, os.Getpid()))
	p.Mail = &notify.Mailer{SMTP: cfg.SMTPURL, Dir: filepath.Join(cfg.Data, "mail"), From: cfg.MailFrom, BaseURL: cfg.BaseURL, Secret: key}
	return p, nil
}
