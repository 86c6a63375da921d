package handlers_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// phone is the viewport of a common phone in portrait.
const phoneWidth, phoneHeight = 390, 844

// emulate sets the viewport (a phone when width is phoneWidth) and the
// colour scheme the pages see.
func emulate(width, height int64, scheme string) chromedp.Action[chromedp.Void] {
	var opts []chromedp.EmulateViewportOption
	if width <= phoneWidth {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.EmulateViewport(width, height, opts...)(ctx, t); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

// signIn clears the browser's cookies and signs in as u (nobody when u is
// nil).
func browserSignIn(t *testing.T, ctx context.Context, base string, u *store.User) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
			return err
		}),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`input[name="email"]`),
	)
	if err != nil {
		t.Fatalf("open the sign-in page: %v", err)
	}
	if u == nil {
		return
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`input[name="email"]`, u.Email),
		chromedp.SendKeys(`input[name="password"]`, storetest.Password),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(`#search-q`),
	)
	if err != nil {
		t.Fatalf("sign in as %s: %v", u.Email, err)
	}
}

// overflowJS answers what sticks out past the right edge of a viewport of
// the width it is given: empty when the page does not scroll sideways, otherwise the
// page's width and the outermost elements that are too wide, to say what
// to fix. The width is given, not read: an emulated phone zooms out to fit
// a page that is too wide, and then window.innerWidth grows with the page.
const overflowJS = `(() => {
	const w = %d;
	if (document.documentElement.scrollWidth <= w) return "";
	const out = [];
	for (const el of document.body.querySelectorAll("*")) {
		const r = el.getBoundingClientRect();
		if (r.width === 0 || r.right <= w + 0.5) continue;
		if (el.parentElement && el.parentElement.getBoundingClientRect().right > w + 0.5) continue;
		out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "") + " right " + Math.round(r.right));
		if (out.length == 5) break;
	}
	return "scrollWidth " + document.documentElement.scrollWidth + " > " + w + ": " + out.join(", ");
})()`

// mobileWorkspace fills a workspace with what makes pages wide: long names
// and addresses, every kind of timeline item, meetings. It
// returns the company staff may see, one meeting of it and the staff user.
func mobileWorkspace(t *testing.T, a *testApp) (*store.Company, *store.Meeting, *store.User) {
	t.Helper()
	ctx := context.Background()
	staff := a.User(t, "staff.member.with.a.long.address@example-company.example.com", store.RoleStaff)
	co, err := a.Store.CreateCompany(ctx, admin(), store.CompanyInput{
		Name: "Andertons Music Company International Holdings Limited", Street: "58-59 Woodbridge Road",
		Town: "Guildford", State: "Surrey", Zip: "GU1 4RF",
		Website:     "https://www.andertons-music-company-international.example.co.uk/about/contact-us",
		Description: "Guitars, basses, drums, keyboards and pro audio. https://www.andertons-music-company-international.example.co.uk/a/very/long/path/that/does/not/wrap",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, co.ID, true); err != nil {
		t.Fatal(err)
	}
	// Owned by the user with the long address, shown in the list and on the page.
	if co, err = a.Store.UpdateCompany(ctx, admin(), co.ID, store.CompanyInput{Name: co.Name, Street: co.Street, Town: co.Town, State: co.State,
		Zip: co.Zip, Website: co.Website, Description: co.Description, OwnerID: &staff.ID}); err != nil {
		t.Fatal(err)
	}
	body := "Wants **200** units.\n\n```\nSELECT name, email, phone, title FROM contacts WHERE company_id = 42 ORDER BY created_at DESC;\n```\n\n" +
		"| model | price | stock | warehouse |\n| --- | --- | --- | --- |\n| Stratocaster American Professional II | 1499.00 | 12 | Guildford North |\n\n" +
		"See https://www.andertons-music-company-international.example.co.uk/a/very/long/path/that/does/not/wrap?with=query&and=more"
	if _, err := a.Store.AddNote(ctx, admin(), co.ID, store.NoteInput{Title: "Quarterly order: Stratocasters, Telecasters and Jazzmasters for the Guildford store", Body: body}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.AddContact(ctx, admin(), co.ID, store.ContactInput{Name: "Lee Anderton-Featherstonehaugh", Email: "lee.anderton-featherstonehaugh@andertons-music-company.example.co.uk", Phone: "+44 1483 456 777", Title: "Head of Purchasing and Supplier Relations"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.AddLink(ctx, admin(), co.ID, store.LinkInput{Title: "Price list", URL: "https://www.andertons-music-company-international.example.co.uk/trade/price-list-2026-spring-edition.pdf"}); err != nil {
		t.Fatal(err)
	}
	// One meeting on the company's timeline, and a second page of them
	// on the meetings list.
	other, err := a.Store.CreateCompany(ctx, admin(), store.CompanyInput{Name: "Featherstonehaugh Instruments and Amplification Limited"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store.AssignClient(ctx, admin(), staff.ID, other.ID, true); err != nil {
		t.Fatal(err)
	}
	var m *store.Meeting
	for i := range 30 {
		in := store.MeetingInput{Type: "video", Subject: fmt.Sprintf("Review of the spring order and the delivery schedule, part %d", i+1),
			Details: "Agenda: prices, delivery dates, returns.", StartsAt: 1772373600000 + int64(i)*3600000}
		where := other.ID
		if i == 29 {
			where = co.ID
		}
		if m, err = a.Store.CreateMeeting(ctx, admin(), where, in); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		mustCompany(t, a, fmt.Sprintf("Company %02d with a rather long trading name Ltd", i))
	}
	if _, err := a.Store.AddMeetingType(ctx, admin(), "Trade show visit"); err != nil {
		t.Fatal(err)
	}
	return co, m, staff
}

// TestBrowserMobile opens every main page at phone width, as an admin and
// as staff, and checks that none scrolls sideways; that the main menu opens
// and its links work there; and it saves each page at phone and desktop
// width, light and dark, when ROLODEX_SCREENSHOTS is set.
func TestBrowserMobile(t *testing.T) {
	a := newTestApp(t)
	co, m, staff := mobileWorkspace(t, a)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	mustImport(t, a, false)
	draft := mustImport(t, a, true) // its page previews the file's columns
	base := a.Server.URL
	contacts, cerr := a.Store.ListContacts(context.Background(), admin(), store.ContactQuery{})
	if cerr != nil || len(contacts.Items) == 0 {
		t.Fatalf("contacts: %v", cerr)
	}

	type page struct {
		name, path string
		adminOnly  bool
	}
	pages := []page{
		{"companies", "/companies", false},
		{"companies-mine", "/companies?mine=1", false},
		{"company", fmt.Sprintf("/companies/%d", co.ID), false},
		{"company-edit", fmt.Sprintf("/companies/%d/edit", co.ID), false},
		{"company-new", "/companies/new", false},
		{"meetings", "/meetings", false},
		{"contacts", "/contacts", false},
		{"contact", fmt.Sprintf("/contacts/%d", contacts.Items[0].ID), false},
		{"meeting-edit", fmt.Sprintf("/meetings/%d/edit", m.ID), false},
		{"search", "/search?q=anderton", false},
		{"not-found", "/no/such/page", false},
		{"users", "/admin/users", true},
		{"user", fmt.Sprintf("/admin/users/%d", staff.ID), true},
		{"imports", "/admin/imports", true},
		{"import", fmt.Sprintf("/admin/imports/%d", draft), true},
		{"meeting-types", "/admin/meeting-types", true},
	}
	// visit opens path at phone, tablet and desktop width and checks that it does
	// not scroll sideways; the colour scheme does not change widths, so it
	// only varies for the screenshots. Each is of a fresh load: switching
	// the scheme on an open page would catch the buttons' transitions.
	visit := func(t *testing.T, ctx context.Context, name, path string) {
		t.Helper()
		for _, width := range []int64{phoneWidth, 768, 1280} {
			height := map[int64]int64{phoneWidth: phoneHeight, 768: 1024, 1280: 900}[width]
			for _, scheme := range []string{"light", "dark"} {
				if scheme == "dark" && os.Getenv("ROLODEX_SCREENSHOTS") == "" {
					continue // only a screenshot would see it
				}
				if err := chromedp.Do(ctx, emulate(width, height, scheme), chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("main"))); err != nil {
					t.Fatalf("open %s: %v", path, err)
				}
				if scheme == "light" {
					over, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(overflowJS, width)))
					if err != nil {
						t.Fatal(err)
					}
					if over != "" {
						t.Errorf("%s at %d px scrolls sideways: %s", path, width, over)
					}
				}
				screenshot(t, ctx, fmt.Sprintf("%s-%d-%s", name, width, scheme))
			}
		}
	}

	t.Run("anonymous", func(t *testing.T) {
		ctx := browser(t)
		browserSignIn(t, ctx, base, nil)
		visit(t, ctx, "anonymous-login", "/login")
		visit(t, ctx, "anonymous-not-found", "/no/such/page")
	})
	for _, u := range []*store.User{adm, staff} {
		who := string(u.Role)
		t.Run(who, func(t *testing.T) {
			ctx := browser(t)
			browserSignIn(t, ctx, base, u)
			for _, p := range pages {
				if !p.adminOnly || u.IsAdmin() {
					visit(t, ctx, who+"-"+p.name, p.path)
				}
			}
		})
	}

	// As the admin (five entries), the menu is folded at phone width: the
	// links show only once it is opened, fit the screen, and work.
	ctx := browser(t)
	browserSignIn(t, ctx, base, adm)
	err := chromedp.Do(ctx,
		emulate(phoneWidth, phoneHeight, "light"),
		chromedp.Navigate(base+"/companies"),
		chromedp.WaitVisible(`.nav-toggle`),
		chromedp.WaitNotVisible(`.nav a[href="/admin/meeting-types"]`),
		chromedp.Click(`.nav-toggle`),
		chromedp.WaitVisible(`.nav a[href="/admin/meeting-types"]`),
	)
	if err != nil {
		t.Fatalf("open the menu: %v", err)
	}
	screenshot(t, ctx, "admin-menu-open-390-light")
	// outside names the elements sel matches that are not wholly on the
	// screen.
	outside := func(sel string) string {
		t.Helper()
		names, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).filter(e => {
			const r = e.getBoundingClientRect();
			return r.width === 0 || r.left < 0 || r.right > %d || r.bottom > %d;
		}).map(e => e.textContent.trim()).join(", ")`, sel, phoneWidth, phoneHeight)))
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	if out := outside(".nav a"); out != "" {
		t.Errorf("menu links not within the screen: %q", out)
	}
	// Escape folds it again; the account menu opens within the screen too.
	err = chromedp.Do(ctx,
		chromedp.KeyEvent(kb.Escape),
		chromedp.WaitNotVisible(`.nav a[href="/admin/meeting-types"]`),
		chromedp.Click(`.user-menu summary`),
		chromedp.WaitVisible(`.user-menu .menu button[type="submit"]`),
	)
	if err != nil {
		t.Fatalf("Escape, then the account menu: %v", err)
	}
	if out := outside(".user-menu .menu, .user-menu .menu button"); out != "" {
		t.Errorf("account menu not within the screen: %q", out)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`.user-menu summary`),
		chromedp.Click(`.nav-toggle`),
		chromedp.Click(`.nav a[href="/admin/meeting-types"]`),
		chromedp.WaitVisible(`form[action="/admin/meeting-types"]`),
	)
	if err != nil {
		t.Fatalf("follow a menu link: %v", err)
	}
	// At desktop width there is no menu button: the links are in the bar.
	err = chromedp.Do(ctx,
		emulate(1280, 900, "light"),
		chromedp.WaitVisible(`.nav a[href="/admin/imports"]`),
		chromedp.WaitNotVisible(`.nav-toggle`),
	)
	if err != nil {
		t.Fatalf("desktop navigation: %v", err)
	}
}

// TestBrowserPagerShowsListTop checks that "Next" on a long list brings the
// top of the new page into view, not leaves the reader at its bottom.
func TestBrowserPagerShowsListTop(t *testing.T) {
	a := newTestApp(t)
	// Two full pages: a short second page would bring the top into view
	// by itself, as the document shrinks under the scroll position.
	for i := range 50 {
		mustCompany(t, a, fmt.Sprintf("Company %02d", i))
	}
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	ctx := browser(t)
	browserSignIn(t, ctx, a.Server.URL, adm)
	err := chromedp.Do(ctx,
		emulate(phoneWidth, phoneHeight, "light"),
		chromedp.Navigate(a.Server.URL+"/companies"),
		chromedp.WaitVisible(`.pager a`),
		chromedp.ScrollIntoView(`.pager a`),
	)
	if err != nil {
		t.Fatal(err)
	}
	top, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById("company-list").getBoundingClientRect().top`))
	if err != nil || top >= 0 {
		t.Fatalf("the list's top is at %v (%v) before Next: the page did not scroll, so this test proves nothing", top, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`.pager a`),
		chromedp.WaitVisible(`#company-list td.name a[href]`),
		chromedp.Poll[chromedp.Void](`location.search.includes("cursor=")`),
		chromedp.Sleep(300*time.Millisecond), // htmx settles, then scrolls
	)
	if err != nil {
		t.Fatalf("next page: %v", err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Text(`#company-list tbody`))
	if err != nil || !strings.Contains(rows, "Company 25") {
		t.Fatalf("second page shows %q (%v)", rows, err)
	}
	// The top bar is sticky: the list's top must show below it.
	var place struct{ Top, Bar float64 }
	place, err = chromedp.Run(ctx, chromedp.Evaluate[struct{ Top, Bar float64 }](`({
		Top: document.getElementById("company-list").getBoundingClientRect().top,
		Bar: document.querySelector(".topbar").getBoundingClientRect().bottom,
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if place.Top < place.Bar-1 || place.Top > phoneHeight/2 {
		t.Errorf("after Next the list's top is at %v px (top bar ends at %v), want it at the top of the screen", place.Top, place.Bar)
	}
}
