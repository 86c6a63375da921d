package views

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"golang.org/x/net/html"

	"github.com/rolodex/rolodex/static"
	"github.com/rolodex/rolodex/store"
)

var (
	// A fixed clock: 2025-06-15 12:00 UTC.
	testNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	hourAgo = testNow.Add(-time.Hour).UnixMilli()

	admin = &store.User{ID: 1, WorkspaceID: 1, Email: "ada@example.com", Name: "Ada Admin", Role: store.RoleAdmin}
	staff = &store.User{ID: 2, WorkspaceID: 1, Email: "sam@example.com", Name: "Sam Staff", Role: store.RoleStaff, Clients: 3}

	evilCompany = &store.Company{
		ID: 7, WorkspaceID: 1, Name: "<b>x</b>", Street: "1 <i>Main</i> St", Town: "Springfield", State: "IL", Zip: "62701",
		Website: "https://www.acme.example/home", Description: "First <script>alert(1)</script> para.\nSame para.\n\nSecond para.",
		CreatedAt: hourAgo, UpdatedAt: hourAgo,
	}
)

func TestMain(m *testing.M) {
	now = func() time.Time { return testNow }
	m.Run()
}

// render renders c and checks that the result parses and has no duplicate
// ids (two forms on one page sharing an id would break labels and htmx
// targets).
func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		for _, a := range n.Attr {
			if a.Key == "id" {
				if seen[a.Val] {
					t.Errorf("duplicate id %q", a.Val)
				}
				seen[a.Val] = true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func contains(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q", w)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

func lacks(t *testing.T, out string, not ...string) {
	t.Helper()
	for _, n := range not {
		if strings.Contains(out, n) {
			t.Errorf("unexpected %q", n)
		}
	}
}

// tagWith returns the first start tag in out that contains every attr.
func tagWith(t *testing.T, out string, attrs ...string) string {
	t.Helper()
	for _, tag := range regexp.MustCompile(`<[a-z]+\b[^>]*>`).FindAllString(out, -1) {
		ok := true
		for _, a := range attrs {
			ok = ok && strings.Contains(tag, a)
		}
		if ok {
			return tag
		}
	}
	t.Errorf("no tag with %q", attrs)
	return ""
}

func TestLayout(t *testing.T) {
	t.Run("signed out", func(t *testing.T) {
		out := render(t, Layout(Page{Title: "Sign in"}))
		contains(t, out, "<!doctype html>", `<meta name="viewport"`, "<title>Sign in · Rolodex</title>",
			static.Path("app.css"), static.Path("htmx.min.js"), static.Path("app.js"), static.Path("favicon.svg"))
		lacks(t, out, `id="search-q"`, `action="/logout"`, "/admin/users", static.Path("sse.js"), static.Path("room.js"))
	})
	t.Run("live room", func(t *testing.T) {
		out := render(t, Layout(Page{User: staff, Live: true}))
		contains(t, out, static.Path("sse.js"), static.Path("room.js"))
	})
	t.Run("staff", func(t *testing.T) {
		out := render(t, Layout(Page{Title: "Companies", User: staff, Flash: "Saved <ok>", Query: `"><script>`}))
		input := tagWith(t, out, `id="search-q"`)
		for _, a := range []string{`type="search"`, `name="q"`, `hx-get="/search"`, `hx-trigger="input changed delay:150ms, search"`,
			`hx-target="#search-results"`, `autocomplete="off"`, `value="&#34;&gt;&lt;script&gt;"`} {
			if !strings.Contains(input, a) {
				t.Errorf("search box %s lacks %s", input, a)
			}
		}
		contains(t, out, `<form action="/search" method="get" role="search">`, `<div id="search-results"`,
			`<form method="post" action="/logout">`, "Sign out", "Sam Staff", `href="/companies"`,
			`<div class="flash" role="status">Saved &lt;ok&gt;</div>`)
		lacks(t, out, `href="/admin/users"`, "<script>")
	})
	t.Run("admin", func(t *testing.T) {
		out := render(t, Layout(Page{User: admin}))
		contains(t, out, `href="/admin/users"`, "<title>Rolodex</title>")
	})
}

func TestLoginPage(t *testing.T) {
	f := Form{Values: map[string]string{"email": "a@b.example", "password": "hunter2hunter2", "next": "/companies/3"},
		Message: "Wrong e-mail address or password."}
	out := render(t, LoginPage(Page{Title: "Sign in"}, f))
	contains(t, out, `<form method="post" action="/login">`, `name="email"`, `value="a@b.example"`, `name="password"`,
		`autocomplete="current-password"`, `role="alert">Wrong e-mail address or password.</div>`,
		`<input type="hidden" name="next" value="/companies/3">`)
	lacks(t, out, "hunter2", `id="search-q"`)
}

func TestCompaniesPage(t *testing.T) {
	l := CompanyList{Page: &store.CompanyPage{Items: []store.Company{*evilCompany}, Next: "N1", Prev: "P1"}, Sort: "updated", Desc: true}
	out := render(t, CompaniesPage(Page{Title: "Companies", User: staff}, l))
	contains(t, out, `href="/companies/new"`, `<div id="company-list"`, `href="/companies/7">&lt;b&gt;x&lt;/b&gt;</a>`,
		"Springfield", "IL", `href="https://www.acme.example/home"`, ">acme.example</a>", "1 hour ago",
		`datetime="2025-06-15T11:00:00Z"`)
	lacks(t, out, "<b>x</b>")

	// Sorting: the active column flips, the others start at their default.
	contains(t, out,
		`href="/companies?order=asc&amp;sort=updated"`,
		`href="/companies?order=asc&amp;sort=name"`,
		`href="/companies?order=desc&amp;sort=created"`,
		`aria-sort="descending"`)
	// Paging keeps sort and order.
	next := tagWith(t, out, `cursor=N1`)
	for _, a := range []string{`href="/companies?cursor=N1&amp;order=desc&amp;sort=updated"`, `hx-get="/companies?cursor=N1&amp;order=desc&amp;sort=updated"`,
		`hx-target="#company-list"`, `hx-swap="outerHTML"`, `hx-push-url="true"`} {
		if !strings.Contains(next, a) {
			t.Errorf("next link %s lacks %s", next, a)
		}
	}
	contains(t, out, `cursor=P1`)
}

// TestCompaniesPageMine: "My clients" is a tab of the list whose sort and
// page links keep it, the owner is a column, and an empty "My clients"
// still offers the way back to all companies.
func TestCompaniesPageMine(t *testing.T) {
	owned := *evilCompany
	name := "Ann <i>"
	owned.OwnerName = &name
	l := CompanyList{Page: &store.CompanyPage{Items: []store.Company{owned}, Next: "N1"}, Sort: "name", Mine: true}
	out := render(t, CompaniesPage(Page{Title: "Companies", User: staff}, l))
	contains(t, out, `<th scope="col">Owner</th>`, `<td class="owner">Ann &lt;i&gt;</td>`,
		`href="/companies?mine=1&amp;order=asc&amp;sort=name" aria-current="true" hx-get="/companies?mine=1&amp;order=asc&amp;sort=name" hx-target="#company-list" hx-swap="outerHTML" hx-push-url="true">My clients`,
		`href="/companies?order=asc&amp;sort=name"`, // All
		`href="/companies?cursor=N1&amp;mine=1&amp;order=asc&amp;sort=name"`,
		`href="/companies?mine=1&amp;order=desc&amp;sort=created"`)
	empty := CompanyList{Page: &store.CompanyPage{Items: []store.Company{}}, Mine: true}
	out = render(t, CompaniesPage(Page{User: staff}, empty))
	contains(t, out, "You neither own nor are assigned any company yet.", `href="/companies?order=asc&amp;sort=name"`)
}

func TestCompanyRowsEmpty(t *testing.T) {
	empty := CompanyList{Page: &store.CompanyPage{Items: []store.Company{}}}
	out := render(t, CompaniesPage(Page{User: admin}, empty))
	contains(t, out, "No companies yet")
	lacks(t, out, "<table")
	out = render(t, CompaniesPage(Page{User: staff}, empty))
	contains(t, out, "No clients assigned to you yet")
	// The fragment on its own.
	out = render(t, CompanyRows(CompanyList{Staff: true}))
	contains(t, out, `<div id="company-list"`, "No clients assigned to you yet")
	// No pager when there is a single page.
	out = render(t, CompanyRows(CompanyList{Page: &store.CompanyPage{Items: []store.Company{*evilCompany}}}))
	lacks(t, out, "cursor=", `class="pager"`)
}

func TestCompanyFormPage(t *testing.T) {
	t.Run("new with errors", func(t *testing.T) {
		f := Form{
			Values:  map[string]string{"name": "", "website": "javascript:alert(1)"},
			Errors:  map[string]string{"name": "This field is required.", "website": "Enter a web address such as https://example.com."},
			Message: "Please correct the highlighted fields.",
		}
		out := render(t, CompanyFormPage(Page{User: staff}, nil, f, nil))
		contains(t, out, `action="/companies"`, `method="post"`, "New company", "Please correct the highlighted fields.",
			`value="javascript:alert(1)"`, `<textarea id="company-description" name="description"`)
		name := tagWith(t, out, `id="company-name"`)
		for _, a := range []string{`aria-invalid="true"`, `aria-describedby="company-name-error"`, "autofocus", "required"} {
			if !strings.Contains(name, a) {
				t.Errorf("name input %s lacks %s", name, a)
			}
		}
		contains(t, out, `<p class="field-error" id="company-name-error">This field is required.</p>`,
			`id="company-website-error">Enter a web address such as https://example.com.</p>`)
		// Only the first invalid field takes the focus; valid ones are not marked.
		if w := tagWith(t, out, `id="company-website"`); strings.Contains(w, "autofocus") {
			t.Errorf("second invalid field has autofocus: %s", w)
		}
		if town := tagWith(t, out, `id="company-town"`); strings.Contains(town, "aria-invalid") {
			t.Errorf("valid field marked invalid: %s", town)
		}
		lacks(t, out, "/delete")
	})
	t.Run("edit as admin", func(t *testing.T) {
		owners := []store.User{{ID: 3, Name: "Ann <i>"}, {ID: 4, Name: "Bo"}}
		out := render(t, CompanyFormPage(Page{User: admin}, evilCompany, Form{}, owners))
		contains(t, out, `<select id="company-owner_id" name="owner_id">`, `<option value="0" selected>Nobody</option>`,
			`<option value="3">Ann &lt;i&gt;</option>`, `<option value="4">Bo</option>`)
		contains(t, out, `action="/companies/7"`, `value="&lt;b&gt;x&lt;/b&gt;"`, `value="Springfield"`,
			"First &lt;script&gt;alert(1)&lt;/script&gt; para.", `action="/companies/7/delete"`, `data-confirm="Delete &lt;b&gt;x&lt;/b&gt; and everything on its timeline?"`)
		lacks(t, out, "<b>x</b>", "<script>alert")
	})
	t.Run("edit as staff", func(t *testing.T) {
		out := render(t, CompanyFormPage(Page{User: staff}, evilCompany, Form{Values: map[string]string{"town": "Shelbyville"}}, nil))
		contains(t, out, `value="Shelbyville"`, `value="IL"`)
		lacks(t, out, "/delete", "Delete company", `name="owner_id"`)
	})
}

func sampleTimeline(next string) Timeline {
	authorID, authorName := int64(1), "Eve <script>"
	by := store.Author{AuthorID: &authorID, AuthorName: &authorName}
	return Timeline{
		Company: evilCompany,
		Next:    next,
		Items: []store.TimelineItem{
			{Type: store.TypeNote, ID: 11, CompanyID: 7, CreatedAt: hourAgo, Author: by, Note: &store.Note{ID: 11, CompanyID: 7, Author: by,
				Title: "Call <notes>", Body: "**Big** deal\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))"}},
			{Type: store.TypeContact, ID: 12, CompanyID: 7, CreatedAt: hourAgo, Contact: &store.Contact{ID: 12, CompanyID: 7,
				Name: "Jo <Doe>", Email: "jo@acme.example", Phone: "+1 (555) 010-0000", Title: "CTO"}},
			{Type: store.TypeLink, ID: 13, CompanyID: 7, CreatedAt: hourAgo, Link: &store.Link{ID: 13, CompanyID: 7,
				Title: "Pricing", URL: "https://acme.example/pricing?a=1&b=2"}},
		},
	}
}

func TestCompanyPage(t *testing.T) {
	out := render(t, CompanyPage(Page{User: staff}, evilCompany, sampleTimeline(""), ItemForms{}))
	contains(t, out,
		"<h1>&lt;b&gt;x&lt;/b&gt;</h1>", "1 &lt;i&gt;Main&lt;/i&gt; St", "Springfield, IL 62701",
		`href="https://www.acme.example/home" rel="nofollow noopener" target="_blank"`,
		"<p>First &lt;script&gt;alert(1)&lt;/script&gt; para.\nSame para.</p>", "<p>Second para.</p>",
		`href="/companies/7/edit"`,
		// add forms
		`hx-get="/companies/7/notes/new"`, `hx-get="/companies/7/contacts/new"`, `hx-get="/companies/7/links/new"`, `hx-get="/companies/7/meetings/new"`,
		`hx-target="#timeline"`,
		// timeline
		`<section id="timeline"`, `class="badge badge-note">Note</span>`, `class="badge badge-contact">Contact</span>`,
		`class="badge badge-link">Link</span>`,
		"<h3>Call &lt;notes&gt;</h3>", "<strong>Big</strong> deal", `<span class="tl-author">by Eve &lt;script&gt;</span>`,
		`<h3><a href="/contacts/12">Jo &lt;Doe&gt;</a></h3>`, "CTO", `href="mailto:jo@acme.example"`, `href="tel:+15550100000"`,
		`href="https://acme.example/pricing?a=1&amp;b=2" rel="nofollow noopener" target="_blank">Pricing</a>`,
		">acme.example</span>",
		`href="/notes/11/edit"`, `action="/notes/11/delete"`, `href="/contacts/12/edit"`, `action="/contacts/12/delete"`,
		`href="/links/13/edit"`, `action="/links/13/delete"`, `data-confirm="Delete note “Call &lt;notes&gt;”?"`,
	)
	lacks(t, out, "<b>x</b>", "<script>", "javascript:", "Load more", " open>", "<details class=\"add\" open")

	// Filter tabs: All is current; each links to the page and fetches the fragment.
	contains(t, out, `href="/companies/7" hx-get="/companies/7/timeline" hx-target="#timeline" hx-swap="outerHTML" hx-push-url="/companies/7" aria-current="page">All</a>`)
	tab := tagWith(t, out, `hx-get="/companies/7/timeline?type=note"`)
	for _, a := range []string{`href="/companies/7?type=note"`, `hx-push-url="/companies/7?type=note"`} {
		if !strings.Contains(tab, a) {
			t.Errorf("notes tab %s lacks %s", tab, a)
		}
	}
	contains(t, out, ">Notes</a>", ">Contacts</a>", ">Links</a>")
}

func TestCompanyPageOpenForm(t *testing.T) {
	f := Form{Values: map[string]string{"title": "", "body": "draft <b>"}, Errors: map[string]string{"title": "This field is required."}}
	out := render(t, CompanyPage(Page{User: staff}, evilCompany, Timeline{Company: evilCompany}, ItemForms{Note: f, Open: "note"}))
	if n := strings.Count(out, `<details class="add" open`); n != 1 {
		t.Errorf("%d open add forms, want 1", n)
	}
	contains(t, out, "Nothing on the timeline yet", `id="note-title-error">This field is required.</p>`, "draft &lt;b&gt;</textarea>")
	title := tagWith(t, out, `id="note-title"`)
	if !strings.Contains(title, `aria-invalid="true"`) {
		t.Errorf("note title %s not marked invalid", title)
	}
	// The other forms stay collapsed and unrendered until opened.
	lacks(t, out, `id="link-title"`, `id="contact-form"`, `id="meeting-form"`)
	contains(t, out, `hx-get="/companies/7/links/new" hx-trigger="toggle once"`, `<a href="/companies/7/links/new">Open the form</a>`)

	// A failed contact form is the open one, with its error, the note form
	// closed and clean.
	f = Form{Values: map[string]string{"email": "nope"}, Errors: map[string]string{"email": "Enter an e-mail address."}}
	out = render(t, CompanyPage(Page{User: staff}, evilCompany, Timeline{Company: evilCompany}, ItemForms{Contact: f, Open: "contact"}))
	contains(t, out, `<details class="add" open><summary>Add a contact</summary><form id="contact-form"`, "Enter an e-mail address.")
	lacks(t, out, `id="note-title"`)
}

func TestItemForms(t *testing.T) {
	for _, tc := range []struct {
		c      templ.Component
		id, to string
		fields []string
	}{
		{NoteForm(evilCompany, Form{}), "note-form", "/companies/7/notes", []string{`name="title"`, `name="body"`}},
		{ContactForm(evilCompany, Form{}), "contact-form", "/companies/7/contacts", []string{`name="name"`, `name="email"`, `name="phone"`, `name="title"`}},
		{LinkForm(evilCompany, Form{}), "link-form", "/companies/7/links", []string{`name="title"`, `name="url"`}},
	} {
		out := render(t, tc.c)
		form := tagWith(t, out, `id="`+tc.id+`"`)
		for _, a := range []string{`method="post"`, `action="` + tc.to + `"`, `hx-post="` + tc.to + `"`, `hx-target="#timeline"`, `hx-swap="outerHTML"`} {
			if !strings.Contains(form, a) {
				t.Errorf("%s: form %s lacks %s", tc.id, form, a)
			}
		}
		contains(t, out, tc.fields...)
		if !strings.HasPrefix(strings.TrimSpace(out), "<form") {
			t.Errorf("%s: partial is not the form itself (outerHTML swaps need that)", tc.id)
		}
	}
	out := render(t, ContactForm(evilCompany, Form{Errors: map[string]string{"email": "Enter a valid e-mail address."}, Message: "Please correct the highlighted fields."}))
	contains(t, out, `id="contact-email-error">Enter a valid e-mail address.</p>`, "Please correct the highlighted fields.")
}

func TestTimelineLoadMore(t *testing.T) {
	tl := sampleTimeline("c/ur+sor=")
	tl.Type = store.TypeNote
	out := render(t, TimelineItems(tl))
	li := tagWith(t, out, `hx-get="/companies/7/timeline?`)
	for _, a := range []string{`href="/companies/7?cursor=c%2Fur%2Bsor%3D&amp;type=note"`, `hx-get="/companies/7/timeline?cursor=c%2Fur%2Bsor%3D&amp;type=note"`,
		`hx-target="closest li"`, `hx-swap="outerHTML"`} {
		if !strings.Contains(li, a) {
			t.Errorf("load more %s lacks %s", li, a)
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(out), "<li") {
		t.Error("TimelineItems does not start with an item")
	}
	if strings.Count(out, `class="tl-item`) != 3 {
		t.Error("not all items rendered")
	}

	out = render(t, TimelineSection(tl))
	contains(t, out, `<section id="timeline"`, "Load more", `aria-current="page">Notes</a>`)
	lacks(t, render(t, TimelineSection(sampleTimeline(""))), "Load more")

	empty := Timeline{Company: evilCompany, Type: store.TypeLink}
	contains(t, render(t, TimelineSection(empty)), "No links yet")
}

func TestItemEditPage(t *testing.T) {
	note := Form{Values: map[string]string{"title": `Q3 "plan"`, "body": "\nleading newline"}}
	out := render(t, ItemEditPage(Page{User: staff}, evilCompany, store.TypeNote, 11, note))
	contains(t, out, `action="/notes/11"`, `value="Q3 &#34;plan&#34;"`, "<textarea", "\n\nleading newline</textarea>",
		`href="/companies/7"`, `action="/notes/11/delete"`, "Edit note")

	contact := Form{Values: map[string]string{"name": "Jo", "email": "jo@acme.example", "phone": "555", "title": "CTO"}}
	out = render(t, ItemEditPage(Page{User: staff}, evilCompany, store.TypeContact, 12, contact))
	contains(t, out, `action="/contacts/12"`, `value="jo@acme.example"`, `value="555"`, `value="CTO"`, "Edit contact")

	f := Form{Values: map[string]string{"title": "Docs", "url": "https://acme.example/docs"}}
	f.Errors = map[string]string{"url": "Enter an http:// or https:// address."}
	out = render(t, ItemEditPage(Page{User: staff}, evilCompany, store.TypeLink, 13, f))
	contains(t, out, `action="/links/13"`, `value="https://acme.example/docs"`, `id="edit-url-error">Enter an http:// or https:// address.</p>`)
	if u := tagWith(t, out, `id="edit-url"`); !strings.Contains(u, `aria-invalid="true"`) {
		t.Errorf("url input %s not marked invalid", u)
	}
}

func TestSearch(t *testing.T) {
	g := SearchGroups{
		Companies: SearchGroup{Results: []SearchResult{{Kind: "company", ID: 7, Name: "<b>Acme</b>"}}, Total: 1, Counted: true},
		Contacts: SearchGroup{Results: []SearchResult{
			{Kind: "contact", ID: 12, CompanyID: 7, Name: "Jo", Email: "jo@acme.example", CompanyName: "<b>Acme</b>"},
		}, Total: 1234, Counted: true, More: true},
	}
	out := render(t, SearchResults("ac", g))
	contains(t, out, `href="/companies/7"`, "&lt;b&gt;Acme&lt;/b&gt;", `href="/companies/7#contact-12"`, "jo@acme.example", "Jo",
		">1,234</span>", `href="/search?q=ac"`, "Show all 1,235 results")
	lacks(t, out, "<b>")
	if strings.Index(out, "Companies") > strings.Index(out, "Contacts") {
		t.Errorf("contacts listed before companies: %s", out)
	}

	if out := render(t, SearchResults("", SearchGroups{})); strings.TrimSpace(out) != "" {
		t.Errorf("empty query rendered %q", out)
	}
	contains(t, render(t, SearchResults("<zz>", SearchGroups{})), "No matches for “&lt;zz&gt;”")
	g.Contacts.Counted = false
	contains(t, render(t, SearchResults("a", g)), "Show all 1,235+ results")
	one := SearchGroups{Companies: g.Companies, Contacts: SearchGroup{Counted: true}}
	contains(t, render(t, SearchResults("a", one)), "Show all 1 result<")

	out = render(t, SearchPage(Page{User: staff, Query: "a c"}, g, SearchPager{Page: 2, Next: true}))
	contains(t, out, "Results for “a c”", `href="/companies/7#contact-12"`, `value="a c"`,
		`rel="prev" href="/search?q=a+c"`, `rel="next" href="/search?page=3&amp;q=a+c"`)
	out = render(t, SearchPage(Page{User: staff, Query: "ac"}, g, SearchPager{Page: 1}))
	lacks(t, out, `class="pager"`) // one page: nothing to turn
	contains(t, render(t, SearchPage(Page{User: staff, Query: "zz"}, SearchGroups{}, SearchPager{Page: 1})), "No matches for “zz”")
}

func TestUsersPage(t *testing.T) {
	users := []store.User{*admin, *staff, {ID: 3, Email: "x@example.com", Name: "<i>Eve</i>", Role: store.RoleStaff}}
	f := Form{
		Values:  map[string]string{"email": "new@example.com", "name": "New", "role": "admin"},
		Errors:  map[string]string{"password": "Use 10 to 200 characters.", "email": "A user with this e-mail address exists."},
		Message: "That e-mail address is taken.",
	}
	out := render(t, UsersPage(Page{User: admin}, users, f))
	contains(t, out, `href="/admin/users/1"`, `href="/admin/users/2"`, "&lt;i&gt;Eve&lt;/i&gt;", ">3</td>", "All",
		`<form method="post" action="/admin/users">`, `value="new@example.com"`, `<option value="admin" selected>`,
		`id="user-password-error">Use 10 to 200 characters.</p>`, `id="user-email-error">A user with this e-mail address exists.</p>`,
		"That e-mail address is taken.")
	lacks(t, out, "<i>Eve</i>")
	if p := tagWith(t, out, `id="user-password"`); !strings.Contains(p, `aria-invalid="true"`) || strings.Contains(p, "value=") {
		t.Errorf("password input %s", p)
	}
	out = render(t, UsersPage(Page{User: admin}, users, Form{}))
	contains(t, out, `<option value="staff" selected>`)
}

func TestUserPage(t *testing.T) {
	out := render(t, UserPage(Page{User: admin}, admin, nil, Form{}))
	contains(t, out, "Admins see every company")
	lacks(t, out, `id="candidates"`)

	clients := []store.Company{*evilCompany}
	out = render(t, UserPage(Page{User: admin}, staff, clients, Form{Message: "That company is gone."}))
	contains(t, out, `href="/companies/7">&lt;b&gt;x&lt;/b&gt;</a>`, `action="/admin/users/2/clients/7/delete"`, "Remove",
		`<div id="candidates"`, "That company is gone.")
	q := tagWith(t, out, `id="candidate-q"`)
	for _, a := range []string{`name="q"`, `hx-get="/admin/users/2/candidates"`, `hx-trigger="input changed delay:150ms"`, `hx-target="#candidates"`} {
		if !strings.Contains(q, a) {
			t.Errorf("candidate box %s lacks %s", q, a)
		}
	}
	contains(t, out, `action="/admin/users/2/candidates"`)
	contains(t, render(t, UserPage(Page{User: admin}, staff, nil, Form{})), "No clients assigned yet")
}

func TestCandidates(t *testing.T) {
	results := []SearchResult{{Kind: "company", ID: 7, Name: "<b>x</b>"}, {Kind: "company", ID: 8, Name: "Beta"}}
	out := render(t, Candidates(2, results))
	contains(t, out, `<form method="post" action="/admin/users/2/clients">`, `<input type="hidden" name="company_id" value="7">`,
		`<input type="hidden" name="company_id" value="8">`, "&lt;b&gt;x&lt;/b&gt;")
	lacks(t, out, "<b>x</b>")
	contains(t, render(t, Candidates(2, nil)), "No matching companies.")

	out = render(t, CandidatesPage(Page{User: admin}, staff, "be", results[1:]))
	contains(t, out, `value="be"`, `value="8"`, "Sam Staff")
}

func TestErrorPage(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{{404, "Page not found"}, {403, "access"}, {413, "too large"}, {500, "Something went wrong"}} {
		out := render(t, ErrorPage(Page{User: staff}, tc.status, "Company <not> found."))
		contains(t, out, tc.want, "Company &lt;not&gt; found.", `href="/companies"`)
	}
	contains(t, render(t, ErrorPage(Page{}, 404, "")), `href="/login"`)
}

func TestFailedForm(t *testing.T) {
	values := url.Values{"name": {"Acme", "ignored"}, "password": {"secret-secret"}, "email": {""}}
	err := &store.Error{Code: store.EInvalid, Message: "Please correct the highlighted fields.", Fields: map[string]string{"email": "Enter a valid e-mail address."}}
	f := FailedForm(values, err)
	if f.Value("name") != "Acme" || f.Value("password") != "" || f.Error("email") == "" || f.Message != err.Message {
		t.Errorf("FailedForm = %+v", f)
	}
	f = FailedForm(values, errors.New("disk on fire"))
	if f.Message != "Internal error." || len(f.Errors) != 0 {
		t.Errorf("internal error leaked: %+v", f)
	}
	var zero Form
	if zero.Value("x") != "" || zero.Error("x") != "" {
		t.Error("zero Form not empty")
	}
}

func TestRelTime(t *testing.T) {
	for _, tc := range []struct {
		ago  time.Duration
		want string
	}{
		{10 * time.Second, "just now"},
		{-10 * time.Second, "just now"},
		{time.Minute, "1 minute ago"},
		{5 * time.Minute, "5 minutes ago"},
		{3 * time.Hour, "3 hours ago"},
		{30 * time.Hour, "yesterday"},
		{3 * 24 * time.Hour, "3 days ago"},
		{30 * 24 * time.Hour, "May 16"},
		{400 * 24 * time.Hour, "May 11, 2024"},
	} {
		if got := relTime(context.Background(), testNow.Add(-tc.ago).UnixMilli()); got != tc.want {
			t.Errorf("%v ago: %q, want %q", tc.ago, got, tc.want)
		}
	}
}

func TestTimelineMeeting(t *testing.T) {
	end := testNow.Add(-30 * time.Minute).UnixMilli()
	tl := Timeline{Company: evilCompany, Items: []store.TimelineItem{
		{Type: store.TypeMeeting, ID: 21, CompanyID: 7, CreatedAt: hourAgo, Meeting: &store.Meeting{ID: 21, CompanyID: 7,
			Type: "in-person demo", Status: store.MeetingOpen, Subject: "Kick-off <1>", Details: "*Agenda*", StartsAt: hourAgo, EndsAt: &end}},
	}}
	out := render(t, TimelineSection(tl))
	contains(t, out, `class="badge badge-meeting">Meeting</span>`, "<h3>Kick-off &lt;1&gt;</h3>", "Sun, Jun 15, 2025 11:00–11:30 UTC",
		"<span class=\"muted\">· in-person demo</span>", ">open</span>", "<em>Agenda</em>", ">Meetings</a>")
	// Edit, delete, and close (the meeting is open).
	contains(t, out, `href="/meetings/21/edit"`, `action="/meetings/21/delete"`, `action="/meetings/21/status"`,
		`<input type="hidden" name="status" value="closed">`, ">Close</button>")
}
