package store

import (
	"context"
	"time"
)

// Outbox kinds. Each names what to bring up to date, never how: the applier
// reloads the current row from SQLite, so applying twice or out of order
// leaves the same result.
const (
	OutboxCompany     = "company"      // ref: company id; reindex or unindex it
	OutboxContact     = "contact"      // ref: contact id; reindex or unindex it
	OutboxUserClients = "user_clients" // ref: user id; rewrite the user's Redis client set
	OutboxMeeting     = "meeting"      // ref: meeting id; move it in (or out of) the Redis meeting lists
)

// OutboxItem is one pending change for Redis or the search index.
type OutboxItem struct {
	ID          int64
	WorkspaceID int64
	Kind        string
	RefID       int64
}

// queue records an outbox row in the transaction.
func (t *Tx) queue(ws int64, kind string, ref int64) error {
	res, err := t.Exec(`INSERT INTO outbox (workspace_id, kind, ref_id, created_at) VALUES (?, ?, ?, ?)`, ws, kind, ref, now())
	if err != nil {
		return err
	}
	id, _ := res.LastInsertId()
	t.outbox = append(t.outbox, OutboxItem{ID: id, WorkspaceID: ws, Kind: kind, RefID: ref})
	return nil
}

// PendingOutbox returns up to limit rows not yet applied, oldest first.
func (s *Store) PendingOutbox(ctx context.Context, limit int) ([]OutboxItem, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, workspace_id, kind, ref_id FROM outbox ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []OutboxItem
	for rows.Next() {
		var it OutboxItem
		if err := rows.Scan(&it.ID, &it.WorkspaceID, &it.Kind, &it.RefID); err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// DoneOutbox deletes applied rows.
func (s *Store) DoneOutbox(ctx context.Context, items []OutboxItem) error {
	if len(items) == 0 {
		return nil
	}
	args := make([]any, len(items))
	for i, it := range items {
		args[i] = it.ID
	}
	_, err := s.w.ExecContext(ctx, `DELETE FROM outbox WHERE id IN (`+placeholders(len(args))+`)`, args...)
	return err
}

// CountOutbox returns how many rows are pending (for /healthz and tests).
func (s *Store) CountOutbox(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox`).Scan(&n)
	return n, err
}

// OldestOutbox returns how long the oldest pending row has waited, 0 when
// none is pending. Rows are applied within moments of their commit; one
// that waits long says Redis or the index refuses them.
func (s *Store) OldestOutbox(ctx context.Context) (time.Duration, error) {
	created, err := queryColumn[int64](ctx, s.r, `SELECT created_at FROM outbox ORDER BY id LIMIT 1`)
	if err != nil || len(created) == 0 {
		return 0, err
	}
	return time.Duration(max(0, now()-created[0])) * time.Millisecond, nil
}
