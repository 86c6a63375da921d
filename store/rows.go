package store

import (
	"context"
	"database/sql"
	"slices"
)

// querier is what runs a query: *sql.DB, *sql.Tx (and Tx), *sql.Conn.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queryEach runs query and calls fn with each row, read into a fresh T by
// scan: the one loop behind every read that streams its rows.
func queryEach[T any](ctx context.Context, q querier, scan func(row interface{ Scan(...any) error }, v *T) error, fn func(v *T) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return err
		}
		if err := fn(&v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// queryColumn returns the one column of query's rows; never nil.
func queryColumn[T any](ctx context.Context, q querier, query string, args ...any) ([]T, error) {
	out := []T{}
	err := queryEach(ctx, q, func(row interface{ Scan(...any) error }, v *T) error { return row.Scan(v) },
		func(v *T) error { out = append(out, *v); return nil }, query, args...)
	return out, err
}

// pageOf trims a page read with one row beyond limit (to learn whether
// there are more) and puts a page read backwards (towards the previous
// page) back in display order.
func pageOf[T any](items []T, limit int, back bool) ([]T, bool) {
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if back {
		slices.Reverse(items)
	}
	return items, more
}
