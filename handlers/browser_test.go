package handlers_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// browser starts headless Chromium (Debian's package) for one test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("chromium not found: apt-get install chromium (make test installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// screenshot saves a PNG when ROLODEX_SCREENSHOTS names a directory, so a
// person can look at what the test saw.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("ROLODEX_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

// TestBrowserSignInSearchAddNote is the main path in real Chromium: sign
// in, type in the search box, open a company, add a note, see it on top.
func TestBrowserSignInSearchAddNote(t *testing.T) {
	a := newTestApp(t)
	bg := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	co, err := a.Store.CreateCompany(bg, staff, store.CompanyInput{Name: "Andertons", Town: "Guildford", Website: "https://andertons.co.uk"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.AddNote(bg, staff, co.ID, store.NoteInput{Title: "Older note", Body: "from before"}); err != nil {
		t.Fatal(err)
	}
	mustCompany(t, a, "Andersen Hidden") // not assigned: must not show up

	ctx := browser(t)
	url := a.Server.URL
	err = chromedp.Do(ctx,
		chromedp.Navigate(url+"/companies"),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, staff.Email),
		chromedp.SendKeys(`input[name="password"]`, "correct horse battery"),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(`#search-q`),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	screenshot(t, ctx, "1-companies")
	companyLink := `#search-results a[href="/companies/` + fmt.Sprint(co.ID) + `"]`
	// The "/" key focuses the search box.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("/")); err != nil {
		t.Fatal(err)
	}
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if err != nil || focused != "search-q" {
		t.Fatalf("after '/' the focus is on %q (%v), want the search box", focused, err)
	}
	err = chromedp.Do(ctx,
		// CDP delivers the key's character separately from keydown, so
		// clear what a real browser would not have typed; then type with a
		// typo, as a user would.
		chromedp.Clear(`#search-q`),
		chromedp.KeyEvent("andretons"),
		chromedp.WaitVisible(companyLink),
	)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	results, err := chromedp.Run(ctx, chromedp.Text(`#search-results`))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "2-search")
	if !strings.Contains(results, "Andertons") || strings.Contains(results, "Hidden") {
		t.Fatalf("search results %q", results)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(companyLink),
		chromedp.WaitVisible(`#timeline`),
		chromedp.Click(`details.add summary`), // "Add a note"
		chromedp.WaitVisible(`#note-form input[name="title"]`),
		settled(),
		chromedp.SendKeys(`#note-form input[name="title"]`, "Called Lee"),
		chromedp.SendKeys(`#note-form textarea[name="body"]`, "Wants **200** units"),
		chromedp.Click(`#note-form button[type="submit"]`),
		chromedp.WaitVisible(`#timeline .tl-body strong`),
	)
	if err != nil {
		t.Fatalf("add note: %v", err)
	}
	screenshot(t, ctx, "3-company")
	firstItem, err := chromedp.Run(ctx, chromedp.Text(`#timeline article`))
	if err != nil {
		t.Fatal(err)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(`#timeline`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(firstItem, "Called Lee") {
		t.Errorf("first timeline item is %q, want the new note", firstItem)
	}
	if !strings.Contains(html, "<strong>200</strong>") {
		t.Errorf("note Markdown not rendered: %.500s", html)
	}
	if i, j := strings.Index(html, "Called Lee"), strings.Index(html, "Older note"); i < 0 || j < 0 || i > j {
		t.Errorf("new note is not above the older one")
	}

	// The contact form is not on the page until "Add a contact" is opened;
	// then htmx fetches it in place, and it adds a contact like the note.
	err = chromedp.Do(ctx,
		chromedp.Click(`details.add:nth-of-type(2) summary`),
		chromedp.WaitVisible(`#contact-form input[name="name"]`),
		settled(),
		chromedp.SendKeys(`#contact-form input[name="name"]`, "Lee Anderton"),
		chromedp.SendKeys(`#contact-form input[name="email"]`, "lee@andertons.example"),
		chromedp.Click(`#contact-form button[type="submit"]`),
		chromedp.WaitVisible(`#timeline .tl-contact`),
	)
	if err != nil {
		t.Fatalf("add contact: %v", err)
	}
	screenshot(t, ctx, "4-contact")
	firstItem, err = chromedp.Run(ctx, chromedp.Text(`#timeline article`))
	if err != nil || !strings.Contains(firstItem, "Lee Anderton") {
		t.Errorf("first timeline item is %q (%v), want the new contact", firstItem, err)
	}

	// The "Notes" tab filters the timeline in place and puts the filter in
	// the address bar; "All" brings the contact back.
	err = chromedp.Do(ctx,
		chromedp.Click(`nav.tabs a[href$="?type=note"]`),
		chromedp.WaitVisible(`nav.tabs a[href$="?type=note"][aria-current="page"]`),
	)
	if err != nil {
		t.Fatalf("notes tab: %v", err)
	}
	screenshot(t, ctx, "5-notes-tab")
	location, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	if want := fmt.Sprintf("/companies/%d?type=note", co.ID); err != nil || location != want {
		t.Errorf("after the notes tab the address is %q (%v), want %q", location, err, want)
	}
	timeline, err := chromedp.Run(ctx, chromedp.Text(`#timeline`))
	if err != nil || !strings.Contains(timeline, "Called Lee") || strings.Contains(timeline, "Lee Anderton") {
		t.Errorf("notes-only timeline: %q (%v)", timeline, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`nav.tabs a:first-child`),
		chromedp.WaitVisible(`#timeline .tl-contact`),
	)
	if err != nil {
		t.Fatalf("all tab: %v", err)
	}
}

// TestBrowserTimeZone: a browser in London signs in and its zone becomes
// the user's; a meeting entered at 14:00 shows at 14:00; after the profile
// changes the zone to New York the same meeting shows at 09:00.
func TestBrowserTimeZone(t *testing.T) {
	a := newTestApp(t)
	bg := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	co := mustCompany(t, a, "Andertons")
	if err := a.Store.AssignClient(bg, admin(), staff.ID, co.ID, true); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	london := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Europe/London"})
		return err
	})
	err := chromedp.Do(ctx,
		london,
		chromedp.Navigate(a.Server.URL+"/login"),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, staff.Email),
		chromedp.SendKeys(`input[name="password"]`, storetest.Password),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(`#search-q`),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if u, err := a.Store.UserByID(bg, staff.ID); err != nil || u.TimeZone != "Europe/London" {
		t.Fatalf("zone after sign-in: %q (%v), want Europe/London", u.TimeZone, err)
	}

	// July 1, 2026: London is UTC+1 and New York UTC-4.
	company := fmt.Sprintf("%s/companies/%d", a.Server.URL, co.ID)
	err = chromedp.Do(ctx,
		chromedp.Navigate(company+"/meetings/new"),
		chromedp.WaitVisible(`#meeting-form input[name="subject"]`),
		settled(),
		chromedp.SendKeys(`#meeting-form input[name="subject"]`, "Lunch"),
		chromedp.SetValue(`#meeting-starts_at`, "2026-07-01T14:00"),
	)
	if err != nil {
		t.Fatalf("open the meeting form: %v", err)
	}
	// The form says which zone it reads times in (it closes once saved).
	label, err := chromedp.Run(ctx, chromedp.Text(`label[for="meeting-starts_at"]`))
	if err != nil || !strings.Contains(label, "Europe/London") {
		t.Errorf("start label %q (%v) does not name the zone", label, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`#meeting-form button[type="submit"]`),
		chromedp.WaitVisible(`#timeline .meeting-line`),
	)
	if err != nil {
		t.Fatalf("add meeting: %v", err)
	}
	screenshot(t, ctx, "tz-1-london")
	line, err := chromedp.Run(ctx, chromedp.Text(`#timeline .meeting-line`))
	if err != nil || !strings.Contains(line, "Wed, Jul 1, 2026 14:00 Europe/London") {
		t.Fatalf("meeting line %q (%v), want 14:00 Europe/London", line, err)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(a.Server.URL+"/me"),
		chromedp.WaitVisible(`#me-time_zone`),
	)
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	screenshot(t, ctx, "tz-2-profile")
	zones, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#time-zones option").length`))
	if err != nil || zones < 100 {
		t.Errorf("the time zone field suggests %d zones (%v)", zones, err)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(`#me-time_zone`, "America/New_York"),
		chromedp.Submit(`#me-time_zone`),
		chromedp.WaitVisible(`.flash`),
		chromedp.Navigate(company),
		chromedp.WaitVisible(`#timeline .meeting-line`),
	)
	if err != nil {
		t.Fatalf("change zone: %v", err)
	}
	screenshot(t, ctx, "tz-3-new-york")
	line, err = chromedp.Run(ctx, chromedp.Text(`#timeline .meeting-line`))
	if err != nil || !strings.Contains(line, "Wed, Jul 1, 2026 09:00 America/New_York") {
		t.Errorf("meeting line %q (%v), want 09:00 America/New_York", line, err)
	}
}

// settled waits until htmx has swapped in and wired up new content (no
// element is still marked added, settling, swapping or requesting): a form
// clicked before htmx has processed it posts the plain way instead.
func settled() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](`!document.querySelector('.htmx-added, .htmx-settling, .htmx-swapping, .htmx-request')`,
			chromedp.WithPollingTimeout(10*time.Second))(ctx, t)
		return chromedp.Void{}, err
	}
}
