package handlers_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// export downloads one export as c and checks that it is a download.
func export(t *testing.T, a *testApp, c *http.Client, file string) string {
	t.Helper()
	resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/export/"+file, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", file, resp.StatusCode, body)
	}
	name, _, _ := strings.Cut(file, "?")
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="rolodex-`) || !strings.HasSuffix(cd, filepath.Ext(name)+`"`) {
		t.Errorf("%s: Content-Disposition %q", file, cd)
	}
	return body
}

// importFile uploads content to the bulk-actions API as c and waits for
// the import to finish without a row rejected.
func importFile(t *testing.T, a *testApp, c *http.Client, kind, content string) {
	t.Helper()
	ctype, body := multipartBody(map[string]string{"kind": kind, "mode": store.ModeCreate}, kind+".csv", content)
	resp, out := do(t, c, "POST", a.Server.URL+"/api/v1/bulk-actions/upload", ctype, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload %s: %d %s", kind, resp.StatusCode, out)
	}
	b := waitFinished(t, a, c, decodeBulk(t, out).ID)
	if b.Status != store.StatusDone || b.Failed != 0 || b.Skipped != 0 || b.Created != b.Total {
		t.Fatalf("import of %s: %+v", kind, b)
	}
}

// TestExportRoundTrip: a workspace with awkward data (delimiters, quotes,
// line breaks, unicode, formula-like cells and cells quoted already,
// phone and negative numbers, empty fields) exports; the files import
// into an empty workspace through the real importer; that workspace
// exports the same bytes.
func TestExportRoundTrip(t *testing.T) {
	a := newTestApp(t)
	runImporter(t, a)
	ctx := context.Background()
	companies := []store.CompanyInput{
		{Name: `Comma, Quote "Ltd"`, Street: "1 High St,\nFloor 2", Town: "Zürich", Website: "https://comma.example/a?b=1,2",
			Description: "Line 1\r\nLine 2, \"quoted\"\n=SUM(A1)\n  indented"},
		{Name: `=HYPERLINK("http://evil.example")`, Street: "+44 not a phone", Town: "-Town", State: "@state", Zip: "'=1"},
		{Name: "Ünïcødé 日本 株式会社", Description: "🎉"},
		{Name: "'Quoted name", Street: "'", Town: "''", State: "'+1"},
		{Name: "+44 20 7946 0958", Zip: "-42"},
		{Name: "Lonely Co", Description: "@no contacts;\ttab"},
	}
	ids := map[string]int64{}
	for _, in := range companies {
		c, err := a.Store.CreateCompany(ctx, admin(), in)
		if err != nil {
			t.Fatal(err)
		}
		ids[in.Name] = c.ID
	}
	contacts := []struct {
		company string
		in      store.ContactInput
	}{
		{`Comma, Quote "Ltd"`, store.ContactInput{Name: `O'Brien, "Bob"`, Email: "bob@comma.example", Phone: "+44 20 7946 0958", Title: "=1+2"}},
		{"Ünïcødé 日本 株式会社", store.ContactInput{Email: "noname@x.example"}},
		{`=HYPERLINK("http://evil.example")`, store.ContactInput{Name: "No Email", Phone: "-42", Title: "@mention"}},
		{`=HYPERLINK("http://evil.example")`, store.ContactInput{Name: "Also No Email", Title: "Multi\nline"}},
		{"Ünïcødé 日本 株式会社", store.ContactInput{Name: "Zoë 🎉", Email: "ZOE@Upper.example"}},
		{"'Quoted name", store.ContactInput{Name: "'=already quoted", Email: "q@x.example", Title: "''=x", Phone: "+1 ceo"}},
		{"+44 20 7946 0958", store.ContactInput{Name: "A, B", Email: "ab@x.example"}},
	}
	for _, c := range contacts {
		if _, err := a.Store.AddContact(ctx, admin(), ids[c.company], c.in); err != nil {
			t.Fatal(err)
		}
	}
	ws2, err := a.Store.CreateWorkspace(ctx, "Empty")
	if err != nil {
		t.Fatal(err)
	}
	other, err := a.Store.CreateWorkspaceUser(ctx, ws2, store.UserInput{Email: "other@example.com", Name: "Other", Password: storetest.Password, Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	first, second := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin)), a.client(t, other)

	companiesCSV, contactsCSV := export(t, a, first, "companies.csv"), export(t, a, first, "contacts.csv")
	for _, want := range []string{`"'=HYPERLINK(""http://evil.example"")"`, "\n'Quoted name,", "\n+44 20 7946 0958,", ",-42,", "'@no contacts"} {
		if !strings.Contains(companiesCSV, want) {
			t.Errorf("companies.csv lacks %q:\n%s", want, companiesCSV)
		}
	}
	for _, want := range []string{"'=1+2", "'@mention", "\n''=already quoted", ",'''=x,", "'+1 ceo", ",+44 20 7946 0958,"} {
		if !strings.Contains(contactsCSV, want) {
			t.Errorf("contacts.csv lacks %q:\n%s", want, contactsCSV)
		}
	}
	importFile(t, a, second, store.ImportCompanies, companiesCSV)
	importFile(t, a, second, store.ImportContacts, contactsCSV)
	if again := export(t, a, second, "companies.csv"); again != companiesCSV {
		t.Errorf("companies.csv after the round trip:\n%s\nwant:\n%s", again, companiesCSV)
	}
	// Contacts without an address follow their ids, which the import
	// hands out in its own order (by company and name): the same rows,
	// each to the byte, perhaps in another order.
	if again := export(t, a, second, "contacts.csv"); !sameRows(t, again, contactsCSV) {
		t.Errorf("contacts.csv after the round trip:\n%s\nwant:\n%s", again, contactsCSV)
	}
	rows, err := csv.NewReader(strings.NewReader(contactsCSV)).ReadAll()
	if err != nil || len(rows) != len(contacts)+1 {
		t.Fatalf("contacts.csv: %d rows, %v", len(rows), err)
	}
}

// TestExportClientSecurity: a staff user's exports hold their clients'
// rows only, an admin's the workspace's, and another workspace's admin
// none of them, in every file.
func TestExportClientSecurity(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	ws2, err := a.Store.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := a.Store.CreateWorkspaceUser(ctx, ws2, store.UserInput{Email: "foreign@example.com", Name: "Foreign", Password: storetest.Password, Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, name := range []string{"Mine", "Secret"} {
		c := mustCompany(t, a, name+" Co")
		ids[name] = c.ID
		if _, err := a.Store.AddContact(ctx, admin(), c.ID, store.ContactInput{Name: name + " Person", Email: strings.ToLower(name) + "@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Store.AddContact(ctx, admin(), c.ID, store.ContactInput{Name: name + " Nomail"}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Store.CreateMeeting(ctx, admin(), c.ID, store.MeetingInput{Type: "call", Subject: name + " Call", StartsAt: 1772373600000}); err != nil {
			t.Fatal(err)
		}
		if name == "Mine" {
			if err := a.Store.AssignClient(ctx, admin(), staff.ID, c.ID, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	files := []string{"companies.csv", "companies.jsonl", "contacts.csv", "contacts.jsonl", "meetings.csv", "meetings.jsonl"}
	// Rows of each file: companies 1 each, contacts 2, meetings 1; the CSV
	// files add a header.
	rows := map[string]int{"companies": 1, "contacts": 2, "meetings": 1}
	for _, tc := range []struct {
		who           *store.User
		mine, secrets int // how many of each client's rows
	}{
		{staff, 1, 0},
		{adm, 1, 1},
		{foreign, 0, 0},
	} {
		c := a.client(t, tc.who)
		for _, file := range files {
			body := export(t, a, c, file)
			kind, ext, _ := strings.Cut(file, ".")
			want := rows[kind] * (tc.mine + tc.secrets)
			if ext == "csv" {
				want++
			}
			lines := strings.Count(body, "\n")
			mine, secret := strings.Count(body, "Mine "), strings.Count(body, "Secret ")
			// A contact's or a meeting's CSV row names its company too.
			per := 1
			if kind != "companies" && ext == "csv" {
				per = 2
			}
			if lines != want || mine != tc.mine*rows[kind]*per || secret != tc.secrets*rows[kind]*per {
				t.Errorf("%s as %s: %d lines (want %d), %d of mine, %d secrets:\n%s", file, tc.who.Email, lines, want, mine, secret, body)
			}
		}
	}

	// One company's contacts or meetings: 404 for a company the viewer may
	// not see, 422 for an id that is none.
	c := a.client(t, staff)
	for _, file := range []string{"contacts.csv", "contacts.jsonl", "meetings.csv", "meetings.jsonl"} {
		body := export(t, a, c, fmt.Sprintf("%s?company_id=%d", file, ids["Mine"]))
		if !strings.Contains(body, "Mine ") || strings.Contains(body, "Secret ") {
			t.Errorf("%s of Mine Co:\n%s", file, body)
		}
		resp, body := do(t, c, "GET", fmt.Sprintf("%s/api/v1/export/%s?company_id=%d", a.Server.URL, file, ids["Secret"]), "", "")
		if resp.StatusCode != 404 || resp.Header.Get("Content-Disposition") != "" || strings.Contains(body, "Secret ") {
			t.Errorf("%s of Secret Co: %d %s", file, resp.StatusCode, body)
		}
		resp, body = do(t, c, "GET", a.Server.URL+"/api/v1/export/"+file+"?company_id=x", "", "")
		if resp.StatusCode != 422 || !strings.Contains(body, `"company_id"`) {
			t.Errorf("%s?company_id=x: %d %s", file, resp.StatusCode, body)
		}
	}
	admin := a.client(t, adm)
	body := export(t, a, admin, fmt.Sprintf("contacts.csv?company_id=%d", ids["Secret"]))
	if strings.Contains(body, "Mine ") || strings.Count(body, "Secret ") != 4 {
		t.Errorf("an admin's contacts.csv of Secret Co:\n%s", body)
	}
}

// TestExportJSONLines: each line of a JSON lines export is the object the
// API answers for that resource; meetings' CSV rows carry their times in
// UTC, RFC 3339.
func TestExportJSONLines(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	acme, err := a.Store.CreateCompany(ctx, admin(), store.CompanyInput{Name: "Acme <b>", Website: "acme.example", Description: "=1\n\"two\""})
	if err != nil {
		t.Fatal(err)
	}
	lee, err := a.Store.AddContact(ctx, admin(), acme.ID, store.ContactInput{Name: "Lee", Email: "lee@acme.example", Phone: "+44 1"})
	if err != nil {
		t.Fatal(err)
	}
	ends := int64(1772377200500)
	m, err := a.Store.CreateMeeting(ctx, admin(), acme.ID, store.MeetingInput{Type: "call", Subject: "Kick-off", Details: "=cmd", StartsAt: 1772373600000, EndsAt: &ends, Attendees: &[]int64{lee.ID}})
	if err != nil {
		t.Fatal(err)
	}
	same := func(file, line, api string) {
		t.Helper()
		var got, want any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("%s: %v: %q", file, err, line)
		}
		if err := json.Unmarshal([]byte(api), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %s\nthe API answers %s", file, line, api)
		}
	}
	one := func(file string) string {
		t.Helper()
		body := export(t, a, c, file)
		if strings.Count(body, "\n") != 1 || !strings.HasSuffix(body, "\n") {
			t.Fatalf("%s: want one line, got %q", file, body)
		}
		return body
	}
	_, api := do(t, c, "GET", fmt.Sprintf("%s/api/v1/companies/%d", a.Server.URL, acme.ID), "", "")
	same("companies.jsonl", one("companies.jsonl"), api)
	contact, _ := json.Marshal(lee)
	same("contacts.jsonl", one("contacts.jsonl"), string(contact))
	_, api = do(t, c, "GET", fmt.Sprintf("%s/api/v1/meetings/%d", a.Server.URL, m.ID), "", "")
	same("meetings.jsonl", one("meetings.jsonl"), api)

	rows, err := csv.NewReader(strings.NewReader(export(t, a, c, "meetings.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"id", "company_id", "company", "type", "status", "subject", "details", "starts_at", "ends_at", "created_at", "updated_at"},
		{fmt.Sprint(m.ID), fmt.Sprint(acme.ID), "Acme <b>", "call", "open", "Kick-off", "'=cmd", "2026-03-01T14:00:00Z", "2026-03-01T15:00:00.5Z",
			store.Time(m.CreatedAt).Format(time.RFC3339Nano), store.Time(m.UpdatedAt).Format(time.RFC3339Nano)},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("meetings.csv:\n%q\nwant\n%q", rows, want)
	}
}

// TestExportPages: an export longer than a page of the store's reads has
// every row once, in order: contacts by address, then those without one
// by id; companies by name.
func TestExportPages(t *testing.T) {
	a := newTestApp(t)
	const n = 2600
	generate(t, filepath.Join(a.Dir, "rolodex.db"), n)
	db, err := sql.Open("sqlite3", filepath.Join(a.Dir, "rolodex.db"))
	if err != nil {
		t.Fatal(err)
	}
	// 1,300 contacts without an address: over a page of them too.
	if _, err := db.Exec(`UPDATE contacts SET email = '' WHERE id % 2 = 0`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	rows, err := csv.NewReader(strings.NewReader(export(t, a, c, "contacts.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n+1 {
		t.Fatalf("contacts.csv: %d rows, want %d", len(rows)-1, n)
	}
	emails := map[string]bool{}
	var prev string
	for i, r := range rows[1:] {
		email := r[1]
		if i < n/2 {
			if email == "" || strings.ToLower(email) <= prev || emails[email] {
				t.Fatalf("row %d: %q after %q", i+1, email, prev)
			}
			emails[email], prev = true, strings.ToLower(email)
		} else if email != "" {
			t.Fatalf("row %d: %q among the contacts without an address", i+1, email)
		}
	}
	companies, err := csv.NewReader(strings.NewReader(export(t, a, c, "companies.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for i, r := range companies[1:] {
		if names[r[0]] || i > 0 && strings.ToLower(companies[i][0]) > strings.ToLower(r[0]) {
			t.Fatalf("company %d: %q after %q", i+1, r[0], companies[i][0])
		}
		names[r[0]] = true
	}
	if len(names) != n {
		t.Errorf("companies.csv: %d companies, want %d", len(names), n)
	}
}

// TestExportFailure: an export whose reads fail answers an error when it
// has sent nothing yet, and otherwise breaks the download off: a client
// never gets a cut-off file that ends like a whole one.
func TestExportFailure(t *testing.T) {
	a := newTestApp(t)
	const n = 20_000
	path := filepath.Join(a.Dir, "rolodex.db")
	generate(t, path, n)
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	resp, err := c.Get(a.Server.URL + "/api/v1/export/contacts.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 4096)
	if _, err := io.ReadFull(resp.Body, first); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d, %v", resp.StatusCode, err)
	}
	// The next page's query fails.
	if _, err := db.Exec(`ALTER TABLE contacts RENAME TO contacts_gone`); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(resp.Body)
	lines := bytes.Count(first, []byte("\n")) + bytes.Count(rest, []byte("\n"))
	t.Logf("%d of %d lines, then %v", lines, n+1, err)
	if err == nil && lines != n+1 {
		t.Errorf("a download cut off after %d of %d lines ended cleanly", lines, n+1)
	}

	resp2, body := do(t, c, "GET", a.Server.URL+"/api/v1/export/contacts.csv", "", "")
	if resp2.StatusCode != http.StatusInternalServerError || resp2.Header.Get("Content-Disposition") != "" || !strings.Contains(body, `"error"`) {
		t.Errorf("a failure before any row: %d %q %s", resp2.StatusCode, resp2.Header.Get("Content-Disposition"), body)
	}
}

// sameRows reports whether two CSV files have the same header and the
// same rows, in any order.
func sameRows(t *testing.T, got, want string) bool {
	t.Helper()
	rows := func(file string) []string {
		recs, err := csv.NewReader(strings.NewReader(file)).ReadAll()
		if err != nil || len(recs) == 0 {
			t.Fatalf("%v in %q", err, file)
		}
		out := []string{strings.Join(recs[0], "\x00")}
		for _, r := range recs[1:] {
			out = append(out, strings.Join(r, "\x00"))
		}
		slices.Sort(out[1:])
		return out
	}
	return slices.Equal(rows(got), rows(want))
}
