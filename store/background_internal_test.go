package store

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestBackgroundOwned: Close cancels background work and waits for it
// before closing the pools, and a panic in it is logged with its stack
// instead of ending the process.
func TestBackgroundOwned(t *testing.T) {
	var logs syncBuffer
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "r.db"), nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	st.background("panics", func(context.Context) { panic("boom") })
	finished := false
	started := make(chan struct{})
	st.background("waits", func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		// Still allowed to use the store: Close has not closed it yet.
		if _, err := st.CountUsers(context.Background()); err != nil {
			t.Errorf("store closed under running background work: %v", err)
		}
		finished = true
	})
	<-started
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if !finished {
		t.Error("Close returned before the background work ended")
	}
	if out := logs.String(); !strings.Contains(out, "boom") || !strings.Contains(out, "background_internal_test.go") {
		t.Errorf("the panic was not logged with its stack:\n%s", out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
