package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestOwnershipAPI: companies carry owner_id and owner_name; POST and PUT
// take owner_id (422 in fields.owner_id for a user who cannot own, 403
// for staff who are not the owner); mine=true lists the viewer's
// clients; timeline items carry author_id and author_name, null when
// nobody is known.
func TestOwnershipAPI(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	adminU := a.User(t, "admin@example.com", store.RoleAdmin)
	alice := a.User(t, "alice@example.com", store.RoleStaff)
	bob := a.User(t, "bob@example.com", store.RoleStaff)
	ws2, err := a.Store.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := a.Store.CreateWorkspaceUser(ctx, ws2, store.UserInput{Email: "x@other.example", Name: "X", Password: storetest.Password, Role: store.RoleStaff})
	if err != nil {
		t.Fatal(err)
	}
	ac, al, bc := a.client(t, adminU), a.client(t, alice), a.client(t, bob)
	type company struct {
		ID        int64   `json:"id"`
		Name      string  `json:"name"`
		OwnerID   *int64  `json:"owner_id"`
		OwnerName *string `json:"owner_name"`
	}
	send := func(c *http.Client, method, path, body string, want int) company {
		t.Helper()
		resp, text := do(t, c, method, a.Server.URL+path, jsonType, body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s %s: %d, want %d: %s", method, path, body, resp.StatusCode, want, text)
		}
		var out company
		if want < 300 {
			if err := json.Unmarshal([]byte(text), &out); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{`"owner_id":`, `"owner_name":`} {
				if !strings.Contains(text, k) {
					t.Errorf("%s %s: no %s in %s", method, path, k, text)
				}
			}
		}
		return out
	}

	acme := send(al, "POST", "/api/v1/companies", `{"name":"Acme"}`, http.StatusCreated)
	if acme.OwnerID == nil || *acme.OwnerID != alice.ID || acme.OwnerName == nil || *acme.OwnerName != alice.Name {
		t.Fatalf("new company's owner: %+v", acme)
	}
	path := fmt.Sprintf("/api/v1/companies/%d", acme.ID)
	for name, id := range map[string]int64{"unknown": 999999, "other workspace": foreign.ID} {
		for _, req := range []struct{ method, path string }{{"POST", "/api/v1/companies"}, {"PUT", path}} {
			resp, text := do(t, ac, req.method, a.Server.URL+req.path, jsonType, fmt.Sprintf(`{"name":"Acme","owner_id":%d}`, id))
			var e struct {
				Error  string            `json:"error"`
				Fields map[string]string `json:"fields"`
			}
			json.Unmarshal([]byte(text), &e)
			if resp.StatusCode != http.StatusUnprocessableEntity || e.Fields["owner_id"] == "" {
				t.Errorf("%s %s, %s owner: %d %s", req.method, req.path, name, resp.StatusCode, text)
			}
		}
	}
	// Bob, assigned but not the owner: 403 on a change of owner only.
	if err := a.Store.AssignClient(ctx, admin(), bob.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	send(bc, "PUT", path, fmt.Sprintf(`{"name":"Acme","owner_id":%d}`, bob.ID), http.StatusForbidden)
	send(bc, "PUT", path, `{"name":"Acme Bob"}`, http.StatusOK)
	// Alice, the owner, hands it to Bob.
	got := send(al, "PUT", path, fmt.Sprintf(`{"name":"Acme","owner_id":%d}`, bob.ID), http.StatusOK)
	if got.OwnerID == nil || *got.OwnerID != bob.ID || *got.OwnerName != bob.Name {
		t.Fatalf("after handing over: %+v", got)
	}
	if got := send(bc, "GET", path, "", http.StatusOK); got.OwnerID == nil || *got.OwnerID != bob.ID {
		t.Errorf("GET after handing over: %+v", got)
	}
	send(ac, "POST", "/api/v1/companies", `{"name":"Globex"}`, http.StatusCreated)

	mine := func(c *http.Client, q string) []string {
		t.Helper()
		resp, text := do(t, c, "GET", a.Server.URL+"/api/v1/companies"+q, "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("list %s: %d %s", q, resp.StatusCode, text)
		}
		var page struct{ Items []company }
		if err := json.Unmarshal([]byte(text), &page); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range page.Items {
			names = append(names, c.Name)
		}
		return names
	}
	for _, tc := range []struct {
		who  *http.Client
		q    string
		want []string
	}{
		{ac, "", []string{"Acme", "Globex"}},
		{ac, "?mine=true", []string{"Globex"}},
		{ac, "?mine=false", []string{"Acme", "Globex"}},
		{bc, "?mine=true", []string{"Acme"}},
	} {
		if got := mine(tc.who, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("list %s: %v, want %v", tc.q, got, tc.want)
		}
	}

	// Authors on the timeline's JSON: a note by alice, a contact by nobody.
	do(t, al, "POST", a.Server.URL+path+"/notes", jsonType, `{"title":"Call"}`)
	if _, err := a.Store.AddContact(ctx, admin(), acme.ID, store.ContactInput{Name: "Jo"}); err != nil {
		t.Fatal(err)
	}
	resp, text := do(t, al, "GET", a.Server.URL+path+"/timeline", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("timeline: %d %s", resp.StatusCode, text)
	}
	var tl struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal([]byte(text), &tl); err != nil || len(tl.Items) != 2 {
		t.Fatalf("timeline %s: %v", text, err)
	}
	authors := map[string]string{}
	for _, it := range tl.Items {
		authors[string(it["type"])] = string(it["author_id"]) + " " + string(it["author_name"])
	}
	if want := fmt.Sprintf(`%d "%s"`, alice.ID, alice.Name); authors[`"note"`] != want {
		t.Errorf("note's author %q, want %q", authors[`"note"`], want)
	}
	if authors[`"contact"`] != "null null" {
		t.Errorf("nobody's contact has author %q, want null null", authors[`"contact"`])
	}
}

// TestOwnershipPages: the company page shows its owner and "by <name>" on
// its timeline; the list has an Owner column and "My clients"; the edit
// form's owner select is only for admins and the owner, and a change of
// owner by other staff is a 403, a malformed one a 422 beside the field.
func TestOwnershipPages(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	alice := a.User(t, "alice@example.com", store.RoleStaff)
	bob := a.User(t, "bob@example.com", store.RoleStaff)
	al, bc := a.client(t, alice), a.client(t, bob)
	acme, err := a.Store.CreateCompany(ctx, alice, store.CompanyInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	mustCompany(t, a, "Globex")
	if err := a.Store.AssignClient(ctx, admin(), bob.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.AddNote(ctx, alice, acme.ID, store.NoteInput{Title: "Pricing call"}); err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("%s/companies/%d", a.Server.URL, acme.ID)
	resp, body := do(t, bc, "GET", page, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("company page: %d", resp.StatusCode)
	}
	for _, s := range []string{`<dt>Owner</dt><dd class="owner">alice@example.com</dd>`, `<span class="tl-author">by alice@example.com</span>`} {
		if !strings.Contains(body, s) {
			t.Errorf("company page lacks %s", s)
		}
	}

	resp, body = do(t, bc, "GET", a.Server.URL+"/companies?mine=1", "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<td class="owner">alice@example.com</td>`) || !strings.Contains(body, `aria-current="true" hx-get="/companies?mine=1`) {
		t.Errorf("my clients page: %d %.3000s", resp.StatusCode, body)
	}

	_, body = do(t, bc, "GET", page+"/edit", "", "")
	if strings.Contains(body, `name="owner_id"`) {
		t.Error("staff who do not own the company see the owner select")
	}
	_, body = do(t, al, "GET", page+"/edit", "", "")
	if !strings.Contains(body, fmt.Sprintf(`<option value="%d" selected>alice@example.com</option>`, alice.ID)) ||
		!strings.Contains(body, fmt.Sprintf(`<option value="%d">bob@example.com</option>`, bob.ID)) {
		t.Errorf("owner's edit form lacks the owner select:\n%.4000s", body)
	}

	form := func(owner string) string {
		return url.Values{"name": {"Acme"}, "owner_id": {owner}}.Encode()
	}
	if resp, _ := do(t, bc, "POST", page, formType, form(fmt.Sprint(bob.ID))); resp.StatusCode != http.StatusForbidden {
		t.Errorf("staff change the owner: %d, want 403", resp.StatusCode)
	}
	resp, body = do(t, al, "POST", page, formType, form("someone"))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="company-owner_id-error">Choose the owner from the list.</p>`) {
		t.Errorf("malformed owner: %d %.3000s", resp.StatusCode, body)
	}
	if resp, _ := do(t, al, "POST", page, formType, form(fmt.Sprint(bob.ID))); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("owner hands over: %d, want 303", resp.StatusCode)
	}
	c, err := a.Store.Company(ctx, admin(), acme.ID)
	if err != nil || c.OwnerID == nil || *c.OwnerID != bob.ID {
		t.Errorf("owner after handing over: %+v %v", c, err)
	}
}

// TestOwnershipMineInvalid: mine is a boolean; any other value is 422 in
// fields.mine (on the page too), not read as false.
func TestOwnershipMineInvalid(t *testing.T) {
	a := newTestApp(t)
	c := a.client(t, a.User(t, "alice@example.com", store.RoleStaff))
	for _, q := range []string{"?mine=1", "?mine=false", "?mine="} {
		if resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/companies"+q, "", ""); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /api/v1/companies%s: %d %s", q, resp.StatusCode, body)
		}
	}
	resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/companies?mine=maybe", "", "")
	var e struct {
		Error  string            `json:"error"`
		Fields map[string]string `json:"fields"`
	}
	json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != http.StatusUnprocessableEntity || e.Error == "" || e.Fields["mine"] == "" {
		t.Errorf("GET /api/v1/companies?mine=maybe: %d %s, want 422 in fields.mine", resp.StatusCode, body)
	}
	if resp, body := do(t, c, "GET", a.Server.URL+"/companies?mine=maybe", "", ""); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("GET /companies?mine=maybe: %d, want 422\n%.300s", resp.StatusCode, body)
	}
}

// TestOwnershipWebhook: a webhook may hear company.owner_changed by name,
// and what it receives is what the document's webhooks.activity says.
func TestOwnershipWebhook(t *testing.T) {
	s := spec(t)
	a := newTestApp(t)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	alice := a.User(t, "alice@example.com", store.RoleStaff)
	acme := mustCompany(t, a, "Acme")
	var mu sync.Mutex
	var got [][]byte
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	ac := a.client(t, adm)
	if resp, body := do(t, ac, "POST", a.Server.URL+"/api/v1/webhooks", jsonType, `{"url":"`+rc.URL+`","events":["company.owner_changed"]}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("subscribe to company.owner_changed: %d %s", resp.StatusCode, body)
	}
	runDeliverer(t, a)
	if resp, body := do(t, ac, "PATCH", fmt.Sprintf("%s/api/v1/companies/%d", a.Server.URL, acme.ID), jsonType, fmt.Sprintf(`{"owner_id":%d}`, alice.ID)); resp.StatusCode != http.StatusOK {
		t.Fatalf("change the owner: %d %s", resp.StatusCode, body)
	}
	eventually(t, "a delivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) > 0 })
	mu.Lock()
	defer mu.Unlock()
	if p := s.validate(payloadOp+"/requestBody/content/application~1json/schema", got[0], "a webhook's body"); p != "" {
		t.Error(p)
	}
	var payload struct {
		Event string `json:"event"`
		Data  struct {
			ResourceID int64 `json:"resource_id"`
		} `json:"data"`
	}
	json.Unmarshal(got[0], &payload)
	if len(got) != 1 || payload.Event != store.ActivityCompanyOwnerChanged || payload.Data.ResourceID != alice.ID {
		t.Errorf("%d deliveries, the first %s; want one company.owner_changed naming user %d", len(got), got[0], alice.ID)
	}
}

// TestOwnerOnlyPatch: a PATCH that changes only the owner records only
// the change of owner, and leaves updated_at: the company was not edited.
func TestOwnerOnlyPatch(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	boss := a.User(t, "boss@example.com", store.RoleAdmin)
	// An admin owner: a staff one would also be assigned the client.
	alice := a.User(t, "alice@example.com", store.RoleAdmin)
	acme := mustCompany(t, a, "Acme")
	kinds := func() []string {
		t.Helper()
		p, err := a.Store.Activities(ctx, boss, store.ActivityQuery{CompanyID: acme.ID, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, act := range p.Items {
			out = append(out, act.Kind)
		}
		return out
	}
	before := kinds()
	resp, text := do(t, a.client(t, boss), "PATCH", fmt.Sprintf("%s/api/v1/companies/%d", a.Server.URL, acme.ID), jsonType, fmt.Sprintf(`{"owner_id":%d}`, alice.ID))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH owner: %d %s", resp.StatusCode, text)
	}
	if got := kinds(); len(got) != len(before)+1 || got[0] != store.ActivityCompanyOwnerChanged {
		t.Errorf("activities %v, were %v: want one more, %s", got, before, store.ActivityCompanyOwnerChanged)
	}
	got, err := a.Store.Company(ctx, boss, acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.OwnerID == nil || *got.OwnerID != alice.ID || got.UpdatedAt != acme.UpdatedAt {
		t.Errorf("owner %v, updated_at %d (was %d); want alice and unchanged", got.OwnerID, got.UpdatedAt, acme.UpdatedAt)
	}
}
