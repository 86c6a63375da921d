package handlers_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rolodex/rolodex/rooms"
	"github.com/rolodex/rolodex/store"
)

// TestRoomBenchReport measures live rooms (issue 11) and appends a table to
// ROLODEX_BENCH_OUT (make bench): SSE connections, fan-out latency in one
// busy room, memory per idle connection, join and leave, a page of a long
// chat, and many rooms opening in the same minute. Everything runs in this
// process over loopback, with the hub's production timings. Each size can
// be set from the environment, so that a shared machine can run it small:
//
//	ROLODEX_BENCH_SSE_CONNS    SSE connections in all (5000)
//	ROLODEX_BENCH_ROOM_CONNS   of which in the busy room (1000)
//	ROLODEX_BENCH_MSG_RATE     messages a second posted into it (10)
//	ROLODEX_BENCH_MSG_SECONDS  for how long (30)
//	ROLODEX_BENCH_HISTORY      messages in the long room (100000)
//	ROLODEX_BENCH_DUE_ROOMS    rooms due in the same minute (10000)
func TestRoomBenchReport(t *testing.T) {
	out := os.Getenv("ROLODEX_BENCH_OUT")
	if out == "" {
		t.Skip("set ROLODEX_BENCH_OUT (make bench) to run the benchmark")
	}
	size := func(name string, def int) int {
		if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
			return n
		}
		return def
	}
	conns := size("ROLODEX_BENCH_SSE_CONNS", 5000)
	roomConns := min(size("ROLODEX_BENCH_ROOM_CONNS", 1000), conns)
	rate := size("ROLODEX_BENCH_MSG_RATE", 10)
	seconds := size("ROLODEX_BENCH_MSG_SECONDS", 30)
	history := size("ROLODEX_BENCH_HISTORY", 100000)
	dueRooms := size("ROLODEX_BENCH_DUE_ROOMS", 10000)
	raiseFileLimit(t, 2*conns+1000) // both ends of every connection are here

	a := newTestApp(t)
	a.Handler.Rooms.Stop()
	// Warnings only: ten thousand rooms opening are ten thousand lines.
	hub := rooms.New(a.Store, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), rooms.DefaultConfig)
	hub.Start()
	t.Cleanup(hub.Stop)
	a.Handler.Rooms = hub
	ctx := context.Background()
	acme := mustCompany(t, a, "Acme")

	// Posters: the rate limit is 10 messages in 10 s a participant, so
	// each posts at most one message every 2 s.
	posters := max(2*rate, 2)
	type person struct {
		u      *store.User
		c      *http.Client
		cookie string
	}
	people := make([]person, posters)
	for i := range people {
		u := a.User(t, fmt.Sprintf("p%d@example.com", i), store.RoleStaff)
		if err := a.Store.AssignClient(ctx, admin(), u.ID, acme.ID, true); err != nil {
			t.Fatal(err)
		}
		c := a.client(t, u)
		var parts []string
		for _, ck := range c.Jar.Cookies(mustURL(a.Server.URL)) {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
		people[i] = person{u, c, strings.Join(parts, "; ")}
	}
	openRoom := func(subject string) int64 {
		m, err := a.Store.CreateMeeting(ctx, admin(), acme.ID, store.MeetingInput{Type: "call", Subject: subject, StartsAt: time.Now().Add(time.Hour).UnixMilli()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Store.OpenRoom(ctx, admin(), m.ID); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	post := func(p person, path, body string) (int, []byte, time.Duration) {
		start := time.Now()
		req, _ := http.NewRequest("POST", a.Server.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", jsonType)
		}
		resp, err := p.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b, time.Since(start)
	}

	// The busy room, and the rooms the other connections follow (100 a
	// room).
	busy := openRoom("Busy")
	for _, p := range people {
		if st, b, _ := post(p, fmt.Sprintf("/api/v1/meetings/%d/room/join", busy), ""); st != 200 {
			t.Fatalf("join: %d %s", st, b)
		}
	}
	var others []int64
	for i := 0; i < (conns-roomConns+99)/100; i++ {
		others = append(others, openRoom(fmt.Sprintf("Quiet %d", i)))
	}

	// Opens streams [from, to) of the layout, 16 at a time.
	openStreams := func(streams []*sseConn, from, to int) {
		var wg sync.WaitGroup
		errs := make(chan error, to-from)
		next := make(chan int)
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					room := busy
					if i >= roomConns {
						room = others[(i-roomConns)/100]
					}
					s, err := dialStream(a.Server.Listener.Addr().String(), fmt.Sprintf("/meetings/%d/room/stream", room), people[i%len(people)].cookie, i < roomConns)
					if err != nil {
						errs <- err
						continue
					}
					streams[i] = s
				}
			}()
		}
		for i := from; i < to; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	// Warm up: the first streams grow the pools (Redis and SQLite
	// connections, buffers) to what serving at this pace needs; that is
	// not a cost of each connection, so the baseline is taken after.
	warm := make([]*sseConn, conns)
	openStreams(warm, 0, min(conns, 200))
	for _, s := range warm[:min(conns, 200)] {
		s.conn.Close()
	}
	time.Sleep(rooms.DefaultConfig.Grace + time.Second)
	rssBefore, memBefore := settledRSS(t)
	streams := make([]*sseConn, conns)
	start := time.Now()
	openStreams(streams, 0, conns)
	connectTime := time.Since(start)
	defer func() {
		for _, s := range streams {
			s.conn.Close()
		}
	}()
	// A refresh round writes every connection's presence: what a settled
	// server holds.
	time.Sleep(rooms.DefaultConfig.Refresh + time.Second)
	rssIdle, memIdle := settledRSS(t)
	perConn := float64(rssIdle-rssBefore) / float64(conns)
	stackPerConn := float64(memIdle.StackInuse-memBefore.StackInuse) / float64(conns)
	heapPerConn := float64(memIdle.HeapInuse-memBefore.HeapInuse) / float64(conns)

	// Fan-out: rate messages a second into the busy room; every stream in
	// it must get each one, once. Latency is from the moment the POST is
	// sent to the message's arrival on each stream, both on this machine's
	// clock: created_at cannot serve, since the store's clock is monotonic
	// and runs ahead of the wall after a burst of writes (the history).
	for _, s := range streams[:roomConns] {
		go s.read()
	}
	posted := map[int64]time.Time{} // message id -> when its POST was sent
	tick := time.NewTicker(time.Second / time.Duration(rate))
	for i := 0; i < rate*seconds; i++ {
		<-tick.C
		sent := time.Now()
		st, b, _ := post(people[i%len(people)], fmt.Sprintf("/api/v1/meetings/%d/room/messages", busy), fmt.Sprintf(`{"body":"message %d"}`, i))
		if st != 201 {
			t.Fatalf("post %d: %d %s", i, st, b)
		}
		var m store.RoomMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		posted[m.ID] = sent
	}
	tick.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		done := true
		for _, s := range streams[:roomConns] {
			if s.count() < len(posted) {
				done = false
				break
			}
		}
		if done {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var lat []time.Duration
	missing, doubled := 0, 0
	for _, s := range streams[:roomConns] {
		s.mu.Lock()
		seen := map[int64]bool{}
		for _, g := range s.got {
			if seen[g.id] {
				doubled++
				continue
			}
			seen[g.id] = true
			if at, ok := posted[g.id]; ok {
				lat = append(lat, g.at.Sub(at))
			}
		}
		s.mu.Unlock()
		for id := range posted {
			if !seen[id] {
				missing++
			}
		}
	}
	if len(lat) == 0 {
		t.Fatal("no message arrived")
	}
	lp50, lp99 := pct(lat, 50), pct(lat, 99)

	// Join and leave: in a room of their own (the API's cost), and in
	// the busy room, where each also goes out to every stream.
	visitor := a.User(t, "visitor@example.com", store.RoleStaff)
	if err := a.Store.AssignClient(ctx, admin(), visitor.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	guest := person{u: visitor, c: a.client(t, visitor)}
	joinLeave := func(room int64, n int) (joins, leaves []time.Duration) {
		for i := 0; i < n; i++ {
			st, b, d := post(guest, fmt.Sprintf("/api/v1/meetings/%d/room/join", room), "")
			if st != 200 {
				t.Fatalf("join: %d %s", st, b)
			}
			joins = append(joins, d)
			st, b, d = post(guest, fmt.Sprintf("/api/v1/meetings/%d/room/leave", room), "")
			if st != 200 {
				t.Fatalf("leave: %d %s", st, b)
			}
			leaves = append(leaves, d)
		}
		return joins, leaves
	}
	joins, leaves := joinLeave(openRoom("Join and leave"), 400)
	busyJoins, busyLeaves := joinLeave(busy, 100)

	// A page of 50 from a long chat: the newest, then back through the
	// history by cursor, and one person's messages.
	long := openRoom("Long")
	fillMessages(t, filepath.Join(a.Dir, "rolodex.db"), long, people[0].u, people[1].u, history)
	var pages []time.Duration
	for _, filter := range []string{"", fmt.Sprintf("&user_id=%d", people[1].u.ID)} {
		cursor := ""
		for i := 0; i < 200 && (i == 0 || cursor != ""); i++ {
			start := time.Now()
			resp, err := people[0].c.Get(fmt.Sprintf("%s/api/v1/meetings/%d/room/messages?limit=50%s&cursor=%s", a.Server.URL, long, filter, cursor))
			if err != nil {
				t.Fatal(err)
			}
			var page struct {
				Items []json.RawMessage
				Next  string `json:"next_cursor"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			pages = append(pages, time.Since(start))
			if err != nil || resp.StatusCode != 200 || len(page.Items) != 50 && page.Next != "" {
				t.Fatalf("page %d: %d %v (%d items)", i, resp.StatusCode, err, len(page.Items))
			}
			cursor = page.Next
		}
	}

	// Many rooms due in the same minute: the streams are closed first, so
	// the scheduler has the process to itself as at a quiet minute.
	for _, s := range streams {
		s.conn.Close()
	}
	at := time.Now().Add(20 * time.Second).Truncate(time.Second)
	insertDue(t, filepath.Join(a.Dir, "rolodex.db"), acme.ID, at.UnixMilli(), dueRooms)
	var late []time.Duration
	for time.Now().Before(at.Add(60 * time.Second)) {
		late = openedLate(t, a, at.UnixMilli())
		if len(late) == dueRooms {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	inTime := 0
	for _, d := range late {
		if d <= 2*time.Second {
			inTime++
		}
	}
	var dueP50, dueP99, dueMax time.Duration
	if len(late) > 0 {
		dueP50, dueP99, dueMax = pct(late, 50), pct(late, 99), late[len(late)-1]
	}

	var report strings.Builder
	row := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		fmt.Fprintln(&report, line)
		t.Log(line)
	}
	row("")
	row("## Live rooms (issue 11)")
	row("")
	row("Command: `make bench`, which runs `ROLODEX_BENCH_OUT=BENCHMARKS.md go test -run TestRoomBenchReport -v ./handlers/` with ROLODEX_BENCH_SSE_CONNS=%d ROLODEX_BENCH_ROOM_CONNS=%d ROLODEX_BENCH_MSG_RATE=%d ROLODEX_BENCH_MSG_SECONDS=%d ROLODEX_BENCH_HISTORY=%d ROLODEX_BENCH_DUE_ROOMS=%d; machine: %d cores; %s",
		conns, roomConns, rate, seconds, history, dueRooms, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	row("")
	row("| measure | result | target |")
	row("| --- | --- | --- |")
	row("| %d SSE connections opened (16 at a time) | %s | |", conns, connectTime.Round(time.Millisecond))
	row("| memory per idle connection (RSS delta / connections) | %.1f KB (goroutine stacks %.1f KB, heap %.1f KB) | ≤ 16 KB |", perConn/1024, stackPerConn/1024, heapPerConn/1024)
	row("| post to delivery, %d streams in one room, %d messages/s for %d s, p50 / p99 | %s / %s | p50 ≤ 20 ms, p99 ≤ 100 ms |", roomConns, rate, seconds, ms(lp50), ms(lp99))
	row("| messages missed / delivered twice, over %d streams × %d messages | %d / %d | 0 / 0 |", roomConns, len(posted), missing, doubled)
	row("| join, p50 / p99 (API, 400 each) | %s / %s | p99 ≤ 5 ms |", ms(pct(joins, 50)), ms(pct(joins, 99)))
	row("| leave, p50 / p99 | %s / %s | p99 ≤ 5 ms |", ms(pct(leaves, 50)), ms(pct(leaves, 99)))
	row("| join / leave in the busy room (each goes out to its %d streams), p99 (100 each) | %s / %s | |", roomConns, ms(pct(busyJoins, 99)), ms(pct(busyLeaves, 99)))
	row("| page of 50 messages from a %d-message room, p50 / p99 (API; 200 pages back by cursor, then 200 of one author's) | %s / %s | p99 ≤ 10 ms |", history, ms(pct(pages, 50)), ms(pct(pages, 99)))
	row("| %d rooms due at the same second: opened within 2 s / lateness p50, p99, max | %d of %d / %s, %s, %s | all within 2 s |", dueRooms, inTime, dueRooms, ms(dueP50), ms(dueP99), ms(dueMax))
	row("")
	row("Everything in one process over loopback: the server, its redis-server (a child), and the load (raw sockets for the streams; an idle stream is a socket and a net.Conn here, no goroutine, so the RSS delta is nearly all the server's). Latency runs from sending the message's POST to the arrival of its SSE event on each stream (one clock: the load runs on the server's machine). Join and leave are timed in a room nobody streams (the API alone) and in the busy room.")
	f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(report.String()); err != nil {
		t.Fatal(err)
	}
}

// raiseFileLimit lifts the open-file limit to at least n (up to the hard
// limit) for the connections both ends of which are in this process.
func raiseFileLimit(t *testing.T, n int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= uint64(n) {
		return
	}
	lim.Cur = min(lim.Max, max(lim.Cur, uint64(n)))
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < uint64(n) {
		t.Fatalf("open-file limit %d, need %d: %v", lim.Cur, n, err)
	}
}

// settledRSS is this process's resident memory after full collections
// that return what they can to the system, and the runtime's own account.
// A collection halves a goroutine stack using under a quarter of it, so
// several are run: a serving process collects all the time, and an idle
// stream's stack settles at what its wait needs.
func settledRSS(t *testing.T) (int64, runtime.MemStats) {
	for range 5 {
		runtime.GC()
	}
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, ms
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0, ms
}

// sseConn is one SSE stream on a raw socket. Idle streams are never read
// (their heartbeats wait in the socket); read records the message ids a
// stream receives and when.
type sseConn struct {
	conn net.Conn
	body *bufio.Reader

	mu  sync.Mutex
	got []arrival
}

type arrival struct {
	id int64
	at time.Time
}

// dialStream opens a stream and reads its response head and its first
// line; keep says the stream will be read.
func dialStream(addr, path, cookie string, keep bool) (*sseConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nAccept: text/event-stream\r\n\r\n", path, addr, cookie)
	br := bufio.NewReaderSize(c, 512)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != 200 {
		c.Close()
		return nil, fmt.Errorf("stream %s: %d", path, resp.StatusCode)
	}
	body := bufio.NewReaderSize(resp.Body, 512)
	if _, err := body.ReadString('\n'); err != nil { // "retry: ..."
		c.Close()
		return nil, err
	}
	s := &sseConn{conn: c}
	if keep {
		s.body = body
	}
	return s, nil
}

func (s *sseConn) read() {
	const mark = `data: <li id="msg-`
	for {
		line, err := s.body.ReadString('\n')
		if err != nil {
			return
		}
		if rest, ok := strings.CutPrefix(line, mark); ok {
			end := strings.IndexByte(rest, '"')
			id, err := strconv.ParseInt(rest[:max(end, 0)], 10, 64)
			if err != nil {
				continue
			}
			s.mu.Lock()
			s.got = append(s.got, arrival{id, time.Now()})
			s.mu.Unlock()
		}
	}
}

func (s *sseConn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// fillMessages writes n messages into a room, two authors taking turns,
// straight into SQLite: what a long meeting leaves.
func fillMessages(t *testing.T, path string, meetingID int64, u1, u2 *store.User, n int) {
	db := openBenchDB(t, path)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := tx.Prepare(`INSERT INTO room_messages (meeting_id, user_id, name, body, created_at) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour).UnixMilli()
	for i := 0; i < n; i++ {
		u := []*store.User{u1, u2}[i%2]
		if _, err := stmt.Exec(meetingID, u.ID, u.Name, fmt.Sprintf("Message %d of a long meeting, with a few words in it.", i), at+int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// insertDue writes n meetings of company that start at at, straight into
// SQLite (the scheduler reads their times from there).
func insertDue(t *testing.T, path string, company, at int64, n int) {
	db := openBenchDB(t, path)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := tx.Prepare(`INSERT INTO meetings (workspace_id, company_id, type, status, subject, starts_at, created_at, updated_at)
		VALUES (?, ?, 'call', 'open', 'due', ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	for i := 0; i < n; i++ {
		if _, err := stmt.Exec(store.DefaultWorkspace, company, at, now, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// openedLate returns how late each room due at at opened, sorted.
func openedLate(t *testing.T, a *testApp, at int64) []time.Duration {
	db := openBenchDB(t, filepath.Join(a.Dir, "rolodex.db"))
	rows, err := db.Query(`SELECT r.opened_at FROM meetings m JOIN rooms r ON r.meeting_id = m.id
		WHERE m.subject = 'due' AND m.starts_at = ? AND r.opened_at IS NOT NULL ORDER BY r.opened_at`, at)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []time.Duration
	for rows.Next() {
		var opened int64
		if err := rows.Scan(&opened); err != nil {
			t.Fatal(err)
		}
		out = append(out, time.Duration(opened-at)*time.Millisecond)
	}
	return out
}

var benchDBs sync.Map // path -> *sql.DB

// openBenchDB opens a second handle on the store's SQLite file for the
// bench's bulk writes and checks.
func openBenchDB(t *testing.T, path string) *sql.DB {
	if db, ok := benchDBs.Load(path); ok {
		return db.(*sql.DB)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000&_foreign_keys=on&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(); benchDBs.Delete(path) })
	benchDBs.Store(path, db)
	return db
}
