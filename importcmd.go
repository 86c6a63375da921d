package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rolodex/rolodex/imports"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// importArgs takes KIND and FILE of `rolodex import KIND FILE`; flags may
// come before or after them.
func importArgs(fs *flag.FlagSet, cfg *config) error {
	rest := fs.Args()
	if len(rest) < 2 {
		return errors.New("usage: rolodex import contacts|companies FILE [-mode create|upsert|update]")
	}
	cfg.ImportKind, cfg.ImportFile = rest[0], rest[1]
	if cfg.ImportKind != store.ImportContacts && cfg.ImportKind != store.ImportCompanies {
		return fmt.Errorf("import what? %q is neither contacts nor companies", cfg.ImportKind)
	}
	return fs.Parse(rest[2:])
}

// envInt reads an integer setting, falling back to def when it is unset or
// not a number.
func envInt(getenv func(string) string, key string, def int64) int64 {
	if n, err := strconv.ParseInt(getenv(key), 10, 64); err == nil {
		return n
	}
	return def
}

// utf8Copy returns path, or for a UTF-16 file the path of a UTF-8 copy
// in dir: the engine reads UTF-8, and the CLI imports files in place, so
// it converts a copy rather than the user's file. The copy is named after
// the file's path, size and time, so running the same import again finds
// it and resumes.
func utf8Copy(path, dir string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", path, fi.Size(), fi.ModTime().UnixNano()))
	dst := filepath.Join(dir, fmt.Sprintf("utf8-%x.csv", sum[:8]))
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	converted, err := imports.ConvertUTF16(dst, path)
	if err != nil || !converted {
		return path, err
	}
	return dst, nil
}

// importCSV is `rolodex import`: the server's import engine, run in this
// process on a file in place, with a progress line; then it brings the
// search index up to date, as a server's relay would.
func (a *app) importCSV(ctx context.Context, out io.Writer) error {
	cfg := a.cfg
	path, err := filepath.Abs(cfg.ImportFile)
	if err != nil {
		return err
	}
	dir := filepath.Join(cfg.Data, "imports")
	if path, err = utf8Copy(path, dir); err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	p, err := imports.Inspect(path)
	if err == nil {
		err = imports.CheckMapping(cfg.ImportKind, p.Header, imports.DetectMapping(cfg.ImportKind, p.Header))
	}
	if err != nil {
		return fmt.Errorf("%s: %s", cfg.ImportFile, store.ErrorMessage(err))
	}
	host, _ := os.Hostname()
	worker := fmt.Sprintf("cli-%s-%d", host, os.Getpid())
	// Progress goes to the terminal; the engine's own log lines would only
	// break it up.
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	im := &imports.Importer{Store: a.store, Log: quiet, Dir: dir, BatchRows: cfg.ImportBatchRows}
	ba, err := a.resumable(ctx, path, fi.Size(), host, im)
	if err != nil {
		return err
	}
	if ba != nil {
		fmt.Fprintf(out, "Resuming import %d of %s at line %s\n", ba.ID, cfg.ImportFile, views.Thousands(ba.NextLine))
	} else {
		// The CLI acts as an admin of the workspace; there is no user to
		// credit, so created_by stays empty.
		admin := &store.User{WorkspaceID: cfg.ImportWorkspace, Role: store.RoleAdmin}
		ba, err = a.store.CreateBulkAction(ctx, admin, store.BulkActionInput{
			Kind: cfg.ImportKind, Mode: cfg.ImportMode, FileName: filepath.Base(path), FileSize: fi.Size(),
			Delimiter: string(p.Delimiter), Header: p.Header, Mapping: imports.DetectMapping(cfg.ImportKind, p.Header), Worker: worker,
		}, func(int64) (string, error) { return path, nil })
		if err != nil {
			return fmt.Errorf("%s: %s", cfg.ImportFile, store.ErrorMessage(err))
		}
		fmt.Fprintf(out, "Importing %s from %s (import %d, mode %s)\n", cfg.ImportKind, cfg.ImportFile, ba.ID, ba.Mode)
	}
	start := time.Now()
	err = im.Process(ctx, ba.ID, worker, func(b *store.BulkAction) {
		fmt.Fprintf(out, "\r%s", progressLine(b, time.Now()))
	})
	fmt.Fprintln(out)
	if ctx.Err() != nil {
		fmt.Fprintf(out, "Stopped. Import %d is queued: a running server resumes it from its last batch.\n", ba.ID)
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	b, err := a.store.BulkActionByID(ctx, ba.ID)
	if err != nil {
		return err
	}
	if b.Status != store.StatusDone {
		return fmt.Errorf("import %d %s: %s", b.ID, b.Status, b.Error)
	}
	fmt.Fprintf(out, "Committed %s rows in %s: %s created, %s updated, %s skipped, %s failed.\n",
		views.Thousands(b.Processed), time.Since(start).Round(time.Millisecond), views.Thousands(b.Created), views.Thousands(b.Updated),
		views.Thousands(b.Skipped), views.Thousands(b.Failed))
	if b.Skipped+b.Failed > 0 {
		fmt.Fprintf(out, "Rejected rows and reasons: /admin/imports/%d (download as CSV).\n", b.ID)
	}
	// Hand the import's memory back before the index takes its own.
	debug.FreeOSMemory()
	mallocTrim()
	return a.catchUp(ctx, out, start)
}

// resumable finds an import of the same file, kind, mode and workspace
// that an earlier run left open (killed, or stopped with Ctrl-C), so that
// running the command again carries on where it stopped. One whose process
// on this host is gone can be taken at once; one held by a live process is
// refused.
func (a *app) resumable(ctx context.Context, path string, size int64, host string, im *imports.Importer) (*store.BulkAction, error) {
	cfg := a.cfg
	open, err := a.store.OpenBulkActions(ctx)
	if err != nil {
		return nil, err
	}
	for i := range open {
		b := &open[i]
		if b.FilePath != path || b.FileSize != size || b.Kind != cfg.ImportKind || b.Mode != cfg.ImportMode || b.WorkspaceID != cfg.ImportWorkspace {
			continue
		}
		if b.Status == store.StatusRunning {
			pid, ok := cliPID(b.Worker, host)
			if ok && processAlive(pid) {
				return nil, fmt.Errorf("import %d of this file is running in process %d", b.ID, pid)
			}
			im.TakeOver = ok // its process is gone: no need to wait for its heartbeat to age
		}
		return b, nil
	}
	return nil, nil
}

// cliPID is the process id in a worker name "cli-<host>-<pid>" of host.
func cliPID(worker, host string) (int, bool) {
	rest, ok := strings.CutPrefix(worker, "cli-"+host+"-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(rest)
	return pid, err == nil
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// catchUp applies the pending outbox rows (for an import, one per batch)
// so that what was imported can be found.
func (a *app) catchUp(ctx context.Context, out io.Writer, start time.Time) error {
	total, err := a.store.CountOutbox(ctx)
	if err != nil || total == 0 {
		return err
	}
	for n := 0; ; n++ {
		items, err := a.store.PendingOutbox(ctx, 1)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			break
		}
		fmt.Fprintf(out, "\rIndexing for search: %d of %d batches", n, total)
		if err := a.store.ApplyOutbox(ctx, items); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\rSearchable %s after the start.%30s\n", time.Since(start).Round(time.Millisecond), "")
	return nil
}

// progressLine is one line about a running import: rows of total, rate,
// time left and the counters.
func progressLine(b *store.BulkAction, now time.Time) string {
	if b.Total == 0 && b.Processed == 0 {
		return "Reading the file…"
	}
	pct := 100.0
	if b.Total > 0 {
		pct = 100 * float64(b.Processed) / float64(b.Total)
	}
	left := "–"
	if d, ok := b.Left(now); ok {
		left = d.Round(time.Second).String()
	}
	return fmt.Sprintf("%s of %s rows (%.0f%%) · %s rows/s · %s left · %s created, %s updated, %s skipped, %s failed   ",
		views.Thousands(b.Processed), views.Thousands(b.Total), pct, views.Thousands(int64(b.Rate(now))), left,
		views.Thousands(b.Created), views.Thousands(b.Updated), views.Thousands(b.Skipped), views.Thousands(b.Failed))
}
