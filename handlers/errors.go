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
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/bulk-actions") ||
		strings.Contains(r.Header.Get("Accept"), "application/json") && !strings.Contains(r.Header.Get("Accept"), "text/html")
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
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		// The client went away (or the server is shutting down): nobody
		// reads the answer, and it is not the server's fault.
		h.Log.Info("request abandoned", "method", r.Method, "path", r.URL.Path)
		return
	}
	if st == http.StatusInternalServerError {
		h.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if wantsJSON(r) {
		writeJSON(w, st, apiError{Error: msg, Fields: store.ErrorFields(err)})
		return
	}
	h.render(w, r, st, views.ErrorPage(h.page(r, http.StatusText(st)), st, msg), nil)
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
