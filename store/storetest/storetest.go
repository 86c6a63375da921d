// Package storetest opens a real Store for tests: a SQLite file in
// t.TempDir() and a redis-server of the test's own on a unix socket.
package storetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/meetindex"
	"github.com/rolodex/rolodex/redisproc"
	"github.com/rolodex/rolodex/store"
)

// Env is what a test gets: the store, its Redis client and server.
type Env struct {
	Store    *store.Store
	Meetings *meetindex.Index
	Redis    *redis.Client
	Srv      *redisproc.Server
	Dir      string
}

// Open starts redis-server and opens a fresh store. Everything is torn
// down when the test ends.
func Open(t testing.TB) *Env {
	t.Helper()
	dir := t.TempDir()
	// Unix socket paths are short-limited; t.TempDir() can be long.
	rdir, err := os.MkdirTemp("", "rdx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rdir) })
	ctx := context.Background()
	srv, err := redisproc.Start(ctx, rdir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	rdb := redis.NewClient(store.RedisOptions(srv.Options()))
	t.Cleanup(func() { rdb.Close() })
	st, err := store.Open(ctx, filepath.Join(dir, "rolodex.db"), rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mi := meetindex.New(st)
	if err := st.RebuildRedis(ctx, store.DefaultWorkspace); err != nil {
		t.Fatal(err)
	}
	return &Env{Store: st, Meetings: mi, Redis: rdb, Srv: srv, Dir: dir}
}

// User creates a user with a fixed test password.
func (e *Env) User(t testing.TB, email, role string) *store.User {
	t.Helper()
	u, err := e.Store.CreateWorkspaceUser(context.Background(), store.DefaultWorkspace, store.UserInput{Email: email, Name: email, Password: Password, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Password is the password of every user made by User.
const Password = "correct horse battery"
