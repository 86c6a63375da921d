package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rolodex/rolodex/store"
)

// andertons stores five companies named Anderton and seven contacts named
// Anderton spread over them, the contacts' shorter names ranking above the
// companies' on their own, and a staff user assigned to two of the five.
func andertons(t *testing.T, a *testApp) (companies []*store.Company, contacts []*store.Contact, staff *store.User) {
	t.Helper()
	ctx := context.Background()
	for _, name := range []string{"Anderton Mills Ltd", "Anderton Logistics Ltd", "Anderton Guitars Ltd", "Anderton Bakery Ltd", "Anderton & Sons Ltd"} {
		companies = append(companies, mustCompany(t, a, name))
	}
	for i, first := range []string{"Ann", "Bea", "Cal", "Dee", "Eve", "Fay", "Gus"} {
		c, err := a.Store.AddContact(ctx, admin(), companies[i%5].ID, store.ContactInput{Name: first + " Anderton"})
		if err != nil {
			t.Fatal(err)
		}
		contacts = append(contacts, c)
	}
	staff = a.User(t, "staff@example.com", store.RoleStaff)
	for _, c := range []*store.Company{companies[1], companies[3]} {
		if err := a.Store.AssignClient(ctx, admin(), staff.ID, c.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	return companies, contacts, staff
}

type searchJSON struct {
	Companies []struct {
		ID   int64  `json:"id"`
		Kind string `json:"kind"`
	} `json:"companies"`
	Contacts []struct {
		ID        int64  `json:"id"`
		Kind      string `json:"kind"`
		CompanyID int64  `json:"company_id"`
	} `json:"contacts"`
	CompanyCount int               `json:"company_count"`
	ContactCount int               `json:"contact_count"`
	CountsExact  bool              `json:"counts_exact"`
	Error        string            `json:"error"`
	Fields       map[string]string `json:"fields"`
}

func apiSearch(t *testing.T, a *testApp, c *http.Client, query string) (int, searchJSON) {
	t.Helper()
	resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/search?"+query, "", "")
	var r searchJSON
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("search %s: %d %s", query, resp.StatusCode, body)
	}
	return resp.StatusCode, r
}

// TestSearchListsEveryCompany: typing a company's name, whole, as a prefix
// or with a typo, lists every company of that name above the contacts
// that match too, with counts; staff see only their clients.
func TestSearchListsEveryCompany(t *testing.T) {
	a := newTestApp(t)
	companies, contacts, staff := andertons(t, a)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	ids := func(cs []*store.Company) []int64 {
		var out []int64
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	mine := []*store.Company{companies[1], companies[3]}
	var myContacts []int64
	for _, c := range contacts {
		if c.CompanyID == mine[0].ID || c.CompanyID == mine[1].ID {
			myContacts = append(myContacts, c.ID)
		}
	}
	tests := []struct {
		user      *store.User
		q         string
		companies []int64
		contacts  int
	}{
		{adm, "anderton", ids(companies), 7},
		{adm, "Ander", ids(companies), 7},
		{adm, "andretons", ids(companies), 7},
		{staff, "anderton", ids(mine), len(myContacts)},
		{staff, "andretons", ids(mine), len(myContacts)},
	}
	for _, tt := range tests {
		t.Run(tt.user.Email+"/"+tt.q, func(t *testing.T) {
			c := a.client(t, tt.user)
			st, r := apiSearch(t, a, c, "q="+url.QueryEscape(tt.q))
			if st != 200 {
				t.Fatalf("status %d: %+v", st, r)
			}
			var got []int64
			for _, co := range r.Companies {
				got = append(got, co.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.companies) || r.CompanyCount != len(tt.companies) {
				t.Errorf("companies %v (count %d), want %v", got, r.CompanyCount, tt.companies)
			}
			if r.ContactCount != tt.contacts || len(r.Contacts) != tt.contacts || !r.CountsExact {
				t.Errorf("contacts %+v (count %d, exact %v), want %d", r.Contacts, r.ContactCount, r.CountsExact, tt.contacts)
			}
			for _, ct := range r.Contacts {
				if tt.user == staff && !slices.Contains(myContacts, ct.ID) {
					t.Errorf("staff found contact %d of company %d", ct.ID, ct.CompanyID)
				}
			}

			// The search box: companies first, each kind capped, counts,
			// and the way to all of them.
			resp, body := do(t, c, "GET", a.Server.URL+"/search?q="+url.QueryEscape(tt.q), "", "", "HX-Request", "true")
			if resp.StatusCode != 200 || strings.Contains(body, "<html") {
				t.Fatalf("search box: %d %.300s", resp.StatusCode, body)
			}
			total := len(tt.companies) + tt.contacts
			for _, want := range []string{
				fmt.Sprintf(`Companies <span class="search-count">%d</span>`, len(tt.companies)),
				fmt.Sprintf(`Contacts <span class="search-count">%d</span>`, tt.contacts),
				fmt.Sprintf(`href="/search?q=%s">Show all %d results`, url.QueryEscape(tt.q), total),
			} {
				if !strings.Contains(body, want) {
					t.Errorf("search box lacks %q: %s", want, body)
				}
			}
			hrefs := regexp.MustCompile(`href="/companies/(\d+)(#contact-\d+)?"`).FindAllStringSubmatch(body, -1)
			var listed []string
			for i, m := range hrefs {
				if i < len(tt.companies) && m[2] != "" || i >= len(tt.companies) && m[2] == "" {
					t.Errorf("search box order: %q", hrefs)
					break
				}
				listed = append(listed, m[0])
			}
			if want := len(tt.companies) + min(tt.contacts, 5); len(listed) != want {
				t.Errorf("search box lists %d results, want %d", len(listed), want)
			}

			// The results page lists them all, and no more.
			resp, body = do(t, c, "GET", a.Server.URL+"/search?q="+url.QueryEscape(tt.q), "", "")
			if n := len(regexp.MustCompile(`href="/companies/\d+(#contact-\d+)?"`).FindAllString(body[strings.Index(body, "<main"):], -1)); resp.StatusCode != 200 || n != total {
				t.Errorf("results page: %d, %d results, want %d", resp.StatusCode, n, total)
			}
		})
	}
}

// TestSearchKind: the API's kind picks the groups it answers; anything
// but company or contact is a 422 on the field, not a 500.
func TestSearchKind(t *testing.T) {
	a := newTestApp(t)
	andertons(t, a)
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	for _, tt := range []struct {
		query              string
		companies, contact int
	}{
		{"q=anderton&kind=company", 5, 0},
		{"q=anderton&kind=contact", 0, 7},
		{"q=anderton&kind=company&kind=contact", 5, 7},
		{"q=anderton&kind=contact&limit=2", 0, 2},
	} {
		st, r := apiSearch(t, a, c, tt.query)
		if st != 200 || len(r.Companies) != tt.companies || len(r.Contacts) != tt.contact {
			t.Errorf("%s: %d, %d companies and %d contacts, want %d and %d", tt.query, st, len(r.Companies), len(r.Contacts), tt.companies, tt.contact)
		}
	}
	for _, query := range []string{"q=a&kind=user", "q=a&kind=company&kind=", "kind=deal"} {
		st, r := apiSearch(t, a, c, query)
		if st != http.StatusUnprocessableEntity || r.Error == "" || r.Fields["kind"] == "" {
			t.Errorf("%s: %d %+v, want 422 with fields.kind", query, st, r)
		}
	}
}

// TestSearchResultsPage pages through every match, companies then
// contacts, by Next and back by Previous.
func TestSearchResultsPage(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	var want []string
	for i := range 27 {
		co := mustCompany(t, a, fmt.Sprintf("Pemberton %02d", i))
		want = append(want, fmt.Sprintf("/companies/%d", co.ID))
		if i < 18 {
			ct, err := a.Store.AddContact(ctx, admin(), co.ID, store.ContactInput{Name: fmt.Sprintf("Pat%c Pemberton", 'a'+i)})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprintf("/companies/%d#contact-%d", co.ID, ct.ID))
		}
	}
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	link := regexp.MustCompile(`href="(/companies/\d+(?:#contact-\d+)?)"`)
	pager := regexp.MustCompile(`rel="(prev|next)" href="([^"]+)"`)

	var seen []string
	var pages []string
	next := "/search?q=pemberton"
	for next != "" {
		resp, body := do(t, c, "GET", a.Server.URL+strings.ReplaceAll(next, "&amp;", "&"), "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", next, resp.StatusCode)
		}
		pages = append(pages, next)
		main := body[strings.Index(body, `<main`):]
		links := link.FindAllStringSubmatch(main, -1)
		if len(links) == 0 || len(links) > 20 {
			t.Fatalf("%s lists %d results", next, len(links))
		}
		for _, m := range links {
			if !strings.Contains(m[1], "#") && len(seen) > 0 && strings.Contains(seen[len(seen)-1], "#") {
				t.Errorf("%s: company %s after a contact", next, m[1])
			}
			seen = append(seen, m[1])
		}
		next = ""
		for _, m := range pager.FindAllStringSubmatch(main, -1) {
			if m[1] == "next" {
				next = m[2]
			}
			if m[1] == "prev" && len(pages) == 1 {
				t.Errorf("first page links to a previous one")
			}
		}
		if len(pages) > 1 && !strings.Contains(main, `rel="prev" href="`+pages[len(pages)-2]+`"`) {
			t.Errorf("%s: no Previous back to %s", pages[len(pages)-1], pages[len(pages)-2])
		}
	}
	if len(pages) != 3 {
		t.Errorf("pages %q, want 3", pages)
	}
	slices.Sort(seen)
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Errorf("pages list %d results, want every one of %d once:\n%q", len(seen), len(want), seen)
	}

	for _, page := range []string{"0", "-1", "x", "1e3", "99999999999"} {
		if resp, _ := do(t, c, "GET", a.Server.URL+"/search?q=pemberton&page="+page, "", ""); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("page=%s: %d, want 422", page, resp.StatusCode)
		}
	}
	if resp, body := do(t, c, "GET", a.Server.URL+"/search?q=pemberton&page=9", "", ""); resp.StatusCode != 200 || !strings.Contains(body, "No more results.") || !strings.Contains(body, `rel="prev"`) {
		t.Errorf("page past the end: %d", resp.StatusCode)
	}
}
