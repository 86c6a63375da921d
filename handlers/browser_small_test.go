package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// chromiumAs starts Chromium signed in as u.
func chromiumAs(t *testing.T, a *testApp, u *store.User) context.Context {
	t.Helper()
	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(a.Server.URL+"/login"),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, u.Email),
		chromedp.SendKeys(`input[name="password"]`, storetest.Password),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(`#search-q`),
	)
	if err != nil {
		t.Fatalf("sign in as %s: %v", u.Email, err)
	}
	return ctx
}

// TestBrowserAddedNoteHighlighted: after a note is added over htmx, the add
// form is collapsed again and the new note is on top of the timeline,
// highlighted; opening the form again gives an empty one.
func TestBrowserAddedNoteHighlighted(t *testing.T) {
	a := newTestApp(t)
	bg := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	co, err := a.Store.CreateCompany(bg, staff, store.CompanyInput{Name: "Andertons"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.AddNote(bg, staff, co.ID, store.NoteInput{Title: "Older note"}); err != nil {
		t.Fatal(err)
	}
	ctx := chromiumAs(t, a, staff)
	err = chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/companies/%d", a.Server.URL, co.ID)),
		chromedp.WaitVisible(`#timeline`),
		chromedp.Click(`details.add summary`), // "Add a note"
		chromedp.WaitVisible(`#note-form input[name="title"]`),
		settled(),
		chromedp.SendKeys(`#note-form input[name="title"]`, "Called Lee"),
		chromedp.Click(`#note-form button[type="submit"]`),
		chromedp.WaitVisible(`#timeline .tl-added`),
		settled(),
	)
	if err != nil {
		t.Fatalf("add a note: %v", err)
	}
	screenshot(t, ctx, "small-1-note-added")
	type state struct {
		Open      int    `json:"open"`
		Forms     int    `json:"forms"`
		First     string `json:"first"`
		FirstID   string `json:"firstID"`
		Added     int    `json:"added"`
		Animation string `json:"animation"`
		Focus     string `json:"focus"`
	}
	st, err := chromedp.Run(ctx, chromedp.Evaluate[state](`({
		open: document.querySelectorAll("details.add[open]").length,
		forms: document.querySelectorAll("#note-form").length,
		first: document.querySelector("#timeline .tl-item").className,
		firstID: document.querySelector("#timeline .tl-item").id,
		added: document.querySelectorAll("#timeline .tl-added").length,
		animation: getComputedStyle(document.querySelector(".tl-added")).animationName,
		focus: document.activeElement.textContent,
	})`))
	if err != nil {
		t.Fatal(err)
	}
	notes, _, err := a.Store.Timeline(bg, admin(), co.ID, store.TimelineQuery{Types: []string{store.TypeNote}})
	if err != nil || len(notes) != 2 || notes[0].Note.Title != "Called Lee" {
		t.Fatalf("stored notes %+v (%v)", notes, err)
	}
	if st.Open != 0 || st.Forms != 0 {
		t.Errorf("after adding, %d add forms are open and the note form is on the page %d times; want all collapsed", st.Open, st.Forms)
	}
	if want := fmt.Sprintf("note-%d", notes[0].ID); st.FirstID != want || !strings.Contains(st.First, "tl-added") || st.Added != 1 {
		t.Errorf("first item %q class %q, %d highlighted; want %s highlighted alone", st.FirstID, st.First, st.Added, want)
	}
	if st.Animation != "tl-added" {
		t.Errorf("highlight animation %q, want tl-added", st.Animation)
	}
	if st.Focus != "Add a note" {
		t.Errorf("after adding, the focus is on %q, want the collapsed note form", st.Focus)
	}

	// The collapsed form opens again, empty, and adds a second note.
	err = chromedp.Do(ctx,
		chromedp.Click(`details.add summary`),
		chromedp.WaitVisible(`#note-form input[name="title"]`),
		settled(),
	)
	if err != nil {
		t.Fatalf("reopen the note form: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Value(`#note-form input[name="title"]`))
	if err != nil || title != "" {
		t.Errorf("reopened note form has title %q (%v), want it empty", title, err)
	}
}

// TestBrowserTargetHighlight: without JavaScript an add lands on the new
// item's anchor, which is highlighted like an htmx add; a reader who asks
// for reduced motion sees it marked without the animation.
func TestBrowserTargetHighlight(t *testing.T) {
	a := newTestApp(t)
	bg := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	co, err := a.Store.CreateCompany(bg, staff, store.CompanyInput{Name: "Andertons"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := a.Store.AddNote(bg, staff, co.ID, store.NoteInput{Title: "Called Lee"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := chromiumAs(t, a, staff)
	err = chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/companies/%d#note-%d", a.Server.URL, co.ID, n.ID)),
		chromedp.WaitVisible(`#timeline`),
	)
	if err != nil {
		t.Fatal(err)
	}
	animation := `getComputedStyle(document.querySelector(".tl-item:target")).animationName`
	anim, err := chromedp.Run(ctx, chromedp.Evaluate[string](animation))
	if err != nil || anim != "tl-added" {
		t.Errorf("the item at the anchor has animation %q (%v), want tl-added", anim, err)
	}
	reduce := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}}})
		return err
	})
	if err := chromedp.Do(ctx, reduce); err != nil {
		t.Fatal(err)
	}
	anim, err = chromedp.Run(ctx, chromedp.Evaluate[string](animation))
	if err != nil || anim != "none" {
		t.Errorf("with reduced motion the highlight animation is %q (%v), want none", anim, err)
	}
}

// TestAddedItemAnswers: each add form of the company page, posted plainly,
// redirects to the new item's anchor; over htmx it answers the timeline
// with that item alone highlighted and the add forms collapsed out of band.
// A later visit highlights nothing.
func TestAddedItemAnswers(t *testing.T) {
	a := newTestApp(t)
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	c := a.client(t, staff)
	co, err := a.Store.CreateCompany(context.Background(), staff, store.CompanyInput{Name: "Andertons"})
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("%s/companies/%d", a.Server.URL, co.ID)
	for _, tc := range []struct{ typ, body string }{
		{store.TypeNote, "title=Called+Lee"},
		{store.TypeContact, "name=Lee+Anderton"},
		{store.TypeLink, "title=Site&url=https%3A%2F%2Fandertons.example"},
		{store.TypeMeeting, "type=call&subject=Intro&starts_at=2026-03-01T14%3A00"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			resp, _ := do(t, c, "POST", base+"/"+tc.typ+"s", formType, tc.body)
			items, _, err := a.Store.Timeline(context.Background(), admin(), co.ID, store.TimelineQuery{Types: []string{tc.typ}})
			if err != nil || len(items) != 1 {
				t.Fatalf("status %d; %d %ss stored (%v)", resp.StatusCode, len(items), tc.typ, err)
			}
			anchor := fmt.Sprintf("%s-%d", tc.typ, items[0].ID)
			if want := fmt.Sprintf("/companies/%d#%s", co.ID, anchor); resp.StatusCode != 303 || resp.Header.Get("Location") != want {
				t.Errorf("plain POST: %d to %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
			}

			resp, body := do(t, c, "POST", base+"/"+tc.typ+"s", formType, tc.body, "HX-Request", "true")
			items, _, err = a.Store.Timeline(context.Background(), admin(), co.ID, store.TimelineQuery{Types: []string{tc.typ}})
			if err != nil || len(items) != 2 {
				t.Fatalf("status %d; %d %ss stored (%v)", resp.StatusCode, len(items), tc.typ, err)
			}
			anchor = fmt.Sprintf("%s-%d", tc.typ, items[0].ID)
			if loc := resp.Header.Get("HX-Replace-Url"); loc != fmt.Sprintf("/companies/%d", co.ID) {
				t.Errorf("htmx answer sets the address to %q, want the unfiltered company page", loc)
			}
			if resp.StatusCode != 200 || strings.Count(body, "tl-added") != 1 || !strings.Contains(body, `tl-added" id="`+anchor+`"`) {
				t.Errorf("htmx answer %d does not highlight %s alone: %.2000s", resp.StatusCode, anchor, body)
			}
			if !strings.Contains(body, `id="add-forms" class="add-forms" hx-swap-oob="true"`) || strings.Contains(body, "<form id=") || strings.Contains(body, "<details class=\"add\" open") {
				t.Errorf("htmx answer does not collapse the add forms: %.3000s", body)
			}
			if _, page := do(t, c, "GET", base, "", ""); strings.Contains(page, "tl-added") {
				t.Errorf("a later visit still highlights an item")
			}
		})
	}
}

// TestClientCandidatesLeaveOutAssigned: the admin's client picker offers
// only companies the user does not have yet, even when those rank first.
func TestClientCandidatesLeaveOutAssigned(t *testing.T) {
	a := newTestApp(t)
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	var assigned []*store.Company
	for i := range 12 {
		co := mustCompany(t, a, fmt.Sprintf("Acme %02d", i))
		if i%2 == 0 {
			if err := a.Store.AssignClient(context.Background(), admin(), staff.ID, co.ID, true); err != nil {
				t.Fatal(err)
			}
			assigned = append(assigned, co)
		}
	}
	c := a.client(t, adm)
	for _, hx := range []string{"true", ""} {
		resp, body := do(t, c, "GET", fmt.Sprintf("%s/admin/users/%d/candidates?q=acme", a.Server.URL, staff.ID), "", "", "HX-Request", hx)
		if resp.StatusCode != 200 {
			t.Fatalf("candidates (htmx %q): status %d", hx, resp.StatusCode)
		}
		for _, co := range assigned {
			if strings.Contains(body, `value="`+fmt.Sprint(co.ID)+`"`) {
				t.Errorf("candidates (htmx %q) offer %s, which the user has", hx, co.Name)
			}
		}
		if n := strings.Count(body, `name="company_id"`); n != 6 {
			t.Errorf("candidates (htmx %q) offer %d companies, want the 6 unassigned ones", hx, n)
		}
	}
}

// TestAssignClientTwice: assigning a company the user already has says so
// (422 on the user's page), and the user still has it once.
func TestAssignClientTwice(t *testing.T) {
	a := newTestApp(t)
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	co := mustCompany(t, a, "Acme")
	c := a.client(t, adm)
	url := fmt.Sprintf("%s/admin/users/%d/clients", a.Server.URL, staff.ID)
	body := fmt.Sprintf("company_id=%d", co.ID)
	if resp, _ := do(t, c, "POST", url, formType, body); resp.StatusCode != 303 {
		t.Fatalf("first assignment: status %d, want 303", resp.StatusCode)
	}
	resp, page := do(t, c, "POST", url, formType, body)
	if resp.StatusCode != 422 || !strings.Contains(page, "Acme is already one of this user&#39;s clients.") {
		t.Errorf("second assignment: status %d, want 422 saying so: %.3000s", resp.StatusCode, page)
	}
	clients, err := a.Store.UserClients(context.Background(), admin(), staff.ID)
	if err != nil || len(clients) != 1 {
		t.Errorf("the user has %d clients (%v), want 1", len(clients), err)
	}
}

// TestMeetingTypeShownAsEntered: a meeting type an admin adds is shown as
// typed, on the types page, in the meeting form, on the timeline and in
// the meetings list; one that differs from another only in case exists.
func TestMeetingTypeShownAsEntered(t *testing.T) {
	a := newTestApp(t)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	c := a.client(t, adm)
	co := mustCompany(t, a, "Acme")
	for _, name := range []string{"in-person demo", "VoIP"} {
		if resp, _ := do(t, c, "POST", a.Server.URL+"/admin/meeting-types", formType, "name="+url.QueryEscape(name)); resp.StatusCode != 303 {
			t.Fatalf("add type %q: status %d", name, resp.StatusCode)
		}
	}
	resp, body := do(t, c, "POST", a.Server.URL+"/admin/meeting-types", formType, "name=SMS")
	if resp.StatusCode != 422 || !strings.Contains(body, "That meeting type exists.") {
		t.Errorf("adding SMS beside sms: status %d", resp.StatusCode)
	}
	_, body = do(t, c, "GET", a.Server.URL+"/admin/meeting-types", "", "")
	for _, want := range []string{"<span>in-person demo</span>", "<span>VoIP</span>", "<span>SMS</span>"} {
		if !strings.Contains(body, want) {
			t.Errorf("types page lacks %s", want)
		}
	}
	_, body = do(t, c, "GET", fmt.Sprintf("%s/companies/%d/meetings/new", a.Server.URL, co.ID), "", "", "HX-Request", "true")
	if !strings.Contains(body, `<option value="in-person demo">in-person demo</option>`) || !strings.Contains(body, `<option value="VoIP">VoIP</option>`) {
		t.Errorf("meeting form options: %s", body)
	}
	resp, _ = do(t, c, "POST", fmt.Sprintf("%s/companies/%d/meetings", a.Server.URL, co.ID), formType,
		"type=VoIP&subject=Kick-off&starts_at=2026-03-01T14%3A00")
	if resp.StatusCode != 303 {
		t.Fatalf("add a VoIP meeting: status %d", resp.StatusCode)
	}
	if _, body = do(t, c, "GET", fmt.Sprintf("%s/companies/%d", a.Server.URL, co.ID), "", ""); !strings.Contains(body, `<span class="muted">· VoIP</span>`) {
		t.Errorf("timeline does not show the type as entered")
	}
	if _, body = do(t, c, "GET", a.Server.URL+"/meetings", "", ""); !strings.Contains(body, "<td>VoIP</td>") || !strings.Contains(body, "in-person demo") {
		t.Errorf("meetings page does not show the types as entered: %s", body)
	}
}

// emoji matches characters that need an emoji font: pictographs, symbols
// and dingbats, and the selector that asks for emoji presentation.
var emoji = regexp.MustCompile(`[\x{1F000}-\x{1FAFF}\x{2300}-\x{23FF}\x{2600}-\x{27BF}\x{2B00}-\x{2BFF}\x{FE0F}]`)

// TestBrowserNoEmoji: empty states (and a field error's sign) render
// without an emoji font: no page's markup or generated content (::before,
// ::after) holds an emoji character.
func TestBrowserNoEmoji(t *testing.T) {
	a := newTestApp(t)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	// A staff user with no clients sees the staff empty state.
	if _, body := do(t, a.client(t, staff), "GET", a.Server.URL+"/companies", "", ""); emoji.MatchString(body) || !strings.Contains(body, "No clients assigned to you yet") {
		t.Errorf("staff's empty company list: emoji %q", emoji.FindString(body))
	}
	ctx := chromiumAs(t, a, adm)
	found := func(path string) {
		t.Helper()
		err := chromedp.Do(ctx, chromedp.Navigate(a.Server.URL+path), chromedp.WaitVisible(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		// A field error is added to every page, so its sign is checked too.
		glyphs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
			const p = document.createElement("p");
			p.className = "field-error";
			p.textContent = "Enter a name.";
			document.querySelector("main").append(p);
			const out = [document.documentElement.outerHTML];
			for (const el of document.querySelectorAll("*")) {
				for (const pseudo of ["::before", "::after"]) {
					const c = getComputedStyle(el, pseudo).content;
					if (c && c !== "none" && c !== "normal") out.push(el.tagName + "." + el.className + pseudo + " " + c);
				}
			}
			return out;
		})()`))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, g := range glyphs {
			if e := emoji.FindString(g); e != "" {
				t.Errorf("%s has emoji %q in %.200s", path, e, g)
			}
		}
	}
	found("/companies") // no companies yet
	found("/meetings")  // no meetings yet
	found("/admin/imports")
	found(fmt.Sprintf("/admin/users/%d", staff.ID)) // no clients yet
	found("/search?q=nothing")
	co := mustCompany(t, a, "Acme")
	found(fmt.Sprintf("/companies/%d", co.ID)) // nothing on the timeline yet
	screenshot(t, ctx, "small-2-empty-timeline")
	found("/meetings?type=call") // no meetings match
	found("/companies/999999")   // the error page
}

// TestPlainMessages: what a user is told about a bad request says what to
// do in everyday words, not the name of a parameter or a format.
func TestPlainMessages(t *testing.T) {
	a := newTestApp(t)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	c := a.client(t, adm)
	co := mustCompany(t, a, "Acme")
	for _, tc := range []struct{ method, path, body, want string }{
		{"GET", "/companies?cursor=stale", "", "This page link is out of date."},
		{"GET", fmt.Sprintf("/companies/%d?cursor=stale", co.ID), "", "This page link is out of date."},
		{"GET", "/companies?sort=size", "", "Choose how to sort the list."},
		{"GET", fmt.Sprintf("/companies/%d?type=fax", co.ID), "", "Choose what to show."},
		{"POST", "/admin/meeting-types", "name=Fax%21", "Use up to 32 letters, digits, spaces or hyphens, starting with a letter or digit."},
	} {
		resp, body := do(t, c, tc.method, a.Server.URL+tc.path, formType, tc.body)
		if resp.StatusCode != 422 || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: status %d, want 422 saying %q", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
}
