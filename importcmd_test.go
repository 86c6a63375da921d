package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/text/encoding/unicode"

	"github.com/rolodex/rolodex/store"
)

// TestMain lets a test run this binary as the rolodex command (see
// rolodex below).
func TestMain(m *testing.M) {
	if os.Getenv("ROLODEX_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// rolodex is the command run as a child process in its own process group
// (so that killing it kills its redis-server too).
func rolodex(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "ROLODEX_TEST_MAIN=1", "REDIS_URL=", "ROLODEX_IMPORT_BATCH_ROWS=1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// TestImportKilledAndResumed kills `rolodex import` with SIGKILL in the
// middle of the file, runs it again, and compares the database with a
// clean import of the same file: every row once, none lost, the same
// counters.
func TestImportKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the command several times")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "contacts.csv")
	writeContacts(t, file, 8000)

	clean := filepath.Join(dir, "clean")
	if out, err := rolodex("import", "contacts", file, "-data", clean, "-mode", "upsert").CombinedOutput(); err != nil {
		t.Fatalf("clean import: %v\n%s", err, out)
	}

	killed := filepath.Join(dir, "killed")
	cmd := rolodex("import", "contacts", file, "-data", killed, "-mode", "upsert")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Split(splitCR)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "3,000 of") { // three batches committed
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			break
		}
	}
	cmd.Wait()

	out, err := rolodex("import", "contacts", file, "-data", killed, "-mode", "upsert").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Resuming import 1 of") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	want, wantCounts := dump(t, clean)
	got, gotCounts := dump(t, killed)
	if gotCounts != wantCounts {
		t.Errorf("counters after resume %s, clean import %s", gotCounts, wantCounts)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("database after resume differs from a clean import: %d vs %d records", len(got), len(want))
	}
}

func splitCR(data []byte, atEOF bool) (int, []byte, error) {
	for i, c := range data {
		if c == '\n' || c == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// writeContacts writes n rows with repeated addresses, bad rows and
// multi-line fields.
func writeContacts(t *testing.T, path string, n int) {
	rng := rand.New(rand.NewPCG(9, 9))
	var b strings.Builder
	b.WriteString("name,email,company\n")
	for i := 0; i < n; i++ {
		id := i
		if i > 10 && rng.IntN(8) == 0 {
			id = rng.IntN(i)
		}
		name := fmt.Sprintf("Person %d", i)
		if rng.IntN(40) == 0 {
			name = fmt.Sprintf("\"Person\n%d\"", i)
		}
		email := fmt.Sprintf("p%d@c%d.example", id, id%50)
		if rng.IntN(60) == 0 {
			email = "broken"
		}
		fmt.Fprintf(&b, "%s,%s,Company %d\n", name, email, id%50)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// dump lists the records of a data directory and the import's counters.
func dump(t *testing.T, data string) ([]string, string) {
	st, err := store.Open(context.Background(), filepath.Join(data, "rolodex.db"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	names := map[int64]string{}
	var out []string
	st.EachCompany(ctx, func(c *store.Company) error {
		names[c.ID] = c.Name
		out = append(out, "company "+c.Name)
		return nil
	})
	st.EachContact(ctx, func(c *store.ContactRecord) error {
		out = append(out, fmt.Sprintf("contact %q %q at %q", c.Name, c.Email, names[c.CompanyID]))
		return nil
	})
	sort.Strings(out)
	a, err := st.BulkActionByID(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != store.StatusDone {
		t.Fatalf("import %s: %s", a.Status, a.Error)
	}
	var rejected int
	st.EachBulkActionError(ctx, &store.User{WorkspaceID: store.DefaultWorkspace, Role: store.RoleAdmin}, 1, func(*store.BulkActionError) error {
		rejected++
		return nil
	})
	return out, fmt.Sprintf("total %d processed %d created %d updated %d skipped %d failed %d rejected %d",
		a.Total, a.Processed, a.Created, a.Updated, a.Skipped, a.Failed, rejected)
}

// TestImportUTF16: `rolodex import` of a UTF-16 file gives the same
// database as the same rows in UTF-8. The user's file is left as it was,
// and the UTF-8 copy made in the data dir is gone after the import.
func TestImportUTF16(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the command twice")
	}
	dir := t.TempDir()
	plain := filepath.Join(dir, "contacts.csv")
	writeContacts(t, plain, 2000)
	text, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	wide, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(append(text, "Zoë Ångström,zoe@example.com,東京 Trading 🚀\n"...))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(plain, append(text, "Zoë Ångström,zoe@example.com,東京 Trading 🚀\n"...), 0o600)
	file := filepath.Join(dir, "contacts-utf16.csv")
	if err := os.WriteFile(file, wide, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, run := range []struct{ file, data string }{{plain, "utf8"}, {file, "utf16"}} {
		if out, err := rolodex("import", "contacts", run.file, "-data", filepath.Join(dir, run.data)).CombinedOutput(); err != nil {
			t.Fatalf("import %s: %v\n%s", run.file, err, out)
		}
	}
	want, wantCounts := dump(t, filepath.Join(dir, "utf8"))
	got, gotCounts := dump(t, filepath.Join(dir, "utf16"))
	if gotCounts != wantCounts || !reflect.DeepEqual(got, want) {
		t.Errorf("UTF-16 import differs from UTF-8: counters %s vs %s, %d vs %d records", gotCounts, wantCounts, len(got), len(want))
	}
	if !slices.Contains(got, `contact "Zoë Ångström" "zoe@example.com" at "東京 Trading 🚀"`) {
		t.Errorf("the non-ASCII row is missing or garbled")
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(after, wide) {
		t.Errorf("the user's file was changed")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "utf16", "imports", "*")); len(left) != 0 {
		t.Errorf("left in the data dir: %v", left)
	}
}
