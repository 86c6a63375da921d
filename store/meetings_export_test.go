package store

import (
	"context"
	"strconv"
	"time"
)

// Hooks for the meeting tests and benchmarks (package store_test).

// ListMeetingsRedis answers q from the Redis index only; ready is false
// when the index is not complete.
func (s *Store) ListMeetingsRedis(ctx context.Context, u *User, q MeetingQuery) (*MeetingPage, bool, error) {
	mq, err := s.PrepareMeetingQuery(ctx, u, q)
	if err != nil {
		return nil, false, err
	}
	return s.meetings.List(ctx, u, mq)
}

// WaitRebuilds waits for background rebuilds (rebuildSoon) to end.
func (s *Store) WaitRebuilds() {
	for {
		busy := false
		s.rebuilding.Range(func(_, _ any) bool { busy = true; return false })
		if !busy {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BulkCompanies inserts n companies named prefix-<i> in one transaction,
// without outbox rows, and returns their ids.
func (s *Store) BulkCompanies(ctx context.Context, ws int64, prefix string, n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	err := s.tx(ctx, func(tx *Tx) error {
		stmt, err := tx.Prepare(`INSERT INTO companies (workspace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		t := now()
		for i := 0; i < n; i++ {
			res, err := stmt.Exec(ws, prefix+"-"+itoa(i), t, t)
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

// BulkMeetings inserts meetings as given (ids are assigned) in batches,
// without outbox rows: follow with RebuildRedis.
func (s *Store) BulkMeetings(ctx context.Context, ws int64, ms []Meeting) error {
	for start := 0; start < len(ms); start += 50000 {
		chunk := ms[start:min(start+50000, len(ms))]
		err := s.tx(ctx, func(tx *Tx) error {
			stmt, err := tx.Prepare(`INSERT INTO meetings (workspace_id, company_id, owner_id, type, status, subject, details, starts_at, ends_at, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for i := range chunk {
				m := &chunk[i]
				res, err := stmt.Exec(ws, m.CompanyID, m.OwnerID, m.Type, m.Status, m.Subject, m.Details, m.StartsAt, m.EndsAt, m.CreatedAt, m.UpdatedAt)
				if err != nil {
					return err
				}
				m.ID, _ = res.LastInsertId()
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }
