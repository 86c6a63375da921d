package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// status maps an error code to its HTTP status: the one place that does.
func status(code string) int {
	switch code {
	case store.ENotFound:
		return http.StatusNotFound
	case store.EInvalid:
		return http.StatusUnprocessableEntity
	case store.EConflict:
		return http.StatusConflict
	case store.EForbidden:
		return http.StatusForbidden
	case store.EThrottled:
		return http.StatusTooManyRequests
	case store.EBusy:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// wantsJSON reports whether the answer to r should be JSON.
func wantsJSON(r *http.Request) bool {
	if api, _ := r.Context().Value(jsonKey{}).(bool); api {
		return true
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

// fail answers r with err: JSON for the API, an error page otherwise.
// Internal errors are logged and not described to the user.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := store.ErrorCode(err)
	st := status(code)
	msg := store.ErrorMessage(err)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		st, msg = http.StatusRequestEntityTooLarge, "The request is too large."
	}
	if abandoned(r) {
		// Whatever failed, it most likely failed because the request was
		// cancelled (SQLite says "interrupted", not context.Canceled), and
		// nobody reads the answer.
		h.Log.Info("request abandoned", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	if st == http.StatusInternalServerError {
		h.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	h.answerError(w, r, st, msg, store.ErrorFields(err))
}

// answerError writes an error answer: JSON for the API, the error page
// otherwise.
func (h *Handler) answerError(w http.ResponseWriter, r *http.Request, st int, msg string, fields map[string]string) {
	if wantsJSON(r) {
		writeJSON(w, st, apiError{Error: msg, Fields: fields})
		return
	}
	h.render(w, r, st, views.ErrorPage(h.page(r, http.StatusText(st)), st, msg), nil)
}

// abandoned reports whether r's client went away (or the server is
// shutting down): what happens to the request then is not the server's
// fault. The request log marks it with statusAbandoned.
func abandoned(r *http.Request) bool { return r.Context().Err() != nil }

// statusAbandoned is the request log's status for a request whose client
// went away before its answer was written (nginx's 499).
const statusAbandoned = 499

// unmatched answers every request no other route takes (it is mounted at
// "/"), in place of ServeMux's plain-text 404 and 405: 405 with an Allow
// header when the path has routes for other methods, 404 otherwise. The
// methods are found by asking mux, so the routes stay their only record.
func (h *Handler) unmatched(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			other := *r
			other.Method = m
			if _, pattern := mux.Handler(&other); pattern != "/" && pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			h.fail(w, r, notFound)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		h.answerError(w, r, http.StatusMethodNotAllowed, "This address does not take "+r.Method+" requests.", nil)
	}
}

type apiError struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// notFound is the answer for an unknown id or one the user may not see:
// the two are indistinguishable on purpose.
var notFound = store.Errorf(store.ENotFound, "Not found.")
