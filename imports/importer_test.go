package imports

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rolodex/rolodex/jobs"
	"github.com/rolodex/rolodex/search"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

func testAdmin() *store.User {
	return &store.User{WorkspaceID: store.DefaultWorkspace, Role: store.RoleAdmin}
}

// newAction records an import of path, read and mapped as an upload is,
// claimed by worker (or queued when worker is empty).
func newAction(t *testing.T, st *store.Store, kind, mode, path, worker string) *store.BulkAction {
	t.Helper()
	p, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	m := DetectMapping(kind, p.Header)
	if err := CheckMapping(kind, p.Header, m); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	a, err := st.CreateBulkAction(context.Background(), testAdmin(), store.BulkActionInput{Kind: kind, Mode: mode,
		FileName: filepath.Base(path), FileSize: fi.Size(), Delimiter: string(p.Delimiter), Header: p.Header, Mapping: m, Worker: worker},
		func(int64) (string, error) { return path, nil })
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// runImport imports path in one go and returns the finished action.
func runImport(t *testing.T, st *store.Store, kind, mode, path string) *store.BulkAction {
	t.Helper()
	im := &Importer{Store: st}
	a := newAction(t, st, kind, mode, path, "test")
	if err := im.Process(context.Background(), a.ID, "test", nil); err != nil {
		t.Fatal(err)
	}
	a, err := st.BulkActionByID(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type counts struct{ Total, Created, Updated, Skipped, Failed int64 }

func countsOf(a *store.BulkAction) counts {
	return counts{a.Total, a.Created, a.Updated, a.Skipped, a.Failed}
}

func rejected(t *testing.T, st *store.Store, id int64) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	err := st.EachBulkActionError(context.Background(), testAdmin(), id, func(e *store.BulkActionError) error {
		out[e.Line] = e.Reason
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// snapshot describes every company and contact of the workspace, without
// ids or times, so that two imports of one file can be compared.
func snapshot(t *testing.T, st *store.Store) []string {
	t.Helper()
	ctx := context.Background()
	names := map[int64]string{}
	var out []string
	err := st.EachCompany(ctx, func(c *store.Company) error {
		names[c.ID] = c.Name
		out = append(out, fmt.Sprintf("company %q %q %q", c.Name, c.Website, c.Street))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.EachContact(ctx, func(c *store.ContactRecord) error {
		out = append(out, fmt.Sprintf("contact %q %q %q %q at %q", c.Name, c.Email, c.Phone, c.Title, names[c.CompanyID]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func contactByEmail(t *testing.T, st *store.Store, email string) (*store.ContactRecord, string) {
	t.Helper()
	var found *store.ContactRecord
	st.EachContact(context.Background(), func(c *store.ContactRecord) error {
		if strings.EqualFold(c.Email, email) {
			cc := *c
			found = &cc
		}
		return nil
	})
	if found == nil {
		t.Fatalf("no contact %s", email)
	}
	co, _ := st.CompanyByID(context.Background(), found.CompanyID)
	return found, co.Name
}

func corpus(name string) string { return filepath.Join("testdata", "imports", name) }

// TestImportCorpus imports each malformed file of the corpus and checks the
// exact counters and the reason given for every rejected row.
func TestImportCorpus(t *testing.T) {
	cases := []struct {
		file, kind, mode string
		want             counts
		reasons          map[int64]string
	}{
		{"clean.csv", store.ImportContacts, store.ModeCreate, counts{5, 5, 0, 0, 0}, map[int64]string{}},
		{"ragged.csv", store.ImportContacts, store.ModeCreate, counts{5, 3, 0, 0, 2}, map[int64]string{
			3: "The row has 2 columns; the header has 3.",
			4: "The row has 4 columns; the header has 3.",
		}},
		{"broken_quotes.csv", store.ImportContacts, store.ModeCreate, counts{7, 4, 0, 0, 3}, map[int64]string{
			3: "Text follows a closing quote.",
			6: "Text follows a closing quote.",
			8: "A quoted field is never closed.",
		}},
		{"bom_crlf_semicolon.csv", store.ImportContacts, store.ModeCreate, counts{3, 3, 0, 0, 0}, map[int64]string{}},
		{"latin1_tab.csv", store.ImportContacts, store.ModeCreate, counts{2, 2, 0, 0, 0}, map[int64]string{}},
		{"formulas.csv", store.ImportContacts, store.ModeCreate, counts{3, 2, 0, 0, 1}, map[int64]string{
			3: "E-mail: Enter a valid e-mail address.",
		}},
		{"long_fields.csv", store.ImportContacts, store.ModeCreate, counts{4, 1, 0, 0, 3}, map[int64]string{
			2: "Name: Use at most 200 characters.",
			3: "Phone: Use at most 50 characters.",
			6: "Company name: Use at most 200 characters.",
		}},
		{"empty_lines.csv", store.ImportContacts, store.ModeCreate, counts{3, 2, 0, 0, 1}, map[int64]string{
			10: "E-mail: Enter a valid e-mail address.",
		}},
		{"companies.csv", store.ImportCompanies, store.ModeCreate, counts{6, 2, 0, 1, 3}, map[int64]string{
			4: "Duplicate of line 2.",
			5: "Name: This field is required.",
			6: "ZIP: Use at most 20 characters.",
			7: "Website: Enter a web address such as https://example.com.",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			env := storetest.Open(t)
			a := runImport(t, env.Store, tc.kind, tc.mode, corpus(tc.file))
			if a.Status != store.StatusDone {
				t.Fatalf("status %s (%s)", a.Status, a.Error)
			}
			if got := countsOf(a); got != tc.want || a.Processed != a.Total {
				t.Errorf("counts %+v (processed %d), want %+v", got, a.Processed, tc.want)
			}
			if got := rejected(t, env.Store, a.ID); !reflect.DeepEqual(got, tc.reasons) {
				t.Errorf("rejected rows:\n got %v\nwant %v", got, tc.reasons)
			}
		})
	}
}

func TestImportDecodesAndLinks(t *testing.T) {
	env := storetest.Open(t)
	st := env.Store
	runImport(t, st, store.ImportContacts, store.ModeCreate, corpus("clean.csv"))
	runImport(t, st, store.ImportContacts, store.ModeCreate, corpus("latin1_tab.csv"))
	runImport(t, st, store.ImportContacts, store.ModeCreate, corpus("bom_crlf_semicolon.csv"))
	checks := []struct{ email, name, title, company string }{
		{"maria@acme.example", "Maria Garcia", "CTO", "Acme"}, // ACME is Acme: names match without case
		{"priya@initech.example", "", "", "initech.example"},  // no company column: made from the domain
		{"jose@muller.example", "José Müller", "Geschäftsführer", "Müller GmbH"},
		{"francois@muller.example", "François", "“Chef”", "Müller GmbH"},
		{"jose@latam.example", "José Núñez", "Director", "Latam S.A."},
		{"john@smith.example", "Smith; John", "", "Smith & Co"},
		{"zoe@smith.example", "Zoë", "Head of\r\nSales", "Smith & Co"},
	}
	for _, c := range checks {
		got, company := contactByEmail(t, st, c.email)
		if got.Name != c.name || got.Title != c.title || company != c.company {
			t.Errorf("%s: %q %q at %q, want %q %q at %q", c.email, got.Name, got.Title, company, c.name, c.title, c.company)
		}
	}
	var companies int
	st.EachCompany(context.Background(), func(*store.Company) error { companies++; return nil })
	if companies != 6 { // Acme, Globex, initech.example, Müller GmbH, Latam S.A., Smith & Co
		t.Errorf("%d companies, want 6", companies)
	}
}

func TestImportModes(t *testing.T) {
	cases := []struct {
		mode    string
		want    counts
		reasons map[int64]string
		name    string // of existing@dup.example afterwards
	}{
		{store.ModeCreate, counts{6, 2, 0, 4, 0}, map[int64]string{
			2: "A contact with this e-mail address exists.", 4: "Duplicate of line 3.",
			6: "A contact with this e-mail address exists.", 7: "Duplicate of line 3.",
		}, "Old Name"},
		{store.ModeUpsert, counts{6, 2, 2, 2, 0}, map[int64]string{4: "Duplicate of line 3.", 7: "Duplicate of line 3."}, "New Name"},
		{store.ModeUpdate, counts{6, 0, 2, 4, 0}, map[int64]string{
			3: "No contact with this e-mail address.", 4: "Duplicate of line 3.",
			5: "No e-mail address to find the contact by.", 7: "Duplicate of line 3.",
		}, "New Name"},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			env := storetest.Open(t)
			ctx := context.Background()
			dup, err := env.Store.CreateCompany(ctx, testAdmin(), store.CompanyInput{Name: "Dup Co"})
			if err != nil {
				t.Fatal(err)
			}
			other, _ := env.Store.CreateCompany(ctx, testAdmin(), store.CompanyInput{Name: "Other Co"})
			env.Store.AddContact(ctx, testAdmin(), dup.ID, store.ContactInput{Name: "Old Name", Email: "existing@dup.example", Phone: "111"})
			env.Store.AddContact(ctx, testAdmin(), other.ID, store.ContactInput{Name: "Old Other", Email: "other@dup.example"})
			a := runImport(t, env.Store, store.ImportContacts, tc.mode, corpus("duplicates.csv"))
			if got := countsOf(a); got != tc.want {
				t.Errorf("counts %+v, want %+v", got, tc.want)
			}
			if got := rejected(t, env.Store, a.ID); !reflect.DeepEqual(got, tc.reasons) {
				t.Errorf("rejected rows:\n got %v\nwant %v", got, tc.reasons)
			}
			c, _ := contactByEmail(t, env.Store, "existing@dup.example")
			if c.Name != tc.name {
				t.Errorf("existing contact is named %q, want %q", c.Name, tc.name)
			}
			if tc.mode != store.ModeCreate {
				// An update without a company keeps the contact where it is.
				if c, company := contactByEmail(t, env.Store, "other@dup.example"); c.Name != "Other" || company != "Other Co" {
					t.Errorf("other@: %q at %q", c.Name, company)
				}
				if c.Phone != "222" {
					t.Errorf("phone not updated: %q", c.Phone)
				}
			}
		})
	}
}

func TestImportCompaniesThenContactsByDomain(t *testing.T) {
	env := storetest.Open(t)
	st := env.Store
	ctx := context.Background()
	if _, err := st.CreateCompany(ctx, testAdmin(), store.CompanyInput{Name: "Globex"}); err != nil {
		t.Fatal(err)
	}
	a := runImport(t, st, store.ImportCompanies, store.ModeUpsert, corpus("companies.csv"))
	if got, want := countsOf(a), (counts{6, 1, 1, 1, 3}); got != want {
		t.Errorf("companies upsert: %+v, want %+v", got, want)
	}
	a = runImport(t, st, store.ImportContacts, store.ModeCreate, corpus("domains.csv"))
	want := map[int64]string{
		3: "No company: gmail.com is a public mail provider; add a company column.",
		6: "No company: add a company column, or an e-mail address at the company's domain.",
	}
	if got := rejected(t, st, a.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("rejected: %v", got)
	}
	for email, company := range map[string]string{"wile@acme.example": "Acme", "sub@mail.acme.example": "Acme", "new@newco.example": "newco.example"} {
		if _, got := contactByEmail(t, st, email); got != company {
			t.Errorf("%s is at %q, want %q", email, got, company)
		}
	}
	globex := 0
	st.EachCompany(ctx, func(c *store.Company) error {
		if c.Name == "Globex" {
			globex++
			if c.Website != "https://globex.example" {
				t.Errorf("Globex website %q after upsert", c.Website)
			}
		}
		return nil
	})
	if globex != 1 {
		t.Errorf("%d companies named Globex", globex)
	}
}

// TestImportInsertOrder checks that a batch's new contacts get their ids
// in the order of company (existing ones by id, then those the import
// creates, in the order it names them) and name as NOCASE sorts it, so
// that the indexes on (company_id, …, id) are written in order. The
// addresses and the file's order disagree with it.
func TestImportInsertOrder(t *testing.T) {
	env := storetest.Open(t)
	st := env.Store
	ctx := context.Background()
	for _, name := range []string{"Zeta", "Alpha"} {
		if _, err := st.CreateCompany(ctx, testAdmin(), store.CompanyInput{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "order.csv")
	file := "name,email,company\n" +
		"bob,a1@x.example,New One\n" +
		"Carol,a2@x.example,Zeta\n" +
		"alice,a3@x.example,Alpha\n" +
		"Dave,a4@x.example,New Two\n" +
		"Bea,a5@x.example,Zeta\n" +
		"ann,a6@x.example,New One\n" +
		"Aaron,a7@x.example,Alpha\n" +
		"amy,a8@x.example,Zeta\n"
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := countsOf(runImport(t, st, store.ImportContacts, store.ModeCreate, path)), (counts{8, 8, 0, 0, 0}); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	companies := map[int64]string{}
	st.EachCompany(ctx, func(c *store.Company) error { companies[c.ID] = c.Name; return nil })
	var got []string
	st.EachContact(ctx, func(c *store.ContactRecord) error { // in id order
		got = append(got, companies[c.CompanyID]+": "+c.Name)
		return nil
	})
	want := []string{"Zeta: amy", "Zeta: Bea", "Zeta: Carol", "Alpha: Aaron", "Alpha: alice", "New One: ann", "New One: bob", "New Two: Dave"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("contacts in id order:\n got %q\nwant %q", got, want)
	}
}

func TestImportHugeRecord(t *testing.T) {
	env := storetest.Open(t)
	path := filepath.Join(t.TempDir(), "huge.csv")
	data := "name,email,company\nLee,lee@h.example,H\n\"" + strings.Repeat("x", maxRecordBytes) + "\",big@h.example,H\nAfter,after@h.example,H\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	a := runImport(t, env.Store, store.ImportContacts, store.ModeCreate, path)
	if got, want := countsOf(a), (counts{3, 2, 0, 0, 1}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	if r := rejected(t, env.Store, a.ID)[3]; !strings.Contains(r, "longer than 1 MiB") {
		t.Errorf("reason %q", r)
	}
}

// genContacts writes a contacts file of n rows with duplicate addresses,
// bad rows, quoted fields and a few hundred companies.
func genContacts(t testing.TB, path string, n int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("Name,E-mail,Phone,Company,Title\n")
	for i := 0; i < n; i++ {
		id := i
		if i > 10 && rng.IntN(10) == 0 {
			id = rng.IntN(i) // a duplicate address
		}
		name := fmt.Sprintf("Person %d", id)
		if rng.IntN(50) == 0 {
			name = "\"Quoted, \"\"" + name + "\"\"\nsecond line\""
		}
		email := fmt.Sprintf("p%d@c%d.example", id, id%300)
		if rng.IntN(100) == 0 {
			email = "broken-address"
		}
		if rng.IntN(7) == 0 {
			email = strings.ToUpper(email)
		}
		fmt.Fprintf(&b, "%s,%s,555-%04d,Company %d,Title %d\n", name, email, i%10000, id%300, i%17)
		if rng.IntN(200) == 0 {
			b.WriteString("ragged,row\n")
		}
		if rng.IntN(300) == 0 {
			b.WriteString("\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestImportCrashResume kills the worker right after a batch commits (and,
// which is the same for the database, while the next one is being
// written), starts it again, and compares the outcome with a clean import
// of the same file: the same records, counters and rejected rows, nothing
// lost and nothing twice.
func TestImportCrashResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contacts.csv")
	genContacts(t, path, 3000, 42)

	clean := storetest.Open(t)
	im := &Importer{Store: clean.Store, BatchRows: 250}
	a := newAction(t, clean.Store, store.ImportContacts, store.ModeUpsert, path, "clean")
	if err := im.Process(context.Background(), a.ID, "clean", nil); err != nil {
		t.Fatal(err)
	}
	want, _ := clean.Store.BulkActionByID(context.Background(), a.ID)
	wantRows := snapshot(t, clean.Store)
	wantRejected := rejected(t, clean.Store, a.ID)
	if want.Status != store.StatusDone || want.Skipped == 0 || want.Failed == 0 || want.Updated != 0 {
		t.Fatalf("clean import: %+v", countsOf(want))
	}

	batches := int((want.Total + 249) / 250)
	for _, kills := range [][]int{{1}, {3, 2, 4}, {batches}} {
		t.Run(fmt.Sprint(kills), func(t *testing.T) {
			env := storetest.Open(t)
			a := newAction(t, env.Store, store.ImportContacts, store.ModeUpsert, path, "w0")
			for i, k := range kills {
				im := &Importer{Store: env.Store, BatchRows: 250, afterBatch: func(n int) error {
					if n == k {
						return errors.New("kill")
					}
					return nil
				}}
				// A restarted process is a new worker that knows the old
				// one is dead.
				worker := fmt.Sprintf("w%d", i)
				im.TakeOver = i > 0
				if err := im.process(context.Background(), a.ID, worker, nil, nil); !errors.Is(err, errKilled) {
					t.Fatalf("run %d: %v, want a kill", i, err)
				}
			}
			im := &Importer{Store: env.Store, BatchRows: 250, TakeOver: true}
			if err := im.Process(context.Background(), a.ID, "last", nil); err != nil {
				t.Fatal(err)
			}
			got, _ := env.Store.BulkActionByID(context.Background(), a.ID)
			if got.Status != store.StatusDone || countsOf(got) != countsOf(want) || got.Processed != want.Processed {
				t.Errorf("after resume: %s %+v, want %+v", got.Status, countsOf(got), countsOf(want))
			}
			if rows := snapshot(t, env.Store); !reflect.DeepEqual(rows, wantRows) {
				t.Errorf("records differ from a clean import: %d vs %d", len(rows), len(wantRows))
			}
			if rej := rejected(t, env.Store, a.ID); !reflect.DeepEqual(rej, wantRejected) {
				t.Errorf("rejected rows differ: %d vs %d", len(rej), len(wantRejected))
			}
		})
	}
}

// TestImportCancel cancels an import between batches: the worker stops at
// its next batch, keeps what it committed and removes the upload.
func TestImportCancel(t *testing.T) {
	env := storetest.Open(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "contacts.csv")
	genContacts(t, path, 1000, 7)
	a := newAction(t, env.Store, store.ImportContacts, store.ModeCreate, path, "w")
	im := &Importer{Store: env.Store, Dir: dir, BatchRows: 100, afterBatch: func(n int) error {
		if n == 2 {
			if _, err := env.Store.CancelBulkAction(context.Background(), testAdmin(), a.ID); err != nil {
				t.Error(err)
			}
		}
		return nil
	}}
	if err := im.Process(context.Background(), a.ID, "w", nil); err != nil {
		t.Fatal(err)
	}
	got, _ := env.Store.BulkActionByID(context.Background(), a.ID)
	if got.Status != store.StatusCancelled || got.Processed != 200 {
		t.Errorf("after cancel: %s, %d processed", got.Status, got.Processed)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("upload kept after cancel: %v", err)
	}
}

// TestImportConcurrentWriter adds, between two batches, a contact whose
// address comes later in the file: the import must not fail on the unique
// index but treat the row as an existing contact.
func TestImportConcurrentWriter(t *testing.T) {
	for _, mode := range []string{store.ModeCreate, store.ModeUpsert} {
		t.Run(mode, func(t *testing.T) {
			env := storetest.Open(t)
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "c.csv")
			var b strings.Builder
			b.WriteString("name,email,company\n")
			for i := 0; i < 30; i++ {
				fmt.Fprintf(&b, "P%d,p%d@x.example,X\n", i, i)
			}
			os.WriteFile(path, []byte(b.String()), 0o600)
			co, _ := env.Store.CreateCompany(ctx, testAdmin(), store.CompanyInput{Name: "Elsewhere"})
			a := newAction(t, env.Store, store.ImportContacts, mode, path, "w")
			im := &Importer{Store: env.Store, BatchRows: 10, afterBatch: func(n int) error {
				if n == 1 {
					_, err := env.Store.AddContact(ctx, testAdmin(), co.ID, store.ContactInput{Name: "Meanwhile", Email: "P25@x.example"})
					return err
				}
				return nil
			}}
			if err := im.Process(ctx, a.ID, "w", nil); err != nil {
				t.Fatal(err)
			}
			got, _ := env.Store.BulkActionByID(ctx, a.ID)
			want := counts{30, 29, 0, 1, 0}
			if mode == store.ModeUpsert {
				want = counts{30, 29, 1, 0, 0}
			}
			if got.Status != store.StatusDone || countsOf(got) != want {
				t.Errorf("%s %+v, want %+v (%s)", got.Status, countsOf(got), want, got.Error)
			}
		})
	}
}

// TestImportQueue runs imports through the Redis stream: a queued action
// is picked up and done; after Redis loses the stream the sweep requeues
// what SQLite says is open; a job whose worker died is taken over.
func TestImportQueue(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	st := env.Store
	im := &Importer{Store: st, Workers: 2, StaleAfter: 300 * time.Millisecond, Heartbeat: 50 * time.Millisecond}
	// start runs the workers, as a server process does, until stop.
	start := func() (stop func()) {
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { im.Run(ctx); close(done) }()
		return func() { cancel(); <-done }
	}
	stop := start()
	t.Cleanup(func() { stop() })

	waitDone := func(id int64) *store.BulkAction {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			a, err := st.BulkActionByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if a.Finished() {
				return a
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("bulk action %d not finished", id)
		return nil
	}

	a := newAction(t, st, store.ImportContacts, store.ModeCreate, corpus("clean.csv"), "")
	im.Wake()
	if got := waitDone(a.ID); got.Status != store.StatusDone || got.Created != 5 {
		t.Fatalf("queued import: %s %+v", got.Status, countsOf(got))
	}

	// Redis loses everything; the action was queued only in SQLite.
	stop()
	if err := env.Redis.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	b := newAction(t, st, store.ImportContacts, store.ModeCreate, corpus("ragged.csv"), "")
	if err := env.Redis.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	stop = start()
	if got := waitDone(b.ID); got.Status != store.StatusDone || got.Created != 3 {
		t.Fatalf("requeued import: %s %+v", got.Status, countsOf(got))
	}

	// A worker of another process read a job and died: its entry stays
	// pending, and its claim in SQLite goes stale.
	c := newAction(t, st, store.ImportContacts, store.ModeCreate, corpus("formulas.csv"), "dead")
	key := store.ImportQueueKey(store.DefaultWorkspace)
	stop()
	env.Redis.XAdd(context.Background(), &redis.XAddArgs{Stream: key, Values: []any{"id", c.ID}})
	if _, err := env.Redis.XReadGroup(context.Background(), &redis.XReadGroupArgs{Group: store.ImportGroup, Consumer: "dead",
		Streams: []string{key, ">"}, Count: 1, Block: -1}).Result(); err != nil {
		t.Fatal(err)
	}
	stop = start()
	if got := waitDone(c.ID); got.Status != store.StatusDone || got.Created != 2 {
		t.Fatalf("taken-over import: %s %+v", got.Status, countsOf(got))
	}
	// The worker deletes the entry right after the action is finished in
	// SQLite, which is what waitDone saw: give it a moment.
	var left int64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if left, _ = env.Redis.XLen(context.Background(), key).Result(); left == 0 {
			break
		}
	}
	if left != 0 {
		t.Errorf("%d entries left on the stream", left)
	}
}

// TestImportSearchable applies an import's outbox rows: every imported
// contact and company is found by search, from one outbox row per batch.
func TestImportSearchable(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	idx, err := search.Open(filepath.Join(env.Dir, "index.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	env.Store.Applier = &jobs.Indexer{Store: env.Store, Index: idx}
	path := filepath.Join(t.TempDir(), "c.csv")
	genContacts(t, path, 500, 3)
	im := &Importer{Store: env.Store, BatchRows: 200}
	a := newAction(t, env.Store, store.ImportContacts, store.ModeCreate, path, "w")
	if err := im.Process(ctx, a.ID, "w", nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := env.Store.CountOutbox(ctx); n != 3 {
		t.Errorf("%d outbox rows for 3 batches", n)
	}
	(&jobs.Relay{Store: env.Store, Log: im.Log}).Tick(ctx)
	if n, _ := env.Store.CountOutbox(ctx); n != 0 {
		t.Fatalf("%d outbox rows left", n)
	}
	var docs uint64
	env.Store.EachContact(ctx, func(*store.ContactRecord) error { docs++; return nil })
	env.Store.EachCompany(ctx, func(*store.Company) error { docs++; return nil })
	if n, _ := idx.Count(); n != docs {
		t.Errorf("index has %d docs, SQLite %d", n, docs)
	}
	hits, err := idx.Search(ctx, search.Query{WorkspaceID: store.DefaultWorkspace, Text: "p42@c42.example"})
	if err != nil || len(hits) == 0 {
		t.Errorf("imported contact not found: %v %v", hits, err)
	}
}

// TestSweepRemovesLeftovers: an upload cut off a day ago and the file of
// an import that has ended go; an open import's file stays.
func TestSweepRemovesLeftovers(t *testing.T) {
	env := storetest.Open(t)
	dir := t.TempDir()
	write := func(name string, age time.Duration) string {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte("name\nLee\n"), 0o600)
		old := time.Now().Add(-age)
		os.Chtimes(path, old, old)
		return path
	}
	open := newAction(t, env.Store, store.ImportContacts, store.ModeCreate, write("open.csv", 0), "")
	done := newAction(t, env.Store, store.ImportContacts, store.ModeCreate, write("done.csv", 0), "")
	env.Store.CancelBulkAction(context.Background(), testAdmin(), done.ID)
	keep := []string{write(fmt.Sprintf("%d.csv", open.ID), 48*time.Hour), write("upload-new.part", time.Minute), write("999.csv", time.Minute)}
	gone := []string{write(fmt.Sprintf("%d.csv", done.ID), 0), write("upload-old.part", 25*time.Hour), write("998.csv", 25*time.Hour)}
	(&Importer{Store: env.Store, Dir: dir}).Sweep(context.Background())
	for _, p := range keep {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed", filepath.Base(p))
		}
	}
	for _, p := range gone {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s kept", filepath.Base(p))
		}
	}
}

// TestImportCompanyDeletedMidway: the batches write without SQLite's
// foreign-key checks, so a company deleted between two batches must not
// be linked to afterwards; and the connection must have its foreign keys
// back (a deleted company still takes its contacts with it).
func TestImportCompanyDeletedMidway(t *testing.T) {
	env := storetest.Open(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.csv")
	var b strings.Builder
	b.WriteString("name,email,company\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "P%d,p%d@acme.example,Acme\n", i, i)
	}
	os.WriteFile(path, []byte(b.String()), 0o600)
	a := newAction(t, env.Store, store.ImportContacts, store.ModeCreate, path, "w")
	im := &Importer{Store: env.Store, BatchRows: 10, afterBatch: func(n int) error {
		if n != 2 {
			return nil
		}
		var acme int64
		env.Store.EachCompany(ctx, func(c *store.Company) error { acme = c.ID; return nil })
		return env.Store.DeleteCompany(ctx, testAdmin(), acme)
	}}
	if err := im.Process(ctx, a.ID, "w", nil); err != nil {
		t.Fatal(err)
	}
	got, _ := env.Store.BulkActionByID(ctx, a.ID)
	if got.Status != store.StatusDone || got.Created != 40 {
		t.Fatalf("%s %+v (%s)", got.Status, countsOf(got), got.Error)
	}
	var contacts int
	env.Store.EachContact(ctx, func(c *store.ContactRecord) error {
		contacts++
		if co, _ := env.Store.CompanyByID(ctx, c.CompanyID); co == nil {
			t.Errorf("contact %s names company %d, which is gone", c.Email, c.CompanyID)
		}
		return nil
	})
	if contacts != 20 { // the first two batches went with the company
		t.Errorf("%d contacts, want 20", contacts)
	}
	var acme int64
	env.Store.EachCompany(ctx, func(c *store.Company) error { acme = c.ID; return nil })
	if err := env.Store.DeleteCompany(ctx, testAdmin(), acme); err != nil {
		t.Fatal(err)
	}
	contacts = 0
	env.Store.EachContact(ctx, func(*store.ContactRecord) error { contacts++; return nil })
	if contacts != 0 {
		t.Errorf("%d contacts outlived their company: foreign keys are off", contacts)
	}
}

// TestImportRetry: a failed import keeps its upload; once the cause is
// fixed, an admin retries it, and it resumes after its last committed
// batch and ends as a clean import of the file would.
func TestImportRetry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "7.csv")
	genContacts(t, path, 1000, 9)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clean := storetest.Open(t)
	want := runImport(t, clean.Store, store.ImportContacts, store.ModeUpsert, path)
	wantRows := snapshot(t, clean.Store)

	env := storetest.Open(t)
	a := newAction(t, env.Store, store.ImportContacts, store.ModeUpsert, path, "w0")
	im := &Importer{Store: env.Store, Dir: dir, BatchRows: 100, afterBatch: func(n int) error {
		if n == 3 {
			return errors.New("kill")
		}
		return nil
	}}
	if err := im.process(ctx, a.ID, "w0", nil, nil); !errors.Is(err, errKilled) {
		t.Fatalf("first run: %v, want a kill", err)
	}
	// The file changes under the import: no row starts at its checkpoint.
	if err := os.WriteFile(path, append([]byte("X"), orig...), 0o600); err != nil {
		t.Fatal(err)
	}
	im = &Importer{Store: env.Store, Dir: dir, BatchRows: 100, TakeOver: true}
	if err := im.Process(ctx, a.ID, "w1", nil); err != nil {
		t.Fatal(err)
	}
	failed, _ := env.Store.BulkActionByID(ctx, a.ID)
	if failed.Status != store.StatusFailed || failed.Processed != 300 {
		t.Fatalf("after the file changed: %s, %d processed (%s)", failed.Status, failed.Processed, failed.Error)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the upload of a failed import is gone: %v", err)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	if _, err := env.Store.RetryBulkAction(ctx, testAdmin(), a.ID, func(string) bool { return false }); store.ErrorCode(err) != store.EConflict {
		t.Errorf("retry without the file: %v, want a conflict", err)
	}

	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	queued, err := env.Store.RetryBulkAction(ctx, testAdmin(), a.ID, exists)
	if err != nil || queued.Status != store.StatusQueued || queued.Error != "" {
		t.Fatalf("retry: %v %+v", err, queued)
	}
	if _, err := env.Store.RetryBulkAction(ctx, testAdmin(), a.ID, exists); store.ErrorCode(err) != store.EConflict {
		t.Errorf("retry of a queued import: %v, want a conflict", err)
	}
	im = &Importer{Store: env.Store, Dir: dir, BatchRows: 100}
	if err := im.Process(ctx, a.ID, "w2", nil); err != nil {
		t.Fatal(err)
	}
	got, _ := env.Store.BulkActionByID(ctx, a.ID)
	if got.Status != store.StatusDone || countsOf(got) != countsOf(want) {
		t.Errorf("after the retry: %s %+v, want %+v", got.Status, countsOf(got), countsOf(want))
	}
	if rows := snapshot(t, env.Store); !reflect.DeepEqual(rows, wantRows) {
		t.Errorf("records differ from a clean import: %d vs %d", len(rows), len(wantRows))
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("upload kept after the retried import: %v", err)
	}
}

// TestImportMoveDetachesAttendees: an update that puts a contact under
// another company takes it off its former company's meetings, which its
// page would otherwise show to staff of the new company only.
func TestImportMoveDetachesAttendees(t *testing.T) {
	env := storetest.Open(t)
	st := env.Store
	ctx := context.Background()
	admin := testAdmin()
	acme, err := st.CreateCompany(ctx, admin, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	globex, err := st.CreateCompany(ctx, admin, store.CompanyInput{Name: "Globex"})
	if err != nil {
		t.Fatal(err)
	}
	ann, err := st.AddContact(ctx, admin, acme.ID, store.ContactInput{Name: "Ann", Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.CreateMeeting(ctx, admin, acme.ID, store.MeetingInput{Type: "call", Subject: "Acme secret", StartsAt: 1772373600000, Attendees: &[]int64{ann.ID}})
	if err != nil {
		t.Fatal(err)
	}
	bob := env.User(t, "bob@example.com", store.RoleStaff)
	if err := st.AssignClient(ctx, admin, bob.ID, globex.ID, true); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "move.csv")
	if err := os.WriteFile(path, []byte("name,email,company\nAnn,ann@example.com,Globex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if a := runImport(t, st, store.ImportContacts, store.ModeUpsert, path); a.Updated != 1 {
		t.Fatalf("updated %d, want 1", a.Updated)
	}
	d, err := st.ContactDetail(ctx, bob, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Company.ID != globex.ID || len(d.Meetings) != 0 {
		t.Fatalf("Ann at %d with meetings %+v, want at Globex with none", d.Company.ID, d.Meetings)
	}
	if got, err := st.Meeting(ctx, admin, m.ID); err != nil || len(got.AttendeeIDs) != 0 {
		t.Fatalf("Acme's meeting: attendees %v, %v; want none", got.AttendeeIDs, err)
	}
}
