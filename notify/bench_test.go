package notify_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/notify"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// BenchmarkSchedule measures, with 10,000 recipients of 3 pending
// activities each fed through the stream: Redis memory per pending
// activity (MEMORY USAGE of every pending set and the due set) and the
// Redis time of an idle scheduler tick (INFO commandstats).
func BenchmarkSchedule(b *testing.B) {
	env := storetest.Open(b)
	ctx := context.Background()
	p := notify.New(env.Store, slog.New(slog.NewTextHandler(io.Discard, nil)), []time.Duration{time.Hour}, "bench")
	const recipients, each = 10000, 3
	ws := store.DefaultWorkspace
	stream := store.Key(ws, "notify", "stream")
	start := time.Now().UnixMilli()
	pipe := env.Redis.Pipeline()
	for i := 0; i < recipients*each; i++ {
		r := fmt.Sprintf("%d:%d", i%recipients+1, time.Hour.Milliseconds())
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"a", 1_000_000 + i, "t", start + int64(i), "r", r}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	for {
		n, err := p.Work(ctx, ws, 500, 0)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	rate := float64(recipients*each) / time.Since(began).Seconds()
	var bytes int64
	for uid := 1; uid <= recipients; uid++ {
		n, err := env.Redis.MemoryUsage(ctx, store.Key(ws, "notify", "pending", uid)).Result()
		if err != nil {
			b.Fatal(err)
		}
		bytes += n
	}
	due, _ := env.Redis.MemoryUsage(ctx, store.Key(ws, "notify", "due")).Result()
	perPending := float64(bytes+due) / float64(recipients*each)

	env.Redis.Set(ctx, store.Key(ws, "notify", "built"), 1, 0)
	env.Redis.ConfigResetStat(ctx)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n, err := p.Tick(ctx, ws, 100); err != nil || n != 0 {
			b.Fatal(n, err)
		}
	}
	b.StopTimer()
	// ResetTimer drops metrics reported before it.
	b.ReportMetric(rate, "activities/s")
	b.ReportMetric(perPending, "bytes/pending")
	info, _ := env.Redis.Info(ctx, "commandstats").Result()
	for _, line := range strings.Split(info, "\n") {
		if strings.HasPrefix(line, "cmdstat_evalsha:") {
			var calls, usec int64
			var per float64
			fmt.Sscanf(strings.TrimPrefix(line, "cmdstat_evalsha:"), "calls=%d,usec=%d,usec_per_call=%f", &calls, &usec, &per)
			b.ReportMetric(per, "redis-µs/idle-tick")
		}
	}
}

// BenchmarkRebuild measures rebuilding the schedule after Redis lost
// everything: 1M pending rows, 10 each for 100,000 recipients.
func BenchmarkRebuild(b *testing.B) {
	env := storetest.Open(b)
	ctx := context.Background()
	// The rows go in straight, without their users and activities, which
	// the rebuild does not read (foreign keys are off on this connection).
	db, err := sql.Open("sqlite3", filepath.Join(env.Dir, "rolodex.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, _ := db.Begin()
	stmt, _ := tx.Prepare(`INSERT INTO digest_pending (workspace_id, user_id, activity_id, created_at) VALUES (1, ?, ?, ?)`)
	const users, each = 100_000, 10
	for u := 1; u <= users; u++ {
		for i := range each {
			if _, err := stmt.Exec(u, u*each+i, 1_700_000_000_000+int64(i)*1000); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	p := notify.New(env.Store, slog.New(slog.NewTextHandler(io.Discard, nil)), []time.Duration{time.Hour}, "bench")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		env.Redis.FlushAll(ctx)
		if err := p.Rebuild(ctx, store.DefaultWorkspace); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n, _ := env.Redis.ZCard(ctx, store.Key(store.DefaultWorkspace, "notify", "due")).Result(); n != users {
		b.Fatalf("due set holds %d recipients, want %d", n, users)
	}
	b.ReportMetric(float64(users*each)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
}
