package handlers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rolodex/rolodex/store"
)

// TestBrowserHome opens the home page in Chromium at phone and desktop
// width, as staff and as an admin, with long names in every section: each
// section shows and nothing scrolls sideways.
func TestBrowserHome(t *testing.T) {
	a := newTestApp(t)
	alice, _, adm := homeWorkspace(t, a)
	ctx := context.Background()
	long, err := a.Store.CreateCompany(ctx, adm, store.CompanyInput{Name: "Andertons Music Company International Holdings Limited of Guildford"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store.AssignClient(ctx, adm, alice.ID, long.ID, true); err != nil {
		t.Fatal(err)
	}
	subject := "Review of the spring order, the delivery schedule and the returns policy for the Guildford store"
	for _, at := range []time.Time{time.Now(), time.Now().AddDate(0, 0, 2)} {
		if _, err := a.Store.CreateMeeting(ctx, adm, long.ID, store.MeetingInput{Type: "video", Subject: subject, StartsAt: at.UnixMilli()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Store.AddNote(ctx, adm, long.ID, store.NoteInput{Title: "https://www.andertons-music-company-international.example.co.uk/a/very/long/path/that/does/not/wrap"}); err != nil {
		t.Fatal(err)
	}

	base := a.Server.URL
	for _, u := range []*store.User{alice, adm} {
		t.Run(u.Role, func(t *testing.T) {
			bctx := browser(t)
			browserSignIn(t, bctx, base, u)
			for _, width := range []int64{phoneWidth, 1280} {
				height := map[int64]int64{phoneWidth: phoneHeight, 1280: 900}[width]
				err := chromedp.Do(bctx, emulate(width, height, "light"), chromedp.Navigate(base+"/"),
					chromedp.WaitVisible(`#home-today`), chromedp.WaitVisible(`#home-week`), chromedp.WaitVisible(`#home-rooms`),
					chromedp.WaitVisible(`#home-notifications`), chromedp.WaitVisible(`#home-activity`))
				if err != nil {
					t.Fatalf("home at %d px: %v", width, err)
				}
				over, err := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf(overflowJS, width)))
				if err != nil {
					t.Fatal(err)
				}
				if over != "" {
					t.Errorf("home at %d px scrolls sideways: %s", width, over)
				}
				screenshot(t, bctx, fmt.Sprintf("home-%s-%d", u.Role, width))
			}
		})
	}
}
