package handlers

import (
	"net/http"
	"strings"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// Webhooks: admins register URLs that hear the workspace's activity
// (package webhooks sends them); another workspace's answer 404.

func (h *Handler) webhooksPage(w http.ResponseWriter, r *http.Request, st int, f views.Form, created *store.Webhook) {
	hooks, err := h.Store.Webhooks(r.Context(), userFrom(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.WebhooksPage(h.page(r, "Webhooks"), hooks, f, created), nil)
}

// newWebhookForm is the empty form: all events ticked.
func newWebhookForm() views.Form {
	return views.Form{Values: map[string]string{"events": store.AllEvents}}
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request) {
	h.webhooksPage(w, r, http.StatusOK, newWebhookForm(), nil)
}

// createWebhook answers the page with the new webhook's secret, shown
// once (not a redirect: the secret must not be in a URL or a cookie).
func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := formOf(r, "url", "secret")
	events := r.PostForm["events"]
	f.Values["events"] = strings.Join(events, " ")
	hook, err := h.Store.CreateWebhook(r.Context(), userFrom(r.Context()), store.WebhookInput{URL: f.Values["url"], Secret: f.Values["secret"], Events: events})
	if invalid(err) {
		f.Values["secret"] = ""
		h.webhooksPage(w, r, http.StatusUnprocessableEntity, withErr(f, err), nil)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The host only: receivers' URLs often carry a token.
	h.Log.Info("webhook created", "webhook", hook.ID, "host", hook.Host())
	w.Header().Set("Cache-Control", "no-store")
	h.webhooksPage(w, r, http.StatusOK, newWebhookForm(), hook)
}

func (h *Handler) showWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u := userFrom(r.Context())
	hook, err := h.Store.Webhook(r.Context(), u, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.Store.WebhookDeliveries(r.Context(), u, id, r.URL.Query().Get("cursor"), 50)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.WebhookPage(h.page(r, "Webhook"), hook, page), nil)
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err == nil {
		err = h.Store.DeleteWebhook(r.Context(), userFrom(r.Context()), id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.flash(w, r, "Webhook deleted.")
	redirect(w, r, "/admin/webhooks")
}

func (h *Handler) resendDelivery(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	delivery, err := pathID(r, "delivery")
	if err == nil {
		err = h.Store.ResendDelivery(r.Context(), userFrom(r.Context()), id, delivery)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	h.flash(w, r, "Delivery queued again.")
	redirect(w, r, "/admin/webhooks/"+r.PathValue("id"))
}

func (h *Handler) apiListWebhooks(w http.ResponseWriter, r *http.Request) {
	hooks, err := h.Store.Webhooks(r.Context(), userFrom(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": hooks})
}

// apiCreateWebhook takes {"url", "secret", "events"} and answers the
// webhook with its secret, which is not shown again.
func (h *Handler) apiCreateWebhook(w http.ResponseWriter, r *http.Request) {
	var in store.WebhookInput
	if err := decodeJSON(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	hook, err := h.Store.CreateWebhook(r.Context(), userFrom(r.Context()), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, struct {
		*store.Webhook
		Secret string `json:"secret"`
	}{hook, hook.Secret})
}

func (h *Handler) apiWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	page, err := h.Store.WebhookDeliveries(r.Context(), userFrom(r.Context()), id, q.Get("cursor"), limitParam(q))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}
