package proc

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer the flusher writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogWriter: lines written from many goroutines all arrive, whole and
// each once, on the ticker, early when much is waiting, and at Close.
func TestLogWriter(t *testing.T) {
	var dst lockedBuffer
	l := NewLogWriter(&dst, time.Hour) // only size and Close flush here
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				fmt.Fprintf(l, "g%d line %d %s\n", g, i, strings.Repeat("x", 20))
			}
		}()
	}
	wg.Wait()
	// 16,000 lines of ~35 bytes pass logFlushBytes: some were written early.
	deadline := time.Now().Add(5 * time.Second)
	for dst.String() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if dst.String() == "" {
		t.Fatal("nothing written before Close although the buffer filled")
	}
	l.Close()
	lines := strings.Split(strings.TrimSuffix(dst.String(), "\n"), "\n")
	seen := map[string]bool{}
	for _, line := range lines {
		if seen[line] || !strings.HasSuffix(line, strings.Repeat("x", 20)) {
			t.Fatalf("line %q torn or repeated", line)
		}
		seen[line] = true
	}
	if len(seen) != 8*2000 {
		t.Fatalf("%d lines arrived, want %d", len(seen), 8*2000)
	}

	// The ticker flushes without Close.
	var dst2 lockedBuffer
	l2 := NewLogWriter(&dst2, 20*time.Millisecond)
	defer l2.Close()
	l2.Write([]byte("one line\n"))
	deadline = time.Now().Add(5 * time.Second)
	for dst2.String() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if dst2.String() != "one line\n" {
		t.Fatalf("after the interval: %q", dst2.String())
	}
}
