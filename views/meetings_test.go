package views

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rolodex/rolodex/store"
)

var meetingTypes = []string{"email", "sms", "call", "video", "in-person"}

func TestMeetingNav(t *testing.T) {
	out := render(t, Layout(Page{User: staff}))
	contains(t, out, `href="/meetings"`)
	lacks(t, out, `href="/admin/meeting-types"`)
	contains(t, render(t, Layout(Page{User: admin})), `href="/meetings"`, `href="/admin/meeting-types"`)
}

func TestMeetingForm(t *testing.T) {
	out := render(t, MeetingForm(evilCompany, meetingTypes, nil, nil, Form{}))
	form := tagWith(t, out, `id="meeting-form"`)
	for _, a := range []string{`method="post"`, `action="/companies/7/meetings"`, `hx-post="/companies/7/meetings"`, `hx-target="#timeline"`, `hx-swap="outerHTML"`} {
		if !strings.Contains(form, a) {
			t.Errorf("form %s lacks %s", form, a)
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(out), "<form") {
		t.Error("partial is not the form itself (outerHTML swaps need that)")
	}
	contains(t, out, `<select id="meeting-type" name="type" required>`, `<option value="in-person">In-person</option>`,
		`name="subject"`, `id="meeting-starts_at" name="starts_at" type="datetime-local"`, "Starts (UTC)",
		`name="ends_at" type="datetime-local"`, "Ends (UTC)", `<textarea id="meeting-details" name="details"`)

	f := Form{Values: map[string]string{"type": "sms", "subject": "<hi>", "starts_at": "2026-03-01T14:00"},
		Errors: map[string]string{"type": "Choose one of email, sms.", "ends_at": "The meeting cannot end before it starts."}, Message: "Please correct the highlighted fields."}
	out = render(t, MeetingForm(evilCompany, meetingTypes, nil, nil, f))
	contains(t, out, `<option value="sms" selected>`, `value="&lt;hi&gt;"`, `value="2026-03-01T14:00"`,
		`id="meeting-type-error">Choose one of email, sms.</p>`, `id="meeting-ends_at-error">The meeting cannot end before it starts.</p>`,
		"Please correct the highlighted fields.")
	if sel := tagWith(t, out, `id="meeting-type"`); !strings.Contains(sel, `aria-invalid="true"`) || !strings.Contains(sel, "autofocus") {
		t.Errorf("type select %s not marked invalid and focused", sel)
	}
	if e := tagWith(t, out, `id="meeting-ends_at"`); strings.Contains(e, "autofocus") {
		t.Errorf("second invalid field has the focus: %s", e)
	}
}

func TestCompanyPageMeetingForm(t *testing.T) {
	forms := ItemForms{MeetingTypes: meetingTypes}.With(store.TypeMeeting, Form{Errors: map[string]string{"subject": "This field is required."}})
	out := render(t, CompanyPage(Page{User: staff}, evilCompany, Timeline{Company: evilCompany}, forms))
	contains(t, out, "Add a meeting", `id="meeting-subject-error">This field is required.</p>`, `<option value="video">Video</option>`)
	if n := strings.Count(out, `<details class="add" open`); n != 1 {
		t.Errorf("%d open add forms, want 1", n)
	}
	// OpenForm answers htmx with that form alone.
	out = render(t, forms.OpenForm(evilCompany))
	if !strings.HasPrefix(strings.TrimSpace(out), `<form id="meeting-form"`) {
		t.Errorf("OpenForm: %.200s", out)
	}
}

func TestMeetingTimelineClosed(t *testing.T) {
	tl := Timeline{Company: evilCompany, Items: []store.TimelineItem{
		{Type: store.TypeMeeting, ID: 22, CompanyID: 7, CreatedAt: hourAgo, Meeting: &store.Meeting{ID: 22, CompanyID: 7,
			Type: "call", Status: store.MeetingClosed, Subject: "Done", StartsAt: hourAgo}},
	}}
	out := render(t, TimelineSection(tl))
	contains(t, out, `<input type="hidden" name="status" value="open">`, ">Reopen</button>", `aria-label="Reopen meeting “Done”"`)
}

func TestMeetingEditPage(t *testing.T) {
	end := hourAgo + 30*60*1000
	m := &store.Meeting{ID: 21, CompanyID: 7, Type: "video", Status: store.MeetingOpen, Subject: `Demo "1"`, Details: "\nnotes",
		StartsAt: hourAgo, EndsAt: &end, UpdatedAt: hourAgo}
	out := render(t, MeetingEditPage(Page{User: staff}, evilCompany, m, meetingTypes, nil, nil, FormFromMeeting(m, time.UTC), ""))
	contains(t, out, `action="/meetings/21"`, `<option value="video" selected>`, `value="Demo &#34;1&#34;"`,
		`value="2025-06-15T11:00"`, `value="2025-06-15T11:30"`, "\n\nnotes</textarea>",
		`action="/meetings/21/status"`, `value="closed"`, `action="/meetings/21/delete"`, `href="/companies/7"`, "Edit meeting")
	if n := strings.Count(out, `id="edit-`); n < 5 {
		t.Errorf("edit form has %d fields", n)
	}
}

func sampleMeetingList() MeetingList {
	end := hourAgo
	return MeetingList{
		Filter: MeetingFilter{Types: []string{"email", "sms"}, Statuses: []string{"open"}, From: "2025-01-01", To: "2025-12-31", Sort: "date", Desc: true},
		Types:  meetingTypes,
		Page: &store.MeetingPage{Count: 42, Next: "N/1", Prev: "P1", Items: []store.Meeting{
			{ID: 31, CompanyID: 7, Type: "email", Status: store.MeetingOpen, Subject: "<Quote>", StartsAt: hourAgo, EndsAt: &end, UpdatedAt: hourAgo},
		}},
		Companies: map[int64]*store.Company{7: evilCompany},
	}
}

func TestMeetingsPage(t *testing.T) {
	l := sampleMeetingList()
	out := render(t, MeetingsPage(Page{Title: "Meetings", User: staff}, l))
	form := tagWith(t, out, `id="meeting-filters"`)
	for _, a := range []string{`method="get"`, `action="/meetings"`, `hx-get="/meetings"`, `hx-trigger="change`, `hx-target="#meeting-list"`, `hx-push-url="true"`} {
		if !strings.Contains(form, a) {
			t.Errorf("filter form %s lacks %s", form, a)
		}
	}
	contains(t, out,
		`<input type="checkbox" name="type" value="email" checked>`, `<input type="checkbox" name="type" value="sms" checked>`,
		`<input type="checkbox" name="type" value="call">`, `<input type="checkbox" name="status" value="open" checked>`,
		`<input type="checkbox" name="status" value="closed">`,
		`type="date" name="from" value="2025-01-01"`, `type="date" name="to" value="2025-12-31"`,
		`<option value="date" selected>`, `<option value="desc" selected>`,
		`<div id="meeting-list"`, "42 meetings",
		`href="/companies/7">&lt;b&gt;x&lt;/b&gt;</a>`, `href="/meetings/31/edit?return=%2Fmeetings%3Ffrom%3D2025-01-01%26order%3Ddesc%26sort%3Ddate%26status%3Dopen%26to%3D2025-12-31%26type%3Demail%26type%3Dsms">&lt;Quote&gt;</a>`, ">E-mail</td>", ">open</span>",
		"Jun 15, 2025 11:00", `aria-sort="descending">Date`)
	lacks(t, out, "<b>x</b>", "<Quote>", `hx-swap-oob`)
	// The pager keeps every filter.
	next := tagWith(t, out, `cursor=N%2F1`)
	want := "/meetings?cursor=N%2F1&amp;from=2025-01-01&amp;order=desc&amp;sort=date&amp;status=open&amp;to=2025-12-31&amp;type=email&amp;type=sms"
	for _, a := range []string{`href="` + want + `"`, `hx-get="` + want + `"`, `hx-target="#meeting-list"`, `hx-push-url="true"`} {
		if !strings.Contains(next, a) {
			t.Errorf("next link %s lacks %s", next, a)
		}
	}
	contains(t, out, "cursor=P1")

	// Counts.
	l.Page.Count = -1
	contains(t, render(t, MeetingRows(l)), "Many meetings")
	l.Page.Count = 1
	contains(t, render(t, MeetingRows(l)), "1 meeting<")
}

func TestMeetingRowsEmpty(t *testing.T) {
	l := MeetingList{Types: meetingTypes, Page: &store.MeetingPage{Items: []store.Meeting{}}}
	out := render(t, MeetingsPage(Page{User: staff}, l))
	contains(t, out, "No meetings yet")
	lacks(t, out, "<table", "Clear filters")
	l.Filter.Statuses = []string{"closed"}
	contains(t, render(t, MeetingRows(l)), "No meetings match these filters", "Clear filters")
}

func TestMeetingListErrors(t *testing.T) {
	l := MeetingList{Types: meetingTypes, Filter: MeetingFilter{Types: []string{"fax"}, To: "soon"},
		Errors:  map[string]string{"type": "Choose among email, sms.", "to": "Use a date.", "cursor": "Not a cursor this server issued."},
		Message: "Please correct the highlighted fields."}
	out := render(t, MeetingsPage(Page{User: staff}, l))
	contains(t, out, `<div id="filter-type-error" class="filter-error"><p class="field-error">Choose among email, sms.</p>`,
		`<div id="filter-to-error" class="filter-error"><p class="field-error">Use a date.</p>`,
		"Not a cursor this server issued.", "Please correct the highlighted fields.")
	if to := tagWith(t, out, `id="filter-to"`); !strings.Contains(to, `aria-invalid="true"`) {
		t.Errorf("to input %s not marked invalid", to)
	}
	// The htmx answer: the region, and every error slot out of band (the
	// empty ones clear what an earlier answer showed).
	out = render(t, MeetingListAnswer(l))
	if !strings.HasPrefix(strings.TrimSpace(out), `<div id="meeting-list"`) {
		t.Errorf("answer does not start with the region: %.100s", out)
	}
	for _, slot := range []string{"type", "status", "from", "to", "sort"} {
		tagWith(t, out, `id="filter-`+slot+`-error"`, `hx-swap-oob="true"`)
	}
	contains(t, out, "Choose among email, sms.", "Start from the first page")
	lacks(t, out, `id="meeting-filters"`)
	// Without a bad cursor, the way out is to clear the filters.
	delete(l.Errors, "cursor")
	out = render(t, MeetingRows(l))
	contains(t, out, `<a class="button" href="/meetings">Clear filters</a>`)
	lacks(t, out, "Start from the first page")
}

func TestMeetingTypesPage(t *testing.T) {
	f := Form{Values: map[string]string{"name": "Fax!"}, Errors: map[string]string{"name": "Use 1 to 32 letters a-z, digits or hyphens."}, Message: "Please correct the highlighted fields."}
	out := render(t, MeetingTypesPage(Page{User: admin}, meetingTypes, f))
	contains(t, out, "In-person", "<code class=\"muted\">in-person</code>", `<form method="post" action="/admin/meeting-types">`,
		`value="Fax!"`, `id="mtype-name-error">Use 1 to 32 letters a-z, digits or hyphens.</p>`)
}

// TestMeetingTimesInViewerZone: one stored meeting reads in each viewer's
// own zone on the timeline (whose items are cached: the zone is part of the
// key), in the list and in the edit form, and the labels name the zone.
func TestMeetingTimesInViewerZone(t *testing.T) {
	start := time.Date(2026, 7, 1, 13, 0, 0, 0, time.UTC).UnixMilli() // 14:00 in London, 09:00 in New York
	m := store.Meeting{ID: 41, CompanyID: 7, Type: "call", Status: store.MeetingOpen, Subject: "Zones", StartsAt: start, UpdatedAt: hourAgo}
	tl := Timeline{Company: evilCompany, Items: []store.TimelineItem{{Type: store.TypeMeeting, ID: 41, CompanyID: 7, CreatedAt: start, Meeting: &m}}}
	l := sampleMeetingList()
	l.Page.Items = []store.Meeting{m}
	for _, tc := range []struct{ zone, clock string }{
		{"Europe/London", "14:00"}, {"America/New_York", "09:00"}, {"Europe/London", "14:00"},
	} {
		loc, ok := store.Zone(tc.zone)
		if !ok {
			t.Fatalf("zone %s", tc.zone)
		}
		ctx := WithZone(context.Background(), loc)
		var b strings.Builder
		if err := TimelineSection(tl).Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		contains(t, b.String(), "Wed, Jul 1, 2026 "+tc.clock+" "+tc.zone, `title="Jul 1, 2026 `+tc.clock+" "+tc.zone+`"`)
		b.Reset()
		if err := MeetingsPage(Page{User: staff}, l).Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		contains(t, b.String(), "Jul 1, 2026 "+tc.clock+"</time>", "Date ("+tc.zone+")", `<span class="optional">(`+tc.zone+`)</span>`)
		b.Reset()
		if err := MeetingEditPage(Page{User: staff}, evilCompany, &m, meetingTypes, nil, nil, FormFromMeeting(&m, loc), "").Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		contains(t, b.String(), `value="2026-07-01T`+tc.clock+`"`, "Starts ("+tc.zone+")", "Ends ("+tc.zone+")")
	}
}

// TestMeetingListReturn: a meeting opened from the list carries the list's
// page (filters and cursor) to its edit page, whose forms send it back.
func TestMeetingListReturn(t *testing.T) {
	l := sampleMeetingList()
	l.Filter.Cursor = "P1"
	out := render(t, MeetingRows(l))
	back := l.Filter.URL("P1")
	contains(t, out, `href="/meetings/31/edit?return=`+strings.ReplaceAll(url.QueryEscape(back), "&", "&amp;")+`"`)
	m := &l.Page.Items[0]
	out = render(t, MeetingEditPage(Page{User: staff}, evilCompany, m, meetingTypes, nil, nil, FormFromMeeting(m, time.UTC), back))
	field := `<input type="hidden" name="return" value="` + strings.ReplaceAll(back, "&", "&amp;") + `">`
	if n := strings.Count(out, field); n != 3 {
		t.Errorf("%d return fields, want 3 (save, close, delete):\n%s", n, out)
	}
	lacks(t, render(t, MeetingEditPage(Page{User: staff}, evilCompany, m, meetingTypes, nil, nil, FormFromMeeting(m, time.UTC), "")), `name="return"`)
}
