package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

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
