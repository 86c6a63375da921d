package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rolodex/rolodex/store"
)

// payloadOp is where openapi.json describes the POST a webhook's URL
// receives (its top-level webhooks object).
const payloadOp = "/webhooks/activity/post"

// TestOpenAPIWebhookPayload: the POSTs a receiver really gets, body and
// headers, are what the document's webhooks.activity says; checkAPI sees
// only the API's own answers, so this is what holds that part true.
func TestOpenAPIWebhookPayload(t *testing.T) {
	s := spec(t)
	a := newTestApp(t)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	staff := a.User(t, "staff@example.com", store.RoleStaff)
	acme := mustCompany(t, a, "Acme")

	type received struct {
		header http.Header
		body   []byte
	}
	var mu sync.Mutex
	var got []received
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Header.Clone(), body})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)

	ac := a.client(t, adm)
	if resp, body := do(t, ac, "POST", a.Server.URL+"/api/v1/webhooks", jsonType, `{"url":"`+rc.URL+`","events":["*"]}`); resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	runDeliverer(t, a)
	// A note by a named staff user, and an assignment by the system.
	if err := a.Store.AssignClient(context.Background(), admin(), staff.ID, acme.ID, true); err != nil {
		t.Fatal(err)
	}
	if resp, body := do(t, a.client(t, staff), "POST", fmt.Sprintf("%s/api/v1/companies/%d/notes", a.Server.URL, acme.ID), jsonType, `{"title":"Pricing"}`); resp.StatusCode != 201 {
		t.Fatalf("note: %d %s", resp.StatusCode, body)
	}
	eventually(t, "two deliveries", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })

	op, err := s.resolve("#" + payloadOp)
	if err != nil {
		t.Fatal(err)
	}
	params, _ := op.(map[string]any)["parameters"].([]any)
	bodyPtr := payloadOp + "/requestBody/content/application~1json/schema"
	mu.Lock()
	defer mu.Unlock()
	events := map[string]bool{}
	for _, rcv := range got {
		if p := s.validate(bodyPtr, rcv.body, "a webhook's body"); p != "" {
			t.Error(p)
		}
		var payload struct {
			ID    int64  `json:"id"`
			Event string `json:"event"`
		}
		json.Unmarshal(rcv.body, &payload)
		events[payload.Event] = true
		if id := rcv.header.Get("Rolodex-Webhook-Id"); id != strconv.FormatInt(payload.ID, 10) {
			t.Errorf("Rolodex-Webhook-Id %q, body's id %d", id, payload.ID)
		}
		for i, p := range params {
			param, _, err := s.deref(p)
			if err != nil || param["in"] != "header" {
				t.Errorf("%s.parameters[%d]: %v %v", payloadOp, i, param, err)
				continue
			}
			name := param["name"].(string)
			v, ok := rcv.header[http.CanonicalHeaderKey(name)]
			if !ok {
				if param["required"] == true {
					t.Errorf("header %s was not sent", name)
				}
				continue
			}
			value, _ := json.Marshal(strings.Join(v, ","))
			if p := s.validate(fmt.Sprintf("%s/parameters/%d/schema", payloadOp, i), value, "header "+name); p != "" {
				t.Error(p)
			}
		}
	}
	if !events[store.ActivityNoteCreated] || !events[store.ActivityClientAssigned] {
		t.Errorf("events delivered: %v", events)
	}
	// The check refuses what the document does not allow.
	if p := s.validate(bodyPtr, []byte(`{"id":1,"event":"note.created","occurred_at":1,"workspace_id":1,"data":{}}`), "a bad body"); p == "" {
		t.Error("a body whose data lacks its fields: accepted")
	}
}
