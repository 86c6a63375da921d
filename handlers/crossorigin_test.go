package handlers_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/rolodex/rolodex/store"
)

// TestCrossOriginAuthorizationHeader: only a bearer token on an API route
// is exempt from the cross-origin check, and such a request is signed in
// by the token alone. Behind a reverse proxy with HTTP Basic auth the
// browser attaches an Authorization header to every request, a page of a
// neighbouring site's included; with the admin's cookie, that must not
// let the page make a webhook that sends the workspace away.
func TestCrossOriginAuthorizationHeader(t *testing.T) {
	a := newTestApp(t)
	ctx := t.Context()
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	ac := a.client(t, adm)
	basic := []string{"Authorization", "Basic YWRtaW46cHJveHk="}
	sameSite := []string{"Origin", "https://intranet.example", "Sec-Fetch-Site", "same-site"}
	form := url.Values{"url": {"https://exfiltrate.example/hook"}, "events": {"*"}}.Encode()

	for _, c := range []struct{ path, ctype, body string }{
		{"/admin/webhooks", formType, form},
		{"/api/v1/webhooks", jsonType, `{"url":"https://exfiltrate.example/hook","events":["*"]}`},
		{"/companies", formType, "name=Planted"},
	} {
		if resp, body := do(t, ac, "POST", a.Server.URL+c.path, c.ctype, c.body, append(basic, sameSite...)...); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s from another origin with Basic auth and the cookie: %d, want 403\n%.300s", c.path, resp.StatusCode, body)
		}
	}
	if hooks, err := a.Store.Webhooks(ctx, adm); err != nil || len(hooks) != 0 {
		t.Errorf("webhooks after the refused posts: %v %v", hooks, err)
	}
	if page, err := a.Store.ListCompanies(ctx, adm, store.CompanyQuery{}); err != nil || len(page.Items) != 0 {
		t.Errorf("companies after the refused posts: %v %v", page, err)
	}
	// The same post from Rolodex's own page goes through: Basic auth
	// leaves the cookie session working.
	if resp, body := do(t, ac, "POST", a.Server.URL+"/admin/webhooks", formType, form, append(basic, "Sec-Fetch-Site", "same-origin")...); resp.StatusCode != http.StatusOK {
		t.Errorf("same-origin POST with Basic auth: %d\n%.300s", resp.StatusCode, body)
	}

	// A bearer token works from anywhere, and only the token signs in.
	staff := a.User(t, "lee@example.com", store.RoleStaff)
	bearer := []string{"Authorization", "Bearer " + mustToken(t, a, staff, store.ScopeWrite)}
	if resp, body := do(t, a.client(t, nil), "POST", a.Server.URL+"/api/v1/companies", jsonType, `{"name":"By token"}`, append(bearer, sameSite...)...); resp.StatusCode != http.StatusCreated {
		t.Errorf("cross-origin POST with a bearer token: %d %s", resp.StatusCode, body)
	}
	garbage := []string{"Authorization", "Bearer not-a-token"}
	for _, origin := range [][]string{sameSite, {"Sec-Fetch-Site", "same-origin"}} {
		if resp, body := do(t, ac, "POST", a.Server.URL+"/api/v1/companies", jsonType, `{"name":"By cookie"}`, append(garbage, origin...)...); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST with a bad bearer token and the cookie (%s): %d, want 401 %s", origin[len(origin)-1], resp.StatusCode, body)
		}
	}
	if page, err := a.Store.ListCompanies(ctx, adm, store.CompanyQuery{}); err != nil || len(page.Items) != 1 || page.Items[0].Name != "By token" {
		t.Errorf("companies: %v %v", page, err)
	}
}
