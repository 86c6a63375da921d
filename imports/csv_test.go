package imports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rolodex/rolodex/store"
)

// readAll splits data the way an import does, reading through a reader
// that hands out a few bytes at a time so that records cross buffer fills.
func readAll(t testing.TB, data []byte, comma byte, cp1252 bool) []csvRecord {
	t.Helper()
	r := newCSVReader(&trickle{b: data}, comma, cp1252, 0, 1)
	var out []csvRecord
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *rec)
	}
}

// trickle returns at most 7 bytes per Read.
type trickle struct{ b []byte }

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 7)], t.b)
	t.b = t.b[n:]
	return n, nil
}

func TestCSVReaderSplits(t *testing.T) {
	type rec struct {
		line   int64
		fields []string
		broken string
	}
	cases := []struct {
		name  string
		in    string
		comma byte
		want  []rec
	}{
		{"plain", "a,b\n1,2\n", ',', []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", "2"}, ""}}},
		{"no final newline", "a,b\n1,2", ',', []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", "2"}, ""}}},
		{"crlf", "a,b\r\n1,2\r\n", ',', []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", "2"}, ""}}},
		{"bom", "\xEF\xBB\xBFa,b\n1,2\n", ',', []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", "2"}, ""}}},
		{"semicolon", "a;b\n\"x;y\";2\n", ';', []rec{{1, []string{"a", "b"}, ""}, {2, []string{"x;y", "2"}, ""}}},
		{"tab", "a\tb\n1\t2\n", '\t', []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", "2"}, ""}}},
		{"quoted newline", "a,b\n\"x\ny\",2\n3,4\n", ',', []rec{{1, []string{"a", "b"}, ""}, {2, []string{"x\ny", "2"}, ""}, {4, []string{"3", "4"}, ""}}},
		{"escaped quote", "a\n\"say \"\"hi\"\"\"\n", ',', []rec{{1, []string{"a"}, ""}, {2, []string{`say "hi"`}, ""}}},
		{"bare quote is text", "a,b\n5\" screen,2\n", ',', []rec{{1, []string{"a", "b"}, ""}, {2, []string{`5" screen`, "2"}, ""}}},
		{"empty fields", "a,b,c\n,,x\n", ',', []rec{{1, []string{"a", "b", "c"}, ""}, {2, []string{"", "", "x"}, ""}}},
		{"trailing comma", "a,b\n1,\n", ',', []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", ""}, ""}}},
		{"blank lines skipped", "a\n\n\r\n   \n,,\n\"\"\nb\n", ',', []rec{{1, []string{"a"}, ""}, {7, []string{"b"}, ""}}},
		{"text after quote", "a,b\n\"x\"y,2\n3,4\n", ',', []rec{{1, []string{"a", "b"}, ""}, {2, nil, "Text follows a closing quote."}, {3, []string{"3", "4"}, ""}}},
		{"unclosed quote", "a,b\n\"x,2\n3,4\n5,6\n", ',', []rec{{1, []string{"a", "b"}, ""}, {2, nil, "A quoted field is never closed."}, {3, []string{"3", "4"}, ""}, {4, []string{"5", "6"}, ""}}},
		// The stray quote pairs with a later one; the record is broken there,
		// and the lines it would have swallowed are read on their own.
		{"stray quote meets a later quote", "a,b\n\"x,2\n3,4\n\"y\",6\n", ',', []rec{{1, []string{"a", "b"}, ""}, {2, nil, "Text follows a closing quote."}, {3, []string{"3", "4"}, ""}, {4, []string{"y", "6"}, ""}}},
		{"quote then cr at eof", "a\n\"x\"\r", ',', []rec{{1, []string{"a"}, ""}, {2, []string{"x"}, ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := readAll(t, []byte(tc.in), tc.comma, false)
			var gotRecs []rec
			for _, g := range got {
				gotRecs = append(gotRecs, rec{g.Line, g.Fields, g.Broken})
			}
			if !reflect.DeepEqual(gotRecs, tc.want) {
				t.Errorf("got  %+v\nwant %+v", gotRecs, tc.want)
			}
		})
	}
}

func TestCSVReaderCP1252(t *testing.T) {
	got := readAll(t, []byte("name\tnote\nJos\xE9\t\x80 5 \x96 \x93ok\x94\n"), '\t', true)
	if want := []string{"José", "€ 5 – “ok”"}; len(got) != 2 || !reflect.DeepEqual(got[1].Fields, want) {
		t.Fatalf("got %+v, want %q", got, want)
	}
}

func TestCSVReaderLongRecord(t *testing.T) {
	long := strings.Repeat("x", maxRecordBytes+10)
	in := "a,b\n\"" + long + "\",1\nlee,2\n"
	got := readAll(t, []byte(in), ',', false)
	if len(got) != 3 || got[1].Broken == "" || !reflect.DeepEqual(got[2].Fields, []string{"lee", "2"}) {
		t.Fatalf("long record: %d records, second broken %q", len(got), got[1].Broken)
	}
	if len(got[1].Raw) > maxRecordBytes {
		t.Errorf("raw of a long line kept %d bytes", len(got[1].Raw))
	}
}

func TestScanFileEncoding(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, data, enc string
		rows            int64
	}{
		{"utf8", "name\nJosé\nZoë\n", encUTF8, 2},
		{"latin1", "name\nJos\xE9\n\nZo\xEB\n", encCP1252, 2},
		{"utf8 then latin1 late", "name\n" + strings.Repeat("Ann\n", 100000) + "Jos\xE9\n", encCP1252, 100001},
		{"cut sequence at eof", "name\nJos\xC3", encCP1252, 1},
	}
	for _, tc := range cases {
		path := filepath.Join(dir, tc.name+".csv")
		if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
			t.Fatal(err)
		}
		rows, enc, err := scanFile(path, ',')
		if err != nil || rows != tc.rows || enc != tc.enc {
			t.Errorf("%s: %d rows, %s, %v; want %d, %s", tc.name, rows, enc, err, tc.rows, tc.enc)
		}
	}
}

func TestInspectRefuses(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, data, msg string
	}{
		{"empty", "", "empty"},
		{"only bom and space", "\xEF\xBB\xBF \n\n", "empty"},
		{"header only", "name,email\n", "no data rows"},
		{"utf16", "\xFF\xFEn\x00a\x00", "UTF-16"}, // uploads convert it first (ConvertUTF16)
		{"xlsx", "PK\x03\x04\x14\x00", "workbook"},
		{"binary", "name\n\x00\x01\x02", "binary"},
		{"broken header", "\"name,email\n", "header row"},
	}
	for _, tc := range cases {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Inspect(path)
		if store.ErrorCode(err) != store.EInvalid || !strings.Contains(store.ErrorMessage(err), tc.msg) {
			t.Errorf("%s: %v, want invalid %q", tc.name, err, tc.msg)
		}
	}
}

func TestDetectMapping(t *testing.T) {
	header := []string{"Full Name", "E-mail", "Telephone", "Organisation", "Job Title", "Company Street", "Town", "State", "Postcode", "Website", "Notes"}
	got := DetectMapping(store.ImportContacts, header)
	want := map[string]int{"name": 0, "email": 1, "phone": 2, "company": 3, "title": 4, "company_street": 5,
		"company_town": 6, "company_state": 7, "company_zip": 8, "company_website": 9}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("contacts: got %v\nwant %v", got, want)
	}
	got = DetectMapping(store.ImportCompanies, []string{"Organization", "Address", "City", "ZIP", "URL", "Notes"})
	want = map[string]int{"name": 0, "street": 1, "town": 2, "zip": 3, "website": 4, "description": 5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("companies: got %v\nwant %v", got, want)
	}
	for in, want := range map[string]byte{"a,b;c,d": ',', "a;b;c,d": ';', "a\tb\tc": '\t', "\n\n a;b\nc,d,e,f": ';', "\"x;y;z\",w": ',', "solo": ','} {
		if got := sniffDelimiter([]byte(in)); got != want {
			t.Errorf("sniff %q: %q, want %q", in, got, want)
		}
	}
	if err := CheckMapping(store.ImportContacts, []string{"foo", "bar"}, DetectMapping(store.ImportContacts, []string{"foo", "bar"})); !strings.Contains(store.ErrorMessage(err), "No usable column") {
		t.Errorf("no usable column: %v", err)
	}
	if err := CheckMapping(store.ImportContacts, []string{"a", "b"}, map[string]int{"name": 0, "email": 0}); err == nil {
		t.Error("one column mapped twice was accepted")
	}
	if err := CheckMapping(store.ImportContacts, []string{"a"}, map[string]int{"bogus": 0}); err == nil {
		t.Error("unknown field accepted")
	}
}

// FuzzCSVReader checks the properties an import relies on, for any input:
// no panic; records in file order; the counting pass finds the same rows;
// and reading from any record's offset (a checkpoint) gives exactly the
// records that follow it. Its seeds (testdata/fuzz/FuzzCSVReader and the
// corpus files) run with every `go test`.
func FuzzCSVReader(f *testing.F) {
	files, _ := filepath.Glob("testdata/imports/*.csv")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b, byte(','))
		}
	}
	f.Add([]byte("a;b\r\n\"x\r\ny\";\"\"\"\"\r\n"), byte(';'))
	f.Fuzz(func(t *testing.T, data []byte, comma byte) {
		if comma == '"' || comma == '\n' || comma == '\r' {
			comma = ','
		}
		for _, cp := range []bool{false, true} {
			recs := readAll(t, data, comma, cp)
			var prevOff, prevLine int64 = -1, 0
			for _, r := range recs {
				if r.Offset <= prevOff || r.Line <= prevLine {
					t.Fatalf("record at %d line %d after %d line %d", r.Offset, r.Line, prevOff, prevLine)
				}
				prevOff, prevLine = r.Offset, r.Line
				for _, fl := range append(r.Fields, r.Raw) {
					if !utf8.ValidString(fl) {
						t.Fatalf("invalid UTF-8 field %q", fl)
					}
				}
				if (r.Fields == nil) == (r.Broken == "") {
					t.Fatalf("record has fields %q and broken %q", r.Fields, r.Broken)
				}
			}
			for _, k := range []int{1, len(recs) / 2, len(recs) - 1} {
				if k <= 0 || k >= len(recs) {
					continue
				}
				at := recs[k]
				rest := newCSVReader(bytes.NewReader(data[at.Offset:]), comma, cp, at.Offset, at.Line)
				for j := k; ; j++ {
					rec, err := rest.Next()
					if errors.Is(err, io.EOF) {
						if j != len(recs) {
							t.Fatalf("resumed at record %d: ended after %d of %d", k, j, len(recs))
						}
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if j >= len(recs) || !reflect.DeepEqual(*rec, recs[j]) {
						t.Fatalf("resumed at record %d: record %d is %+v", k, j, rec)
					}
				}
			}
		}
		path := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rows, _, err := scanFile(path, comma)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(max(len(readAll(t, data, comma, false))-1, 0)); rows != want {
			t.Fatalf("scanFile counted %d rows, the reader read %d", rows, want)
		}
	})
}

// encodeUTF16 encodes s as UTF-16 with a byte-order mark, as Excel's "Unicode
// Text" does (little endian) or another tool might (big endian).
func encodeUTF16(s string, bigEndian bool) []byte {
	out := []byte{0xFF, 0xFE}
	if bigEndian {
		out = []byte{0xFE, 0xFF}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

// TestConvertUTF16: UTF-16 files of either byte order become the same
// UTF-8 text, without the mark, characters outside the BMP included;
// files that are not UTF-16 are left as they are.
func TestConvertUTF16(t *testing.T) {
	dir := t.TempDir()
	text := "Name\tE-mail\tCompany\r\nZoë Ångström\tzoe@example.com\t東京 Trading 🚀\r\n"
	for _, big := range []bool{false, true} {
		src := filepath.Join(dir, fmt.Sprintf("unicode-%v.txt", big))
		if err := os.WriteFile(src, encodeUTF16(text, big), 0o600); err != nil {
			t.Fatal(err)
		}
		converted, err := ConvertUTF16(src, src) // in place, as uploads are
		if err != nil || !converted {
			t.Fatalf("big endian %v: converted %v, %v", big, converted, err)
		}
		got, _ := os.ReadFile(src)
		if string(got) != text {
			t.Errorf("big endian %v: got %q, want %q", big, got, text)
		}
		p, err := Inspect(src)
		if err != nil || p.Delimiter != '\t' || strings.Join(p.Header, "|") != "Name|E-mail|Company" || p.Rows[0][2] != "東京 Trading 🚀" {
			t.Errorf("big endian %v: preview %+v, %v", big, p, err)
		}
	}
	plain := filepath.Join(dir, "plain.csv")
	os.WriteFile(plain, []byte("name\nAnn\n"), 0o600)
	if converted, err := ConvertUTF16(filepath.Join(dir, "never.csv"), plain); converted || err != nil {
		t.Errorf("UTF-8 file: converted %v, %v", converted, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "never.csv")); !os.IsNotExist(err) {
		t.Errorf("a file was written for a UTF-8 source: %v", err)
	}
}
