package handlers_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/rolodex/rolodex/store"
)

// TestBrowserExport: a staff user clicks "Export CSV" on the companies,
// meetings and contacts lists in Chromium and gets a file of their clients' rows.
func TestBrowserExport(t *testing.T) {
	a := newTestApp(t)
	ctx0 := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	var mine int64
	for _, name := range []string{"Mine", "Hidden", "Other"} {
		c := mustCompany(t, a, name+" Co")
		if _, err := a.Store.CreateMeeting(ctx0, admin(), c.ID, store.MeetingInput{Type: "call", Subject: name + " call", StartsAt: time.Now().Add(time.Hour).UnixMilli()}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Store.AddContact(ctx0, admin(), c.ID, store.ContactInput{Name: name + " person"}); err != nil {
			t.Fatal(err)
		}
		if name != "Hidden" {
			if err := a.Store.AssignClient(ctx0, admin(), staff.ID, c.ID, true); err != nil {
				t.Fatal(err)
			}
		}
		if name == "Mine" {
			mine = c.ID
		}
	}

	ctx := browser(t)
	dir := t.TempDir()
	names := make(chan string, 4)
	done := make(chan string, 4)
	if err := chromedp.ListenBrowser(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *cdpbrowser.EventDownloadWillBegin:
			names <- ev.SuggestedFilename
		case *cdpbrowser.EventDownloadProgress:
			if ev.State == cdpbrowser.DownloadProgressStateCompleted {
				done <- ev.GUID
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(a.Server.URL+"/companies"),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, staff.Email),
		chromedp.SendKeys(`input[name="password"]`, "correct horse battery"),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(`#search-q`),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	events := true
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events}); err != nil {
		t.Fatal(err)
	}
	// The contacts list filtered to a company exports that company's.
	filtered := "?company_id=" + strconv.FormatInt(mine, 10)
	for _, tc := range []struct{ page, file, query, mine, hidden string }{
		{"/companies", "companies", "", "Mine Co", "Hidden"},
		{"/meetings", "meetings", "", "Mine call", "Hidden"},
		{"/contacts", "contacts", "", "Other person", "Hidden"},
		{"/contacts" + filtered, "contacts", filtered, "Mine person", "Other"},
	} {
		link := `a[href="/api/v1/export/` + tc.file + `.csv` + tc.query + `"]`
		if err := chromedp.Do(ctx, chromedp.Navigate(a.Server.URL+tc.page), chromedp.WaitVisible(link), chromedp.Click(link)); err != nil {
			t.Fatalf("%s: %v", tc.page, err)
		}
		var name, guid string
		select {
		case name = <-names:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no download began", tc.page)
		}
		select {
		case guid = <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the download did not finish", tc.page)
		}
		if !strings.HasPrefix(name, "rolodex-"+tc.file+"-") || !strings.HasSuffix(name, ".csv") {
			t.Errorf("%s: the file is named %q", tc.page, name)
		}
		b, err := os.ReadFile(filepath.Join(dir, guid))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(b); !strings.Contains(got, tc.mine) || strings.Contains(got, tc.hidden) {
			t.Errorf("%s: downloaded\n%s", tc.page, got)
		}
	}
}
