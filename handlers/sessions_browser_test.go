package handlers_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestBrowserSignOutEverywhere in real Chromium: sign-in returns to the
// session list it was sent from, which shows this browser and another
// session; "Sign out everywhere", confirmed, ends both and lands on the
// sign-in page with a message.
func TestBrowserSignOutEverywhere(t *testing.T) {
	a := newTestApp(t)
	u := a.User(t, "lee@example.com", store.RoleStaff)
	other := a.client(t, u)
	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(a.Server.URL+"/me/sessions"),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, u.Email),
		chromedp.SendKeys(`input[name="password"]`, storetest.Password),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(`li.session.current`),
	)
	if err != nil {
		t.Fatalf("sign in to the session list: %v", err)
	}
	screenshot(t, ctx, "sessions-1-list")
	list, err := chromedp.Run(ctx, chromedp.Text(`ul.row-list`))
	if err != nil || strings.Count(list, "127.0.0.1") != 2 || !strings.Contains(strings.ToLower(list), "this session") || !strings.Contains(list, "Chrome") {
		t.Errorf("session list %q (%v): want two sessions, this one in Chrome", list, err)
	}
	// The button asks first (data-confirm); say yes.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.confirm = () => true, true)`)); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`form[action="/me/sessions/delete-all"] button`),
		chromedp.WaitVisible(`input[name="email"]`),
	)
	if err != nil {
		t.Fatalf("sign out everywhere: %v", err)
	}
	screenshot(t, ctx, "sessions-2-signed-out")
	flash, err := chromedp.Run(ctx, chromedp.Text(`.flash`))
	if err != nil || !strings.Contains(flash, "Signed out everywhere") {
		t.Errorf("flash %q (%v)", flash, err)
	}
	assertSignedOut(t, a, other, "the other session after signing out everywhere")
}
