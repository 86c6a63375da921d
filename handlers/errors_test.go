package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/rolodex/rolodex/store"
)

// TestUnmatched checks that an unknown address and a known one asked with
// the wrong method answer Rolodex's own error page (JSON under the API),
// to anonymous and signed-in users alike, not ServeMux's plain text.
func TestUnmatched(t *testing.T) {
	a := newTestApp(t)
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	cases := []struct {
		method, path string
		status       int
		allow        string // the Allow header a 405 must carry
		json         bool
	}{
		{"GET", "/no/such/page", 404, "", false},
		{"GET", "/companies/1/nothing", 404, "", false},
		{"POST", "/no/such/page", 404, "", false},
		{"DELETE", "/companies", 405, "GET, HEAD, POST", false},
		{"PUT", "/login", 405, "GET, HEAD, POST", false},
		{"GET", "/logout", 405, "POST", false},
		{"GET", "/api/v1/nothing", 404, "", true},
		{"PATCH", "/api/v1/companies", 405, "GET, HEAD, POST", true},
		{"POST", "/api/v1/search", 405, "GET, HEAD", true},
	}
	for _, who := range []*store.User{nil, staff} {
		c := a.client(t, who)
		name := "anonymous"
		if who != nil {
			name = "staff"
		}
		for _, tc := range cases {
			t.Run(name+" "+tc.method+" "+tc.path, func(t *testing.T) {
				resp, body := do(t, c, tc.method, a.Server.URL+tc.path, "", "")
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d\n%.300s", resp.StatusCode, tc.status, body)
				}
				if got := resp.Header.Get("Allow"); got != tc.allow {
					t.Errorf("Allow %q, want %q", got, tc.allow)
				}
				ctype := resp.Header.Get("Content-Type")
				if tc.json {
					var e struct{ Error string }
					if !strings.HasPrefix(ctype, "application/json") || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
						t.Errorf("want a JSON error, got %s: %.300s", ctype, body)
					}
					return
				}
				if !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, `class="error-page"`) || !strings.Contains(body, http.StatusText(tc.status)) {
					t.Errorf("want the error page, got %s: %.300s", ctype, body)
				}
				// A signed-in user keeps the navigation; an anonymous one is offered sign-in.
				if who != nil && !strings.Contains(body, `href="/companies"`) || who == nil && !strings.Contains(body, `href="/login"`) {
					t.Errorf("error page without the way on for %s: %.500s", name, body)
				}
			})
		}
	}
}

// TestFavicon checks that /favicon.ico, which browsers fetch on their own,
// answers the icon to anyone.
func TestFavicon(t *testing.T) {
	a := newTestApp(t)
	for _, method := range []string{"GET", "HEAD"} {
		resp, body := do(t, a.client(t, nil), method, a.Server.URL+"/favicon.ico", "", "")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/") {
			t.Fatalf("%s /favicon.ico: %d %s", method, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if method == "GET" && !strings.Contains(body, "<svg") {
			t.Errorf("favicon body: %.200s", body)
		}
		if cc := resp.Header.Get("Cache-Control"); strings.Contains(cc, "immutable") {
			t.Errorf("Cache-Control %q: /favicon.ico keeps its name when the icon changes", cc)
		}
	}
}
