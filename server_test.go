package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestSlowClientIsCutOff: a client that sends its body a byte at a time
// loses its connection once the server's read timeout is up, instead of
// holding it for as long as it likes. The test runs the server as
// configured, with every timeout a hundredth as long.
func TestSlowClientIsCutOff(t *testing.T) {
	for name, d := range map[string]time.Duration{"header": serverTimeouts.header, "read": serverTimeouts.read,
		"write": serverTimeouts.write, "idle": serverTimeouts.idle} {
		if d <= 0 || d > 5*time.Minute {
			t.Errorf("%s timeout %v", name, d)
		}
	}
	scaled := timeouts{serverTimeouts.header / 100, serverTimeouts.read / 100, serverTimeouts.write / 100, serverTimeouts.idle / 100}
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // as a form or JSON handler would
	}), slog.New(slog.DiscardHandler), scaled)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
	closed := make(chan time.Duration, 1)
	go func() {
		io.Copy(io.Discard, conn) // returns when the server closes
		closed <- time.Since(start)
	}()
	tick := time.NewTicker(scaled.read / 10)
	defer tick.Stop()
	for i := 0; i < 1000; i++ {
		select {
		case d := <-closed:
			t.Logf("cut off after %v (read timeout %v)", d, scaled.read)
			return
		case <-tick.C:
			conn.Write([]byte("a"))
		}
	}
	t.Fatalf("a body sent a byte every %v was read to its end (%v)", scaled.read/10, time.Since(start))
}
