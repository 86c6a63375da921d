package views

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/rolodex/rolodex/store"
)

// dateTimeLocal is the value format of <input type="datetime-local">.
// Meeting times are entered and shown in the viewer's time zone.
const dateTimeLocal = "2006-01-02T15:04"

// FormFromMeeting fills a form with a meeting's current fields, times in
// the datetime-local format in loc, the viewer's zone.
func FormFromMeeting(m *store.Meeting, loc *time.Location) Form {
	f := Form{Values: map[string]string{
		"type": m.Type, "subject": m.Subject, "details": m.Details,
		"starts_at":    store.Time(m.StartsAt).In(loc).Format(dateTimeLocal),
		"attendee_ids": AttendeeValue(m.AttendeeIDs),
	}}
	if m.EndsAt != nil {
		f.Values["ends_at"] = store.Time(*m.EndsAt).In(loc).Format(dateTimeLocal)
	}
	return f
}

// meetingFields are the fields of the meeting form after its type select.
// The times' labels name the zone they are read in.
func meetingFields(ctx context.Context, form string) []field {
	zone := " (" + zoneName(ctx) + ")"
	return []field{
		{form: form, name: "subject", label: "Subject", required: true, maxlen: 200, span2: true},
		{form: form, name: "starts_at", label: "Starts" + zone, typ: "datetime-local", required: true},
		{form: form, name: "ends_at", label: "Ends" + zone, typ: "datetime-local"},
		{form: form, name: "details", label: "Details", hint: "Markdown: **bold**, lists, tables, links.", maxlen: 20000, rows: 5, span2: true},
	}
}

// MeetingFilter is the meetings list's query as its URL carries it:
// /meetings?type=email&type=sms&status=open&from=2026-01-01&to=2026-01-31&sort=date&order=desc
type MeetingFilter struct {
	Types    []string
	Statuses []string
	From, To string // as given, normally YYYY-MM-DD (days in the viewer's zone)
	Sort     string // "date" or "updated"
	Desc     bool
	Cursor   string // the page shown ("" for the first)
}

// URL is the meetings page showing f from cursor ("" for the first page).
func (f MeetingFilter) URL(cursor string) string {
	q := url.Values{}
	for _, t := range f.Types {
		q.Add("type", t)
	}
	for _, s := range f.Statuses {
		q.Add("status", s)
	}
	if f.From != "" {
		q.Set("from", f.From)
	}
	if f.To != "" {
		q.Set("to", f.To)
	}
	q.Set("sort", f.sort())
	if f.Desc {
		q.Set("order", "desc")
	} else {
		q.Set("order", "asc")
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return "/meetings?" + q.Encode()
}

func (f MeetingFilter) sort() string {
	if f.Sort == "" {
		return "date"
	}
	return f.Sort
}

func (f MeetingFilter) hasType(t string) bool   { return has(f.Types, t) }
func (f MeetingFilter) hasStatus(s string) bool { return has(f.Statuses, s) }

// filtered reports whether f narrows the list at all.
func (f MeetingFilter) filtered() bool {
	return len(f.Types) > 0 || len(f.Statuses) > 0 || f.From != "" || f.To != ""
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// MeetingList is one page of the meetings list with what its rows and
// filters need.
type MeetingList struct {
	Filter    MeetingFilter
	Page      *store.MeetingPage       // nil when the filter was rejected
	Companies map[int64]*store.Company // the page's companies, by id
	Types     []string                 // the workspace's meeting types
	// Errors are the rejected filters' messages by parameter (type,
	// status, from, to, sort, order, cursor); Message says what went wrong.
	Errors  map[string]string
	Message string
}

func (l MeetingList) items() []store.Meeting {
	if l.Page == nil {
		return nil
	}
	return l.Page.Items
}

func (l MeetingList) next() string {
	if l.Page == nil {
		return ""
	}
	return l.Page.Next
}

func (l MeetingList) prev() string {
	if l.Page == nil {
		return ""
	}
	return l.Page.Prev
}

func (l MeetingList) companyName(cid int64) string {
	if c := l.Companies[cid]; c != nil {
		return c.Name
	}
	return ""
}

// count is the "N meetings" line; Count is -1 when there are too many to
// count cheaply.
func (l MeetingList) count() string {
	switch {
	case l.Page == nil:
		return ""
	case l.Page.Count < 0:
		return "Many meetings"
	case l.Page.Count == 1:
		return "1 meeting"
	}
	return strconv.FormatInt(l.Page.Count, 10) + " meetings"
}

// sortError joins the messages about sort and order.
func (l MeetingList) sortError() string {
	if l.Errors["sort"] != "" {
		return l.Errors["sort"]
	}
	return l.Errors["order"]
}

// filterError is the message of error slot slot beside the filters.
func (l MeetingList) filterError(slot string) string {
	if slot == "sort" {
		return l.sortError()
	}
	return l.Errors[slot]
}

// filterSlots are the error slots beside the filters (the cursor's error
// shows in the list itself).
var filterSlots = []string{"type", "status", "from", "to", "sort"}

// ariaSort is the aria-sort value of the column of sort col.
func (l MeetingList) ariaSort(col string) string {
	switch {
	case l.Filter.sort() != col:
		return "none"
	case l.Filter.Desc:
		return "descending"
	default:
		return "ascending"
	}
}

// meetingTypeLabel names a meeting type. The five a workspace starts with
// are stored as lowercase words and spelled out here; a type an admin
// added is shown exactly as entered ("SMS", "in-person demo").
func meetingTypeLabel(t string) string {
	switch t {
	case "email":
		return "E-mail"
	case "sms":
		return "SMS"
	case "call":
		return "Call"
	case "video":
		return "Video"
	case "in-person":
		return "In-person"
	}
	return t
}

func meetingPath(mid int64) string { return "/meetings/" + id(mid) }

// meetingDate is a meeting's start for the list, in the viewer's zone
// (the column's heading names it).
func meetingDate(ctx context.Context, ms int64) string {
	return localTime(ctx, ms).Format("Jan 2, 2006 15:04")
}

// editURL is the edit page of meeting mid, opened from this page of the
// list: saving, closing or deleting it comes back here (return).
func (l MeetingList) editURL(mid int64) string {
	return meetingPath(mid) + "/edit?" + url.Values{"return": {l.Filter.URL(l.Filter.Cursor)}}.Encode()
}

// statusAction is the status a meeting's Close/Reopen button sets and the
// button's label.
func statusAction(m *store.Meeting) (status, label string) {
	if m.Status == store.MeetingClosed {
		return store.MeetingOpen, "Reopen"
	}
	return store.MeetingClosed, "Close"
}

func statusTarget(m *store.Meeting) string {
	s, _ := statusAction(m)
	return s
}

func statusLabel(m *store.Meeting) string {
	_, l := statusAction(m)
	return l
}

// meetingFormFields are the meeting form's text fields; the first invalid
// one takes the focus unless the type select, which comes first, does.
func meetingFormFields(ctx context.Context, form string, f Form) []field {
	if f.Error("type") != "" {
		return meetingFields(ctx, form)
	}
	return withFocus(meetingFields(ctx, form), f)
}
