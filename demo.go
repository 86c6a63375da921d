package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/rolodex/rolodex/store"
)

// demoPassword is the password of the demo staff users. It is printed and
// documented: demo data is for trying Rolodex out, not for production.
const demoPassword = "rolodex-demo"

var demoWords = struct{ first, second, kind, towns, states, people, surnames, roles []string }{
	first:    strings.Fields("Anderton Bright Cedar Delta Ember Falcon Granite Harbor Iris Juniper Kestrel Lumen Maple Northwind Orchard Pioneer Quartz Riverside Summit Tidal Union Vertex Willow Yellowstone Zenith"),
	second:   strings.Fields("Guitars Logistics Foods Analytics Studios Dental Motors Outfitters Labs Partners Brewing Software Media Energy Robotics"),
	kind:     strings.Fields("Ltd Inc LLC Group Co"),
	towns:    strings.Fields("Guildford Leeds Bristol Austin Denver Portland Dublin Toronto Boston Madison"),
	states:   strings.Fields("Surrey Yorkshire Avon Texas Colorado Oregon Leinster Ontario Massachusetts Wisconsin"),
	people:   strings.Fields("Lee Maria Sam Priya Tom Aisha Jonas Chen Olivia Mateo Hannah Kofi Ingrid Ravi Sofia"),
	surnames: strings.Fields("Anderton Garcia Patel Nguyen Okafor Schmidt Rossi Kowalski Silva Murphy Tanaka Haddad Larsen"),
	roles:    []string{"Head of Purchasing", "CTO", "Office Manager", "Sales Director", "Founder", "Operations Lead", "Buyer"},
}

var demoNotes = []struct{ title, body string }{
	{"Intro call", "Spoke to the team about **stocking** our range.\n\n- Interested in the spring catalogue\n- Wants volume pricing\n- Follow up in two weeks"},
	{"Pricing sent", "Sent the price list for 2026. They asked about *net 60* terms; told them we'd check with finance."},
	{"Quarterly review", "## Wins\n\n1. Renewed for another year\n2. Added two seats\n\n## Risks\n\n| item | owner |\n| --- | --- |\n| budget freeze | finance |"},
	{"Trade show", "Met at the trade show. See [their website](https://example.com) for the product line."},
	{"Support escalation", "Their order was delayed. Apologised, offered free shipping on the next one. `ticket #4411`"},
}

var (
	demoMeetingTypes    = []string{"email", "sms", "call", "video", "in-person"}
	demoMeetingSubjects = []string{"Intro call", "Pricing review", "Quarterly business review", "Site visit", "Contract renewal", "Onboarding check-in"}
)

// loadDemo fills an empty database with the demo workspace. It refuses to
// touch a database that already has companies.
func loadDemo(ctx context.Context, st *store.Store, out io.Writer) error {
	page, err := st.ListCompanies(ctx, &store.User{WorkspaceID: store.DefaultWorkspace, Role: store.RoleAdmin}, store.CompanyQuery{Limit: 1})
	if err != nil {
		return err
	}
	if len(page.Items) > 0 {
		fmt.Fprintln(out, "demo: the database already has companies; leaving it as it is")
		return nil
	}
	// The demo is written through the store like any user's edits, by a
	// system admin that is not a real account.
	sys := &store.User{ID: 0, WorkspaceID: store.DefaultWorkspace, Role: store.RoleAdmin}
	rng := rand.New(rand.NewPCG(42, 2026))
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	w := demoWords
	var ids []int64
	seen := map[string]bool{}
	for len(ids) < 50 {
		name := pick(w.first) + " " + pick(w.second)
		if seen[name] {
			continue
		}
		seen[name] = true
		if rng.IntN(3) == 0 {
			name += " " + pick(w.kind)
		}
		i := rng.IntN(len(w.towns))
		domain := strings.ToLower(strings.ReplaceAll(strings.Fields(name)[0]+strings.Fields(name)[1], " ", "")) + ".example"
		c, err := st.CreateCompany(ctx, sys, store.CompanyInput{
			Name: name, Street: fmt.Sprintf("%d %s Road", 1+rng.IntN(200), pick(w.surnames)), Town: w.towns[i], State: w.states[i],
			Zip: fmt.Sprintf("%05d", rng.IntN(99999)), Website: "https://www." + domain,
			Description: fmt.Sprintf("%s customer since %d.", pick([]string{"Wholesale", "Retail", "Enterprise", "Partner"}), 2015+rng.IntN(11)),
		})
		if err != nil {
			return err
		}
		ids = append(ids, c.ID)
		var people []int64 // the company's contacts, who attend its meetings
		for j := 0; j < 1+rng.IntN(3); j++ {
			first, last := pick(w.people), pick(w.surnames)
			email := fmt.Sprintf("%s.%s%d@%s", strings.ToLower(first), strings.ToLower(last), rng.IntN(100), domain)
			ct, err := st.AddContact(ctx, sys, c.ID, store.ContactInput{Name: first + " " + last, Email: email,
				Phone: fmt.Sprintf("+44 1483 %06d", rng.IntN(999999)), Title: pick(w.roles)})
			if err != nil && store.ErrorCode(err) != store.EConflict {
				return err
			}
			if err == nil {
				people = append(people, ct.ID)
			}
		}
		for j := 0; j < 1+rng.IntN(3); j++ {
			n := demoNotes[rng.IntN(len(demoNotes))]
			if _, err := st.AddNote(ctx, sys, c.ID, store.NoteInput{Title: n.title, Body: n.body}); err != nil {
				return err
			}
		}
		for j := 0; j < rng.IntN(4); j++ {
			// Meetings from a month ago to a month ahead, on the quarter hour.
			start := time.Now().Add(time.Duration(rng.IntN(60*24*4)-30*24*4) * 15 * time.Minute).Truncate(15 * time.Minute)
			end := start.Add(time.Duration(1+rng.IntN(4)) * 15 * time.Minute).UnixMilli()
			status := store.MeetingOpen
			if start.Before(time.Now()) && rng.IntN(3) > 0 {
				status = store.MeetingClosed
			}
			if _, err := st.CreateMeeting(ctx, sys, c.ID, store.MeetingInput{
				Type: pick(demoMeetingTypes), Status: status, Subject: pick(demoMeetingSubjects),
				Details: "Agenda:\n\n- where we are\n- next steps", StartsAt: start.UnixMilli(), EndsAt: &end,
				Attendees: &people,
			}); err != nil {
				return err
			}
		}
		if rng.IntN(2) == 0 {
			if _, err := st.AddLink(ctx, sys, c.ID, store.LinkInput{Title: "Website", URL: "https://www." + domain}); err != nil {
				return err
			}
		}
	}
	admin := &store.User{WorkspaceID: store.DefaultWorkspace, Role: store.RoleAdmin}
	staff := []struct{ email, name string }{{"alice@example.com", "Alice Archer"}, {"bob@example.com", "Bob Baker"}, {"carol@example.com", "Carol Chen"}}
	for i, s := range staff {
		u, err := st.CreateWorkspaceUser(ctx, store.DefaultWorkspace, store.UserInput{Email: s.email, Name: s.name, Password: demoPassword, Role: store.RoleStaff})
		if store.ErrorCode(err) == store.EConflict {
			continue
		}
		if err != nil {
			return err
		}
		// Each staff user gets an overlapping third of the companies.
		var clients []int64
		for j, id := range ids {
			if j%3 == i || j%7 == 0 {
				clients = append(clients, id)
			}
		}
		if err := st.SetUserClients(ctx, admin, u.ID, clients); err != nil {
			return err
		}
		// ...and owns those of its own third (not the ones every seventh
		// company shares).
		for j, id := range ids {
			if j%3 == i {
				owner := u.ID
				if _, err := st.ChangeCompany(ctx, admin, id, func(c *store.Company) (store.CompanyInput, error) {
					return store.CompanyInput{Name: c.Name, Street: c.Street, Town: c.Town, State: c.State, Zip: c.Zip,
						Website: c.Website, Description: c.Description, OwnerID: &owner}, nil
				}); err != nil {
					return err
				}
			}
		}
	}
	fmt.Fprintf(out, "demo: loaded %d companies with notes, contacts, links and meetings, and %d staff users (alice@, bob@, carol@example.com; password %q)\n", len(ids), len(staff), demoPassword)
	return nil
}
