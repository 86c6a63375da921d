package imports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestNeutralise: cells a spreadsheet would run as a formula get a quote
// (so do quotes before one); phone and negative numbers stay as they are.
func TestNeutralise(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Ann", "Ann"},
		{"ann@example.com", "ann@example.com"},
		{"+44 20 7946 0958", "+44 20 7946 0958"},
		{"+1 (555) 010-9999", "+1 (555) 010-9999"},
		{"+1.555.010.9999", "+1.555.010.9999"},
		{"+4915123456789", "+4915123456789"},
		{"-42", "-42"},
		{"-2.5", "-2.5"},
		{"=SUM(A1)", "'=SUM(A1)"},
		{"=1+2", "'=1+2"},
		{"+A1*2", "'+A1*2"},
		{"+1 ceo", "'+1 ceo"},
		{"+1 555 0100 x23", "'+1 555 0100 x23"},
		{"+", "'+"},
		{"+()", "'+()"},
		{"-2+3", "'-2+3"},
		{"-x", "'-x"},
		{"-", "'-"},
		{"@foo", "'@foo"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"'=SUM(A1)", "''=SUM(A1)"},
		{"''@x", "'''@x"},
		{"'", "'"},
		{"'hello", "'hello"},
		{"'+44 20 7946 0958", "'+44 20 7946 0958"},
	} {
		if got := Neutralise([]string{tc.in})[0]; got != tc.want {
			t.Errorf("Neutralise(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRestore: Restore takes off exactly the quote Neutralise adds, so
// every cell survives the pair, and leaves other quotes alone.
func TestRestore(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"'=SUM(A1)", "=SUM(A1)"},
		{"''=SUM(A1)", "'=SUM(A1)"},
		{"'+A1", "+A1"},
		{"'@x", "@x"},
		{"'-", "-"},
		{"'\t=1", "\t=1"},
		{"'hello", "'hello"},
		{"'", "'"},
		{"''", "''"},
		{"'+44 20 7946 0958", "'+44 20 7946 0958"},
		{"'-42", "'-42"},
		{"=SUM(A1)", "=SUM(A1)"},
		{"plain", "plain"},
	} {
		if got := Restore(tc.in); got != tc.want {
			t.Errorf("Restore(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, c := range []string{"", "'", "''", "'''", "=", "'=", "''=", "'''=1", "+44 1", "'+44 1", "'a", "a'", "@", "'@", "-1", "'-1", "-a", "''-a", "\t", "'\r"} {
		if got := Restore(Neutralise([]string{c})[0]); got != c {
			t.Errorf("Restore(Neutralise(%q)) = %q", c, got)
		}
	}
}

// TestImportRestoresQuotes: through the real import, the quoted formula
// cells of a file Rolodex exported (its header is the export's) lose their
// quote, and cells quoted for another reason (text, a phone number) keep
// it, as they did before.
func TestImportRestoresQuotes(t *testing.T) {
	st := storetest.Open(t).Store
	path := filepath.Join(t.TempDir(), "c.csv")
	if err := os.WriteFile(path, []byte(strings.Join(ContactExportHeader, ",")+"\n"+
		"'=SUM(A1),a@x.example,'-1+2,'+A1,'@Acme,,,,,\n"+
		"''=1,b@x.example,'+44 20 7946 0958,'hello,'Quote Ltd,,,,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if a := runImport(t, st, store.ImportContacts, store.ModeCreate, path); a.Created != 2 {
		t.Fatalf("created %d of 2: %v", a.Created, rejected(t, st, a.ID))
	}
	for _, want := range [][4]string{
		{"a@x.example", "=SUM(A1)", "+A1", "-1+2"},
		{"b@x.example", "'=1", "'hello", "'+44 20 7946 0958"},
	} {
		c, _ := contactByEmail(t, st, want[0])
		if got := [4]string{c.Email, c.Name, c.Title, c.Phone}; got != want {
			t.Errorf("imported %q, want %q", got, want)
		}
	}
	if _, co := contactByEmail(t, st, "a@x.example"); co != "@Acme" {
		t.Errorf("company %q, want @Acme", co)
	}
	if _, co := contactByEmail(t, st, "b@x.example"); co != "'Quote Ltd" {
		t.Errorf("company %q, want 'Quote Ltd", co)
	}
}

// TestImportKeepsOthersQuotes: a file another program wrote keeps every
// quote, a formula's too: its author quoted it on purpose.
func TestImportKeepsOthersQuotes(t *testing.T) {
	st := storetest.Open(t).Store
	path := filepath.Join(t.TempDir(), "c.csv")
	if err := os.WriteFile(path, []byte("name,email,title,phone,company\n"+
		"'=A1,a@x.example,'+A1,'-1+2,'@Acme\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if a := runImport(t, st, store.ImportContacts, store.ModeCreate, path); a.Created != 1 {
		t.Fatalf("created %d of 1: %v", a.Created, rejected(t, st, a.ID))
	}
	c, co := contactByEmail(t, st, "a@x.example")
	if got, want := [4]string{c.Name, c.Title, c.Phone, co}, [4]string{"'=A1", "'+A1", "'-1+2", "'@Acme"}; got != want {
		t.Errorf("imported %q, want %q", got, want)
	}
}
