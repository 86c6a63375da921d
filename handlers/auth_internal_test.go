package handlers

import (
	"net/http/httptest"
	"net/netip"
	"testing"
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
