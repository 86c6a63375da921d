package store

// The rows of a bulk import as the store takes them: checked against the
// forms' rules on the reading goroutine, hashed for the session's maps,
// and encoded back to CSV when rejected. import_session.go decides them
// and import_write.go writes them; imports.go has the bulk action record.

import (
	"encoding/csv"
	"hash/maphash"
	"sort"
	"strings"
)

// ImportRow is one data row of a file, mapped onto the fields of its kind.
type ImportRow struct {
	Line   int64    // line number of the row's first line in the file
	Fields []string // the row as read, for the rejected-rows file
	// Raw is the row's first line when it could not be split into fields
	// (Fields is then nil and Reason says why).
	Raw string
	// Reason, when set, is why the row was rejected before it reached the
	// store (unreadable, wrong number of columns).
	Reason  string
	Contact ContactInput // kind contacts
	// Company is the company itself for kind companies; for kind contacts,
	// the contact's company as the row names it (Name may be empty).
	Company CompanyInput
	checked bool
	// Set by Check, so that the reading goroutine does this work rather
	// than the writing one: the ASCII-lower-cased address and company name
	// (SQLite's NOCASE), and the address's hash.
	emailKey, companyKey string
	emailHash            uint64
}

// Check applies the validation of the forms (ContactInput, CompanyInput)
// to the row and sets Reason when it fails. ImportBatch.Add checks rows
// itself; calling Check first lets the caller do that work on another
// goroutine.
func (r *ImportRow) Check(kind string) {
	if r.checked {
		return
	}
	r.checked = true
	if r.Reason != "" {
		return
	}
	defer func() {
		if r.Reason == "" {
			r.companyKey = asciiLower(r.Company.Name)
			if r.Contact.Email != "" {
				r.emailKey = asciiLower(r.Contact.Email)
				r.emailHash = hashKey(r.emailKey)
			}
		}
	}()
	switch kind {
	case ImportCompanies:
		if err := r.Company.normalize(); err != nil {
			r.Reason = reason(err, "")
		}
	default:
		var reasons []string
		if err := r.Contact.normalize(); err != nil {
			reasons = append(reasons, reason(err, ""))
		}
		// A company the row names must be one the company form would take,
		// whether or not the import ends up creating it.
		if strings.TrimSpace(r.Company.Name) != "" {
			if err := r.Company.normalize(); err != nil {
				reasons = append(reasons, reason(err, "Company "))
			}
		} else {
			r.Company = CompanyInput{}
		}
		r.Reason = strings.Join(reasons, " ")
	}
}

var fieldLabels = map[string]string{
	"name": "name", "email": "e-mail", "phone": "phone", "title": "job title", "street": "street", "town": "town",
	"state": "state", "zip": "ZIP", "website": "website", "description": "description",
}

// reason turns a validation error into one line for the rejected-rows file:
// "E-mail: Enter a valid e-mail address."
func reason(err error, prefix string) string {
	fields := ErrorFields(err)
	if len(fields) == 0 {
		return ErrorMessage(err)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		label := fieldLabels[k]
		if label == "" {
			label = k
		}
		parts[i] = capitalizeASCII(prefix+label) + ": " + fields[k]
	}
	return strings.Join(parts, " ")
}

func capitalizeASCII(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// importSeed seeds the hash of e-mail addresses, one for the process so
// that rows can be hashed before they reach their session.
var importSeed = maphash.MakeSeed()

// hashKey is the key of a lower-cased e-mail address in a session's maps.
// Two addresses share a 64-bit hash with a probability of about n²/2⁶⁵ (1
// in 30 million for a million addresses); a shared hash with a stored
// contact is caught by the id re-check, one inside the file would skip a
// row as a duplicate.
func hashKey(lower string) uint64 { return maphash.String(importSeed, lower) }

// rejection is a row the import does not take: raw is the row as one CSV
// record, or "" to make it of fields.
type rejection struct {
	line   int64
	reason string
	raw    string
	fields []string
}

// rowEncoder writes a rejected row as one CSV record.
type rowEncoder struct {
	sb strings.Builder
	w  *csv.Writer
}

func (e *rowEncoder) encode(fields []string, raw string) string {
	if fields == nil {
		fields = []string{raw}
	}
	if e.w == nil {
		e.w = csv.NewWriter(&e.sb)
	}
	e.sb.Reset()
	e.w.Write(fields) // a strings.Builder does not fail
	e.w.Flush()
	return strings.TrimSuffix(e.sb.String(), "\n")
}
