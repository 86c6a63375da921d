package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// Meetings: the add form and actions of the company page, the edit page,
// the meetings list, the admin's meeting types, and the JSON API. Client
// security is the store's: a meeting of a client the user does not have is
// not found.

var meetingFields = []string{"type", "subject", "starts_at", "ends_at", "details"}

// Times. Meetings store unix milliseconds; what people and programs send is
// read here, in one place:
//   - forms: <input type="datetime-local"> values (2026-03-01T14:00), a
//     wall clock time in the user's time zone (formTime);
//   - JSON bodies: unix milliseconds (a number) or an RFC 3339 string;
//   - list bounds (from, to): YYYY-MM-DD, RFC 3339 or unix milliseconds. A
//     bare date is a day in the user's zone on the page and in UTC in the
//     API, whose answers do not depend on who asks.

// Messages for malformed times in forms, in the words a person uses.
const (
	enterDate     = "Enter a date like 2026-03-01."
	enterDateTime = "Enter a date and time like 2026-03-01 14:00."
)

// formTime reads a datetime-local value (seconds optional) as a wall clock
// time in loc; an RFC 3339 time, which has its own offset, is accepted
// too. It answers the instant or, when there is none, what to tell the user.
//
// Around a change of the clocks a wall time may name two instants or none.
// When the clocks go back it happens twice (01:30 on 2026-10-25 in
// Europe/London, first in BST, then in GMT): it is read as the first, so
// that the same form always means the same instant. When they go forward
// it never happens (01:30 on 2026-03-29 in London): it is refused, rather
// than moved to a time the user did not write.
func formTime(s string, loc *time.Location) (int64, string) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UnixMilli(), ""
	}
	var wall time.Time // the clock's reading, held as if in UTC
	var err error
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if wall, err = time.Parse(layout, s); err == nil {
			break
		}
	}
	if err != nil {
		return 0, enterDateTime
	}
	// Each offset in force within a day of the wall time gives a candidate
	// instant; the ones whose clock in loc reads the wall time are its
	// instants. time.Date alone picks either of two, without promising which.
	var first time.Time
	for _, near := range []time.Time{wall.Add(-24 * time.Hour), wall, wall.Add(24 * time.Hour)} {
		_, offset := near.In(loc).Zone()
		t := wall.Add(-time.Duration(offset) * time.Second)
		if readsAs(t, loc, wall) && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	if first.IsZero() {
		return 0, fmt.Sprintf("%s does not exist in %s: the clocks go forward then. Enter a later time.",
			wall.Format("2006-01-02 15:04"), loc)
	}
	return first.UnixMilli(), ""
}

// readsAs reports whether a clock in loc shows wall at instant t.
func readsAs(t time.Time, loc *time.Location, wall time.Time) bool {
	local := t.In(loc)
	y, m, d := local.Date()
	hh, mm, ss := local.Clock()
	return time.Date(y, m, d, hh, mm, ss, local.Nanosecond(), time.UTC).Equal(wall)
}

// boundTime reads a from or to bound of the list. A bare date is midnight
// in loc; as the (exclusive) to bound it is the midnight after, so that
// to=2026-01-31 includes that day.
func boundTime(s string, to bool, loc *time.Location) (int64, bool) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ms, true
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		if to {
			t = t.AddDate(0, 0, 1)
		}
		return t.UnixMilli(), true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UnixMilli(), true
	}
	return 0, false
}

// jsonTime reads a time of a JSON body into p's field name: a number of
// unix milliseconds or an RFC 3339 string. Absent or null is nil.
func jsonTime(p store.Problems, name string, raw json.RawMessage) *int64 {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var ms int64
	if err := json.Unmarshal(raw, &ms); err == nil {
		return &ms
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			ms = t.UnixMilli()
			return &ms
		}
	}
	p.Add(name, "Give unix milliseconds or an RFC 3339 time such as 2026-03-01T14:00:00Z.")
	return nil
}

// meetingInput reads the meeting form, its times in loc. A time that is
// not a date and time is reported here; the store checks everything else.
func meetingInput(f views.Form, loc *time.Location) (store.MeetingInput, error) {
	v := f.Values
	in := store.MeetingInput{Type: v["type"], Subject: v["subject"], Details: v["details"]}
	p := store.Problems{}
	if s := strings.TrimSpace(v["starts_at"]); s != "" {
		ms, problem := formTime(s, loc)
		if problem != "" {
			p.Add("starts_at", problem)
		}
		in.StartsAt = ms
	}
	if s := strings.TrimSpace(v["ends_at"]); s != "" {
		ms, problem := formTime(s, loc)
		if problem == enterDateTime {
			problem = "Enter a date and time like 2026-03-01 15:00, or leave it empty."
		}
		if problem != "" {
			p.Add("ends_at", problem)
		}
		in.EndsAt = &ms
	}
	return in, p.Err()
}

// meetingBody is the JSON of POST /api/v1/companies/{id}/meetings and PUT
// /api/v1/meetings/{id}. An absent status is open for a new meeting and
// unchanged for an edit; an absent ends_at is none.
type meetingBody struct {
	Type     string          `json:"type"`
	Status   string          `json:"status"`
	Subject  string          `json:"subject"`
	Details  string          `json:"details"`
	StartsAt json.RawMessage `json:"starts_at"`
	EndsAt   json.RawMessage `json:"ends_at"`
	// Room, when present, sets the live room in the same transaction
	// (as PUT /api/v1/meetings/{id}/room would).
	Room *store.RoomInput `json:"room"`
	// AttendeeIDs are contacts of the meeting's company. Absent is none
	// for a new meeting and, on PUT, leaves the attendees as they are, so
	// a client that predates attendees does not drop them.
	AttendeeIDs *[]int64 `json:"attendee_ids"`
}

func (b meetingBody) input() (store.MeetingInput, error) {
	p := store.Problems{}
	in := store.MeetingInput{Type: b.Type, Status: b.Status, Subject: b.Subject, Details: b.Details, EndsAt: jsonTime(p, "ends_at", b.EndsAt), Room: b.Room, Attendees: b.AttendeeIDs}
	if ms := jsonTime(p, "starts_at", b.StartsAt); ms != nil {
		in.StartsAt = *ms
	}
	return in, p.Err()
}

// decodeMeeting reads a meetingBody from r.
func decodeMeeting(r *http.Request) (store.MeetingInput, error) {
	var b meetingBody
	if err := decodeJSON(r, &b); err != nil {
		return store.MeetingInput{}, err
	}
	return b.input()
}

// meetingQuery reads the list's filters from the URL, for the page and the
// API alike: type and status (repeated), from, to, sort, order, cursor and
// limit. Bare dates are days in loc. Malformed dates (told badDate), order
// and limit are reported here with the parameter as the field; the store
// reports unknown types, statuses and sorts and bad cursors the same way.
func meetingQuery(r *http.Request, loc *time.Location, badDate string) (store.MeetingQuery, views.MeetingFilter, error) {
	q := r.URL.Query()
	f := views.MeetingFilter{Types: nonEmpty(q["type"]), Statuses: nonEmpty(q["status"]),
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")), Sort: q.Get("sort"), Cursor: q.Get("cursor")}
	p := store.Problems{}
	switch q.Get("order") {
	case "", "desc": // newest first unless asked
		f.Desc = true
	case "asc":
	default:
		p.Add("order", "Use asc or desc.")
	}
	mq := store.MeetingQuery{Types: f.Types, Statuses: f.Statuses, Sort: f.Sort, Desc: f.Desc, Cursor: q.Get("cursor")}
	for _, b := range []struct {
		name, s string
		to      bool
		ms      *int64
	}{{"from", f.From, false, &mq.From}, {"to", f.To, true, &mq.To}} {
		if b.s == "" {
			continue
		}
		ms, ok := boundTime(b.s, b.to, loc)
		if !ok {
			p.Add(b.name, badDate)
		}
		*b.ms = ms
	}
	mq.Limit = limitParam(q)
	return mq, f, p.Err()
}

func nonEmpty(list []string) []string {
	var out []string
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// meetingList reads the page of the list that q asks for and names its
// companies in one query. A company that is no longer visible by then (it
// was just unassigned or deleted) takes its rows with it.
func (h *Handler) meetingList(ctx context.Context, u *store.User, q store.MeetingQuery) (*store.MeetingPage, map[int64]*store.Company, error) {
	page, err := h.Store.ListMeetings(ctx, u, q)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]int64, 0, len(page.Items))
	seen := map[int64]bool{}
	for _, m := range page.Items {
		if !seen[m.CompanyID] {
			seen[m.CompanyID] = true
			ids = append(ids, m.CompanyID)
		}
	}
	companies, err := h.Store.CompaniesByID(ctx, u, ids)
	if err != nil {
		return nil, nil, err
	}
	items := page.Items[:0]
	for _, m := range page.Items {
		if companies[m.CompanyID] != nil {
			items = append(items, m)
		}
	}
	page.Items = items
	return page, companies, nil
}

// listMeetings is the meetings page; with htmx, the #meeting-list region
// (and the filters' error slots). Rejected filters answer 422 with their
// messages beside them.
func (h *Handler) listMeetings(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	types, err := h.Store.MeetingTypes(r.Context(), u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q, f, err := meetingQuery(r, u.Location(), enterDate)
	l := views.MeetingList{Filter: f, Types: types}
	if err == nil {
		l.Page, l.Companies, err = h.meetingList(r.Context(), u, q)
	}
	st := http.StatusOK
	switch {
	case invalid(err):
		st, l.Page = http.StatusUnprocessableEntity, nil
		l.Errors, l.Message = store.ErrorFields(err), store.ErrorMessage(err)
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.MeetingsPage(h.page(r, "Meetings"), l), views.MeetingListAnswer(l))
}

// addMeeting adds a meeting from the company page; see added.
func (h *Handler) addMeeting(w http.ResponseWriter, r *http.Request) {
	c, ok := h.company(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := formOf(r, meetingFields...)
	in, err := meetingInput(f, userFrom(r.Context()).Location())
	in.Room = roomFormInput(r, f)
	in.Attendees = attendeesFormInput(r, f)
	var m *store.Meeting
	if err == nil {
		m, err = h.Store.CreateMeeting(r.Context(), userFrom(r.Context()), c.ID, in)
	}
	h.added(w, r, c, store.TypeMeeting, m, f, err)
}

// meeting loads the {id} meeting of r for its user, or answers 404.
func (h *Handler) meeting(w http.ResponseWriter, r *http.Request) (*store.Meeting, bool) {
	id, err := pathID(r, "id")
	if err == nil {
		var m *store.Meeting
		if m, err = h.Store.Meeting(r.Context(), userFrom(r.Context()), id); err == nil {
			return m, true
		}
	}
	h.fail(w, r, err)
	return nil, false
}

// listReturn is the page of the meetings list that r's meeting was opened
// from (its return parameter), or "" when there is none. Only the list
// itself is accepted, rebuilt from its parsed query, so the parameter can
// never send anyone to another site or page.
func listReturn(r *http.Request) string {
	back := safeNext(r.FormValue("return"))
	if p, _, _ := strings.Cut(back, "?"); p != "/meetings" {
		return ""
	}
	return back
}

// afterMeeting sends the browser back to the meetings list page it came
// from, or else to the meeting's company.
func afterMeeting(w http.ResponseWriter, r *http.Request, m *store.Meeting) {
	if back := listReturn(r); back != "" {
		redirect(w, r, back)
		return
	}
	redirect(w, r, companyURL(m.CompanyID))
}

// meetingEditPage renders the edit form with f; fresh says f holds the
// meeting as stored, so the room section is filled from the room.
func (h *Handler) meetingEditPage(w http.ResponseWriter, r *http.Request, st int, m *store.Meeting, f views.Form, fresh bool) {
	u := userFrom(r.Context())
	c, err := h.Store.Company(r.Context(), u, m.CompanyID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	types, err := h.Store.MeetingTypes(r.Context(), u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	room, err := h.Store.Room(r.Context(), u, m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var choices *views.RoomChoices
	if room.CanManage {
		if choices, err = h.roomChoices(r, c.ID); err != nil {
			h.fail(w, r, err)
			return
		}
		if fresh {
			maps.Copy(f.Values, views.RoomSettingsValues(room).Values)
		}
	}
	attendees, err := h.attendeeChoices(r, c.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if fresh && choices != nil && room.Access == store.AccessAudience && f.Values["audience"] == "" {
		// A room for its audience only, with none yet, offers the
		// attendees ticked: who comes to the meeting is who a restricted
		// room is for. Not a public one, where saving the form unchanged
		// would give it an audience.
		var emails []string
		for _, ct := range attendees.Contacts {
			if ct.Email != "" && slices.Contains(m.AttendeeIDs, ct.ID) {
				emails = append(emails, strings.ToLower(ct.Email))
			}
		}
		f.Values["audience"] = strings.Join(emails, "\n")
	}
	h.render(w, r, st, views.MeetingEditPage(h.page(r, "Edit meeting"), c, m, types, choices, attendees, f, listReturn(r)), nil)
}

// attendeeChoices is what the meeting form offers as attendees.
func (h *Handler) attendeeChoices(r *http.Request, companyID int64) (*views.AttendeeChoices, error) {
	contacts, err := h.Store.CompanyContacts(r.Context(), userFrom(r.Context()), companyID)
	if err != nil {
		return nil, err
	}
	return &views.AttendeeChoices{Contacts: contacts}, nil
}

// attendeesFormInput reads the meeting form's attendees into f (ids a
// space apart) and returns them, or nil when the form had no attendee
// section (a company without contacts): the attendees are then left as
// they are. An id that is not a number is refused like another company's.
func attendeesFormInput(r *http.Request, f views.Form) *[]int64 {
	if r.PostFormValue("attendees") == "" {
		return nil
	}
	ids := []int64{}
	for _, s := range r.PostForm["attendee_ids"] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			n = -1 // no contact has it
		}
		ids = append(ids, n)
	}
	f.Values["attendee_ids"] = views.AttendeeValue(ids)
	return &ids
}

// roomChoices is what the meeting form offers for a room's audience.
func (h *Handler) roomChoices(r *http.Request, companyID int64) (*views.RoomChoices, error) {
	invitees, err := h.Store.RoomInvitees(r.Context(), userFrom(r.Context()), companyID)
	if err != nil {
		return nil, err
	}
	return &views.RoomChoices{Invitees: invitees}, nil
}

// roomFormInput reads the meeting form's "Live room" section into f (the
// audience as one address a line) and returns its settings, or nil when
// the form had no such section: the room is then left as it is.
func roomFormInput(r *http.Request, f views.Form) *store.RoomInput {
	if r.PostFormValue("room") == "" {
		return nil
	}
	audience := slices.Concat(r.PostForm["audience"], splitAddresses(r.PostFormValue("audience_more")))
	in := &store.RoomInput{Access: r.PostFormValue("access"), Audience: audience, VideoURL: r.PostFormValue("video_url")}
	f.Values["room"], f.Values["access"], f.Values["video_url"] = "1", in.Access, in.VideoURL
	f.Values["audience"] = strings.Join(audience, "\n")
	return in
}

func (h *Handler) editMeeting(w http.ResponseWriter, r *http.Request) {
	if m, ok := h.meeting(w, r); ok {
		h.meetingEditPage(w, r, http.StatusOK, m, views.FormFromMeeting(m, userFrom(r.Context()).Location()), true)
	}
}

func (h *Handler) updateMeeting(w http.ResponseWriter, r *http.Request) {
	m, ok := h.meeting(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := formOf(r, meetingFields...)
	in, err := meetingInput(f, userFrom(r.Context()).Location())
	in.Room = roomFormInput(r, f)
	in.Attendees = attendeesFormInput(r, f)
	if err == nil {
		_, err = h.Store.UpdateMeeting(r.Context(), userFrom(r.Context()), m.ID, in)
	}
	if invalid(err) {
		h.meetingEditPage(w, r, http.StatusUnprocessableEntity, m, withErr(f, err), false)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if in.Room != nil {
		// Guests taken out of the room by the new audience.
		h.Rooms.Changed(r.Context(), userFrom(r.Context()).WorkspaceID, m.ID)
	}
	h.flash(w, r, "Meeting saved.")
	afterMeeting(w, r, m)
}

// setMeetingStatus closes (status=closed) or reopens (status=open) a
// meeting.
func (h *Handler) setMeetingStatus(w http.ResponseWriter, r *http.Request) {
	m, ok := h.meeting(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.Store.SetMeetingStatus(r.Context(), userFrom(r.Context()), m.ID, r.PostFormValue("status"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if m.Status == store.MeetingClosed {
		h.flash(w, r, "Meeting closed.")
	} else {
		h.flash(w, r, "Meeting reopened.")
	}
	afterMeeting(w, r, m)
}

func (h *Handler) deleteMeeting(w http.ResponseWriter, r *http.Request) {
	m, ok := h.meeting(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.Store.DeleteMeeting(r.Context(), userFrom(r.Context()), m.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, "Meeting deleted.")
	afterMeeting(w, r, m)
}

func (h *Handler) meetingTypesPage(w http.ResponseWriter, r *http.Request, st int, f views.Form) {
	types, err := h.Store.MeetingTypes(r.Context(), userFrom(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.MeetingTypesPage(h.page(r, "Meeting types"), types, f), nil)
}

func (h *Handler) listMeetingTypes(w http.ResponseWriter, r *http.Request) {
	h.meetingTypesPage(w, r, http.StatusOK, views.Form{})
}

func (h *Handler) addMeetingType(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := formOf(r, "name")
	name, err := h.Store.AddMeetingType(r.Context(), userFrom(r.Context()), f.Values["name"])
	if invalid(err) {
		h.meetingTypesPage(w, r, http.StatusUnprocessableEntity, withErr(f, err))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, "Meeting type “"+name+"” added.")
	redirect(w, r, "/admin/meeting-types")
}

// JSON API.

func (h *Handler) apiListMeetings(w http.ResponseWriter, r *http.Request) {
	q, _, err := meetingQuery(r, time.UTC, "Use a date (2026-01-31), an RFC 3339 time or unix milliseconds.")
	var page *store.MeetingPage
	if err == nil {
		page, err = h.Store.ListMeetings(r.Context(), userFrom(r.Context()), q)
	}
	if err == nil {
		err = h.Store.FillAttendees(r.Context(), userFrom(r.Context()), page.Items)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Items      []store.Meeting `json:"items"`
		NextCursor string          `json:"next_cursor"`
		PrevCursor string          `json:"prev_cursor"`
		Count      int64           `json:"count"` // -1: too many to count cheaply
	}{page.Items, page.Next, page.Prev, page.Count})
}

func meetingAPIURL(id int64) string { return "/api/v1/meetings/" + strconv.FormatInt(id, 10) }

func (h *Handler) apiCreateMeeting(w http.ResponseWriter, r *http.Request) {
	if m, ok := h.apiSaveMeeting(w, r, h.Store.CreateMeeting); ok {
		w.Header().Set("Location", meetingAPIURL(m.ID))
		writeJSON(w, http.StatusCreated, m)
	}
}

func (h *Handler) apiGetMeeting(w http.ResponseWriter, r *http.Request) {
	if m, ok := h.meeting(w, r); ok {
		writeJSON(w, http.StatusOK, m)
	}
}

// apiUpdateMeeting replaces a meeting's fields (an absent ends_at removes
// the end; an absent status keeps it).
func (h *Handler) apiUpdateMeeting(w http.ResponseWriter, r *http.Request) {
	if m, ok := h.apiSaveMeeting(w, r, h.Store.UpdateMeeting); ok {
		writeJSON(w, http.StatusOK, m)
	}
}

// apiSaveMeeting hands the {id} path value (a company to create in, or the
// meeting to update) and the JSON body to save, answering errors itself.
func (h *Handler) apiSaveMeeting(w http.ResponseWriter, r *http.Request,
	save func(context.Context, *store.User, int64, store.MeetingInput) (*store.Meeting, error)) (*store.Meeting, bool) {
	id, err := pathID(r, "id")
	var m *store.Meeting
	if err == nil {
		var in store.MeetingInput
		if in, err = decodeMeeting(r); err == nil {
			m, err = save(r.Context(), userFrom(r.Context()), id, in)
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return m, true
}

// apiPatchMeeting changes the fields sent of a meeting (jsonEdit).
func (h *Handler) apiPatchMeeting(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	var e jsonEdit
	if err == nil {
		e, err = readEdit(r)
	}
	var m *store.Meeting
	if err == nil {
		m, err = h.Store.ChangeMeeting(r.Context(), userFrom(r.Context()), id, func(cur *store.Meeting) (store.MeetingInput, error) {
			var b meetingBody
			body, err := e.body(meetingBodyOf(cur))
			if err == nil {
				err = decodeBody(body, &b)
			}
			if err != nil {
				return store.MeetingInput{}, err
			}
			return b.input()
		})
	}
	if err != nil {
		h.failEdit(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// meetingBodyOf is a meeting as the body of its PUT: one line per field.
func meetingBodyOf(m *store.Meeting) meetingBody {
	return meetingBody{Type: m.Type, Status: m.Status, Subject: m.Subject, Details: m.Details,
		StartsAt: rawJSON(m.StartsAt), EndsAt: rawJSON(m.EndsAt)}
}

// rawJSON is v encoded, for a json.RawMessage field; v is a number or nil.
func rawJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func (h *Handler) apiDeleteMeeting(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err == nil {
		err = h.Store.DeleteMeeting(r.Context(), userFrom(r.Context()), id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
