// Package imports runs bulk CSV imports: it reads a file (csv.go), maps
// and checks its rows, and feeds them to the store's import session, which
// decides and writes them (store/import_*.go); Importer takes the jobs
// from the workspaces' Redis streams.
package imports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/store"
)

// Importer runs bulk CSV imports (seed 001). Jobs arrive on each
// workspace's Redis stream (store.ImportQueueKey), read by the consumer
// group store.ImportGroup; Workers goroutines take them, and any number of
// processes may run them side by side. A job whose worker died stays
// pending in the group and is taken over with XAUTOCLAIM once idle for
// StaleAfter; a live worker renews it every heartbeat. SQLite is the
// record: a sweep puts every open action that the stream lacks back on it,
// so a flushed or restarted Redis loses no import.
//
// Process is the one code path that imports a file, for the stream workers
// and for `rolodex import` alike.
type Importer struct {
	Store *store.Store
	Log   *slog.Logger
	// Dir holds the uploads (<data>/imports); a file there is deleted when
	// its import ends, or a week after it failed (it can be retried until
	// then). Files elsewhere (the CLI's) are left alone.
	Dir       string
	Workers   int           // stream consumers in this process; default 1
	BatchRows int           // rows per transaction; default 50,000
	Heartbeat time.Duration // default 10s
	// StaleAfter is how long a silent worker keeps its job; default 30s.
	StaleAfter time.Duration
	// TakeOver claims a running action whatever the age of its holder's
	// heartbeat, for a caller that knows the holder is dead (rolodex import
	// run again after a crash on the same host).
	TakeOver bool

	wake chan struct{}
	once sync.Once

	// afterBatch, when set (tests), runs after each committed batch; an
	// error stops the import on the spot, as if the process were killed.
	afterBatch func(n int) error
}

// DefaultBatchRows is the default batch size. SQLite writes every index
// page a transaction touches to the WAL at commit; with random e-mail
// addresses a batch touches most of the index whatever its size, so fewer,
// larger batches write far less (measured: 50k rows per batch imports a
// million rows about twice as fast as 5k). A batch of 50k commits in about
// a third of a second, the longest another writer waits.
const DefaultBatchRows = 50_000

func (im *Importer) init() {
	im.once.Do(func() {
		im.wake = make(chan struct{}, 1)
		if im.Log == nil {
			im.Log = slog.Default()
		}
		if im.Workers <= 0 {
			im.Workers = 1
		}
		if im.BatchRows <= 0 {
			im.BatchRows = DefaultBatchRows
		}
		if im.Heartbeat <= 0 {
			im.Heartbeat = 10 * time.Second
		}
		if im.StaleAfter <= 0 {
			im.StaleAfter = 30 * time.Second
		}
	})
}

// Wake tells an idle worker of this process to look for a job now rather
// than at its next poll (after an upload, for instance).
func (im *Importer) Wake() {
	im.init()
	select {
	case im.wake <- struct{}{}:
	default:
	}
}

// ErrNotClaimed is Process's answer for an action that is finished, a
// draft, or held by another worker whose heartbeat is fresh.
var ErrNotClaimed = errors.New("the import is finished or held by another worker")

// Process imports bulk action id as worker, calling progress (if not nil)
// after each committed batch. It resumes from the action's checkpoint. It
// returns nil when the action ends (done, failed, cancelled) and ctx's
// error when ctx ends first, in which case the action is handed back to
// the queue.
func (im *Importer) Process(ctx context.Context, id int64, worker string, progress func(a *store.BulkAction)) error {
	return im.process(ctx, id, worker, progress, nil)
}

func (im *Importer) process(ctx context.Context, id int64, worker string, progress func(a *store.BulkAction), beat func(ctx context.Context)) error {
	im.init()
	st := im.Store
	staleBefore := time.Now().Add(-im.StaleAfter).UnixMilli()
	if im.TakeOver {
		// In the future, since the store's clock may run a little ahead.
		staleBefore = time.Now().Add(time.Hour).UnixMilli()
	}
	a, err := st.ClaimBulkAction(ctx, id, worker, staleBefore)
	if err != nil {
		return err
	}
	if a == nil {
		return ErrNotClaimed
	}
	log := im.Log.With("bulk_action", id, "worker", worker)
	log.Info("import started", "kind", a.Kind, "mode", a.Mode, "file", a.FileName, "resume_line", a.NextLine)

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(im.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
			}
			if err := st.HeartbeatBulkAction(runCtx, id, worker); errors.Is(err, store.ErrImportStopped) {
				stop() // cancelled: no need to finish the batch in hand
				return
			}
			if beat != nil {
				beat(runCtx)
			}
		}
	}()
	err = im.run(runCtx, a, worker, progress)
	stop()
	wg.Wait()

	// Whatever happens next must happen even when ctx has ended.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case errors.Is(err, errKilled):
		return err
	case ctx.Err() != nil:
		if rerr := st.ReleaseBulkAction(bg, id, worker); rerr != nil {
			log.Warn("release import", "err", rerr)
		}
		log.Info("import paused for shutdown")
		return ctx.Err()
	case errors.Is(err, store.ErrImportStopped) || errors.Is(err, context.Canceled):
		cur, cerr := st.BulkActionByID(bg, id)
		if cerr == nil && cur.Status == store.StatusCancelled {
			log.Info("import cancelled", "processed", cur.Processed)
			im.removeUpload(cur)
		} else {
			log.Info("import taken over by another worker")
		}
		return nil
	case err != nil:
		log.Error("import failed", "err", err)
		if ferr := st.FinishBulkAction(bg, id, worker, store.StatusFailed, failure(err)); ferr != nil {
			log.Warn("record failed import", "err", ferr)
		}
		// The upload stays, so that an admin can retry the import once
		// the cause is fixed (removeLeftovers deletes it after a week).
		return nil
	}
	if err := st.FinishBulkAction(bg, id, worker, store.StatusDone, ""); err != nil {
		if errors.Is(err, store.ErrImportStopped) {
			return nil // cancelled after the last batch: its rows stay
		}
		return err
	}
	cur, err := st.BulkActionByID(bg, id)
	if err != nil {
		return err
	}
	log.Info("import done", "rows", cur.Processed, "created", cur.Created, "updated", cur.Updated, "skipped", cur.Skipped, "failed", cur.Failed)
	if progress != nil {
		progress(cur)
	}
	im.removeUpload(cur)
	return nil
}

// errKilled stops an import as a crash would (tests).
var errKilled = errors.New("import killed")

// failure is the message a failed import shows the admin.
func failure(err error) string {
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe):
		return "The uploaded file could not be read (" + pe.Err.Error() + "). Upload it again."
	case store.ErrorCode(err) != store.EInternal:
		return store.ErrorMessage(err)
	}
	return "The import stopped on an internal error; the server log has the details. Rows committed before it are kept."
}

// removeUpload deletes the file of a finished import if it is one of ours:
// its rejected rows are kept in SQLite, and an upload may be gigabytes.
func (im *Importer) removeUpload(a *store.BulkAction) {
	if im.Dir == "" || a.FilePath == "" || filepath.Dir(a.FilePath) != filepath.Clean(im.Dir) {
		return
	}
	if err := os.Remove(a.FilePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		im.Log.Warn("remove upload", "path", a.FilePath, "err", err)
	}
}

// run reads the file and commits it batch by batch, in three stages on
// goroutines of their own: reading (splitting, mapping, validating rows),
// preparing (deciding each row, building the batch's statements) and
// writing, which does only SQL. The writer bounds an import's speed; the
// other two keep a batch ready for it when it commits one.
func (im *Importer) run(ctx context.Context, a *store.BulkAction, worker string, progress func(a *store.BulkAction)) error {
	st := im.Store
	comma := a.Delimiter[0]
	if a.Encoding == "" {
		total, enc, err := scanFile(a.FilePath, comma)
		if err != nil {
			return err
		}
		if err := st.PrepareBulkAction(ctx, a.ID, worker, total, enc); err != nil {
			return err
		}
		a.Total, a.Encoding = total, enc
		if progress != nil {
			progress(a)
		}
	}
	sess, err := st.OpenImport(ctx, a, worker)
	if err != nil {
		return err
	}
	defer sess.Close()
	f, err := os.Open(a.FilePath)
	if err != nil {
		return err
	}
	defer f.Close()
	cp1252 := a.Encoding == encCP1252
	rd := newCSVReader(f, comma, cp1252, 0, 1)
	if _, err := rd.Next(); err != nil && !errors.Is(err, io.EOF) { // the header
		return err
	}
	mapper := newRowMapper(a.Kind, a.Header, a.Mapping)
	// Resuming: the rows before the checkpoint are committed; reading them
	// again tells the session which e-mail addresses the file already had.
	for a.NextOffset > 0 && rd.Offset() < a.NextOffset {
		rec, err := rd.Next()
		if err != nil {
			return fmt.Errorf("replay to the checkpoint: %w", err)
		}
		row := mapper.row(rec)
		sess.Replay(&row)
	}
	if a.NextOffset > 0 && (rd.Offset() != a.NextOffset || rd.Line() != a.NextLine) {
		return fmt.Errorf("checkpoint at byte %d (line %d) is not where a row starts (byte %d, line %d): the file changed",
			a.NextOffset, a.NextLine, rd.Offset(), rd.Line())
	}
	w := &importWriter{im: im, st: st, sess: sess, a: a, progress: progress,
		last: store.Checkpoint{Offset: rd.Offset(), Line: rd.Line()}}
	for {
		err := w.pipeline(ctx, rd, mapper)
		if !errors.Is(err, store.ErrImportRewind) {
			return err
		}
		// A company that prepared rows link to was deleted: prepare
		// them again from the last checkpoint.
		im.Log.Info("import rewinds to its last checkpoint: a company was deleted", "bulk_action", a.ID, "line", w.last.Line)
		if err := sess.Rewind(ctx, w.last); err != nil {
			return err
		}
		if _, err := f.Seek(w.last.Offset, io.SeekStart); err != nil {
			return err
		}
		rd = newCSVReader(f, comma, cp1252, w.last.Offset, w.last.Line)
		if w.last.Offset == 0 {
			if _, err := rd.Next(); err != nil && !errors.Is(err, io.EOF) { // the header
				return err
			}
		}
	}
}

// importWriter is the writing stage of run.
type importWriter struct {
	im       *Importer
	st       *store.Store
	sess     *store.ImportSession
	a        *store.BulkAction
	progress func(a *store.BulkAction)
	last     store.Checkpoint // of the last batch committed
	n        int              // batches committed
}

// chunk is a part of a batch on its way from the reader to the preparer.
type chunk struct {
	rows []store.ImportRow
	next store.Checkpoint
}

// pipeline imports the rows from rd on. It returns nil at the end of the
// file, and store.ErrImportRewind when the rows from w.last on must be
// prepared again.
func (w *importWriter) pipeline(ctx context.Context, rd *csvReader, mapper *rowMapper) error {
	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // the stages touch the session: they end before it is used again
	defer stop()
	kind, batchRows := w.a.Kind, int64(w.im.BatchRows)
	// The reader hands rows over in chunks of a tenth of a batch: only a
	// few chunks are ever in memory, besides the batch being prepared and
	// the one being written.
	chunkRows := max(w.im.BatchRows/10, 1)
	chunks := make(chan chunk, 1)
	var readErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(chunks)
		rows := make([]store.ImportRow, 0, chunkRows)
		for {
			rec, err := rd.Next()
			if err != nil && !errors.Is(err, io.EOF) {
				readErr = err
				return
			}
			if rec != nil {
				row := mapper.row(rec)
				row.Check(kind)
				rows = append(rows, row)
			}
			if len(rows) == chunkRows || rec == nil && len(rows) > 0 {
				select {
				case chunks <- chunk{rows, store.Checkpoint{Offset: rd.Offset(), Line: rd.Line()}}:
				case <-pctx.Done():
					return
				}
				rows = make([]store.ImportRow, 0, chunkRows)
			}
			if rec == nil {
				return
			}
		}
	}()
	batches := make(chan *store.PreparedBatch)
	go func() {
		defer wg.Done()
		defer close(batches)
		pb := &store.PreparedBatch{}
		var next store.Checkpoint
		send := func() bool {
			w.sess.Seal(pb, next)
			select {
			case batches <- pb:
				pb = &store.PreparedBatch{}
				return true
			case <-pctx.Done():
				return false
			}
		}
		for c := range chunks {
			w.sess.Prepare(pb, c.rows)
			next = c.next
			if pb.Rows() >= batchRows && !send() {
				return
			}
		}
		if pb.Rows() > 0 {
			send()
		}
	}()
	for pb := range batches {
		if _, err := w.sess.Write(ctx, pb); err != nil {
			return err
		}
		w.last = pb.Next()
		w.n++
		if w.progress != nil {
			if cur, err := w.st.BulkActionByID(ctx, w.a.ID); err == nil {
				w.progress(cur)
			}
		}
		if w.im.afterBatch != nil {
			if err := w.im.afterBatch(w.n); err != nil {
				return errKilled
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	stop()
	wg.Wait()
	if readErr != nil {
		return readErr
	}
	return ctx.Err()
}

// Run consumes the import streams of every workspace with Workers workers
// until ctx ends; a worker busy with an import hands it back to the queue
// at its next batch.
func (im *Importer) Run(ctx context.Context) {
	im.init()
	host, _ := os.Hostname()
	var wg sync.WaitGroup
	for i := 0; i < im.Workers; i++ {
		name := fmt.Sprintf("%s-%d-%d", host, os.Getpid(), i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			im.consume(ctx, name)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(im.StaleAfter)
		defer t.Stop()
		for {
			im.Sweep(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	wg.Wait()
}

// consume takes one job at a time from the workspaces' streams.
func (im *Importer) consume(ctx context.Context, consumer string) {
	rdb := im.Store.Redis()
	for ctx.Err() == nil {
		worked := false
		wss, err := im.Store.Workspaces(ctx)
		if err != nil && ctx.Err() == nil {
			im.Log.Warn("import worker: list workspaces", "err", err)
		}
		for _, ws := range wss {
			msg, err := im.take(ctx, rdb, ws, consumer)
			if err != nil {
				if ctx.Err() == nil {
					im.Log.Warn("import worker: read stream", "workspace", ws, "err", err)
				}
				continue
			}
			if msg == nil {
				continue
			}
			worked = true
			im.handle(ctx, rdb, ws, msg, consumer)
		}
		if !worked {
			select {
			case <-ctx.Done():
			case <-im.wake:
			case <-time.After(time.Second):
			}
		}
	}
}

// take returns a job of workspace ws for consumer: first one whose worker
// has been silent for StaleAfter, then a new one; nil when there is none.
func (im *Importer) take(ctx context.Context, rdb *redis.Client, ws int64, consumer string) (*redis.XMessage, error) {
	key := store.ImportQueueKey(ws)
	msgs, _, err := rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: key, Group: store.ImportGroup, Consumer: consumer,
		MinIdle: im.StaleAfter, Start: "0-0", Count: 1}).Result()
	if isNoGroup(err) {
		// Redis lost the stream (or this is its first use): rebuild it.
		return nil, im.requeue(ctx, rdb, ws)
	}
	if err != nil {
		return nil, err
	}
	if len(msgs) > 0 {
		im.Log.Info("import job taken over from a silent worker", "workspace", ws, "entry", msgs[0].ID)
		return &msgs[0], nil
	}
	streams, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: store.ImportGroup, Consumer: consumer,
		Streams: []string{key, ">"}, Count: 1, Block: -1}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if isNoGroup(err) {
		return nil, im.requeue(ctx, rdb, ws)
	}
	if err != nil {
		return nil, err
	}
	for _, s := range streams {
		if len(s.Messages) > 0 {
			return &s.Messages[0], nil
		}
	}
	return nil, nil
}

func isNoGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOGROUP") }

// handle runs one job and removes it from the stream.
func (im *Importer) handle(ctx context.Context, rdb *redis.Client, ws int64, msg *redis.XMessage, consumer string) {
	key := store.ImportQueueKey(ws)
	v, _ := msg.Values["id"].(string)
	id, perr := strconv.ParseInt(v, 10, 64)
	var err error
	if perr == nil {
		err = im.process(ctx, id, consumer, nil, func(ctx context.Context) {
			// Renewing the claim keeps XAUTOCLAIM off a job in progress.
			rdb.XClaimJustID(ctx, &redis.XClaimArgs{Stream: key, Group: store.ImportGroup, Consumer: consumer, Messages: []string{msg.ID}})
		})
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	switch {
	case perr != nil:
		im.Log.Warn("import job without a bulk action id; dropped", "entry", msg.ID)
	case errors.Is(err, ErrNotClaimed) || err != nil && store.ErrorCode(err) == store.ENotFound:
		// Finished, or held by a live worker (the sweep requeues it if
		// that worker dies), or gone.
	case ctx.Err() != nil && err != nil:
		// Shutting down: the action is queued again in SQLite; a fresh
		// entry lets the next worker start at once rather than wait for
		// this one's entry to go stale.
		im.Store.EnqueueImport(bg, ws, id)
	case err != nil:
		im.Log.Error("import job", "bulk_action", id, "err", err)
		return // left pending: another worker retries it after StaleAfter
	}
	pipe := rdb.TxPipeline()
	pipe.XAck(bg, key, store.ImportGroup, msg.ID)
	pipe.XDel(bg, key, msg.ID)
	if _, err := pipe.Exec(bg); err != nil {
		im.Log.Warn("ack import job", "entry", msg.ID, "err", err)
	}
}

// Sweep makes the streams agree with SQLite: every open action that is not
// on its workspace's stream, and is not held by a live worker, is put back
// on it. It also discards drafts nobody started within a day.
func (im *Importer) Sweep(ctx context.Context) {
	im.init()
	rdb := im.Store.Redis()
	wss, err := im.Store.Workspaces(ctx)
	if err != nil {
		return
	}
	for _, ws := range wss {
		if err := im.requeue(ctx, rdb, ws); err != nil && ctx.Err() == nil {
			im.Log.Warn("import sweep", "workspace", ws, "err", err)
		}
	}
	drafts, err := im.Store.StaleDrafts(ctx, time.Now().Add(-24*time.Hour).UnixMilli())
	if err != nil {
		return
	}
	for i := range drafts {
		if err := im.Store.DiscardDraft(ctx, drafts[i].ID); err == nil {
			im.removeUpload(&drafts[i])
		}
	}
	im.removeLeftovers(ctx)
}

// removeLeftovers deletes what a crash can leave in Dir: an upload cut off
// mid-way (upload-*.part) and the file of an import that ended before its
// worker could remove it; and the file of an import that failed more than
// keepFailed ago, which nobody retried.
func (im *Importer) removeLeftovers(ctx context.Context) {
	entries, err := os.ReadDir(im.Dir)
	if err != nil {
		return
	}
	dayAgo := time.Now().Add(-24 * time.Hour)
	for _, e := range entries {
		name := e.Name()
		info, err := e.Info()
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, "upload-") && strings.HasSuffix(name, ".part") && info.ModTime().Before(dayAgo):
		case strings.HasSuffix(name, ".csv"):
			id, err := strconv.ParseInt(strings.TrimSuffix(name, ".csv"), 10, 64)
			if err != nil {
				continue
			}
			// No record yet may mean one being created this instant.
			a, err := im.Store.BulkActionByID(ctx, id)
			gone := store.ErrorCode(err) == store.ENotFound && info.ModTime().Before(dayAgo)
			if !gone && (err != nil || !a.Finished()) {
				continue
			}
			if !gone && a.Status == store.StatusFailed && (a.FinishedAt == nil || time.Since(store.Time(*a.FinishedAt)) < keepFailed) {
				continue
			}
		default:
			continue
		}
		if err := os.Remove(filepath.Join(im.Dir, name)); err == nil {
			im.Log.Info("removed a leftover upload", "file", name)
		}
	}
}

// keepFailed is how long the upload of a failed import is kept for a
// retry.
const keepFailed = 7 * 24 * time.Hour

// requeue creates ws's stream and group if Redis lacks them and adds the
// open actions the stream does not carry.
func (im *Importer) requeue(ctx context.Context, rdb *redis.Client, ws int64) error {
	key := store.ImportQueueKey(ws)
	if err := rdb.XGroupCreateMkStream(ctx, key, store.ImportGroup, "0").Err(); err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return err
	}
	entries, err := rdb.XRange(ctx, key, "-", "+").Result()
	if err != nil {
		return err
	}
	queued := map[string]bool{}
	for _, e := range entries {
		if v, ok := e.Values["id"].(string); ok {
			queued[v] = true
		}
	}
	open, err := im.Store.OpenBulkActions(ctx)
	if err != nil {
		return err
	}
	stale := time.Now().Add(-im.StaleAfter).UnixMilli()
	for _, a := range open {
		if a.WorkspaceID != ws || queued[strconv.FormatInt(a.ID, 10)] || a.Status == store.StatusRunning && a.HeartbeatAt >= stale {
			continue
		}
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"id", a.ID}}).Err(); err != nil {
			return err
		}
		im.Log.Info("import requeued from sqlite", "bulk_action", a.ID, "status", a.Status)
		im.Wake()
	}
	return nil
}
