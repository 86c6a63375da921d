package handlers_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestBrowserSearchGroups types a name that five companies and seven
// contacts share: the search box lists the five companies above the
// contacts, with counts, and "Show all" opens the results page with all
// twelve.
func TestBrowserSearchGroups(t *testing.T) {
	a := newTestApp(t)
	companies, _, _ := andertons(t, a)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)

	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(a.Server.URL+"/companies"),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, adm.Email),
		chromedp.SendKeys(`input[name="password"]`, storetest.Password),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(`#search-q`),
		chromedp.Click(`#search-q`),
		chromedp.KeyEvent("anderton"),
		chromedp.WaitVisible(`#search-results a.search-all`),
	)
	if err != nil {
		t.Fatalf("sign in and search: %v", err)
	}
	screenshot(t, ctx, "search-groups")
	hrefs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#search-results .search-list a")).map(a => a.getAttribute("href"))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(hrefs) != 10 {
		t.Fatalf("search box lists %q, want 5 companies and 5 contacts", hrefs)
	}
	for i, c := range companies {
		if want := fmt.Sprintf("/companies/%d", c.ID); !strings.Contains(strings.Join(hrefs[:5], " ")+" ", want+" ") {
			t.Errorf("company %d %q not among the first five: %q", i, c.Name, hrefs)
		}
	}
	for _, h := range hrefs[5:] {
		if !strings.Contains(h, "#contact-") {
			t.Errorf("after the companies %q is not a contact: %q", h, hrefs)
		}
	}
	titles, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#search-results .search-group-title")).map(h => h.textContent.replace(/\s+/g, " ").trim())`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(titles, "|") != "Companies 5|Contacts 7" {
		t.Errorf("group titles %q, want Companies 5 then Contacts 7", titles)
	}
	showAll, err := chromedp.Run(ctx, chromedp.Text(`#search-results a.search-all`))
	if err != nil || strings.TrimSpace(showAll) != "Show all 12 results" {
		t.Errorf("show all link %q (%v)", showAll, err)
	}

	err = chromedp.Do(ctx,
		chromedp.Click(`#search-results a.search-all`),
		chromedp.WaitVisible(`.search-page .search-list`),
	)
	if err != nil {
		t.Fatalf("show all: %v", err)
	}
	screenshot(t, ctx, "search-page")
	location, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	if err != nil || location != "/search?q=anderton" {
		t.Errorf("show all opened %q (%v)", location, err)
	}
	listed, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main .search-list a").length`))
	if err != nil || listed != 12 {
		t.Errorf("results page lists %d (%v), want 12", listed, err)
	}
}
