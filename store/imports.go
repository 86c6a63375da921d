package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Bulk imports (seed 001). A bulk action is one uploaded CSV file and its
// progress. SQLite holds it; the Redis stream ImportQueueKey only tells
// workers (imports/importer.go) which action to work on next, and is rebuilt
// from the open actions here when Redis loses it. The rows are checked in
// import_rows.go, decided in import_session.go and written in
// import_write.go.

// Import kinds: what the rows of a file are.
const (
	ImportContacts  = "contacts"
	ImportCompanies = "companies"
)

// Import modes: what happens to a row whose record already exists (same
// e-mail address for contacts, same name for companies).
const (
	ModeCreate = "create" // new records only; existing ones are skipped
	ModeUpsert = "upsert" // create new records and update existing ones
	ModeUpdate = "update" // update existing records; new ones are skipped
)

// Bulk action statuses. Draft is an upload from the admin page whose
// column mapping has not been confirmed yet; queued and running are open.
const (
	StatusDraft     = "draft"
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusDone      = "done"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// OutboxImport names a bulk_action_batches row: what one committed batch
// wrote, for the search index. One outbox row per batch instead of one per
// contact keeps a million-row import from writing a million outbox rows.
const OutboxImport = "import"

// ImportGroup is the consumer group of the import workers.
const ImportGroup = "importers"

// ImportQueueKey is the Redis stream of import jobs of workspace ws; each
// entry carries the bulk action id in field "id".
func ImportQueueKey(ws int64) string { return Key(ws, "jobs", "imports") }

// BulkAction is one import: the file, the settings and the progress.
type BulkAction struct {
	ID          int64          `json:"id"`
	WorkspaceID int64          `json:"workspace_id"`
	Kind        string         `json:"kind"`
	Mode        string         `json:"mode"`
	Status      string         `json:"status"`
	FileName    string         `json:"file_name"`
	FilePath    string         `json:"-"`
	FileSize    int64          `json:"file_size"`
	Delimiter   string         `json:"delimiter"`
	Header      []string       `json:"header"`
	Mapping     map[string]int `json:"mapping"`
	Encoding    string         `json:"encoding"`
	Total       int64          `json:"total"`
	Processed   int64          `json:"processed"`
	Created     int64          `json:"created"`
	Updated     int64          `json:"updated"`
	Skipped     int64          `json:"skipped"`
	Failed      int64          `json:"failed"`
	NextOffset  int64          `json:"-"`
	NextLine    int64          `json:"-"`
	Worker      string         `json:"-"`
	HeartbeatAt int64          `json:"-"`
	CreatedBy   *int64         `json:"created_by"`
	CreatedAt   int64          `json:"created_at"`
	StartedAt   *int64         `json:"started_at"`
	FinishedAt  *int64         `json:"finished_at"`
	Error       string         `json:"error"`
}

// Open reports whether a worker still has to finish the action.
func (a *BulkAction) Open() bool { return a.Status == StatusQueued || a.Status == StatusRunning }

// Rate is the rows per second committed since the action started.
func (a *BulkAction) Rate(now time.Time) float64 {
	if a.StartedAt == nil || a.Processed == 0 {
		return 0
	}
	end := now
	if a.FinishedAt != nil {
		end = Time(*a.FinishedAt)
	}
	secs := end.Sub(Time(*a.StartedAt)).Seconds()
	return float64(a.Processed) / max(secs, 0.001)
}

// Left estimates the time until the last row is committed at the current
// rate; false while there is no rate to go by.
func (a *BulkAction) Left(now time.Time) (time.Duration, bool) {
	rate := a.Rate(now)
	if rate == 0 || a.Total < a.Processed {
		return 0, false
	}
	return time.Duration(float64(a.Total-a.Processed) / rate * float64(time.Second)), true
}

// Finished reports whether the action has reached a final status.
func (a *BulkAction) Finished() bool {
	return a.Status == StatusDone || a.Status == StatusFailed || a.Status == StatusCancelled
}

// BulkActionInput is what starting an import takes. The caller has stored
// the file and read its header (imports.Inspect).
type BulkActionInput struct {
	Kind      string
	Mode      string
	FileName  string
	FileSize  int64
	Delimiter string
	Header    []string
	Mapping   map[string]int
	// Draft leaves the action waiting for StartBulkAction (the admin page
	// confirms the mapping first); otherwise it is queued at once.
	Draft bool
	// Worker, when set, creates the action already claimed by that worker
	// (the CLI imports in its own process), so no server picks it up.
	Worker string
}

func (in *BulkActionInput) normalize() error {
	p := Problems{}
	if in.Kind == "" {
		in.Kind = ImportContacts
	}
	if in.Mode == "" {
		in.Mode = ModeCreate
	}
	if in.Kind != ImportContacts && in.Kind != ImportCompanies {
		p.Add("kind", "Choose contacts or companies.")
	}
	if in.Mode != ModeCreate && in.Mode != ModeUpsert && in.Mode != ModeUpdate {
		p.Add("mode", "Choose create, upsert or update.")
	}
	if len(in.Header) == 0 {
		p.Add("file", "The file has no header row.")
	}
	if len(in.Delimiter) != 1 {
		p.Add("file", "Could not tell how the columns are separated: use commas, semicolons or tabs.")
	}
	for field, col := range in.Mapping {
		if col < 0 || col >= len(in.Header) {
			p.Add("mapping", fmt.Sprintf("The file has no column %d (for %s).", col, field))
		}
	}
	in.FileName = truncate(strings.TrimSpace(in.FileName), 255)
	return p.Err()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n-- // not inside a UTF-8 sequence
	}
	return s[:n]
}

var errNotAdmin = Errorf(EForbidden, "Only an admin can import.")

// CreateBulkAction records an import in admin's workspace. place moves the
// uploaded file to its final path, named after the new id; it runs inside
// the transaction, so a failed move leaves no record. A queued action is
// put on the workspace's Redis stream after commit; if that fails, the
// workers' sweep requeues it from SQLite.
func (s *Store) CreateBulkAction(ctx context.Context, admin *User, in BulkActionInput, place func(id int64) (string, error)) (*BulkAction, error) {
	if !admin.IsAdmin() {
		return nil, errNotAdmin
	}
	if err := in.normalize(); err != nil {
		return nil, err
	}
	header, _ := json.Marshal(in.Header)
	mapping, _ := json.Marshal(nonNilMapping(in.Mapping))
	status := StatusQueued
	switch {
	case in.Draft:
		status = StatusDraft
	case in.Worker != "":
		status = StatusRunning
	}
	var createdBy *int64
	if admin.ID > 0 {
		createdBy = &admin.ID
	}
	var id int64
	err := s.tx(ctx, func(tx *Tx) error {
		t := now()
		var started any
		if status == StatusRunning {
			started = t
		}
		res, err := tx.Exec(`INSERT INTO bulk_actions (workspace_id, kind, mode, status, file_name, file_path, file_size, delimiter, header, mapping,
			worker, heartbeat_at, created_by, created_at, started_at) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			admin.WorkspaceID, in.Kind, in.Mode, status, in.FileName, in.FileSize, in.Delimiter, string(header), string(mapping),
			in.Worker, t, createdBy, t, started)
		if err != nil {
			return err
		}
		id, _ = res.LastInsertId()
		path, err := place(id)
		if err != nil {
			return err
		}
		_, err = tx.Exec(`UPDATE bulk_actions SET file_path = ? WHERE id = ?`, path, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if status == StatusQueued {
		s.EnqueueImport(ctx, admin.WorkspaceID, id)
	}
	return s.BulkAction(ctx, admin, id)
}

func nonNilMapping(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

// EnqueueImport puts bulk action id on its workspace's stream. A failure
// is only logged: the action is queued in SQLite, and the workers' sweep
// puts every open action missing from the stream back on it.
func (s *Store) EnqueueImport(ctx context.Context, ws, id int64) {
	if s.rdb == nil {
		return
	}
	err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: ImportQueueKey(ws), Values: []any{"id", id}}).Err()
	if err != nil {
		s.log.Warn("enqueue import; the sweep will requeue it", "bulk_action", id, "err", err)
	}
}

const bulkActionCols = `id, workspace_id, kind, mode, status, file_name, file_path, file_size, delimiter, header, mapping, encoding,
	total, processed, created, updated, skipped, failed, next_offset, next_line, worker, heartbeat_at,
	created_by, created_at, started_at, finished_at, error`

func scanBulkAction(row interface{ Scan(...any) error }) (*BulkAction, error) {
	a := &BulkAction{}
	var header, mapping string
	err := row.Scan(&a.ID, &a.WorkspaceID, &a.Kind, &a.Mode, &a.Status, &a.FileName, &a.FilePath, &a.FileSize, &a.Delimiter,
		&header, &mapping, &a.Encoding, &a.Total, &a.Processed, &a.Created, &a.Updated, &a.Skipped, &a.Failed,
		&a.NextOffset, &a.NextLine, &a.Worker, &a.HeartbeatAt, &a.CreatedBy, &a.CreatedAt, &a.StartedAt, &a.FinishedAt, &a.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBulkActionNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(header), &a.Header); err != nil {
		return nil, fmt.Errorf("bulk action %d: header: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(mapping), &a.Mapping); err != nil {
		return nil, fmt.Errorf("bulk action %d: mapping: %w", a.ID, err)
	}
	return a, nil
}

var errBulkActionNotFound = Errorf(ENotFound, "Import not found.")

// BulkAction returns an import of admin's workspace; another workspace's
// answers ENotFound like one that does not exist.
func (s *Store) BulkAction(ctx context.Context, admin *User, id int64) (*BulkAction, error) {
	if !admin.IsAdmin() {
		return nil, errNotAdmin
	}
	return scanBulkAction(s.r.QueryRowContext(ctx, `SELECT `+bulkActionCols+` FROM bulk_actions WHERE id = ? AND workspace_id = ?`, id, admin.WorkspaceID))
}

// ListBulkActions returns the imports of admin's workspace, newest first.
func (s *Store) ListBulkActions(ctx context.Context, admin *User, limit int) ([]BulkAction, error) {
	if !admin.IsAdmin() {
		return nil, errNotAdmin
	}
	p := Problems{}
	if checkLimit(p, &limit, 100, 1000); len(p) > 0 {
		return nil, p.Err()
	}
	return s.bulkActions(ctx, `SELECT `+bulkActionCols+` FROM bulk_actions WHERE workspace_id = ? ORDER BY id DESC LIMIT ?`, admin.WorkspaceID, limit)
}

func (s *Store) bulkActions(ctx context.Context, query string, args ...any) ([]BulkAction, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []BulkAction{}
	for rows.Next() {
		a, err := scanBulkAction(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// StartBulkAction queues a draft with the confirmed column mapping.
func (s *Store) StartBulkAction(ctx context.Context, admin *User, id int64, mode string, mapping map[string]int) (*BulkAction, error) {
	a, err := s.BulkAction(ctx, admin, id)
	if err != nil {
		return nil, err
	}
	if a.Status != StatusDraft {
		return nil, Errorf(EConflict, "This import has already started.")
	}
	in := BulkActionInput{Kind: a.Kind, Mode: mode, Header: a.Header, Delimiter: a.Delimiter, Mapping: mapping}
	if err := in.normalize(); err != nil {
		return nil, err
	}
	m, _ := json.Marshal(nonNilMapping(mapping))
	res, err := s.w.ExecContext(ctx, `UPDATE bulk_actions SET status = 'queued', mode = ?, mapping = ? WHERE id = ? AND status = 'draft'`, in.Mode, string(m), id)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, Errorf(EConflict, "This import has already started.")
	}
	s.EnqueueImport(ctx, a.WorkspaceID, id)
	return s.BulkAction(ctx, admin, id)
}

// CancelBulkAction stops an import: a running worker notices at its next
// batch and stops there; rows already committed stay. It returns the
// action as it was before, so the caller knows whether a worker still
// holds the file.
func (s *Store) CancelBulkAction(ctx context.Context, admin *User, id int64) (*BulkAction, error) {
	a, err := s.BulkAction(ctx, admin, id)
	if err != nil {
		return nil, err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE bulk_actions SET status = 'cancelled', finished_at = ?, error = 'Cancelled.'
		WHERE id = ? AND status IN ('draft', 'queued', 'running')`, now(), id)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, Errorf(EConflict, "This import has already finished.")
	}
	return a, nil
}

// RetryBulkAction queues a failed import again. It resumes after its last
// committed batch, with its counters and rejected rows so far: what it
// wrote stays, and nothing is written twice. exists reports whether the
// action's file is still there to read.
func (s *Store) RetryBulkAction(ctx context.Context, admin *User, id int64, exists func(path string) bool) (*BulkAction, error) {
	a, err := s.BulkAction(ctx, admin, id)
	if err != nil {
		return nil, err
	}
	if a.Status != StatusFailed {
		return nil, Errorf(EConflict, "Only a failed import can be retried.")
	}
	if !exists(a.FilePath) {
		return nil, Errorf(EConflict, "The uploaded file is gone; upload it again.")
	}
	res, err := s.w.ExecContext(ctx, `UPDATE bulk_actions SET status = 'queued', error = '', finished_at = NULL, worker = ''
		WHERE id = ? AND status = 'failed'`, id)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, Errorf(EConflict, "Only a failed import can be retried.")
	}
	s.EnqueueImport(ctx, a.WorkspaceID, id)
	return s.BulkAction(ctx, admin, id)
}

// BulkActionError is one row an import did not take.
type BulkActionError struct {
	Line   int64
	Reason string
	Raw    string // the row as one CSV record
}

// EachBulkActionError calls fn for the rejected rows of an import of
// admin's workspace, in file order, streaming.
func (s *Store) EachBulkActionError(ctx context.Context, admin *User, id int64, fn func(e *BulkActionError) error) error {
	if _, err := s.BulkAction(ctx, admin, id); err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT line, reason, raw FROM bulk_action_errors WHERE bulk_action_id = ? ORDER BY line`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	var e BulkActionError
	for rows.Next() {
		if err := rows.Scan(&e.Line, &e.Reason, &e.Raw); err != nil {
			return err
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// The methods below serve the import workers. They read and write without
// a viewer and must never back a user-facing path.

// BulkActionByID returns any bulk action.
func (s *Store) BulkActionByID(ctx context.Context, id int64) (*BulkAction, error) {
	return scanBulkAction(s.r.QueryRowContext(ctx, `SELECT `+bulkActionCols+` FROM bulk_actions WHERE id = ?`, id))
}

// OpenBulkActions returns every queued or running action, oldest first.
func (s *Store) OpenBulkActions(ctx context.Context) ([]BulkAction, error) {
	return s.bulkActions(ctx, `SELECT `+bulkActionCols+` FROM bulk_actions WHERE status IN ('queued', 'running') ORDER BY id`)
}

// StaleDrafts returns drafts created before the given time (unix ms).
func (s *Store) StaleDrafts(ctx context.Context, before int64) ([]BulkAction, error) {
	return s.bulkActions(ctx, `SELECT `+bulkActionCols+` FROM bulk_actions WHERE status = 'draft' AND created_at < ? ORDER BY id`, before)
}

// DiscardDraft cancels a draft nobody started.
func (s *Store) DiscardDraft(ctx context.Context, id int64) error {
	_, err := s.w.ExecContext(ctx, `UPDATE bulk_actions SET status = 'cancelled', finished_at = ?, error = 'Never started.' WHERE id = ? AND status = 'draft'`, now(), id)
	return err
}

// ClaimBulkAction makes worker the holder of action id and returns it, or
// returns nil when the action is finished, still a draft, or running under
// another worker whose heartbeat is newer than staleBefore (unix ms).
func (s *Store) ClaimBulkAction(ctx context.Context, id int64, worker string, staleBefore int64) (*BulkAction, error) {
	t := now()
	res, err := s.w.ExecContext(ctx, `UPDATE bulk_actions SET status = 'running', worker = ?, heartbeat_at = ?, started_at = coalesce(started_at, ?)
		WHERE id = ? AND (status = 'queued' OR status = 'running' AND (worker = ? OR heartbeat_at < ?))`, worker, t, t, id, worker, staleBefore)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.BulkActionByID(ctx, id); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return s.BulkActionByID(ctx, id)
}

// ErrImportStopped is returned to a worker whose action was cancelled or
// taken over by another worker: it must stop without writing more.
var ErrImportStopped = Errorf(EConflict, "The import was cancelled or taken over by another worker.")

// holds runs fn in a write transaction if worker still holds action id.
func (s *Store) holds(ctx context.Context, id int64, worker string, fn func(tx *Tx) error) error {
	return s.tx(ctx, func(tx *Tx) error {
		var status, holder string
		if err := tx.QueryRow(`SELECT status, worker FROM bulk_actions WHERE id = ?`, id).Scan(&status, &holder); err != nil {
			return err
		}
		if status != StatusRunning || holder != worker {
			return ErrImportStopped
		}
		return fn(tx)
	})
}

// PrepareBulkAction records what the worker's first pass over the file
// found: the number of data rows and the text encoding.
func (s *Store) PrepareBulkAction(ctx context.Context, id int64, worker string, total int64, encoding string) error {
	return s.holds(ctx, id, worker, func(tx *Tx) error {
		_, err := tx.Exec(`UPDATE bulk_actions SET total = ?, encoding = ?, heartbeat_at = ? WHERE id = ?`, total, encoding, now(), id)
		return err
	})
}

// HeartbeatBulkAction tells other workers that worker is still at it.
func (s *Store) HeartbeatBulkAction(ctx context.Context, id int64, worker string) error {
	return s.holds(ctx, id, worker, func(tx *Tx) error {
		_, err := tx.Exec(`UPDATE bulk_actions SET heartbeat_at = ? WHERE id = ?`, now(), id)
		return err
	})
}

// FinishBulkAction sets the final status (done or failed, with a message)
// and records the whole import as one activity of the admin who started it.
func (s *Store) FinishBulkAction(ctx context.Context, id int64, worker, status, message string) error {
	return s.holds(ctx, id, worker, func(tx *Tx) error {
		if _, err := tx.Exec(`UPDATE bulk_actions SET status = ?, error = ?, finished_at = ?, worker = '' WHERE id = ?`, status, message, now(), id); err != nil {
			return err
		}
		var ws, created, updated, skipped, failed int64
		var file string
		by := &User{}
		if err := tx.QueryRow(`SELECT b.workspace_id, b.file_name, b.created, b.updated, b.skipped, b.failed, coalesce(u.id, 0), coalesce(u.name, '')
			FROM bulk_actions b LEFT JOIN users u ON u.id = b.created_by WHERE b.id = ?`, id).
			Scan(&ws, &file, &created, &updated, &skipped, &failed, &by.ID, &by.Name); err != nil {
			return err
		}
		outcome := "finished"
		if status == StatusFailed {
			outcome = "failed"
		}
		summary := fmt.Sprintf("Import of “%s” by %s %s: %d created, %d updated, %d skipped, %d failed",
			shortLabel(file), actorName(by), outcome, created, updated, skipped, failed)
		return tx.record(by, ws, 0, ActivityImportFinished, id, summary)
	})
}

// ReleaseBulkAction puts a running action back in the queue, for a worker
// that shuts down before it is done.
func (s *Store) ReleaseBulkAction(ctx context.Context, id int64, worker string) error {
	err := s.holds(ctx, id, worker, func(tx *Tx) error {
		_, err := tx.Exec(`UPDATE bulk_actions SET status = 'queued', worker = '' WHERE id = ?`, id)
		return err
	})
	if errors.Is(err, ErrImportStopped) {
		return nil
	}
	return err
}

// ImportedBatch calls contact and company with the current state of what
// import batch id wrote (deleted records are left out). It reports false
// when the batch is gone (already applied).
//
// It reads on a connection of its own with a small page cache: a big
// import's batches read the whole contacts table once, in order, and would
// otherwise leave a reader connection holding 64 MB of pages nobody reads
// again, on top of what the search index takes meanwhile.
func (s *Store) ImportedBatch(ctx context.Context, id int64, contact func(c *ContactRecord) error, company func(c *Company) error) (bool, error) {
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", importReadCache)); err != nil {
		return false, err
	}
	defer func() {
		// Back to the pool's size; the pages go now, not when the pool
		// closes the connection.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA cache_size = %d", readCacheSize)); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	var cblob, pblob []byte
	err = conn.QueryRowContext(ctx, `SELECT contacts, companies FROM bulk_action_batches WHERE id = ?`, id).Scan(&cblob, &pblob)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = eachChunk(decodeIDs(pblob), 500, func(chunk []any) error {
		return queryEach(ctx, conn, scanCompany, company, `SELECT `+companyCols+` FROM companies c WHERE c.id IN (`+placeholders(len(chunk))+`)`, chunk...)
	})
	if err != nil {
		return false, err
	}
	err = eachChunk(decodeIDs(cblob), 500, func(chunk []any) error {
		return queryEach(ctx, conn, scanContactRecord, contact, `SELECT `+contactCols+`, workspace_id FROM contacts WHERE id IN (`+placeholders(len(chunk))+`)`, chunk...)
	})
	return err == nil, err
}

// importReadCache is the page cache (in KiB, negative as SQLite takes it)
// of ImportedBatch's reads, and readCacheSize the read pool's (store.go's
// DSN).
const (
	importReadCache = -2048
	readCacheSize   = -65536
)

// DoneImportedBatch forgets an import batch once the index has it.
func (s *Store) DoneImportedBatch(ctx context.Context, id int64) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM bulk_action_batches WHERE id = ?`, id)
	return err
}

// encodeIDs packs ascending-sortable ids as varint deltas: a batch of new
// contacts has consecutive ids, one byte each.
func encodeIDs(ids []int64) []byte {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make([]byte, 0, len(ids)+8)
	var prev int64
	for _, id := range ids {
		out = binary.AppendUvarint(out, uint64(id-prev))
		prev = id
	}
	return out
}

func decodeIDs(b []byte) []int64 {
	var ids []int64
	var prev int64
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 {
			break
		}
		prev += int64(d)
		ids = append(ids, prev)
		b = b[n:]
	}
	return ids
}

func eachChunk(ids []int64, size int, fn func(chunk []any) error) error {
	args := make([]any, 0, size)
	for start := 0; start < len(ids); start += size {
		args = args[:0]
		for _, id := range ids[start:min(start+size, len(ids))] {
			args = append(args, id)
		}
		if err := fn(args); err != nil {
			return err
		}
	}
	return nil
}

// asciiLower folds ASCII letters only, as SQLite's NOCASE does, so that
// the session's maps agree with the database on what is the same name.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// webDomain is the host of a company's website without "www.", the
// domain its people's e-mail addresses are expected at.
func webDomain(website string) string {
	if website == "" {
		return ""
	}
	u, err := url.Parse(website)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(asciiLower(u.Hostname()), "www.")
}

// parentDomain drops the first label of a domain of three or more labels
// (sales.acme.com -> acme.com), for addresses at a company's subdomain.
func parentDomain(d string) (string, bool) {
	if strings.Count(d, ".") < 2 {
		return "", false
	}
	return d[strings.IndexByte(d, '.')+1:], true
}

// freeMail are public mail providers: an address there says nothing about
// the person's company, so the import does not make a company of it.
var freeMail = map[string]bool{}

func init() {
	for _, d := range strings.Fields(`gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de ymail.com hotmail.com
		hotmail.co.uk hotmail.fr hotmail.de outlook.com outlook.fr outlook.de live.com live.co.uk msn.com icloud.com me.com
		mac.com aol.com gmx.com gmx.de gmx.net gmx.at web.de t-online.de freenet.de proton.me protonmail.com pm.me
		zoho.com yandex.ru yandex.com mail.ru inbox.ru bk.ru list.ru qq.com 163.com 126.com sina.com naver.com
		fastmail.com hey.com tutanota.com orange.fr wanadoo.fr free.fr laposte.net libero.it virgilio.it
		btinternet.com sky.com comcast.net verizon.net att.net sbcglobal.net bigpond.com`) {
		freeMail[d] = true
	}
}
