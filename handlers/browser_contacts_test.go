package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestBrowserMeetingAttendees: in Chromium, a staff user adds a meeting
// from the company page with two attendees, one found through the
// picker's filter; the timeline names both, and each one's contact page
// lists the meeting.
func TestBrowserMeetingAttendees(t *testing.T) {
	a := newTestApp(t)
	bg := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	co := mustCompany(t, a, "Andertons")
	if err := a.Store.AssignClient(bg, admin(), staff.ID, co.ID, true); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	// More contacts than fit at a glance, so the picker has its filter.
	for _, name := range []string{"Ann Archer", "Bob Baker", "Cy Cole", "Di Dunn", "Ed Eve", "Flo Fox", "Gus Gray", "Hal Hunt", "Ida Ives", "Jo Jay"} {
		c, err := a.Store.AddContact(bg, admin(), co.ID, store.ContactInput{Name: name, Email: strings.ToLower(strings.Fields(name)[0]) + "@andertons.example"})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = c.ID
	}
	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(a.Server.URL+"/login"),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, staff.Email),
		chromedp.SendKeys(`input[name="password"]`, storetest.Password),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(`#search-q`),
		chromedp.Navigate(fmt.Sprintf("%s/companies/%d/meetings/new", a.Server.URL, co.ID)),
		chromedp.WaitVisible(`#meeting-form input[name="subject"]`),
		settled(),
		chromedp.SendKeys(`#meeting-form input[name="subject"]`, "Spring order"),
		chromedp.SetValue(`#meeting-starts_at`, "2026-07-01T14:00"),
		chromedp.Click(fmt.Sprintf(`#meeting-attendees input[value="%d"]`, ids["Ann Archer"])),
		chromedp.SendKeys(`#meeting-form .attendee-filter`, "bak"),
	)
	if err != nil {
		t.Fatalf("open the meeting form: %v", err)
	}
	screenshot(t, ctx, "attendees-1-form")
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#meeting-attendees label")).filter(l => !l.hidden).map(l => l.textContent.trim()).join("|")`))
	if err != nil || shown != "Ann Archer|Bob Baker" {
		t.Fatalf("after filtering for 'bak' the picker shows %q (%v), want the ticked Ann and Bob", shown, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(fmt.Sprintf(`#meeting-attendees input[value="%d"]`, ids["Bob Baker"])),
		chromedp.Click(`#meeting-form button[type="submit"]`),
		chromedp.WaitVisible(`#timeline .tl-meeting .attendees`),
	)
	if err != nil {
		t.Fatalf("add meeting: %v", err)
	}
	screenshot(t, ctx, "attendees-2-timeline")
	line, err := chromedp.Run(ctx, chromedp.Text(`#timeline .tl-meeting .attendees`))
	if err != nil || !strings.Contains(line, "Ann Archer") || !strings.Contains(line, "Bob Baker") || strings.Contains(line, "Cy Cole") {
		t.Fatalf("attendee line %q (%v), want Ann and Bob", line, err)
	}
	for _, name := range []string{"Ann Archer", "Bob Baker"} {
		err := chromedp.Do(ctx,
			chromedp.Click(fmt.Sprintf(`#timeline .attendees a[href="/contacts/%d"]`, ids[name])),
			chromedp.WaitVisible(`.contact-meetings`),
		)
		if err != nil {
			t.Fatalf("open %s's page: %v", name, err)
		}
		meetings, err := chromedp.Run(ctx, chromedp.Text(`.contact-meetings`))
		if err != nil || !strings.Contains(meetings, "Spring order") {
			t.Fatalf("%s's meetings: %q (%v)", name, meetings, err)
		}
		screenshot(t, ctx, "attendees-3-contact")
		if err := chromedp.Do(ctx, chromedp.NavigateBack(), chromedp.WaitVisible(`#timeline .tl-meeting .attendees`)); err != nil {
			t.Fatal(err)
		}
	}
}
