package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/handlers"
	"github.com/rolodex/rolodex/jobs"
	"github.com/rolodex/rolodex/notify"
	"github.com/rolodex/rolodex/rooms"
	"github.com/rolodex/rolodex/search"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// testApp is the whole server over real SQLite, Redis and Bleve.
type testApp struct {
	*storetest.Env
	Index   *search.Index
	Handler *handlers.Handler
	Server  *httptest.Server
	Log     *strings.Builder
}

func newTestApp(t testing.TB) *testApp {
	t.Helper()
	env := storetest.Open(t)
	idx, err := search.Open(filepath.Join(env.Dir, "index.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	env.Store.Applier = &jobs.Indexer{Store: env.Store, Index: idx}
	env.Store.WebhooksAllowPrivate = true // the tests' receivers are on 127.0.0.1
	sess, err := handlers.NewSessionStore(env.Dir, false)
	if err != nil {
		t.Fatal(err)
	}
	logs := &strings.Builder{}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, nil))
	h := handlers.New(env.Store, idx, sess, log)
	h.Imports = handlers.Imports{Dir: filepath.Join(env.Dir, "imports"), MaxBytes: 1 << 20}
	if h.GuestKey, err = handlers.GuestKey(env.Dir); err != nil {
		t.Fatal(err)
	}
	h.Rooms = rooms.New(env.Store, log, roomsConfig)
	h.Rooms.Start()
	h.Notify = notify.New(env.Store, log, []time.Duration{15 * time.Minute, time.Hour, 4 * time.Hour}, "test")
	h.Notify.Mail = &notify.Mailer{Dir: filepath.Join(env.Dir, "mail"), From: "Rolodex <rolodex@example.com>", BaseURL: "http://rolodex.test", Secret: []byte("test key")}
	env.Store.ActivitySink = h.Notify
	notifyCtx, stopNotify := context.WithCancel(context.Background())
	notifyDone := make(chan struct{})
	go func() { defer close(notifyDone); h.Notify.Run(notifyCtx, 100*time.Millisecond) }()
	t.Cleanup(func() { stopNotify(); <-notifyDone })
	srv := httptest.NewServer(checkAPI(t, h.Routes()))
	t.Cleanup(srv.Close)
	t.Cleanup(h.Rooms.Stop) // first: its streams end, so srv.Close need not wait
	return &testApp{Env: env, Index: idx, Handler: h, Server: srv, Log: logs}
}

// client returns an HTTP client signed in as u (anonymous when u is nil)
// that does not follow redirects, so tests see them.
func (a *testApp) client(t testing.TB, u *store.User) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if u != nil {
		resp, err := c.PostForm(a.Server.URL+"/login", url.Values{"email": {u.Email}, "password": {storetest.Password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in as %s: status %d", u.Email, resp.StatusCode)
		}
	}
	return c
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, c *http.Client, method, url, contentType, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const formType = "application/x-www-form-urlencoded"
const jsonType = "application/json"

// admin is a viewer for store calls made by test fixtures.
func admin() *store.User {
	return &store.User{WorkspaceID: store.DefaultWorkspace, Role: store.RoleAdmin}
}

func mustCompany(t *testing.T, a *testApp, name string) *store.Company {
	t.Helper()
	c, err := a.Store.CreateCompany(context.Background(), admin(), store.CompanyInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
