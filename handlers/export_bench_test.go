package handlers_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// TestExportBenchReport is the export part of `make bench`, skipped
// unless ROLODEX_BENCH_OUT names the report (it appends a section). It
// generates N companies and N contacts (default 1M, ROLODEX_BENCH_N) as
// TestBenchReport does, then downloads the contacts export over HTTP from
// the server in this process: as an admin (CSV, then JSON lines) and as a
// staff user with 1,000 clients. The peak RSS is this process's, server
// and client, over the download alone: the high-water mark is reset
// (/proc/self/clear_refs) after the data is generated and the heap
// collected.
func TestExportBenchReport(t *testing.T) {
	out := os.Getenv("ROLODEX_BENCH_OUT")
	if out == "" {
		t.Skip("set ROLODEX_BENCH_OUT (make bench) to run the benchmark")
	}
	n := 1_000_000
	fmt.Sscan(os.Getenv("ROLODEX_BENCH_N"), &n)
	a := newTestApp(t)
	ctx := context.Background()
	start := time.Now()
	generate(t, filepath.Join(a.Dir, "rolodex.db"), n)
	genTime := time.Since(start)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	rng := rand.New(rand.NewPCG(3, 4))
	var clients []int64
	for len(clients) < 1000 {
		clients = append(clients, 1+rng.Int64N(int64(n)))
	}
	if err := a.Store.SetUserClients(ctx, admin(), staff.ID, clients); err != nil {
		t.Fatal(err)
	}

	type result struct {
		rows       int64
		bytes      int64
		wall       time.Duration
		rss, delta int64 // peak RSS during the download, and its rise over the RSS before it
		heap       int64 // the largest live Go heap a collection found during it
	}
	download := func(u *store.User, file string) result {
		c := a.client(t, u)
		runtime.GC()
		debug.FreeOSMemory()
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			t.Fatalf("reset the peak RSS: %v", err)
		}
		before := procStatus(t, "VmRSS")
		stop := liveHeapPeak()
		start := time.Now()
		resp, err := c.Get(a.Server.URL + "/api/v1/export/" + file)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", file, resp.StatusCode)
		}
		var r result
		br := bufio.NewReaderSize(resp.Body, 64<<10)
		for {
			line, err := br.ReadSlice('\n')
			r.bytes += int64(len(line))
			if len(line) > 0 && line[len(line)-1] == '\n' {
				r.rows++
			}
			if err == io.EOF {
				break
			}
			if err != nil && err != bufio.ErrBufferFull {
				t.Fatal(err)
			}
		}
		r.wall = time.Since(start)
		r.heap = stop()
		r.rss = procStatus(t, "VmHWM")
		r.delta = r.rss - before
		if strings.HasSuffix(file, ".csv") {
			r.rows-- // the header
		}
		return r
	}
	csvAdmin := download(adm, "contacts.csv")
	if csvAdmin.rows < int64(n) { // a line break inside a field would count twice; generate writes none
		t.Fatalf("contacts.csv: %d lines for %d contacts", csvAdmin.rows, n)
	}
	jsonAdmin := download(adm, "contacts.jsonl")
	csvStaff := download(staff, "contacts.csv")

	var r strings.Builder
	row := func(format string, args ...any) { fmt.Fprintf(&r, format+"\n", args...) }
	row("\n## Export (issue 13)\n")
	row("Command: `make bench` (TestExportBenchReport, ROLODEX_BENCH_N=%d); machine: 2 cores, shared; %s", n, time.Now().UTC().Format("2006-01-02"))
	row("")
	row("%s contacts over %s companies, generated straight into SQLite in %s. `GET /api/v1/export/contacts.*` from the server in the test process, read to the end by a client in the same process. Peak RSS is the process's high-water mark during the download (reset before it, after a collection); the rise is that over its RSS just before (SQLite's page cache, 64 MiB per read connection, is part of it). The live Go heap is what each collection during the download found reachable: rows held would show there.",
		views.Thousands(int64(n)), views.Thousands(int64(n)), genTime.Round(time.Millisecond))
	row("")
	row("| download | rows | size | wall time | rows/s | peak RSS (rise) | peak live Go heap | target |")
	row("| --- | --- | --- | --- | --- | --- | --- | --- |")
	line := func(what string, x result, target string) {
		row("| %s | %s | %.1f MB | %s | %s | %d MB (+%d MB) | %d MB | %s |", what, views.Thousands(x.rows), float64(x.bytes)/1e6,
			x.wall.Round(time.Millisecond), views.Thousands(int64(float64(x.rows)/x.wall.Seconds())), x.rss>>20, x.delta>>20, x.heap>>20, target)
	}
	line("contacts.csv, admin", csvAdmin, "≤ 10 s for 1M, not held in memory")
	line("contacts.jsonl, admin", jsonAdmin, "")
	line("contacts.csv, staff with 1,000 clients", csvStaff, "")
	t.Log(r.String())
	f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(r.String()); err != nil {
		t.Fatal(err)
	}
}

// liveHeapPeak follows the live Go heap (what the last collection found
// reachable) until the returned function is called, which answers its
// largest value.
func liveHeapPeak() func() int64 {
	done := make(chan int64)
	stop := make(chan struct{})
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		var peak int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, int64(sample[0].Value.Uint64()))
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 { close(stop); return <-done }
}

// procStatus is a size field of /proc/self/status (VmRSS, VmHWM), in bytes.
func procStatus(t *testing.T, field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
