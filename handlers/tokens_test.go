package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
)

// TestAPITokens: a token is shown once and kept only as a hash, acts as
// its user on the API (a read-only one only reads), works cross-origin
// where a cookie does not, records its last use, and stops at once when
// revoked or when its user is deactivated.
func TestAPITokens(t *testing.T) {
	a := newTestApp(t)
	ctx := t.Context()
	lee := a.User(t, "lee@example.com", store.RoleStaff)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	c := a.client(t, lee)
	expires := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)

	resp, body := do(t, c, "POST", a.Server.URL+"/api/v1/me/tokens", jsonType, `{"name":"Sync","scope":"write","expires_at":"`+expires+`"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var created struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
		Scope string `json:"scope"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.Token == "" || created.Scope != "write" {
		t.Fatalf("created %s (%v)", body, err)
	}
	for _, bad := range []string{`{"name":"x","scope":"admin","expires_at":"` + expires + `"}`, `{"name":"x","scope":"read","expires_at":"2001-01-01T00:00:00Z"}`, `{"name":"x","scope":"read"}`} {
		if resp, body := do(t, c, "POST", a.Server.URL+"/api/v1/me/tokens", jsonType, bad); resp.StatusCode != 422 || !strings.Contains(body, `"fields"`) {
			t.Errorf("%s: %d %s", bad, resp.StatusCode, body)
		}
	}
	if _, body := do(t, c, "GET", a.Server.URL+"/api/v1/me/tokens", "", ""); strings.Contains(body, created.Token) || !strings.Contains(body, `"Sync"`) {
		t.Errorf("the list shows the secret, or not the token: %s", body)
	}

	tc := tokenClient(created.Token)
	if resp, body := do(t, tc, "GET", a.Server.URL+"/api/v1/companies", "", ""); resp.StatusCode != 200 {
		t.Fatalf("GET with the token: %d %s", resp.StatusCode, body)
	}
	tok, u, err := a.Store.TokenUser(ctx, created.Token)
	if err != nil || u.ID != lee.ID || tok.LastUsedAt == 0 {
		t.Errorf("token user %v, last used %v, %v", u, tok, err)
	}
	// A write from another origin: fine with a token, refused with a cookie.
	cross := []string{"Origin", "https://elsewhere.example", "Sec-Fetch-Site", "cross-site"}
	if resp, body := do(t, tc, "POST", a.Server.URL+"/api/v1/companies", jsonType, `{"name":"Token Co"}`, cross...); resp.StatusCode != 201 {
		t.Errorf("cross-origin write with a token: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, c, "POST", a.Server.URL+"/api/v1/companies", jsonType, `{"name":"Cookie Co"}`, cross...); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin write with a cookie: %d, want 403", resp.StatusCode)
	}
	// Pages take the cookie only.
	if resp, _ := do(t, tc, "GET", a.Server.URL+"/companies", "", ""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a page with a token: %d, want a redirect to sign in", resp.StatusCode)
	}
	for _, h := range []string{"Bearer nonsense", "Basic bGVlOnB3", "Bearer "} {
		if resp, _ := do(t, a.client(t, nil), "GET", a.Server.URL+"/api/v1/companies", "", "", "Authorization", h); resp.StatusCode != 401 {
			t.Errorf("Authorization %q: %d, want 401", h, resp.StatusCode)
		}
	}

	// Read-only reads only.
	ro := mustToken(t, a, lee, store.ScopeRead)
	if resp, _ := do(t, tokenClient(ro), "POST", a.Server.URL+"/api/v1/companies", jsonType, `{"name":"No"}`); resp.StatusCode != http.StatusForbidden {
		t.Errorf("write with a read-only token: %d, want 403", resp.StatusCode)
	}

	// Deactivating the user stops their tokens; reactivating restores them.
	if err := a.Store.SetUserActive(ctx, adm, lee.ID, false); err != nil {
		t.Fatal(err)
	}
	if resp, _ := do(t, tc, "GET", a.Server.URL+"/api/v1/companies", "", ""); resp.StatusCode != 401 {
		t.Errorf("a deactivated user's token: %d, want 401", resp.StatusCode)
	}
	if err := a.Store.SetUserActive(ctx, adm, lee.ID, true); err != nil {
		t.Fatal(err)
	}
	c = a.client(t, lee)
	// Revoking stops it at once.
	if resp, _ := do(t, c, "DELETE", a.Server.URL+"/api/v1/me/tokens/"+strconv.FormatInt(created.ID, 10), "", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if resp, _ := do(t, tc, "GET", a.Server.URL+"/api/v1/companies", "", ""); resp.StatusCode != 401 {
		t.Errorf("a revoked token: %d, want 401", resp.StatusCode)
	}

	// The page shows a new token once.
	resp, body = do(t, c, "POST", a.Server.URL+"/me/tokens", formType, url.Values{"name": {"Laptop"}, "scope": {"read"}, "expires_in": {"30"}}.Encode())
	if resp.StatusCode != 200 || !strings.Contains(body, `value="rdx_`) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create on the page: %d %s\n%.2000s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	if _, body := do(t, c, "GET", a.Server.URL+"/me/tokens", "", ""); strings.Contains(body, `value="rdx_`) || !strings.Contains(body, "Laptop") {
		t.Errorf("the list page shows a secret, or not the token")
	}
	if resp, body := do(t, c, "POST", a.Server.URL+"/me/tokens", formType, "name=x&scope=read&expires_in=9999"); resp.StatusCode != 422 || !strings.Contains(body, "token-expires_in-error") {
		t.Errorf("bad expiry on the page: %d", resp.StatusCode)
	}
}
