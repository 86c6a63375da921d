package handlers

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestClientAddress: X-Forwarded-For is believed only from a configured
// proxy, and then only past the proxies' own hops.
func TestClientAddress(t *testing.T) {
	h := &Handler{Proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	for _, c := range []struct {
		peer, xff, want string
	}{
		{"203.0.113.5:4000", "", "203.0.113.5"},
		{"203.0.113.5:4000", "198.51.100.7", "203.0.113.5"}, // not a proxy: header ignored
		{"10.1.2.3:4000", "", "10.1.2.3"},
		{"10.1.2.3:4000", "198.51.100.7", "198.51.100.7"},
		{"10.1.2.3:4000", "1.2.3.4, 198.51.100.7, 10.9.9.9", "198.51.100.7"}, // 1.2.3.4 was the client's own claim
		{"[::1]:4000", "198.51.100.7", "198.51.100.7"},
		{"10.1.2.3:4000", "bogus, 198.51.100.7", "198.51.100.7"},
		{"10.1.2.3:4000", "198.51.100.7, bogus", "10.1.2.3"},
		{"[::ffff:10.1.2.3]:4000", "198.51.100.7", "198.51.100.7"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := h.clientAddress(r); got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
}

// TestSafeNext: the target is checked in the form http.Redirect sends.
func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/companies/7":                  "/companies/7",
		"/companies?sort=name&q=a+b":    "/companies?sort=name&q=a+b",
		"/companies/":                   "/companies/",
		"/a/./b/../c":                   "/a/c",
		"/%2F%2Fevil.example":           "/%2F%2Fevil.example", // a path: browsers do not decode %2F into a slash
		"/./\\evil.example":             "/companies",
		"/.\\evil.example":              "/companies",
		"/..//evil.example":             "/evil.example",
		"//evil.example":                "/evil.example",
		"///evil.example":               "/evil.example",
		"/\\evil.example":               "/companies",
		"/\t/evil.example":              "/companies",
		"/x?\\":                         "/companies",
		"https://evil.example/":         "/companies",
		"javascript:alert(1)":           "/companies",
		"evil.example":                  "/companies",
		"":                              "/companies",
		"/companies\r\nSet-Cookie: x=1": "/companies",
		"/\u0085/evil.example":          "/companies",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

// TestRotateSessionCookie is what a password change does: the other
// sessions end, this one goes on under a new token, and a flash message
// added afterwards arrives in the same cookie.
func TestRotateSessionCookie(t *testing.T) {
	env := storetest.Open(t)
	u := env.User(t, "lee@example.com", store.RoleStaff)
	sess, err := NewSessionStore(env.Dir, false)
	if err != nil {
		t.Fatal(err)
	}
	h := New(env.Store, nil, sess, nil)
	routes := h.Routes()
	signIn := func() []*http.Cookie {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {u.Email}, "password": {storetest.Password}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		routes.ServeHTTP(w, r)
		return w.Result().Cookies()
	}
	serve := func(handler http.Handler, method, path string, cookies []*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w
	}
	this, other := signIn(), signIn()
	changePassword := h.loadUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := h.Store.RotateSessions(r.Context(), userFrom(r.Context()).ID, currentSession(r.Context()).ID)
		if err == nil {
			err = h.setSessionCookie(w, r, token)
		}
		if err != nil {
			t.Fatal(err)
		}
		h.flash(w, r, "Password changed.")
	}))
	// A browser keeps the last cookie of a name the answer sets.
	set := serve(changePassword, "POST", "/me/password", this).Result().Cookies()
	rotated := set[len(set)-1:]
	w := serve(routes, "GET", "/companies", rotated)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Password changed.") {
		t.Errorf("after rotating: %d, flash shown %v", w.Code, strings.Contains(w.Body.String(), "Password changed."))
	}
	for name, cookies := range map[string][]*http.Cookie{"the old cookie": this, "the other session": other} {
		if w := serve(routes, "GET", "/companies", cookies); w.Code != http.StatusSeeOther {
			t.Errorf("%s after rotating: %d, want a redirect to sign in", name, w.Code)
		}
	}
}

// TestLoggedPath: the request log never writes a guest's invite token.
func TestLoggedPath(t *testing.T) {
	for path, want := range map[string]string{
		"/guest/12.bGVl.c2ln":          "/guest/…",
		"/guest/12.bGVl.c2ln/stream":   "/guest/…/stream",
		"/companies/7":                 "/companies/7",
		"/guest/12.bGVl.c2ln/messages": "/guest/…/messages",
	} {
		if got := loggedPath(httptest.NewRequest("GET", path, nil)); got != want {
			t.Errorf("%s logged as %s, want %s", path, got, want)
		}
	}
}
