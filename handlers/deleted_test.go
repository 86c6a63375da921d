package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rolodex/rolodex/store"
)

// TestCompanyDeletedActivity: deleting a company records company.deleted
// (no company, ref the company's id) by the admin who did it; admins see
// it in GET /api/v1/activity, and staff do not, not even one who had the
// client.
func TestCompanyDeletedActivity(t *testing.T) {
	a := newTestApp(t)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	alice := a.User(t, "alice@example.com", store.RoleStaff)
	acme := mustCompany(t, a, "Acme")
	ac := a.client(t, adm)
	if err := a.Store.AssignClient(context.Background(), adm, alice.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	if resp, body := do(t, ac, "DELETE", fmt.Sprintf("%s/api/v1/companies/%d", a.Server.URL, acme.ID), "", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	activity := func(c *http.Client) []store.Activity {
		t.Helper()
		resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/activity?limit=200", "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("activity: %d %s", resp.StatusCode, body)
		}
		var p store.ActivityPage
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		return p.Items
	}
	items := activity(ac)
	if len(items) == 0 || items[0].Kind != store.ActivityCompanyDeleted {
		t.Fatalf("the admin's newest activity: %+v; want %s", items, store.ActivityCompanyDeleted)
	}
	got := items[0]
	want := adm.Name + " deleted “Acme”"
	if got.CompanyID != nil || got.RefID != acme.ID || got.ActorID == nil || *got.ActorID != adm.ID || got.Summary != want {
		t.Errorf("company.deleted: company %v, ref %d, actor %v, summary %q; want no company, ref %d, actor %d, %q",
			got.CompanyID, got.RefID, got.ActorID, got.Summary, acme.ID, adm.ID, want)
	}
	// Another admin's home lists it, with no link: its company is gone
	// and it is no import.
	resp, home := do(t, a.client(t, a.User(t, "boss@example.com", store.RoleAdmin)), "GET", a.Server.URL+"/", "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(home, want) || strings.Contains(home, `href="/admin/imports/`) {
		t.Errorf("another admin's home: %d, want %q and no import's link in\n%s", resp.StatusCode, want, home)
	}
	for _, act := range activity(a.client(t, alice)) {
		if act.Kind == store.ActivityCompanyDeleted || act.CompanyID == nil {
			t.Errorf("staff see %+v", act)
		}
	}
}

// TestCompanyDeletedWebhook: a webhook subscribed to company.deleted gets
// the deletion, with no company and the company's id as its resource, in
// the body the document describes.
func TestCompanyDeletedWebhook(t *testing.T) {
	s := spec(t)
	a := newTestApp(t)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
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
	if resp, body := do(t, ac, "POST", a.Server.URL+"/api/v1/webhooks", jsonType, `{"url":"`+rc.URL+`","events":["company.deleted"]}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("subscribe to company.deleted: %d %s", resp.StatusCode, body)
	}
	runDeliverer(t, a)
	if resp, body := do(t, ac, "DELETE", fmt.Sprintf("%s/api/v1/companies/%d", a.Server.URL, acme.ID), "", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
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
			CompanyID  *int64 `json:"company_id"`
			ResourceID int64  `json:"resource_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got[0], &payload); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || payload.Event != store.ActivityCompanyDeleted || payload.Data.CompanyID != nil || payload.Data.ResourceID != acme.ID {
		t.Errorf("%d deliveries, the first %s; want one company.deleted with no company and resource %d", len(got), got[0], acme.ID)
	}
}

// TestWebhookEventsAreTheActivityKinds: every Activity* kind declared in
// store/activity.go is a webhook event, in store.WebhookEvents and in the
// document's WebhookEvent enum, and nothing else is.
func TestWebhookEventsAreTheActivityKinds(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../store/activity.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.HasPrefix(name.Name, "Activity") {
						kind, _ := strconv.Unquote(lit.Value)
						kinds = append(kinds, kind)
					}
				}
			}
		}
	}
	schema, err := spec(t).resolve("#/components/schemas/WebhookEvent")
	if err != nil {
		t.Fatal(err)
	}
	var enum []string
	for _, e := range schema.(map[string]any)["enum"].([]any) {
		enum = append(enum, e.(string))
	}
	slices.Sort(kinds)
	if len(kinds) < 20 {
		t.Fatalf("found only %v in store/activity.go", kinds)
	}
	for what, events := range map[string][]string{"store.WebhookEvents": store.WebhookEvents, "the document's WebhookEvent": enum} {
		events = slices.Sorted(slices.Values(events))
		if !slices.Equal(events, kinds) {
			t.Errorf("%s: %v\nthe activity kinds: %v", what, events, kinds)
		}
	}
}
