// Package views renders Rolodex's HTML with templ: a layout, the pages, and
// the partials htmx swaps into them. Every page works as plain links and
// forms; htmx attributes only make the same requests without a reload.
//
// Components take plain values, never a request: handlers decide what to
// show, views decide how.
package views

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/a-h/templ"

	"github.com/rolodex/rolodex/store"
)

// Page is what every full page needs besides its content.
type Page struct {
	Title string
	User  *store.User // nil when signed out
	Flash string      // one-shot message shown on top
	Query string      // current search text (kept in the search box)
	Live  bool        // a live room: load the SSE extension and room.js
}

// Form carries submitted values and per-field errors for a form that
// failed (422). The zero Form is an empty, valid form.
type Form struct {
	Values  map[string]string
	Errors  map[string]string
	Message string
}

// Value returns the submitted value of field name, or "".
func (f Form) Value(name string) string { return f.Values[name] }

// Error returns the error of field name, or "" when it is valid.
func (f Form) Error(name string) string { return f.Errors[name] }

// FailedForm builds the Form to re-render after err: the submitted values
// (first of each; "password" is never echoed back) and the field errors and
// message of a *store.Error. Other errors get the generic message.
func FailedForm(values url.Values, err error) Form {
	f := Form{Values: make(map[string]string, len(values))}
	for k, v := range values {
		if len(v) > 0 && k != "password" {
			f.Values[k] = v[0]
		}
	}
	if err != nil {
		f.Errors = store.ErrorFields(err)
		f.Message = store.ErrorMessage(err)
	}
	return f
}

// FormFromCompany fills a form with a company's current fields.
func FormFromCompany(c *store.Company) Form {
	return Form{Values: map[string]string{
		"name": c.Name, "street": c.Street, "town": c.Town, "state": c.State, "zip": c.Zip,
		"website": c.Website, "description": c.Description, "owner_id": ownerValue(c),
	}}
}

// ownerValue is the owner select's value for c: the owner's id, "0" for
// nobody.
func ownerValue(c *store.Company) string {
	if c.OwnerID == nil {
		return "0"
	}
	return id(*c.OwnerID)
}

// CompanyList is one page of the company list as sorted by the viewer.
type CompanyList struct {
	Page *store.CompanyPage
	Sort string // "name" (default), "created", "updated"
	Desc bool
	Mine bool // "My clients" only
	// Staff selects the empty state that says no clients are assigned yet.
	// CompaniesPage sets it from the viewer; set it when rendering
	// CompanyRows on its own.
	Staff bool
}

// Timeline is one page of a company's timeline.
type Timeline struct {
	Company *store.Company
	Items   []store.TimelineItem
	Next    string // cursor for "load more"; "" when no more
	Type    string // active filter ("" = all); the tabs offer every store.TimelineTypes()
	Added   string // ItemAnchor of the item just added, highlighted; "" for none
}

// ItemAnchor is the id of a timeline item's element ("note-12"): the
// fragment a link to the item ends with.
func ItemAnchor(typ string, itemID int64) string { return typ + "-" + id(itemID) }

// added reports whether it is the item just added.
func (tl Timeline) added(it store.TimelineItem) bool {
	return tl.Added != "" && tl.Added == ItemAnchor(it.Type, it.ID)
}

// SearchResult is one hit of the search box.
type SearchResult struct {
	Kind                     string // "company" or "contact"
	ID, CompanyID            int64
	Name, Email, CompanyName string
}

// ItemForms are the four "add" forms of a company page.
type ItemForms struct {
	Note, Contact, Link, Meeting Form
	MeetingTypes                 []string // the meeting form's type choices: the workspace's types
	Open                         string   // which add-form to show open: "note", "contact", "link", "meeting" or ""
	Focus                        string   // which collapsed add-form takes the focus, or ""

	Room      *RoomChoices     // the meeting form's "Live room" section
	Attendees *AttendeeChoices // the meeting form's attendees
}

// With returns fs with the add form of type typ set to f and open (a form
// that failed).
func (fs ItemForms) With(typ string, f Form) ItemForms {
	switch typ {
	case store.TypeNote:
		fs.Note = f
	case store.TypeContact:
		fs.Contact = f
	case store.TypeLink:
		fs.Link = f
	case store.TypeMeeting:
		fs.Meeting = f
	}
	fs.Open = typ
	return fs
}

// OpenForm is the open add form alone (#note-form, #meeting-form...): the
// htmx answer to a failed add.
func (fs ItemForms) OpenForm(c *store.Company) templ.Component {
	switch fs.Open {
	case store.TypeNote:
		return NoteForm(c, fs.Note)
	case store.TypeContact:
		return ContactForm(c, fs.Contact)
	case store.TypeLink:
		return LinkForm(c, fs.Link)
	case store.TypeMeeting:
		return MeetingForm(c, fs.MeetingTypes, fs.Room, fs.Attendees, fs.Meeting)
	}
	return templ.NopComponent
}

// field describes one form control; input and textarea render it with its
// label and error.
type field struct {
	form         string // id prefix, unique per form on a page
	name, label  string
	typ          string // input type; "" is text
	required     bool
	autocomplete string
	placeholder  string
	hint         string
	maxlen       int
	rows         int  // > 0 makes it a textarea of that many rows
	span2        bool // full width in a .form-grid
	autofocus    bool // the first invalid field of a failed form
	// list is the id of a <datalist> of suggestions.
	list string
}

func (fd field) id() string { return fd.form + "-" + fd.name }

func (fd field) inputType() string {
	if fd.typ == "" {
		return "text"
	}
	return fd.typ
}

// describedBy lists the ids of the hint and error shown under a control.
func (fd field) describedBy(f Form) string {
	var ids []string
	if fd.hint != "" {
		ids = append(ids, fd.id()+"-hint")
	}
	if f.Error(fd.name) != "" {
		ids = append(ids, fd.id()+"-error")
	}
	return strings.Join(ids, " ")
}

func noteFields(form string) []field {
	return []field{
		{form: form, name: "title", label: "Title", required: true, maxlen: 200, span2: true},
		{form: form, name: "body", label: "Body", hint: "Markdown: **bold**, lists, tables, links.", maxlen: 100000, rows: 6, span2: true},
	}
}

func contactFields(form string) []field {
	return []field{
		{form: form, name: "name", label: "Name", autocomplete: "off", maxlen: 200, hint: "A name, an e-mail address or both."},
		{form: form, name: "email", label: "E-mail", typ: "email", autocomplete: "off", maxlen: 254},
		{form: form, name: "phone", label: "Phone", typ: "tel", autocomplete: "off", maxlen: 50},
		{form: form, name: "title", label: "Job title", autocomplete: "off", maxlen: 200},
	}
}

func linkFields(form string) []field {
	return []field{
		{form: form, name: "title", label: "Title", required: true, maxlen: 200},
		{form: form, name: "url", label: "URL", typ: "url", required: true, placeholder: "https://", maxlen: 2000},
	}
}

func companyFields() []field {
	const form = "company"
	return []field{
		{form: form, name: "name", label: "Name", required: true, maxlen: 200, span2: true},
		{form: form, name: "street", label: "Street", autocomplete: "off", maxlen: 200, span2: true},
		{form: form, name: "town", label: "Town", autocomplete: "off", maxlen: 100},
		{form: form, name: "state", label: "State", autocomplete: "off", maxlen: 100},
		{form: form, name: "zip", label: "ZIP", autocomplete: "off", maxlen: 20},
		{form: form, name: "website", label: "Website", placeholder: "https://example.com", autocomplete: "off", maxlen: 2000},
		{form: form, name: "description", label: "Description", hint: "Plain text.", maxlen: 20000, rows: 6, span2: true},
	}
}

// withFocus marks the first field f has an error for, so that the browser
// (or htmx, after swapping a 422 form in) puts the cursor there.
func withFocus(fields []field, f Form) []field {
	for i := range fields {
		if f.Error(fields[i].name) != "" {
			fields[i].autofocus = true
			break
		}
	}
	return fields
}

// itemFields returns the fields of a timeline item kind, or nil.
func itemFields(kind, form string) []field {
	switch kind {
	case store.TypeNote:
		return noteFields(form)
	case store.TypeContact:
		return contactFields(form)
	case store.TypeLink:
		return linkFields(form)
	}
	return nil
}

// companyFormValues fills in from c the fields f does not carry, so an edit
// page shows the current values when the handler passes Form{}.
func companyFormValues(c *store.Company, f Form) Form {
	if c == nil {
		return f
	}
	cur := FormFromCompany(c)
	out := Form{Values: map[string]string{}, Errors: f.Errors, Message: f.Message}
	for k, v := range cur.Values {
		out.Values[k] = v
	}
	for k, v := range f.Values {
		out.Values[k] = v
	}
	return out
}

// URLs. One home for each route the views link to.

func id(n int64) string { return strconv.FormatInt(n, 10) }

func companyPath(cid int64) string { return "/companies/" + id(cid) }

func itemPath(kind string, itemID int64) string { return "/" + kind + "s/" + id(itemID) }

// newItemPath is the add form of kind for a company: GET answers the form.
func newItemPath(cid int64, kind string) string { return companyPath(cid) + "/" + kind + "s/new" }

// companiesURL is the company list sorted and paged as given, of the
// viewer's clients only when mine.
func companiesURL(sort string, desc, mine bool, cursor string) string {
	q := url.Values{}
	if mine {
		q.Set("mine", "1")
	}
	q.Set("sort", sort)
	if desc {
		q.Set("order", "desc")
	} else {
		q.Set("order", "asc")
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return "/companies?" + q.Encode()
}

// sortLink is where clicking sort column col leads: the same column flips
// the order; another column starts A→Z for names and newest first for
// dates.
func (l CompanyList) sortLink(col string) string {
	if l.sort() == col {
		return companiesURL(col, !l.Desc, l.Mine, "")
	}
	return companiesURL(col, col != "name", l.Mine, "")
}

func (l CompanyList) sort() string {
	if l.Sort == "" {
		return "name"
	}
	return l.Sort
}

func (l CompanyList) items() []store.Company {
	if l.Page == nil {
		return nil
	}
	return l.Page.Items
}

func (l CompanyList) next() string {
	if l.Page == nil {
		return ""
	}
	return l.Page.Next
}

func (l CompanyList) prev() string {
	if l.Page == nil {
		return ""
	}
	return l.Page.Prev
}

// ariaSort is the aria-sort value of column col.
func (l CompanyList) ariaSort(col string) string {
	switch {
	case l.sort() != col:
		return "none"
	case l.Desc:
		return "descending"
	default:
		return "ascending"
	}
}

func sortArrow(l CompanyList, col string) string {
	switch {
	case l.sort() != col:
		return ""
	case l.Desc:
		return " ↓"
	default:
		return " ↑"
	}
}

// timelineQuery is the query string of a timeline view: filter and cursor.
func timelineQuery(typ, cursor string) string {
	switch {
	case typ != "" && cursor != "":
		return "?cursor=" + url.QueryEscape(cursor) + "&type=" + url.QueryEscape(typ)
	case typ != "":
		return "?type=" + url.QueryEscape(typ)
	case cursor != "":
		return "?cursor=" + url.QueryEscape(cursor)
	}
	return ""
}

// timelineTab is the page URL of a filter tab and the fragment URL htmx
// fetches for it.
func timelinePageURL(cid int64, typ, cursor string) string {
	return companyPath(cid) + timelineQuery(typ, cursor)
}

func timelineFragmentURL(cid int64, typ, cursor string) string {
	return companyPath(cid) + "/timeline" + timelineQuery(typ, cursor)
}

// typeLabel names a timeline item type ("note" → "Note").
func typeLabel(t string) string {
	switch t {
	case store.TypeNote:
		return "Note"
	case store.TypeContact:
		return "Contact"
	case store.TypeLink:
		return "Link"
	case store.TypeMeeting:
		return "Meeting"
	case "company":
		return "Company"
	}
	return capitalize(t)
}

// typePlural is the tab label of a timeline type ("note" → "Notes").
func typePlural(t string) string { return typeLabel(t) + "s" }

func capitalize(s string) string {
	for i, r := range s {
		return string(unicode.ToUpper(r)) + s[i+len(string(r)):]
	}
	return s
}

// Times. Stored as unix milliseconds and shown in the viewer's time zone,
// which handlers put in the request's context (WithZone): the relative
// time, with the absolute one and the zone's name in a tooltip.

var now = time.Now // replaced in tests

type zoneKey struct{}

// WithZone returns ctx in which views show times in loc.
func WithZone(ctx context.Context, loc *time.Location) context.Context {
	return context.WithValue(ctx, zoneKey{}, loc)
}

// zoneOf is the zone of ctx's viewer: UTC unless WithZone said otherwise.
func zoneOf(ctx context.Context) *time.Location {
	if loc, ok := ctx.Value(zoneKey{}).(*time.Location); ok {
		return loc
	}
	return time.UTC
}

// zoneName names the viewer's zone in labels: "Starts (Europe/London)".
func zoneName(ctx context.Context) string { return zoneOf(ctx).String() }

// localTime is ms in the viewer's zone.
func localTime(ctx context.Context, ms int64) time.Time { return store.Time(ms).In(zoneOf(ctx)) }

func isoTime(ms int64) string { return store.Time(ms).Format(time.RFC3339) }

func absTime(ctx context.Context, ms int64) string {
	return localTime(ctx, ms).Format("Jan 2, 2006 15:04 ") + zoneName(ctx)
}

// relTime is how ms reads now ("5 minutes ago"). On a kept home section
// (homeSection) now is its clock's, which learns when the text changes.
func relTime(ctx context.Context, ms int64) string {
	t := localTime(ctx, ms)
	if c, ok := ctx.Value(clockKey{}).(*clock); ok {
		text, until := relTimeAt(t, c.at)
		// c.at moves a minute at a time, so the text holds until the
		// minute that starts at or after until.
		if until = until.Add(time.Minute - 1).Truncate(time.Minute); until.Before(c.until) {
			c.until = until
		}
		return text
	}
	text, _ := relTimeAt(t, now())
	return text
}

// never is a time no rendering lives to.
var never = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// relTimeAt is how t reads at now ("5 minutes ago") and the first moment
// after now at which it reads otherwise.
func relTimeAt(t, now time.Time) (string, time.Time) {
	d := now.Sub(t)
	switch {
	case d < 0 && d > -time.Minute:
		return "just now", t.Add(time.Minute)
	case d < 0:
		return t.Format("Jan 2, 2006"), t.Add(-time.Minute + 1)
	case d < time.Minute:
		return "just now", t.Add(time.Minute)
	case d < time.Hour:
		n := d / time.Minute
		return plural(int(n), "minute") + " ago", t.Add((n + 1) * time.Minute)
	case d < 24*time.Hour:
		n := d / time.Hour
		return plural(int(n), "hour") + " ago", t.Add((n + 1) * time.Hour)
	case d < 7*24*time.Hour:
		days := d / (24 * time.Hour)
		until := t.Add((days + 1) * 24 * time.Hour)
		if days == 1 {
			return "yesterday", until
		}
		return plural(int(days), "day") + " ago", until
	case t.Year() == now.In(t.Location()).Year():
		return t.Format("Jan 2"), time.Date(t.Year()+1, 1, 1, 0, 0, 0, 0, t.Location())
	default:
		return t.Format("Jan 2, 2006"), never
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// host is the host name of a web address, for showing beside a link.
func host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return strings.TrimPrefix(u.Hostname(), "www.")
}

// telHref is a tel: URL keeping only the characters a dialler uses.
func telHref(phone string) string {
	var b strings.Builder
	for _, r := range phone {
		if (r >= '0' && r <= '9') || r == '+' || r == '*' || r == '#' {
			b.WriteRune(r)
		}
	}
	return "tel:" + b.String()
}

func mailtoHref(email string) string { return "mailto:" + email }

// initials is what the avatar in the user menu shows.
func initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, unicode.ToUpper(r))
				break
			}
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// paragraphs splits plain text on blank lines; single line breaks stay
// inside a paragraph (CSS shows them with white-space: pre-line).
func paragraphs(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var out []string
	for _, p := range strings.Split(s, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// address joins a company's town, state and ZIP into one line.
func cityLine(c *store.Company) string {
	line := c.Town
	if c.State != "" {
		if line != "" {
			line += ", "
		}
		line += c.State
	}
	if c.Zip != "" {
		if line != "" {
			line += " "
		}
		line += c.Zip
	}
	return line
}

func displayName(u *store.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// errorTitle is the heading of an error page.
func errorTitle(status int) string {
	switch status {
	case 400:
		return "That request didn't work"
	case 403:
		return "You don't have access to this"
	case 404:
		return "Page not found"
	case 405:
		return "That action isn't available here"
	case 413:
		return "That's too large"
	case 429:
		return "Slow down a little"
	}
	return "Something went wrong"
}

func errorHint(status int) string {
	switch status {
	case 404:
		return "It may have been moved or deleted, or you may not have access to it."
	case 413:
		return "The upload or text was over the size limit. Try something smaller."
	}
	if status >= 500 {
		return "We've logged the problem. Please try again in a moment."
	}
	return ""
}

func lower(s string) string { return strings.ToLower(s) }

// companyID is the company a timeline belongs to.
func (tl Timeline) companyID() int64 {
	if tl.Company != nil {
		return tl.Company.ID
	}
	if len(tl.Items) > 0 {
		return tl.Items[0].CompanyID
	}
	return 0
}

// itemName names a timeline item for confirmations and screen readers.
func itemName(it store.TimelineItem) string {
	switch {
	case it.Note != nil:
		return "note “" + it.Note.Title + "”"
	case it.Contact != nil && it.Contact.Name != "":
		return "contact “" + it.Contact.Name + "”"
	case it.Contact != nil:
		return "contact “" + it.Contact.Email + "”"
	case it.Link != nil:
		return "link “" + it.Link.Title + "”"
	case it.Meeting != nil:
		return "meeting “" + it.Meeting.Subject + "”"
	}
	return "this " + it.Type
}

func userPath(uid int64) string { return "/admin/users/" + id(uid) }

func userFields() []field {
	const form = "user"
	return []field{
		{form: form, name: "email", label: "E-mail", typ: "email", required: true, autocomplete: "off", maxlen: 254},
		{form: form, name: "name", label: "Name", required: true, autocomplete: "off", maxlen: 200},
	}
}

// company is the company a search result is or belongs to.
func (r SearchResult) company() int64 {
	if r.Kind == "company" {
		return r.ID
	}
	return r.CompanyID
}

// resultURL is where a search result leads: the company, or for a contact
// its company's page at the contact's timeline entry.
func resultURL(r SearchResult) string {
	if r.Kind == "company" {
		return companyPath(r.ID)
	}
	return companyPath(r.CompanyID) + "#" + ItemAnchor(store.TypeContact, r.ID)
}

// editable reports whether timeline items of type t have edit and delete
// pages (/notes/{id}/edit, /meetings/{id}/edit and so on).
func editable(t string) bool {
	return t == store.TypeNote || t == store.TypeContact || t == store.TypeLink || t == store.TypeMeeting
}

// meetingWhen is a meeting's start, and its end when it has one, in the
// viewer's zone, which it names.
func meetingWhen(ctx context.Context, m *store.Meeting) string {
	return timeSpan(ctx, m.StartsAt, m.EndsAt)
}

// timeSpan is from–to (to may be nil) in the viewer's zone, which it names.
func timeSpan(ctx context.Context, from int64, to *int64) string {
	start := localTime(ctx, from)
	s := start.Format("Mon, Jan 2, 2006 15:04")
	if to != nil {
		end := localTime(ctx, *to)
		if end.YearDay() == start.YearDay() && end.Year() == start.Year() {
			s += "–" + end.Format("15:04")
		} else {
			s += " – " + end.Format("Mon, Jan 2, 2006 15:04")
		}
	}
	return s + " " + zoneName(ctx)
}

// profileFields are the fields of the profile form. The time zone's
// suggestions are the browser's zones, which app.js puts in #time-zones;
// the server checks the name either way.
func profileFields() []field {
	const form = "me"
	return []field{
		{form: form, name: "name", label: "Name", required: true, autocomplete: "name", maxlen: 200},
		{form: form, name: "email", label: "E-mail", typ: "email", required: true, autocomplete: "email", maxlen: 254},
		{form: form, name: "time_zone", label: "Time zone", required: true, autocomplete: "off", maxlen: 64, list: "time-zones",
			hint: "A name from the time zone database, like Europe/London or America/New_York."},
	}
}

// passwordFields are the fields of the password change form; their values
// are never sent back.
func passwordFields() []field {
	const form = "password"
	return []field{
		{form: form, name: "current_password", label: "Current password", typ: "password", required: true, autocomplete: "current-password"},
		{form: form, name: "new_password", label: "New password", typ: "password", required: true, autocomplete: "new-password", maxlen: 200,
			hint: "10 to 200 characters."},
	}
}

// tokenScopes and tokenLifetimes are the choices of the new token form.
var (
	tokenScopes    = [][2]string{{store.ScopeRead, "Read only"}, {store.ScopeWrite, "Read and write"}}
	tokenLifetimes = [][2]string{{"30", "30 days"}, {"90", "90 days"}, {"365", "a year"}}
)

func tokenScope(scope string) string {
	if scope == store.ScopeWrite {
		return "read and write"
	}
	return "read only"
}

// activityURL is where an activity's change can be seen: its company.
func activityURL(a store.Activity) string {
	if a.CompanyID == nil {
		return "/"
	}
	return "/companies/" + strconv.FormatInt(*a.CompanyID, 10)
}
