package proc

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// LogWriter buffers log lines for w and writes them from one goroutine at
// most every interval, and at once when a lot is waiting. slog's handlers
// hold a lock across each Write; with one write system call per request
// line, a logger descheduled mid-write made every other request wait
// behind it. Here a Write only copies into memory. Close flushes what is
// left; a crash loses at most the last interval's lines.
type LogWriter struct {
	w        io.Writer
	mu       sync.Mutex
	buf      bytes.Buffer
	kick     chan struct{}
	done     chan struct{}
	stopped  chan struct{}
	closeOne sync.Once
}

// logFlushBytes is how much may wait before the flusher is woken early.
const logFlushBytes = 64 << 10

// NewLogWriter starts the flusher for w.
func NewLogWriter(w io.Writer, interval time.Duration) *LogWriter {
	l := &LogWriter{w: w, kick: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go l.run(interval)
	return l
}

func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	full := l.buf.Len() >= logFlushBytes
	l.mu.Unlock()
	if full {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (l *LogWriter) run(interval time.Duration) {
	defer close(l.stopped)
	t := time.NewTicker(interval)
	defer t.Stop()
	var out bytes.Buffer
	for {
		select {
		case <-t.C:
		case <-l.kick:
		case <-l.done:
			l.flush(&out)
			return
		}
		l.flush(&out)
	}
}

// flush swaps the buffer out under the lock and writes it outside it.
func (l *LogWriter) flush(out *bytes.Buffer) {
	l.mu.Lock()
	l.buf, *out = *out, l.buf
	l.mu.Unlock()
	if out.Len() > 0 {
		l.w.Write(out.Bytes())
		out.Reset()
	}
}

// Close writes what is buffered and stops the flusher.
func (l *LogWriter) Close() error {
	l.closeOne.Do(func() { close(l.done) })
	<-l.stopped
	return nil
}
