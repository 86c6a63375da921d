package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolodex/rolodex/redisproc"
)

// TestReadmeRun runs the product the way README.md says to: the real binary,
// built as `make build` builds it, started from a fresh working directory
// with `make run`'s arguments (a relative data directory, the private
// redis-server, -demo). A demo user signs in over HTTP and sees companies;
// SIGINT then stops the server and its redis-server, and nothing is left
// listening. The relative data path once made redis-server exit at start
// while every test, using absolute temporary paths, passed.
func TestReadmeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)

	t.Run("make run", func(t *testing.T) {
		// A space in the path, as a home directory on another system may have.
		wd := filepath.Join(t.TempDir(), "fresh clone")
		runAsReadme(t, bin, wd, nil, "./data")
	})
	t.Run("maintenance commands", func(t *testing.T) {
		// demo, reindex and import take the same relative data directory.
		wd := filepath.Join(t.TempDir(), "fresh clone")
		if err := os.MkdirAll(wd, 0o755); err != nil {
			t.Fatal(err)
		}
		csv := filepath.Join(wd, "people.csv")
		if err := os.WriteFile(csv, []byte("name,email,company\nLee Ward,lee@ward.example,Ward Ltd\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"demo", "-data", "./data"},
			{"reindex", "-data", "./data"},
			{"import", "contacts", "people.csv", "-data", "./data"},
		} {
			cmd := exec.Command(bin, args...)
			cmd.Dir = wd
			cmd.Env = cleanEnv()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("rolodex %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		if _, err := os.Stat(filepath.Join(wd, "data", "rolodex.db")); err != nil {
			t.Errorf("database not in the data directory: %v", err)
		}
	})
	t.Run("ROLODEX_DATA relative", func(t *testing.T) {
		wd := filepath.Join(t.TempDir(), "clone")
		runAsReadme(t, bin, wd, []string{"ROLODEX_DATA=state/rolodex"}, "")
	})
	t.Run("REDIS_URL", func(t *testing.T) {
		rs, err := redisproc.Start(context.Background(), shortTempDir(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rs.Stop)
		wd := filepath.Join(t.TempDir(), "clone")
		runAsReadme(t, bin, wd, []string{"REDIS_URL=" + rs.URL()}, "./data")
	})
}

// buildBinary builds rolodex into a temporary directory with the flags of
// the Makefile's build target (CGO_CFLAGS comes from `make test`).
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rolodex")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = os.Environ()
	if os.Getenv("CGO_CFLAGS") == "" {
		cmd.Env = append(cmd.Env, "CGO_CFLAGS=-O2 -g -DSQLITE_ENABLE_QPSG")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// shortTempDir is a temporary directory with a path short enough for a
// unix socket.
func shortTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "rdx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// runAsReadme starts `rolodex serve -demo` in wd (created empty), with
// -data dataFlag when it is set, and checks the whole life of the process.
func runAsReadme(t *testing.T, bin, wd string, env []string, dataFlag string) {
	if err := os.MkdirAll(wd, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	args := []string{"serve", "-addr", addr, "-demo"}
	if dataFlag != "" {
		args = append(args, "-data", dataFlag)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = wd
	cmd.Env = append(cleanEnv(), env...)
	// A group of its own, so that cleanup can reach a leaked redis-server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(t.TempDir(), "rolodex.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	log := func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }

	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("rolodex exited before answering /healthz: %v\n%s", err, log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer on /healthz in 60 s\n%s", log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	children := childPIDs(cmd.Process.Pid)
	if env == nil || !strings.Contains(strings.Join(env, " "), "REDIS_URL") {
		if len(children) == 0 {
			t.Errorf("no redis-server child of rolodex\n%s", log())
		}
	}

	// The README's demo user signs in and sees the demo companies.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.PostForm(base+"/login", url.Values{"email": {"alice@example.com"}, "password": {"rolodex-demo"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path == "/login" {
		t.Fatalf("sign-in as alice: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	resp, err = c.Get(base + "/api/v1/companies")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Count(string(body), `"name"`) == 0 {
		t.Fatalf("alice's companies: %d %s", resp.StatusCode, body)
	}

	// The data directory is where the README says, relative to wd.
	dataDir := dataFlag
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "ROLODEX_DATA="); ok {
			dataDir = v
		}
	}
	if _, err := os.Stat(filepath.Join(wd, dataDir, "rolodex.db")); err != nil {
		t.Errorf("database not in the data directory: %v", err)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("rolodex after SIGINT: %v\n%s", err, log())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("rolodex still running 20 s after SIGINT\n%s", log())
	}
	for _, pid := range children {
		if running(pid) {
			t.Errorf("child %d (redis-server) outlived rolodex", pid)
		}
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("something still listens on %s", addr)
	}
	sock := filepath.Join(wd, dataDir, "redis", "redis.sock")
	if conn, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		conn.Close()
		t.Errorf("something still listens on %s", sock)
	}
}

// cleanEnv is this process's environment without the variables that
// would point the server elsewhere.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "ROLODEX_") || strings.HasPrefix(e, "REDIS_URL=") {
			continue
		}
		env = append(env, e)
	}
	return env
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// childPIDs lists the processes whose parent is pid (from /proc).
func childPIDs(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "PPid:"); ok {
				if pp, _ := strconv.Atoi(strings.TrimSpace(v)); pp == pid {
					out = append(out, p)
				}
				break
			}
		}
		f.Close()
	}
	return out
}

// running reports whether pid exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
