package imports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/rolodex/rolodex/store"
)

// The CSV files people export are rarely clean: Excel's semicolons, tabs,
// a byte-order mark, Windows-1252 text, quoted fields across lines, rows
// with a column too many, a stray quote. encoding/csv does go on after a
// bad record (ParseError, ErrFieldCount) and can say where it is
// (InputOffset, FieldPos), but a quote that is never closed makes it read
// the rest of the file as that one record: every later row is lost (or,
// with LazyQuotes, becomes one field of it), held in memory with no bound.
// It also refuses a quote inside an unquoted field unless LazyQuotes,
// which lets text after a closing quote swallow the following lines too;
// and it builds each record's strings, where the counting pass needs none.
// So csvReader splits records itself: a record it cannot split is one bad
// row, reading goes on at the line after its first, and no record may
// grow past maxRecordBytes.
//
// The rules (RFC 4180 plus recovery):
//   - records end at \n or \r\n outside quotes; blank records (no text in
//     any field, such as ",,,") are skipped and are not rows;
//   - a field that starts with " is quoted: "" is a quote, and newlines and
//     delimiters inside are text; a quote inside an unquoted field is text;
//   - a quoted field that is never closed, text after a closing quote, or a
//     record over maxRecordBytes make the record broken: its first line is
//     reported as a bad row and reading resumes at the line after it.

// maxRecordBytes bounds one record, so that a stray quote cannot swallow
// the rest of a large file into one field.
const maxRecordBytes = 1 << 20

const readChunk = 256 << 10

// csvRecord is one record of a file.
type csvRecord struct {
	Line   int64    // line number of its first line (the header is line 1)
	Offset int64    // byte offset of its first byte
	Fields []string // nil when Broken is set
	Broken string   // why the record could not be split
	Raw    string   // with Broken: the record's first line
}

// csvReader reads records from a file. It is not safe for concurrent use.
type csvReader struct {
	src      io.Reader
	buf      []byte
	pos, end int   // unread bytes are buf[pos:end]
	base     int64 // file offset of buf[0]
	line     int64 // line number at buf[pos]
	eof      bool
	err      error
	comma    byte
	cp1252   bool // decode Windows-1252 to UTF-8
	scanOnly bool // split records but build no strings (counting)

	out  []byte // field bytes of the current record, back to back
	ends []int  // end of each field in out
	dec  []byte
}

// newCSVReader reads src, which is positioned at byte offset of its file,
// the start of a record on line number line. At offset 0 a UTF-8
// byte-order mark is skipped.
func newCSVReader(src io.Reader, comma byte, cp1252 bool, offset, line int64) *csvReader {
	r := &csvReader{src: src, buf: make([]byte, readChunk), base: offset, line: line, comma: comma, cp1252: cp1252}
	if offset == 0 {
		r.fill()
		if bytes.HasPrefix(r.buf[:r.end], utf8BOM) {
			r.pos = len(utf8BOM)
		}
	}
	return r
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// hasUTF16BOM reports whether b starts with a UTF-16 byte-order mark,
// little or big endian: how Excel's "Unicode Text" and other UTF-16
// exports begin.
func hasUTF16BOM(b []byte) bool {
	return bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF})
}

// ConvertUTF16 makes the file at src importable when it is UTF-16 text
// with a byte-order mark: it writes it as UTF-8 to dst (which may be src;
// the file is replaced whole, through a temporary file beside dst) and
// reports true. Any other file is left alone and reported false. Code
// units that are not valid UTF-16 become U+FFFD.
//
// The engine reads UTF-8 (or Windows-1252) by byte offset so that an
// import can resume at any batch; converting once, before anything reads
// the file, keeps those offsets plain file offsets.
func ConvertUTF16(dst, src string) (bool, error) {
	in, err := os.Open(src)
	if err != nil {
		return false, err
	}
	defer in.Close()
	head := make([]byte, 2)
	if n, _ := io.ReadFull(in, head); n < 2 || !hasUTF16BOM(head) {
		return false, nil
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	out, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".utf8-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(out.Name()) // after the rename, a no-op
	// BOMOverride reads the byte-order mark, decodes the UTF-16 it names
	// and drops the mark.
	dec := transform.NewReader(in, unicode.BOMOverride(unicode.UTF8.NewDecoder()))
	if _, err := io.Copy(out, dec); err != nil {
		out.Close()
		return false, err
	}
	if err := out.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(out.Name(), dst)
}

// Offset is the byte offset of the next record; Line its line number.
func (r *csvReader) Offset() int64 { return r.base + int64(r.pos) }
func (r *csvReader) Line() int64   { return r.line }

// fill moves the unread bytes to the front of the buffer and reads more,
// growing the buffer when it is full. It reports whether it read anything.
func (r *csvReader) fill() bool {
	if r.eof {
		return false
	}
	if r.pos > 0 {
		n := copy(r.buf, r.buf[r.pos:r.end])
		r.base += int64(r.pos)
		r.pos, r.end = 0, n
	}
	if r.end == len(r.buf) {
		nb := make([]byte, 2*len(r.buf))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	// Fill the buffer: Next splits a record again from its start after
	// each fill, so fills must be few.
	n, err := io.ReadFull(r.src, r.buf[r.end:])
	r.end += n
	if err != nil {
		r.eof = true
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			r.err = err
		}
	}
	return n > 0
}

type splitResult int

const (
	splitDone splitResult = iota
	splitMore             // the record goes on past the buffered bytes
	splitBroken
)

// Next returns the next record, or io.EOF after the last one.
func (r *csvReader) Next() (*csvRecord, error) {
	for {
		if r.pos == r.end && !r.fill() {
			if r.err != nil {
				return nil, r.err
			}
			return nil, io.EOF
		}
		n, lines, res, why := r.split(r.buf[r.pos:r.end], r.eof)
		switch {
		case res == splitDone && n > maxRecordBytes || res == splitMore && r.end-r.pos > maxRecordBytes:
			res, why = splitBroken, fmt.Sprintf("The row is longer than %d MiB (a quote that is never closed?).", maxRecordBytes>>20)
		case res == splitMore:
			r.fill()
			continue
		}
		rec := &csvRecord{Line: r.line, Offset: r.Offset()}
		if res == splitBroken {
			rec.Broken = why
			raw, err := r.skipLine()
			if err != nil {
				return nil, err
			}
			if !r.scanOnly {
				rec.Raw = r.text(raw)
			}
			return rec, nil
		}
		r.pos += n
		r.line += int64(lines)
		if blank(r.out) {
			continue
		}
		if !r.scanOnly {
			rec.Fields = r.fields()
		}
		return rec, nil
	}
}

// split splits the record at the start of b into r.out and r.ends. It
// returns the bytes and newlines the record takes up, splitMore when b
// ends before the record does and more may follow (eof false), or
// splitBroken with the reason.
func (r *csvReader) split(b []byte, eof bool) (n, lines int, res splitResult, why string) {
	r.out, r.ends = r.out[:0], r.ends[:0]
	i := 0
	for {
		if i < len(b) && b[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(b[i:], '"')
				if j < 0 {
					if !eof {
						return 0, 0, splitMore, ""
					}
					return 0, 0, splitBroken, "A quoted field is never closed."
				}
				lines += bytes.Count(b[i:i+j], newline)
				r.out = append(r.out, b[i:i+j]...)
				i += j + 1
				if i == len(b) && !eof {
					return 0, 0, splitMore, ""
				}
				if i < len(b) && b[i] == '"' {
					r.out = append(r.out, '"')
					i++
					continue
				}
				break
			}
			r.ends = append(r.ends, len(r.out))
			switch {
			case i == len(b):
				return i, lines, splitDone, ""
			case b[i] == r.comma:
				i++
				continue
			case b[i] == '\n':
				return i + 1, lines + 1, splitDone, ""
			case b[i] == '\r' && i+1 == len(b) && !eof:
				return 0, 0, splitMore, ""
			case b[i] == '\r' && i+1 == len(b):
				return i + 1, lines, splitDone, ""
			case b[i] == '\r' && b[i+1] == '\n':
				return i + 2, lines + 1, splitDone, ""
			}
			return 0, 0, splitBroken, "Text follows a closing quote."
		}
		j := i
		for j < len(b) && b[j] != r.comma && b[j] != '\n' {
			j++
		}
		if j == len(b) && !eof {
			return 0, 0, splitMore, ""
		}
		end := j
		if end > i && b[end-1] == '\r' && (j == len(b) || b[j] == '\n') {
			end--
		}
		r.out = append(r.out, b[i:end]...)
		r.ends = append(r.ends, len(r.out))
		switch {
		case j == len(b):
			return j, lines, splitDone, ""
		case b[j] == r.comma:
			i = j + 1
		default:
			return j + 1, lines + 1, splitDone, ""
		}
	}
}

var newline = []byte{'\n'}

// skipLine consumes the rest of the current line and returns its bytes
// (at most maxRecordBytes of them), without the line break.
func (r *csvReader) skipLine() ([]byte, error) {
	var raw []byte
	for {
		k := bytes.IndexByte(r.buf[r.pos:r.end], '\n')
		if k >= 0 {
			raw = appendCapped(raw, r.buf[r.pos:r.pos+k])
			r.pos += k + 1
			r.line++
			break
		}
		if r.eof {
			raw = appendCapped(raw, r.buf[r.pos:r.end])
			r.pos = r.end
			break
		}
		if r.end-r.pos >= maxRecordBytes {
			// A line this long is kept only in part; drop what is buffered.
			raw = appendCapped(raw, r.buf[r.pos:r.end])
			r.pos = r.end
		}
		r.fill()
		if r.err != nil {
			return nil, r.err
		}
	}
	return bytes.TrimSuffix(raw, []byte{'\r'}), nil
}

func appendCapped(dst, src []byte) []byte {
	if room := maxRecordBytes - len(dst); room < len(src) {
		src = src[:max(room, 0)]
	}
	return append(dst, src...)
}

// blank reports whether a record holds no text at all.
func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// fields returns the current record's fields as strings sharing one
// allocation.
func (r *csvReader) fields() []string {
	ends := r.ends
	var s string
	if !r.cp1252 && r.validFields() {
		s = string(r.out)
	} else {
		// Decoding changes lengths: decode field by field for the ends.
		r.dec = r.dec[:0]
		start := 0
		ends = make([]int, len(r.ends))
		for i, e := range r.ends {
			r.dec = append(r.dec, r.text(r.out[start:e])...)
			ends[i] = len(r.dec)
			start = e
		}
		s = string(r.dec)
	}
	out := make([]string, len(ends))
	start := 0
	for i, e := range ends {
		out[i] = s[start:e]
		start = e
	}
	return out
}

// validFields reports whether every field is UTF-8 on its own (the bytes
// back to back can be valid when two fields are not).
func (r *csvReader) validFields() bool {
	start := 0
	for _, e := range r.ends {
		if !utf8.Valid(r.out[start:e]) {
			return false
		}
		start = e
	}
	return true
}

// text decodes b: Windows-1252 to UTF-8, or invalid UTF-8 (which the
// encoding check rules out for a whole file) to U+FFFD, so that no invalid
// text reaches the database.
func (r *csvReader) text(b []byte) string {
	if r.cp1252 {
		return decodeCP1252(b)
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// cp1252 maps the bytes 0x80-0x9F of Windows-1252; the other bytes are
// Latin-1, the same code point. Windows-1252 is what "ANSI" CSV exports
// from Excel are in, and a superset of Latin-1's printable characters.
var cp1252 = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8D, 'Ž', 0x8F,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9D, 'ž', 'Ÿ',
}

func decodeCP1252(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	out := make([]byte, 0, len(b)+len(b)/4)
	for _, c := range b {
		switch {
		case c < 0x80:
			out = append(out, c)
		case c < 0xA0:
			out = utf8.AppendRune(out, cp1252[c-0x80])
		default:
			out = utf8.AppendRune(out, rune(c))
		}
	}
	return string(out)
}

// Encodings a file can be read in.
const (
	encUTF8   = "utf-8"
	encCP1252 = "windows-1252"
)

// utf8Checker follows a stream and reports whether all of it is UTF-8.
type utf8Checker struct {
	r     io.Reader
	carry []byte // an incomplete sequence at the end of the last read
	bad   bool
}

func (c *utf8Checker) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.bad || n == 0 {
		if errors.Is(err, io.EOF) && len(c.carry) > 0 {
			c.bad = true
		}
		return n, err
	}
	b := p[:n]
	if len(c.carry) > 0 {
		b = append(c.carry, b...)
	}
	// Hold back a sequence cut off at the end; the next read completes it.
	cut := len(b)
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < 0x80 {
			break
		}
		if c >= 0xC0 { // the lead byte of the last sequence
			if !utf8.FullRune(b[len(b)-k:]) {
				cut = len(b) - k
			}
			break
		}
	}
	if !utf8.Valid(b[:cut]) {
		c.bad = true
	}
	c.carry = append(c.carry[:0], b[cut:]...)
	if errors.Is(err, io.EOF) && len(c.carry) > 0 {
		c.bad = true
	}
	return n, err
}

// scanFile reads the whole file once, before an import starts: it counts
// the data rows (with the same splitting rules as the import, so progress
// ends at exactly the total) and decides the encoding: UTF-8 if all of the
// file is, Windows-1252 otherwise.
func scanFile(path string, comma byte) (rows int64, encoding string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	check := &utf8Checker{r: f}
	r := newCSVReader(check, comma, false, 0, 1)
	r.scanOnly = true
	header := true
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, "", err
		}
		if header {
			header = false
			continue
		}
		rows++
	}
	if check.bad {
		return rows, encCP1252, nil
	}
	return rows, encUTF8, nil
}

// Preview is what the first rows of an uploaded file say about it.
type Preview struct {
	Encoding  string // a guess from the first bytes; the worker decides on the whole file
	Delimiter byte
	Header    []string
	Rows      [][]string // the first data rows
}

const (
	previewRows  = 10
	inspectBytes = 64 << 10
)

// Inspect reads the start of a file and refuses what cannot be a CSV file
// to import: empty, binary (a workbook, a PDF), UTF-16, no header, or no
// data row. Its errors are store.EInvalid with a message for the user.
func Inspect(path string) (*Preview, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, inspectBytes)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	head = head[:n]
	complete := n < inspectBytes
	switch {
	case len(bytes.TrimSpace(bytes.TrimPrefix(head, utf8BOM))) == 0 && complete:
		return nil, fileProblem("The file is empty.")
	case hasUTF16BOM(head):
		// Uploads and the CLI convert it first (ConvertUTF16).
		return nil, fileProblem("The file is UTF-16 text. Save it as “CSV UTF-8” and upload it again.")
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return nil, fileProblem("This is a spreadsheet workbook (such as .xlsx), not a CSV file. Save it as “CSV UTF-8” and upload it again.")
	case bytes.HasPrefix(head, []byte("%PDF")) || bytes.IndexByte(head, 0) >= 0:
		return nil, fileProblem("This is not a CSV file: it holds binary data. Upload a .csv file.")
	}
	p := &Preview{Encoding: encUTF8, Delimiter: sniffDelimiter(bytes.TrimPrefix(head, utf8BOM))}
	if !validUTF8Prefix(head, complete) {
		p.Encoding = encCP1252
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	r := newCSVReader(f, p.Delimiter, p.Encoding == encCP1252, 0, 1)
	rec, err := r.Next()
	if errors.Is(err, io.EOF) {
		return nil, fileProblem("The file is empty.")
	}
	if err != nil {
		return nil, err
	}
	if rec.Broken != "" {
		return nil, fileProblem("The header row cannot be read: " + rec.Broken)
	}
	for _, h := range rec.Fields {
		p.Header = append(p.Header, strings.TrimSpace(h))
	}
	for len(p.Rows) < previewRows {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if rec.Broken != "" {
			p.Rows = append(p.Rows, []string{rec.Raw})
			continue
		}
		p.Rows = append(p.Rows, rec.Fields)
	}
	if len(p.Rows) == 0 {
		return nil, fileProblem("The file has a header row but no data rows.")
	}
	return p, nil
}

// DetectMapping maps each column whose header names a field of kind (by
// one of its synonyms) to that field; the first column wins.
func DetectMapping(kind string, header []string) map[string]int {
	m := map[string]int{}
	for col, h := range header {
		key := headerKey(h)
		for _, f := range ImportFields(kind) {
			if _, taken := m[f.Key]; !taken && slices.Contains(f.synonyms, key) {
				m[f.Key] = col
				break
			}
		}
	}
	return m
}

func fileProblem(msg string) error {
	return &store.Error{Code: store.EInvalid, Message: msg, Fields: map[string]string{"file": msg}}
}

// validUTF8Prefix reports whether b is UTF-8, allowing a sequence cut off
// at the end when more of the file follows.
func validUTF8Prefix(b []byte, complete bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if complete {
		return false
	}
	for k := 1; k <= 3 && k < len(b); k++ {
		if utf8.Valid(b[:len(b)-k]) {
			return true
		}
	}
	return false
}

// sniffDelimiter picks comma, semicolon or tab: whichever the header line
// has most of outside quotes (comma when it has none).
func sniffDelimiter(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n") // blank lines before the header
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	counts := map[byte]int{}
	quoted := false
	for _, c := range b {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

// headerKey normalises a column name for matching synonyms: "E-mail
// address" and "email_address" are both "emailaddress".
func headerKey(h string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(strings.TrimSpace(h)) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// ImportField is a field the rows of an import can fill.
type ImportField struct {
	Key      string
	Label    string
	synonyms []string // normalised header names (headerKey) that mean this field
}

// Contact import fields. A contact needs a name or an e-mail address
// (first and last name make a name); the company_* fields describe the
// contact's company, used when the import creates it.
var contactFields = []ImportField{
	{"name", "Name", []string{"name", "fullname", "contactname", "contact", "person", "displayname"}},
	{"first_name", "First name", []string{"firstname", "givenname", "forename", "first"}},
	{"last_name", "Last name", []string{"lastname", "surname", "familyname", "last"}},
	{"email", "E-mail", []string{"email", "emailaddress", "mail", "emails", "workemail"}},
	{"phone", "Phone", []string{"phone", "telephone", "tel", "phonenumber", "telephonenumber", "mobile", "mobilephone", "cell", "workphone"}},
	{"title", "Job title", []string{"title", "jobtitle", "position", "role", "jobrole"}},
	{"company", "Company", []string{"company", "companyname", "organisation", "organization", "org", "organisationname", "organizationname", "account", "accountname", "employer"}},
	{"company_street", "Company street", []string{"companystreet", "street", "address", "streetaddress", "address1", "companyaddress"}},
	{"company_town", "Company town", []string{"companytown", "town", "city", "companycity"}},
	{"company_state", "Company state", []string{"companystate", "state", "county", "region", "province"}},
	{"company_zip", "Company ZIP", []string{"companyzip", "zip", "zipcode", "postcode", "postalcode", "companypostcode"}},
	{"company_website", "Company website", []string{"companywebsite", "website", "web", "url", "homepage", "site", "companyurl"}},
}

var companyFields = []ImportField{
	{"name", "Name", []string{"name", "company", "companyname", "organisation", "organization", "org", "organisationname", "organizationname", "account", "accountname"}},
	{"street", "Street", []string{"street", "address", "streetaddress", "address1", "companystreet", "companyaddress"}},
	{"town", "Town", []string{"town", "city", "companytown", "companycity"}},
	{"state", "State", []string{"state", "county", "region", "province", "companystate"}},
	{"zip", "ZIP", []string{"zip", "zipcode", "postcode", "postalcode", "companyzip"}},
	{"website", "Website", []string{"website", "web", "url", "homepage", "site", "companywebsite"}},
	{"description", "Description", []string{"description", "notes", "note", "about", "comments"}},
}

// ImportFields lists the fields of an import kind.
func ImportFields(kind string) []ImportField {
	if kind == store.ImportCompanies {
		return companyFields
	}
	return contactFields
}

// CheckMapping refuses a mapping that names an unknown field or column,
// maps one column twice, or leaves the rows nothing to import.
func CheckMapping(kind string, header []string, m map[string]int) error {
	known := map[string]bool{}
	for _, f := range ImportFields(kind) {
		known[f.Key] = true
	}
	cols := map[int]string{}
	for field, col := range m {
		if !known[field] {
			return mappingProblem(fmt.Sprintf("There is no field %q for %s.", field, kind))
		}
		if col < 0 || col >= len(header) {
			return mappingProblem(fmt.Sprintf("The file has no column %d (for %s).", col, field))
		}
		if other, dup := cols[col]; dup {
			a, b := min(field, other), max(field, other)
			return mappingProblem(fmt.Sprintf("Column “%s” is mapped to both %s and %s.", header[col], a, b))
		}
		cols[col] = field
	}
	_, name := m["name"]
	_, email := m["email"]
	_, first := m["first_name"]
	_, last := m["last_name"]
	switch {
	case kind == store.ImportCompanies && !name:
		return mappingProblem("No usable column: a companies file needs a column with the company name (such as “Name” or “Company”). Found: " + quoteList(header) + ".")
	case kind != store.ImportCompanies && !name && !email && !first && !last:
		return mappingProblem("No usable column: a contacts file needs a column with a name or an e-mail address (such as “Name” or “E-mail”). Found: " + quoteList(header) + ".")
	}
	return nil
}

func mappingProblem(msg string) error {
	return &store.Error{Code: store.EInvalid, Message: msg, Fields: map[string]string{"mapping": msg}}
}

func quoteList(header []string) string {
	var parts []string
	for i, h := range header {
		if i == 8 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, "“"+h+"”")
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// The headers of the CSV files Rolodex exports, which import back.
var (
	CompanyExportHeader = []string{"name", "street", "town", "state", "zip", "website", "description"}
	ContactExportHeader = []string{"name", "email", "phone", "title", "company", "company_street", "company_town", "company_state", "company_zip", "company_website"}
)

// rolodexFile reports whether a file of kind with header is one Rolodex
// exported, whose cells it neutralised: its header is exactly the export's.
func rolodexFile(kind string, header []string) bool {
	if kind == store.ImportCompanies {
		return slices.Equal(header, CompanyExportHeader)
	}
	return slices.Equal(header, ContactExportHeader)
}

// rowMapper turns records into import rows.
type rowMapper struct {
	kind    string
	width   int   // columns in the header
	cols    []int // column of each field of ImportFields(kind), -1 for none
	fields  []ImportField
	restore bool // the file is Rolodex's own: take off its neutralising quotes
}

func newRowMapper(kind string, header []string, m map[string]int) *rowMapper {
	rm := &rowMapper{kind: kind, width: len(header), fields: ImportFields(kind), restore: rolodexFile(kind, header)}
	rm.cols = make([]int, len(rm.fields))
	for i, f := range rm.fields {
		col, ok := m[f.Key]
		if !ok {
			col = -1
		}
		rm.cols[i] = col
	}
	return rm
}

// get is field i of a record. In a file Rolodex exported it is without
// the quote that neutralised a formula (Restore), so an export imports
// back unchanged; another program's file keeps its quotes, which its
// author put there on purpose.
func (rm *rowMapper) get(fields []string, i int) string {
	c := rm.cols[i]
	switch {
	case c < 0 || c >= len(fields):
		return ""
	case rm.restore:
		return Restore(fields[c])
	}
	return fields[c]
}

// row maps a record. A record with fewer columns than the header, or more
// that are not empty, is rejected: its values could be in the wrong
// fields.
func (rm *rowMapper) row(rec *csvRecord) store.ImportRow {
	r := store.ImportRow{Line: rec.Line, Fields: rec.Fields, Raw: rec.Raw}
	if rec.Broken != "" {
		r.Reason = rec.Broken
		return r
	}
	f := rec.Fields
	if len(f) > rm.width {
		extra := true
		for _, v := range f[rm.width:] {
			if strings.TrimSpace(v) != "" {
				extra = false
				break
			}
		}
		if extra {
			f = f[:rm.width]
		}
	}
	if len(f) != rm.width {
		r.Reason = fmt.Sprintf("The row has %d columns; the header has %d.", len(rec.Fields), rm.width)
		return r
	}
	if rm.kind == store.ImportCompanies {
		r.Company = store.CompanyInput{Name: rm.get(f, 0), Street: rm.get(f, 1), Town: rm.get(f, 2), State: rm.get(f, 3),
			Zip: rm.get(f, 4), Website: rm.get(f, 5), Description: rm.get(f, 6)}
		return r
	}
	name := rm.get(f, 0)
	if strings.TrimSpace(name) == "" {
		name = strings.TrimSpace(strings.TrimSpace(rm.get(f, 1)) + " " + strings.TrimSpace(rm.get(f, 2)))
	}
	r.Contact = store.ContactInput{Name: name, Email: rm.get(f, 3), Phone: rm.get(f, 4), Title: rm.get(f, 5)}
	r.Company = store.CompanyInput{Name: rm.get(f, 6), Street: rm.get(f, 7), Town: rm.get(f, 8), State: rm.get(f, 9),
		Zip: rm.get(f, 10), Website: rm.get(f, 11)}
	return r
}
