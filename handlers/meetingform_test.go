package handlers_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/rolodex/rolodex/store"
)

// servedForm is what a browser would submit, unchanged, from the form of
// page whose action is action: its inputs (checkboxes and radios only
// when checked), textareas and selects' chosen options.
func servedForm(t *testing.T, page, action string) url.Values {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(n *html.Node, key string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == key {
				return a.Val, true
			}
		}
		return "", false
	}
	var form *html.Node
	for n := range doc.Descendants() {
		if a, _ := attr(n, "action"); n.Type == html.ElementNode && n.Data == "form" && a == action {
			form = n
			break
		}
	}
	if form == nil {
		t.Fatalf("no form with action %s in\n%s", action, page)
	}
	out := url.Values{}
	for n := range form.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		name, ok := attr(n, "name")
		if _, disabled := attr(n, "disabled"); !ok || disabled {
			continue
		}
		switch n.Data {
		case "input":
			typ, _ := attr(n, "type")
			_, checked := attr(n, "checked")
			if (typ == "checkbox" || typ == "radio") && !checked || typ == "submit" {
				continue
			}
			v, _ := attr(n, "value")
			out.Add(name, v)
		case "textarea":
			var b strings.Builder
			for c := range n.ChildNodes() {
				b.WriteString(c.Data)
			}
			out.Add(name, b.String())
		case "select":
			first, chosen := "", ""
			for o := range n.Descendants() {
				if o.Type == html.ElementNode && o.Data == "option" {
					v, _ := attr(o, "value")
					if first == "" {
						first = v
					}
					if _, sel := attr(o, "selected"); sel {
						chosen = v
					}
				}
			}
			out.Add(name, cmp.Or(chosen, first))
		}
	}
	return out
}

// TestMeetingEditSavedAsServed: saving a meeting's edit page as it was
// served changes nothing, though the meeting has attendees and its room,
// open to everyone (or not made yet), has no audience.
func TestMeetingEditSavedAsServed(t *testing.T) {
	for name, room := range map[string]*store.RoomInput{"no room": nil, "public room": {Access: store.AccessPublic}} {
		t.Run(name, func(t *testing.T) { testMeetingEditSavedAsServed(t, room) })
	}
}

func testMeetingEditSavedAsServed(t *testing.T, room *store.RoomInput) {
	a := newTestApp(t)
	ctx := context.Background()
	boss := a.User(t, "boss@example.com", store.RoleAdmin)
	acme := mustCompany(t, a, "Acme")
	ann, err := a.Store.AddContact(ctx, admin(), acme.ID, store.ContactInput{Name: "Ann", Email: "ann@acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Store.CreateMeeting(ctx, boss, acme.ID, store.MeetingInput{Type: "call", Subject: "Hi", StartsAt: 1772373600000, Attendees: &[]int64{ann.ID}, Room: room})
	if err != nil {
		t.Fatal(err)
	}
	activities := func() []string {
		t.Helper()
		p, err := a.Store.Activities(ctx, boss, store.ActivityQuery{CompanyID: acme.ID, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, act := range p.Items {
			out = append(out, act.Summary)
		}
		return out
	}
	before := activities()
	c := a.client(t, boss)
	edit := fmt.Sprintf("/meetings/%d", m.ID)
	resp, body := do(t, c, "GET", a.Server.URL+edit+"/edit", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("edit page: %d", resp.StatusCode)
	}
	form := servedForm(t, body, edit)
	if form.Get("access") != store.AccessPublic || form.Get("subject") != "Hi" {
		t.Fatalf("served form %v: want a public room and the subject", form)
	}
	resp, body = do(t, c, "POST", a.Server.URL+edit, formType, form.Encode())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save as served: %d\n%s", resp.StatusCode, body)
	}
	if got := activities(); len(got) != len(before) {
		t.Errorf("saving as served recorded %q, want nothing (form %v)", got[:len(got)-len(before)], form)
	}
	r, err := a.Store.Room(ctx, boss, m.ID)
	if err != nil || r.Access != store.AccessPublic || len(r.Audience) != 0 {
		t.Errorf("room after saving as served: %+v, %v", r, err)
	}
}
