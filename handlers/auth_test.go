package handlers_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rolodex/rolodex/proc"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// signIn posts the sign-in form straight to h, from addr (host:port), so
// that a test can play several source addresses.
func signIn(h http.Handler, email, password, addr string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", formType)
	req.RemoteAddr = addr
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestSignInThrottleParallel (issue 10, finding 1): wrong passwords sent
// all at once are counted one by one, so only the first few are even
// checked and the rest answer 429, and so does the right password then.
func TestSignInThrottleParallel(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "lee@example.com", store.RoleStaff)
	c := a.client(t, nil)
	var mu sync.Mutex
	codes := map[int]int{}
	for round := 0; round < 2; round++ {
		var wg sync.WaitGroup
		for i := 0; i < 50; i++ {
			wg.Go(func() {
				resp, err := c.PostForm(a.Server.URL+"/login", url.Values{"email": {u.Email}, "password": {"wrong password"}})
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	if codes[http.StatusUnprocessableEntity] > 5 || codes[http.StatusTooManyRequests] < 95 {
		t.Errorf("100 wrong passwords in parallel answered %v, want at most 5 × 422 and the rest 429", codes)
	}
	resp, err := c.PostForm(a.Server.URL+"/login", url.Values{"email": {u.Email}, "password": {storetest.Password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right password after the attack: %d, want 429", resp.StatusCode)
	}
}

// TestSignInLockoutFromElsewhere (finding 3): wrong passwords from one
// address do not keep the owner, at another address, out.
func TestSignInLockoutFromElsewhere(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "lee@example.com", store.RoleStaff)
	h := a.Handler.Routes()
	for i := 0; i < 8; i++ {
		signIn(h, u.Email, "wrong password", "198.51.100.7:4000")
	}
	if w := signIn(h, u.Email, storetest.Password, "198.51.100.7:4001"); w.Code != http.StatusTooManyRequests {
		t.Errorf("attacker's address with the right password: %d, want 429", w.Code)
	}
	if w := signIn(h, u.Email, storetest.Password, "203.0.113.5:5000"); w.Code != http.StatusSeeOther {
		t.Errorf("owner at another address: %d, want 303\n%s", w.Code, w.Body)
	}
}

// TestSignInUnknownAddressParity (finding 3): an address that has no
// account answers exactly like one that has, throttling included.
func TestSignInUnknownAddressParity(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "lee@example.com", store.RoleStaff)
	h := a.Handler.Routes()
	answers := func(email string) []string {
		var out []string
		for i := 0; i < 7; i++ {
			w := signIn(h, email, "wrong password", "198.51.100.7:4000")
			msg := regexp.MustCompile(`(?s)<div class="alert alert-error" role="alert">(.*?)</div>`).FindStringSubmatch(w.Body.String())
			if msg == nil {
				t.Fatalf("%s: no message in\n%s", email, w.Body)
			}
			out = append(out, fmt.Sprint(w.Code, " ", strings.TrimSpace(msg[1])))
		}
		return out
	}
	known, unknown := answers(u.Email), answers("nobody@example.com")
	if strings.Join(known, "\n") != strings.Join(unknown, "\n") {
		t.Errorf("known account:\n%s\nunknown address:\n%s", strings.Join(known, "\n"), strings.Join(unknown, "\n"))
	}
	if !strings.HasPrefix(known[6], "429") {
		t.Errorf("7th wrong password: %s, want 429", known[6])
	}
}

// TestSignInMemoryBounded (finding 2): 300 sign-ins, 100 at a time, keep
// the server under 300 MB. The sign-ins run in a child process of this
// test binary, so that the peak (VmHWM) is theirs alone; each answer is a
// refusal (422), a throttle (429) or "busy, retry" (503), never a 500.
func TestSignInMemoryBounded(t *testing.T) {
	if os.Getenv("ROLODEX_RSS_CHILD") == "1" {
		signInStorm(t)
		return
	}
	if raceEnabled {
		t.Skip("the race detector's shadow memory makes RSS meaningless")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestSignInMemoryBounded$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "ROLODEX_RSS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var peak int
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "auth_test.go"); ok {
			if _, v, ok := strings.Cut(rest, "VmHWM:"); ok {
				peak, _ = strconv.Atoi(strings.Fields(v)[0])
			}
		}
	}
	if peak == 0 {
		t.Fatalf("no VmHWM in the child's output:\n%s", out)
	}
	t.Logf("peak RSS of 300 sign-ins, 100 at a time: %d MB\n%s", peak>>10, out)
	if peak > 300<<10 {
		t.Errorf("peak RSS %d MB, want under 300 MB", peak>>10)
	}
}

// signInStorm is TestSignInMemoryBounded's child: it collects garbage as
// `rolodex serve` does by default (TuneGC, a 512 MiB memory limit) and
// reports its peak RSS.
func signInStorm(t *testing.T) {
	defer proc.TuneGC()()
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(512 << 20))
	a := newTestApp(t)
	u := a.User(t, "lee@example.com", store.RoleStaff)
	h := a.Handler.Routes()
	codes := map[int]int{}
	var mu sync.Mutex
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		for i := 0; i < 100; i++ {
			wg.Go(func() {
				// Each from its own address and account, so that the
				// throttle does not spare the hashes.
				email := u.Email
				if i%2 == 1 {
					email = fmt.Sprintf("nobody%d@example.com", i)
				}
				w := signIn(h, email, "wrong password", fmt.Sprintf("198.51.%d.%d:4000", round, i))
				mu.Lock()
				codes[w.Code]++
				mu.Unlock()
				if w.Code == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
			})
		}
		wg.Wait()
	}
	for code := range codes {
		if code != http.StatusUnprocessableEntity && code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable {
			t.Errorf("answers %v: want only 422, 429 and 503", codes)
		}
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "VmHWM:") {
			t.Logf("answers %v; %s", codes, strings.TrimSpace(line))
		}
	}
}

// TestLoginRedirectStaysOnSite (finding 4): whatever "next" says, sign-in
// sends the browser to a path of this site, checked in the form
// http.Redirect will actually send.
func TestLoginRedirectStaysOnSite(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "lee@example.com", store.RoleStaff)
	signedIn := a.client(t, u)
	for _, next := range []string{
		`/.\evil.example`, `/./\evil.example`, `//evil.example`, `/\evil.example`, `\\evil.example`,
		`https://evil.example`, `/..//evil.example`, `/a/../\evil.example`, "/\t/evil.example", "/\n/evil.example",
		"/%09/evil.example", `javascript:alert(1)`, `evil.example`, `/%2F%2Fevil.example`, `///evil.example`,
		"/\x7f/evil.example", `.//evil.example`, "/companies\r\nSet-Cookie: x=y",
	} {
		resp, _ := do(t, signedIn, "GET", a.Server.URL+"/login?next="+url.QueryEscape(next), "", "")
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !sameSite(loc) {
			t.Errorf("GET /login?next=%q: %d to %q", next, resp.StatusCode, loc)
		}
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, _ = do(t, c, "POST", a.Server.URL+"/login", formType,
			url.Values{"email": {u.Email}, "password": {storetest.Password}, "next": {next}}.Encode())
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !sameSite(loc) {
			t.Errorf("POST /login next=%q: %d to %q", next, resp.StatusCode, loc)
		}
	}
	// A good target survives, query and all.
	resp, _ := do(t, signedIn, "GET", a.Server.URL+"/login?next="+url.QueryEscape("/companies?sort=name&q=a+b"), "", "")
	if loc := resp.Header.Get("Location"); loc != "/companies?sort=name&q=a+b" {
		t.Errorf("good next: Location %q", loc)
	}
}

// sameSite reports whether a browser resolves loc, relative to this site,
// to this site: a path that no browser reads as another host.
func sameSite(loc string) bool {
	if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\t\r\n") {
		return false
	}
	base, _ := url.Parse("https://rolodex.example/login")
	u, err := base.Parse(loc)
	return err == nil && u.Host == "rolodex.example"
}

// TestCopiedCookieAfterLogout (finding 5): a cookie copied before logout
// does not work after it.
func TestCopiedCookieAfterLogout(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "lee@example.com", store.RoleStaff)
	c := a.client(t, u)
	copied := copyClient(a, c)
	if resp, _ := do(t, copied, "GET", a.Server.URL+"/companies", "", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("copied cookie before logout: %d", resp.StatusCode)
	}
	do(t, c, "POST", a.Server.URL+"/logout", formType, "")
	assertSignedOut(t, a, copied, "copied cookie after logout")
}

// TestSessionIDChangesAtSignIn (finding 5): signing in again gives a new
// session and ends the one the browser had.
func TestSessionIDChangesAtSignIn(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "lee@example.com", store.RoleStaff)
	c := a.client(t, u)
	before := copyClient(a, c)
	resp, _ := do(t, c, "POST", a.Server.URL+"/login", formType, url.Values{"email": {u.Email}, "password": {storetest.Password}}.Encode())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", resp.StatusCode)
	}
	if cookieOf(a, c) == cookieOf(a, before) {
		t.Error("the session cookie did not change at sign-in")
	}
	if resp, _ := do(t, c, "GET", a.Server.URL+"/companies", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("new session: %d", resp.StatusCode)
	}
	assertSignedOut(t, a, before, "the session from before sign-in")
}

// TestSignOutEverywhere (finding 5): the session list ends one session,
// or all of them.
func TestSignOutEverywhere(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "lee@example.com", store.RoleStaff)
	laptop, phone, tablet := a.client(t, u), a.client(t, u), a.client(t, u)
	resp, body := do(t, laptop, "GET", a.Server.URL+"/me/sessions", "", "")
	if resp.StatusCode != http.StatusOK || strings.Count(body, `<li class="session`) != 3 || strings.Count(body, "This session") != 1 {
		t.Fatalf("session list: %d, want 3 sessions, one marked current\n%s", resp.StatusCode, body)
	}
	// The phone's session, from the laptop: the list names ids in its forms.
	ids := regexp.MustCompile(`action="/me/sessions/(\d+)/delete"`).FindAllStringSubmatch(body, -1)
	if len(ids) != 3 {
		t.Fatalf("%d delete forms, want 3", len(ids))
	}
	_, phoneList := do(t, phone, "GET", a.Server.URL+"/me/sessions", "", "")
	phoneID := regexp.MustCompile(`class="session current"[^>]*data-id="(\d+)"`).FindStringSubmatch(phoneList)
	if phoneID == nil {
		t.Fatalf("no current session in\n%s", phoneList)
	}
	if resp, _ := do(t, laptop, "POST", a.Server.URL+"/me/sessions/"+phoneID[1]+"/delete", formType, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete the phone's session: %d", resp.StatusCode)
	}
	assertSignedOut(t, a, phone, "the phone after its session was ended")
	if resp, _ := do(t, laptop, "GET", a.Server.URL+"/companies", "", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("laptop after ending the phone's session: %d", resp.StatusCode)
	}
	// Another user's session id is not found.
	other := a.client(t, a.User(t, "sam@example.com", store.RoleStaff))
	if resp, _ := do(t, other, "POST", a.Server.URL+"/me/sessions/"+ids[0][1]+"/delete", formType, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another user's session: %d, want 404", resp.StatusCode)
	}

	// The same as JSON: the list, and 204 for an ended session.
	resp, body = do(t, tablet, "GET", a.Server.URL+"/me/sessions", "", "", "Accept", jsonType)
	var list struct {
		Items []struct {
			ID        int64  `json:"id"`
			Address   string `json:"address"`
			UserAgent string `json:"user_agent"`
		} `json:"items"`
		Current int64 `json:"current"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || resp.StatusCode != http.StatusOK || len(list.Items) != 2 || list.Current == 0 {
		t.Fatalf("JSON list: %d %v\n%s", resp.StatusCode, err, body)
	}
	laptopID := list.Items[0].ID + list.Items[1].ID - list.Current
	if resp, _ := do(t, tablet, "POST", fmt.Sprintf("%s/me/sessions/%d/delete", a.Server.URL, laptopID), formType, "", "Accept", jsonType); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("JSON delete: %d", resp.StatusCode)
	}
	assertSignedOut(t, a, laptop, "the laptop after the tablet ended its session")
	laptop = a.client(t, u)

	resp, _ = do(t, laptop, "POST", a.Server.URL+"/me/sessions/delete-all", formType, "")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("sign out everywhere: %d to %q", resp.StatusCode, loc)
	}
	assertSignedOut(t, a, laptop, "the laptop after signing out everywhere")
	assertSignedOut(t, a, tablet, "the tablet after signing out everywhere")
	if resp, _ := do(t, other, "GET", a.Server.URL+"/companies", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("another user after lee signed out everywhere: %d", resp.StatusCode)
	}
}

// TestDeactivateUser (finding 5): deactivating ends the user's sessions at
// once and refuses their sign-in with a clear message; reactivating lets
// them back in.
func TestDeactivateUser(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "lee@example.com", store.RoleStaff)
	adm := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	c := a.client(t, u)
	path := fmt.Sprintf("%s/admin/users/%d", a.Server.URL, u.ID)
	if resp, _ := do(t, adm, "POST", path+"/deactivate", formType, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", resp.StatusCode)
	}
	assertSignedOut(t, a, c, "a deactivated user")
	resp, body := do(t, a.client(t, nil), "POST", a.Server.URL+"/login", formType, url.Values{"email": {u.Email}, "password": {storetest.Password}}.Encode())
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "deactivated") {
		t.Errorf("deactivated user signs in: %d\n%.400s", resp.StatusCode, body)
	}
	if _, body := do(t, adm, "GET", path, "", ""); !strings.Contains(body, "Deactivated") {
		t.Errorf("the user's page does not say deactivated")
	}
	if resp, _ := do(t, adm, "POST", path+"/reactivate", formType, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reactivate: %d", resp.StatusCode)
	}
	a.client(t, u) // signs in, or fails the test
	self := fmt.Sprintf("%s/admin/users/%d/deactivate", a.Server.URL, userID(t, a, "admin@example.com"))
	if resp, _ := do(t, adm, "POST", self, formType, ""); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("an admin deactivates themself: %d, want 422", resp.StatusCode)
	}
}

func userID(t *testing.T, a *testApp, email string) int64 {
	t.Helper()
	users, err := a.Store.ListUsers(t.Context(), admin())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Email == email {
			return u.ID
		}
	}
	t.Fatalf("no user %s", email)
	return 0
}

// copyClient returns a new client holding a copy of c's cookies.
func copyClient(a *testApp, c *http.Client) *http.Client {
	jar, _ := cookiejar.New(nil)
	u := mustURL(a.Server.URL)
	jar.SetCookies(u, c.Jar.Cookies(u))
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func cookieOf(a *testApp, c *http.Client) string {
	for _, ck := range c.Jar.Cookies(mustURL(a.Server.URL)) {
		if ck.Name == "rolodex" {
			return ck.Value
		}
	}
	return ""
}

func assertSignedOut(t *testing.T, a *testApp, c *http.Client, who string) {
	t.Helper()
	resp, _ := do(t, c, "GET", a.Server.URL+"/companies", "", "")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Errorf("%s reaches /companies: %d %q", who, resp.StatusCode, loc)
	}
}
