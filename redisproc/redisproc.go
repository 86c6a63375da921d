// Package redisproc runs a private redis-server as a child process, for
// installs without REDIS_URL and for tests, and keeps it running.
package redisproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server child process listening on a unix socket.
type Server struct {
	cmd    *exec.Cmd
	dir    string
	socket string
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, set before exited closes
}

// Start starts redis-server with its socket in dir. It keeps nothing on
// disk: Redis holds only state derived from SQLite, and a copy restored
// from disk could be older than SQLite (a revoked client still listed),
// while an empty one is rebuilt.
func Start(ctx context.Context, dir string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server not found: install it (apt-get install redis-server) or set REDIS_URL")
	}
	// redis-server changes into --dir before it opens --logfile, so a
	// relative path would be resolved twice; every path it gets is absolute.
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	socket := filepath.Join(dir, "redis.sock")
	// A unix socket path is limited to 107 bytes: a deep data directory
	// gets its socket in a short private temporary directory instead.
	var sockDir string
	if len(socket) > 100 {
		if sockDir, err = os.MkdirTemp("", "rolodex-redis"); err != nil {
			return nil, err
		}
		socket = filepath.Join(sockDir, "redis.sock")
	}
	_ = os.Remove(socket)
	logfile := filepath.Join(dir, "redis.log")
	args := []string{"--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", "--logfile", logfile}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	rs := &Server{cmd: cmd, dir: dir, socket: socket, exited: make(chan struct{})}
	go func() {
		rs.err = cmd.Wait()
		if sockDir != "" {
			os.RemoveAll(sockDir)
		}
		close(rs.exited)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := redis.NewClient(&redis.Options{Network: "unix", Addr: socket})
		err := c.Ping(ctx).Err()
		c.Close()
		if err == nil {
			return rs, nil
		}
		if ctx.Err() != nil {
			rs.Stop()
			return nil, ctx.Err()
		}
		select {
		case <-rs.exited:
			log, _ := os.ReadFile(logfile)
			return nil, fmt.Errorf("redis-server exited: %v: %s", rs.err, strings.TrimSpace(string(log)))
		default:
		}
		if time.Now().After(deadline) {
			rs.Stop()
			return nil, fmt.Errorf("redis-server did not answer on %s", socket)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// URL is the address to give redis.ParseURL.
func (rs *Server) URL() string { return "unix://" + rs.socket }

// Options are client options for this server.
func (rs *Server) Options() *redis.Options {
	return &redis.Options{Network: "unix", Addr: rs.socket}
}

// Pid is the server's process id (tests stop it to play a hung Redis).
func (rs *Server) Pid() int { return rs.cmd.Process.Pid }

// Exited is closed when the server process has exited.
func (rs *Server) Exited() <-chan struct{} { return rs.exited }

// Stop terminates the server and waits for it.
func (rs *Server) Stop() {
	_ = rs.cmd.Process.Signal(os.Interrupt)
	select {
	case <-rs.exited:
	case <-time.After(5 * time.Second):
		_ = rs.cmd.Process.Kill()
		<-rs.exited
	}
}
