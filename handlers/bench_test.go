package handlers_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rolodex/rolodex/jobs"
	"github.com/rolodex/rolodex/proc"
	"github.com/rolodex/rolodex/store"
)

// TestBenchReport is `make bench`: it is skipped unless ROLODEX_BENCH_OUT
// names the report file. It builds N companies and N contacts (default 1M,
// ROLODEX_BENCH_N), then measures as-you-type search, the company page and
// the home page beside a minimal handler serving the same bytes (the
// company page's), in one run.
func TestBenchReport(t *testing.T) {
	out := os.Getenv("ROLODEX_BENCH_OUT")
	if out == "" {
		t.Skip("set ROLODEX_BENCH_OUT (make bench) to run the benchmark")
	}
	n := 1_000_000
	fmt.Sscan(os.Getenv("ROLODEX_BENCH_N"), &n)
	a := newTestApp(t)
	ctx := context.Background()
	var report strings.Builder
	row := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		fmt.Fprintln(&report, line)
		t.Log(line)
	}

	start := time.Now()
	generate(t, filepath.Join(a.Dir, "rolodex.db"), n)
	genTime := time.Since(start)
	start = time.Now()
	if err := jobs.Reindex(ctx, a.Store, a.Index, nil); err != nil {
		t.Fatal(err)
	}
	indexTime := time.Since(start)

	staff := a.User(t, "staff@example.com", store.RoleStaff)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	rng := rand.New(rand.NewPCG(1, 2))
	// The first client is a company with a timeline (generate gives one
	// to every noteStep-th company): the page the load test opens.
	clients := []int64{1 + noteStep(n)*rng.Int64N(int64(n)/noteStep(n))}
	for len(clients) < 1000 {
		clients = append(clients, 1+rng.Int64N(int64(n)))
	}
	if err := a.Store.SetUserClients(ctx, admin(), staff.ID, clients); err != nil {
		t.Fatal(err)
	}
	// The home page's day, on every client but the one whose company page
	// is measured, so that page stays as earlier reports measured it.
	colleague := a.User(t, "colleague@example.com", store.RoleStaff)
	generateDay(t, filepath.Join(a.Dir, "rolodex.db"), n, staff, colleague, adm, clients[1:])
	if err := a.Store.RebuildRedis(ctx, store.DefaultWorkspace); err != nil {
		t.Fatal(err)
	}

	// As-you-type: every prefix of real names, as the box sends them.
	var queries []string
	for i := 0; len(queries) < 2000; i++ {
		name := benchName(rng)
		for l := 1; l <= len(name) && l <= 10; l++ {
			queries = append(queries, name[:l])
		}
	}
	searchLatency := func(u *store.User) (p50, p99 time.Duration) {
		c := a.client(t, u)
		var lat []time.Duration
		type slow struct {
			q string
			i int
			d time.Duration
		}
		var slowest []slow
		defer func() {
			sort.Slice(slowest, func(i, j int) bool { return slowest[i].d > slowest[j].d })
			for _, s := range slowest[:min(len(slowest), 12)] {
				t.Logf("slow search (%s) #%d %q: %s", u.Email, s.i, s.q, s.d)
			}
		}()
		for i, q := range queries[:2000] {
			s := time.Now()
			resp, err := c.Get(a.Server.URL + "/api/v1/search?q=" + url.QueryEscape(q))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("search %q: %d", q, resp.StatusCode)
			}
			lat = append(lat, time.Since(s))
			slowest = append(slowest, slow{q, i, lat[len(lat)-1]})
		}
		return pct(lat, 50), pct(lat, 99)
	}
	sp50, sp99 := searchLatency(staff)
	ap50, ap99 := searchLatency(adm)

	// The company page of one of the staff user's clients, with a timeline.
	sc := a.client(t, staff)
	resp, body := do(t, sc, "GET", fmt.Sprintf("%s/companies/%d", a.Server.URL, clients[0]), "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("company page: %d", resp.StatusCode)
	}
	// Under load, both servers are plain net/http servers (httptest's
	// connection tracking takes a lock on every request), and the request
	// log goes to a file, as `rolodex serve` writes it to stderr.
	logPath := os.Getenv("ROLODEX_BENCH_LOG") // to read the server's own timings
	if logPath == "" {
		logPath = filepath.Join(t.TempDir(), "requests.log")
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	logOut := proc.NewLogWriter(logFile, logFlush) // as main.go does for serve
	defer logOut.Close()
	a.Handler.Log = slog.New(slog.NewTextHandler(logOut, nil))
	server := serve(t, a.Handler.Routes())
	pageURL := server + fmt.Sprintf("/companies/%d", clients[0])
	staticURL := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, body)
	}))
	cookies := sc.Jar.Cookies(mustURL(a.Server.URL))
	// The home page, as the staff user and as an admin.
	ac := a.client(t, adm)
	for _, c := range []*http.Client{sc, ac} {
		if resp, _ := do(t, c, "GET", a.Server.URL+"/", "", ""); resp.StatusCode != 200 {
			t.Fatalf("home page: %d", resp.StatusCode)
		}
	}
	homeURL := server + "/"
	adminCookies := ac.Jar.Cookies(mustURL(a.Server.URL))
	// load runs one load test; cpu is the server's CPU time per request
	// (this process's user and system time over the run; wrk is another
	// process), which is what sets the throughput.
	type result struct {
		rps      float64
		p99, cpu time.Duration
		inside   []time.Duration // p50, p90, p99 in the request log, when read
	}
	loadAs := func(cookies []*http.Cookie, target string, cpus []int) result {
		before := cpuTime()
		rps, p99 := loadTest(t, target, cookies, 64, 10*time.Second, cpus)
		return result{rps: rps, p99: p99, cpu: time.Duration(float64(cpuTime()-before) / (rps * 10))}
	}
	load := func(target string, cpus []int) result { return loadAs(cookies, target, cpus) }
	// logged is run, with the server's own timings of the requests whose
	// log line has match if read, to tell its time from the load
	// generator's.
	logged := func(read bool, match string, run func() result) result {
		if !read {
			return run()
		}
		mark := logMark(t, logPath)
		r := run()
		p50, p90, p99 := serverTimes(t, logPath, mark, match)
		r.inside = []time.Duration{p50, p90, p99}
		return r
	}
	pagePath := fmt.Sprintf("path=/companies/%d ", clients[0])
	homePath := "path=/ "
	// The collector as `rolodex serve` sets it.
	defer proc.TuneGC()()
	// ROLODEX_BENCH_CPUPROFILE names a file for a CPU profile of the
	// company page under load (the first page run).
	profile := func() (stop func()) {
		path := os.Getenv("ROLODEX_BENCH_CPUPROFILE")
		if path == "" {
			return func() {}
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		return func() { pprof.StopCPUProfile(); f.Close() }
	}

	// First the server and wrk on cores of their own (the targets' row),
	// then both sharing every core, as the earlier reports measured.
	var ownStatic, ownPage, ownHome, ownHomeAdmin result
	loadCPUs, undo, owned := ownCores(t)
	if owned {
		ownStatic = load(staticURL, loadCPUs)
		stop := profile()
		ownPage = logged(true, pagePath, func() result { return load(pageURL, loadCPUs) })
		stop()
		ownHome = logged(true, homePath, func() result { return load(homeURL, loadCPUs) })
		ownHomeAdmin = logged(true, homePath, func() result { return loadAs(adminCookies, homeURL, loadCPUs) })
		undo()
	}
	sharedStatic := load(staticURL, nil)
	stop := func() {}
	if !owned { // else the profile is of the first page run
		stop = profile()
	}
	// With cores of their own, the server's timings are of those runs.
	sharedPage := logged(!owned, pagePath, func() result { return load(pageURL, nil) })
	stop()
	sharedHome := logged(!owned, homePath, func() result { return load(homeURL, nil) })
	sharedHomeAdmin := logged(!owned, homePath, func() result { return loadAs(adminCookies, homeURL, nil) })
	logOut.Close()

	row("Command: `make bench` (ROLODEX_BENCH_N=%d); machine: 2 cores, 24 GiB; %s", n, time.Now().UTC().Format("2006-01-02"))
	row("")
	row("| measure | result | target |")
	row("| --- | --- | --- |")
	row("| generate %d companies + %d contacts in SQLite | %s | |", n, n, genTime.Round(time.Millisecond))
	row("| build the search index (%d docs) | %s | |", 2*n, indexTime.Round(time.Millisecond))
	row("| search as you type, staff with 1,000 clients, p50 / p99 | %s / %s | p99 ≤ 15 ms |", ms(sp50), ms(sp99))
	row("| search as you type, admin, p50 / p99 | %s / %s | p99 ≤ 15 ms |", ms(ap50), ms(ap99))
	// inside is a page's times in the server, below its row if read.
	inside := func(r result) {
		if r.inside != nil {
			row("| … of which inside the server (request log), p50 / p90 / p99 | %s / %s / %s | |", ms(r.inside[0]), ms(r.inside[1]), ms(r.inside[2]))
		}
	}
	loadRows := func(place string, static, page, home, homeAdmin result) {
		row("| minimal handler, same bytes, 64 connections, %s | %.0f req/s, p99 %s; server CPU %s a request | baseline |", place, static.rps, ms(static.p99), us(static.cpu))
		row("| company page, 64 connections, %s | %.0f req/s (%.0f%% of baseline), p99 %s; server CPU %s a request | ≥ 25%%, p99 ≤ 20 ms |", place, page.rps, 100*page.rps/static.rps, ms(page.p99), us(page.cpu))
		inside(page)
		row("| home page, staff with 1,000 clients, 64 connections, %s | %.0f req/s (%.0f%% of baseline), p99 %s; server CPU %s a request | ≥ 25%%, p99 ≤ 20 ms |", place, home.rps, 100*home.rps/static.rps, ms(home.p99), us(home.cpu))
		inside(home)
		row("| home page, admin, 64 connections, %s | %.0f req/s (%.0f%% of baseline), p99 %s; server CPU %s a request | ≥ 25%%, p99 ≤ 20 ms |", place, homeAdmin.rps, 100*homeAdmin.rps/static.rps, ms(homeAdmin.p99), us(homeAdmin.cpu))
		inside(homeAdmin)
	}
	if owned {
		loadRows(fmt.Sprintf("server on %d of %d cores, wrk on the rest", runtime.NumCPU()-len(loadCPUs), runtime.NumCPU()), ownStatic, ownPage, ownHome, ownHomeAdmin)
	}
	loadRows("server and load sharing every core", sharedStatic, sharedPage, sharedHome, sharedHomeAdmin)
	row("")
	loader := "a Go load generator in the same process"
	if _, err := exec.LookPath("wrk"); err == nil {
		loader = "wrk on the same machine, one thread per core it runs on"
	}
	row("Load: %s, 64 connections, 10 s each, one after the other.", loader)
	row("Search timings are end to end over HTTP on loopback (session, client set, Bleve, naming the hits in SQLite), %d queries of 1–10 character prefixes each.", 2000)
	if err := os.WriteFile(out, []byte("# Benchmarks\n\n"+report.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// serve runs h on a plain http.Server on loopback until the test ends and
// returns its base URL.
func serve(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// logMark is where the request log ends now: serverTimes reads what
// comes after it. The log is flushed every 100 ms (logFlush).
func logMark(t *testing.T, path string) int64 {
	time.Sleep(3 * logFlush)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// serverTimes reads the request log's dur= of the lines for one path
// after mark: the time from the handler's start to its end, without the
// wait for a CPU before it and for the client to read after it.
func serverTimes(t *testing.T, path string, mark int64, match string) (p50, p90, p99 time.Duration) {
	time.Sleep(3 * logFlush)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lat []time.Duration
	for _, line := range strings.Split(string(b[mark:]), "\n") {
		if !strings.Contains(line, "msg=http ") || !strings.Contains(line, match) {
			continue
		}
		_, rest, ok := strings.Cut(line, " dur=")
		if !ok {
			continue
		}
		d, err := time.ParseDuration(strings.Fields(rest)[0])
		if err != nil {
			t.Fatalf("request log: %q: %v", line, err)
		}
		lat = append(lat, d)
	}
	if len(lat) == 0 {
		t.Fatalf("request log %s has no lines for %q", path, match)
	}
	return pct(lat, 50), pct(lat, 90), pct(lat, 99)
}

const logFlush = 100 * time.Millisecond

func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func pct(lat []time.Duration, p int) time.Duration {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[min(len(lat)-1, len(lat)*p/100)]
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// loadTest keeps conns requests in flight against target for d and
// returns the throughput and the p99 latency. It uses wrk when installed
// (make bench installs it): a C load generator leaves more of the cores to
// the server than a Go one in the same process. With cpus set, wrk runs
// on those CPUs only, with one thread each (see ownCores).
func loadTest(t *testing.T, target string, cookies []*http.Cookie, conns int, d time.Duration, cpus []int) (float64, time.Duration) {
	if wrk, err := exec.LookPath("wrk"); err == nil {
		var hdr []string
		for _, c := range cookies {
			hdr = append(hdr, c.Name+"="+c.Value)
		}
		threads := 2
		if len(cpus) > 0 {
			threads = len(cpus)
		}
		args := []string{fmt.Sprintf("-t%d", threads), fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", int(d.Seconds())), "--latency"}
		if len(hdr) > 0 {
			args = append(args, "-H", "Cookie: "+strings.Join(hdr, "; "))
		}
		args = append(args, target)
		cmd := exec.Command(wrk, args...)
		if len(cpus) > 0 {
			cmd = exec.Command("taskset", append([]string{"-c", cpuList(cpus), wrk}, args...)...)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		t.Logf("%s:\n%s", strings.Join(cmd.Args[:len(cmd.Args)-3], " "), out)
		return parseWrk(t, string(out))
	}
	return goLoad(t, target, cookies, conns, d)
}

// ownCores splits the CPUs this process may use in two halves: the server
// (this process, every thread, and GOMAXPROCS) keeps the first, and the
// returned CPUs are for the load generator. undo puts both back. ok is
// false on one CPU, or without wrk and taskset to place the load on.
//
// Why: when wrk and the server share the cores, the scheduler takes turns
// between wrk's threads and the server's, and a wrk thread that waits for
// a CPU adds its wait to the latency of every connection it drives. The
// p99 then measures the sharing more than the server (the report shows
// both placements).
func ownCores(t *testing.T) (load []int, undo func(), ok bool) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return nil, nil, false
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return nil, nil, false
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	var all []int
	for c := 0; c < 1024 && len(all) < set.Count(); c++ {
		if set.IsSet(c) {
			all = append(all, c)
		}
	}
	if len(all) < 2 {
		return nil, nil, false
	}
	half := len(all) / 2
	pinAll(t, all[:half])
	old := runtime.GOMAXPROCS(half)
	return all[half:], func() {
		runtime.GOMAXPROCS(old)
		pinAll(t, all)
	}, true
}

// pinAll sets the CPU affinity of every thread of this process. It goes
// over the threads twice: one started during the first pass was cloned
// from a thread that still had the old mask.
func pinAll(t *testing.T, cpus []int) {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			var tid int
			fmt.Sscan(task.Name(), &tid)
			if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
				t.Fatal(err)
			}
		}
	}
}

func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = fmt.Sprint(c)
	}
	return strings.Join(s, ",")
}

// parseWrk reads requests/s and the 99th percentile from wrk --latency.
func parseWrk(t *testing.T, out string) (float64, time.Duration) {
	var rps float64
	var p99 time.Duration
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			fmt.Sscan(f[1], &rps)
		case len(f) == 2 && f[0] == "99%":
			p99, _ = time.ParseDuration(f[1])
		case len(f) >= 2 && f[0] == "Non-2xx":
			t.Fatalf("wrk saw errors:\n%s", out)
		}
	}
	if rps == 0 || p99 == 0 {
		t.Fatalf("could not read wrk output:\n%s", out)
	}
	return rps, p99
}

func goLoad(t *testing.T, target string, cookies []*http.Cookie, conns int, d time.Duration) (float64, time.Duration) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var count atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest("GET", target, nil)
				for _, c := range cookies {
					req.AddCookie(c)
				}
				s := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("load %s: %d", target, resp.StatusCode)
					return
				}
				mine = append(mine, time.Since(s))
				count.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return float64(count.Load()) / d.Seconds(), pct(lat, 99)
}

var benchWords = strings.Fields(`acme anderton bright cedar delta ember falcon granite harbor iris juniper kestrel lumen maple northwind orchard pioneer quartz riverside summit tidal union vertex willow zenith apex beacon cobalt dune echo fjord glacier horizon indigo jasper keystone lotus meridian nova onyx prism quest radiant sierra terra umbra vivid wander xenon yonder zephyr atlas boreal crimson drift evergreen fable garnet haven ivory jade kinetic lagoon mosaic nimbus oasis pinnacle quill rustic sable thistle`)
var benchKinds = strings.Fields(`guitars logistics foods analytics studios dental motors outfitters labs partners brewing software media energy robotics consulting systems holdings trading supplies`)
var benchFirst = strings.Fields(`lee maria sam priya tom aisha jonas chen olivia mateo hannah kofi ingrid ravi sofia liam emma noah ava lucas mia ethan zoe`)

func benchName(rng *rand.Rand) string {
	return benchWords[rng.IntN(len(benchWords))] + " " + benchKinds[rng.IntN(len(benchKinds))]
}

// noteStep: every noteStep(n)-th company, from 1, gets a timeline of notes.
func noteStep(n int) int64 { return int64(max(1, n/20000)) }

// generate bulk-loads n companies and n contacts straight into SQLite: a
// benchmark fixture, not a code path users take.
func generate(t testing.TB, path string, n int) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	now := time.Now().UnixMilli()
	co, _ := tx.Prepare(`INSERT INTO companies (workspace_id, name, town, created_at, updated_at) VALUES (1, ?, 'Guildford', ?, ?)`)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s %d", benchName(rng), i)
		if i%10 == 0 {
			name = strings.Title(name)
		}
		if _, err := co.Exec(name, now-int64(i), now-int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	ct, _ := tx.Prepare(`INSERT INTO contacts (workspace_id, company_id, name, email, created_at, updated_at) VALUES (1, ?, ?, ?, ?, ?)`)
	for i := 0; i < n; i++ {
		first, last := benchFirst[rng.IntN(len(benchFirst))], benchWords[rng.IntN(len(benchWords))]
		cid := 1 + rng.IntN(n)
		if _, err := ct.Exec(cid, first+" "+last, fmt.Sprintf("%s.%s%d@example.com", first, last, i), now-int64(i), now-int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	// A realistic timeline on every company the benchmark opens.
	nt, _ := tx.Prepare(`INSERT INTO notes (workspace_id, company_id, title, body, created_at, updated_at) VALUES (1, ?, ?, ?, ?, ?)`)
	for cid := 1; cid <= n; cid += int(noteStep(n)) {
		for j := 0; j < 5; j++ {
			if _, err := nt.Exec(cid, fmt.Sprintf("Call %d", j), "Spoke about **pricing**:\n\n- volume\n- terms", now-int64(j*1000), now); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// generateDay bulk-loads what the home page reads into SQLite, around now,
// on a workspace made by generate with n companies: every client of staff
// has a meeting within 30 days either way (about 17 a day) and ten
// changes by a colleague over the last 30 days, among n/20 other meetings
// and n/10 other changes in the workspace; staff and adm have 200
// notifications of 3 changes each, the newest 20 unread; three of staff's
// clients and ten other companies have a room open now. The caller
// rebuilds Redis from it.
func generateDay(t testing.TB, path string, n int, staff, colleague, adm *store.User, clients []int64) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(9, 9))
	now := time.Now().UnixMilli()
	const day = 24 * 60 * 60 * 1000
	types := []string{"email", "sms", "call", "video", "in-person"}
	mt, err := tx.Prepare(`INSERT INTO meetings (workspace_id, company_id, owner_id, type, status, subject, starts_at, ends_at, created_at, updated_at)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	meeting := func(company int64, at int64) int64 {
		status := store.MeetingOpen
		if at < now && rng.IntN(4) > 0 { // most past meetings are closed, some overdue
			status = store.MeetingClosed
		}
		res, err := mt.Exec(company, staff.ID, types[rng.IntN(len(types))], status, fmt.Sprintf("Review %d", company), at, at+30*60*1000, now-day, now-day)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		return id
	}
	for _, c := range clients {
		meeting(c, now-30*day+rng.Int64N(60*day))
	}
	for i := 0; i < n/20; i++ {
		meeting(1+rng.Int64N(int64(n)), now-30*day+rng.Int64N(60*day))
	}
	room, err := tx.Prepare(`INSERT INTO rooms (meeting_id, workspace_id, state, opened_at) VALUES (?, 1, 'open', ?)`)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 13; i++ {
		c := 1 + rng.Int64N(int64(n))
		if i < 3 {
			c = clients[i]
		}
		// Open until two hours from now, so the rooms' scheduler leaves them open.
		res, err := mt.Exec(c, staff.ID, "video", store.MeetingOpen, "Live review", now-10*60*1000, now+2*60*60*1000, now-day, now-day)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		must(room.Exec(id, now-10*60*1000))
	}
	// Changes, oldest first so that ids grow with time as they do live:
	// each is on one of staff's clients with the odds of the mix.
	act, err := tx.Prepare(`INSERT INTO activities (workspace_id, company_id, actor_id, kind, ref_id, summary, created_at) VALUES (1, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	mine := 10 * len(clients)
	total := mine + n/10
	var ofClients []int64 // activity ids on staff's clients, for notifications
	for i := 0; i < total; i++ {
		c := 1 + rng.Int64N(int64(n))
		onClient := rng.IntN(total) < mine
		if onClient {
			c = clients[rng.IntN(len(clients))]
		}
		at := now - 30*day + int64(i)*30*day/int64(total)
		res, err := act.Exec(c, colleague.ID, store.ActivityNoteCreated, i+1, fmt.Sprintf("%s added a note “Call %d”", colleague.Name, i), at)
		if err != nil {
			t.Fatal(err)
		}
		if onClient {
			id, _ := res.LastInsertId()
			ofClients = append(ofClients, id)
		}
	}
	nt, err := tx.Prepare(`INSERT INTO notifications (workspace_id, user_id, digest_key, created_at, read_at) VALUES (1, ?, ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	item, err := tx.Prepare(`INSERT OR IGNORE INTO notification_items (activity_id, notification_id) VALUES (?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []*store.User{staff, adm} {
		for i := 0; i < 200; i++ {
			at := now - int64(200-i)*60*60*1000
			read := at + 1000
			if i >= 180 {
				read = 0
			}
			res, err := nt.Exec(u.ID, fmt.Sprintf("bench-%d-%d", u.ID, i), at, read)
			if err != nil {
				t.Fatal(err)
			}
			id, _ := res.LastInsertId()
			for j := 0; j < 3; j++ {
				must(item.Exec(ofClients[rng.IntN(len(ofClients))], id))
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
