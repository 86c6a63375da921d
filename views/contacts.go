package views

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/rolodex/rolodex/store"
)

// ContactList is one page of /contacts as the viewer filtered and sorted it.
type ContactList struct {
	Query   store.ContactQuery
	Page    *store.ContactPage
	Company *store.Company // the company filter's company, when set
	Errors  map[string]string
	Message string
}

// contactsURL is the list's URL for q (the cursor included).
func contactsURL(q store.ContactQuery) string {
	v := url.Values{}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if q.CompanyID != 0 {
		v.Set("company_id", id(q.CompanyID))
	}
	if q.Mine {
		v.Set("mine", "1")
	}
	if q.Sort != "" && q.Sort != "name" {
		v.Set("sort", q.Sort)
	}
	if q.Desc {
		v.Set("order", "desc")
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if len(v) == 0 {
		return "/contacts"
	}
	return "/contacts?" + v.Encode()
}

func (l ContactList) sort() string {
	if l.Query.Sort == "" {
		return "name"
	}
	return l.Query.Sort
}

// sortLink is the first page sorted by col: the other direction when col
// is the current sort; newest first for updated, else A to Z.
func (l ContactList) sortLink(col string) string {
	q := l.Query
	q.Cursor = ""
	if l.sort() == col {
		q.Desc = !q.Desc
	} else {
		q.Sort, q.Desc = col, col == "updated"
	}
	return contactsURL(q)
}

// pageLink is the page at cursor.
func (l ContactList) pageLink(cursor string) string {
	q := l.Query
	q.Cursor = cursor
	return contactsURL(q)
}

// without is the first page without the company filter.
func (l ContactList) withoutCompany() string {
	q := l.Query
	q.CompanyID, q.Cursor = 0, ""
	return contactsURL(q)
}

// exportLink is the CSV export of the list's contacts: one company's when
// the list shows one (a rejected company_id exports everything visible).
func (l ContactList) exportLink() string {
	if l.Company == nil {
		return "/api/v1/export/contacts.csv"
	}
	return "/api/v1/export/contacts.csv?company_id=" + id(l.Company.ID)
}

// paramErrors are the problems of the URL's parameters that have no field
// on the page (all but q), as "limit: Use a number from 1 to 200.".
func (l ContactList) paramErrors() []string {
	var out []string
	for k, v := range l.Errors {
		if k != "q" {
			out = append(out, k+": "+v)
		}
	}
	slices.Sort(out)
	return out
}

func (l ContactList) items() []store.ListedContact {
	if l.Page == nil {
		return nil
	}
	return l.Page.Items
}

func (l ContactList) ariaSort(col string) string {
	switch {
	case l.sort() != col:
		return "none"
	case l.Query.Desc:
		return "descending"
	default:
		return "ascending"
	}
}

func (l ContactList) arrow(col string) string {
	switch {
	case l.sort() != col:
		return ""
	case l.Query.Desc:
		return " ↓"
	default:
		return " ↑"
	}
}

func contactPath(cid int64) string { return itemPath(store.TypeContact, cid) }

// contactLabel is how a contact is named: by name, or by address.
func contactLabel(c *store.Contact) string {
	if c.Name != "" {
		return c.Name
	}
	return c.Email
}

// AttendeeChoices are what a meeting form offers as attendees: the
// company's contacts.
type AttendeeChoices struct {
	Contacts []store.Contact
}

// chosenAttendees reads the form's attendee_ids value (ids a space apart).
func chosenAttendees(f Form) []int64 {
	var ids []int64
	for _, s := range strings.Fields(f.Value("attendee_ids")) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			ids = append(ids, n)
		}
	}
	return ids
}

func isChosen(ids []int64, c store.Contact) bool { return slices.Contains(ids, c.ID) }

// AttendeeValue is the form value of ids (FormFromMeeting, the handlers).
func AttendeeValue(ids []int64) string {
	s := make([]string, len(ids))
	for i, n := range ids {
		s[i] = id(n)
	}
	return strings.Join(s, " ")
}
