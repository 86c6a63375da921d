package redisproc

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func ping(t *testing.T, opts *redis.Options) error {
	t.Helper()
	c := redis.NewClient(opts)
	defer c.Close()
	return c.Ping(context.Background()).Err()
}

// TestStartPaths: redis-server changes into --dir before it opens
// --logfile, so a relative dir once made `make run` fail; a dir with
// spaces and one too deep for a unix socket path must work too.
func TestStartPaths(t *testing.T) {
	for _, dir := range []string{
		"data/redis",
		"my data/redis dir",
		strings.Repeat("deep/", 25) + "redis",
	} {
		t.Run(dir, func(t *testing.T) {
			t.Chdir(t.TempDir())
			rs, err := Start(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Stop()
			if err := ping(t, rs.Options()); err != nil {
				t.Fatal(err)
			}
			abs, _ := filepath.Abs(dir)
			if _, err := os.Stat(filepath.Join(abs, "redis.log")); err != nil {
				t.Errorf("log file not in the data dir: %v", err)
			}
		})
	}
}

// TestSupervise: a killed redis-server is restarted and the same client
// options reach the new one; when the context ends the server is stopped
// and no child is left.
func TestSupervise(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Deep enough that every restart gets a new socket path.
	s, err := Supervise(ctx, strings.Repeat("deep/", 25)+"redis", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.retry = 10 * time.Millisecond
	c := redis.NewClient(s.Options())
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	first := s.Server()
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.Exited()
	deadline := time.Now().Add(10 * time.Second)
	for s.Server() == first || c.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server was not restarted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	second := s.Server()
	if second.socket == first.socket {
		t.Fatalf("restart reused socket %s; the test no longer covers a new path", first.socket)
	}

	cancel()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("supervision did not end")
	}
	for _, rs := range []*Server{first, second} {
		select {
		case <-rs.Exited():
		default:
			t.Errorf("redis-server %d still running", rs.cmd.Process.Pid)
		}
		// Reaped, so the pid no longer exists (no zombie either).
		if err := syscall.Kill(rs.cmd.Process.Pid, 0); err != syscall.ESRCH {
			t.Errorf("pid %d: kill 0 = %v, want ESRCH", rs.cmd.Process.Pid, err)
		}
	}
}
