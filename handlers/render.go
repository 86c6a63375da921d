package handlers

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/a-h/templ"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// isHTMX reports whether r came from htmx and wants a fragment.
func isHTMX(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-History-Restore-Request") != "true"
}

// render writes full, or fragment when htmx asked for one and there is one.
// Vary tells caches the two answers differ.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, full, fragment templ.Component) {
	c := full
	if fragment != nil && isHTMX(r) {
		c = fragment
	}
	// Render into a buffer first: a failed render can still answer 500,
	// and the page leaves in one write with a Content-Length instead of
	// many small chunked ones.
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	// Pages show times in the viewer's zone (UTC when signed out).
	if err := c.Render(views.WithZone(r.Context(), userFrom(r.Context()).Location()), buf); err != nil {
		if abandoned(r) { // templ stops at a cancelled context
			return
		}
		h.Log.Error("render", "path", r.URL.Path, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	setHeaders(w.Header(), pageHeaders)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

var pageHeaders = fixedHeaders(
	"Vary", "HX-Request",
	"Content-Type", "text/html; charset=utf-8",
	"Cache-Control", "no-store",
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// page builds the layout data for r, taking the one-shot flash message.
func (h *Handler) page(r *http.Request, title string) views.Page {
	return views.Page{Title: title, User: userFrom(r.Context()), Flash: flashFrom(r.Context()), Query: r.URL.Query().Get("q")}
}

// redirect sends the browser to target after a POST. htmx follows
// HX-Redirect; a plain form follows the 303.
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// pathID parses the {name} path value; a malformed id is simply not found.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound
	}
	return id, nil
}

// formOf returns the submitted form values as a views.Form.
func formOf(r *http.Request, fields ...string) views.Form {
	f := views.Form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range fields {
		f.Values[k] = r.PostFormValue(k)
	}
	return f
}

// withErr returns f carrying the message and field errors of err.
func withErr(f views.Form, err error) views.Form {
	f.Message = store.ErrorMessage(err)
	if fields := store.ErrorFields(err); fields != nil {
		f.Errors = fields
	}
	return f
}

// invalid reports whether err is one a form shows next to its fields
// (validation and conflicts such as a taken e-mail address).
func invalid(err error) bool {
	code := store.ErrorCode(err)
	return code == store.EInvalid || code == store.EConflict && store.ErrorFields(err) != nil
}

// parseForm reads the body; an oversize one is an error for fail.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		if _, ok := err.(*http.MaxBytesError); ok {
			return err
		}
		return store.Errorf(store.EInvalid, "The form could not be read.")
	}
	return nil
}

type ctxKey int

const (
	userKey ctxKey = iota
	flashKey
	infoKey
)

func userFrom(ctx context.Context) *store.User {
	u, _ := ctx.Value(userKey).(*store.User)
	return u
}

func flashFrom(ctx context.Context) string {
	s, _ := ctx.Value(flashKey).(string)
	return s
}

// safeNext returns next, a redirect target taken from the request, in the
// form http.Redirect will send it if that is a path of this site, and
// "/companies" otherwise. The check is of the cleaned form: "/.\evil.example"
// passed a check of its first characters, then went out cleaned as
// "/\evil.example", which browsers follow to //evil.example. Backslashes
// and control characters (browsers drop tabs and newlines) are refused
// anywhere.
func safeNext(next string) string {
	const home = "/companies"
	if next == "" || next[0] != '/' || strings.ContainsFunc(next, func(c rune) bool { return c == '\\' || unicode.IsControl(c) }) {
		return home
	}
	p, query, hasQuery := strings.Cut(next, "?")
	target := path.Clean(p)
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(target, "/") {
		target += "/"
	}
	if hasQuery {
		target += "?" + query
	}
	u, err := url.Parse(target)
	if err != nil || strings.HasPrefix(target, "//") || u.Scheme != "" || u.Host != "" || u.Opaque != "" {
		return home
	}
	return target
}
