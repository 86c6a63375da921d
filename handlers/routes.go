package handlers

import (
	"net/http"
	"net/url"

	"github.com/rolodex/rolodex/static"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// maxBody caps form and JSON bodies; larger requests get 413.
const maxBody = 1 << 20

// Routes returns the complete HTTP handler: every route, then the
// middleware that applies to all of them.
func (h *Handler) Routes() http.Handler {
	mux := &recordingMux{ServeMux: http.NewServeMux()}

	// Open to everyone.
	mux.Handle("GET /static/", static.Handler())
	mux.HandleFunc("GET /healthz", h.health)
	mux.HandleFunc("GET /login", h.loginPage)
	mux.HandleFunc("POST /login", h.login)
	mux.HandleFunc("POST /logout", h.logout)
	mux.Handle("GET /favicon.ico", static.Favicon())
	mux.HandleFunc("GET /rooms/count", h.liveCount) // 204 when signed out (live.go)
	mux.HandleFunc("/", h.unmatched(mux.ServeMux))

	// Signed-in pages.
	page := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, h.requireUser(fn)) }
	admin := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, h.requireAdmin(fn)) }

	page("GET /{$}", h.home)
	page("GET /companies", h.listCompanies)
	page("GET /companies/new", h.newCompany)
	page("POST /companies", h.createCompany)
	page("GET /companies/{id}", h.showCompany)
	page("GET /companies/{id}/timeline", h.timeline)
	page("GET /companies/{id}/edit", h.editCompany)
	page("POST /companies/{id}", h.updateCompany)
	page("POST /companies/{id}/delete", h.deleteCompany)
	for _, kind := range itemKinds {
		page("GET /companies/{id}/"+kind.path+"/new", h.newItem(kind.typ))
		page("POST /companies/{id}/"+kind.path, h.addItem(kind))
		page("GET /"+kind.path+"/{id}/edit", h.editItem(kind))
		page("POST /"+kind.path+"/{id}", h.updateItem(kind))
		page("POST /"+kind.path+"/{id}/delete", h.deleteItem(kind))
	}
	page("GET /companies/{id}/meetings/new", h.newItem(store.TypeMeeting))
	page("POST /companies/{id}/meetings", h.addMeeting)
	page("GET /meetings", h.listMeetings)
	page("GET /meetings/{id}/edit", h.editMeeting)
	page("POST /meetings/{id}", h.updateMeeting)
	page("POST /meetings/{id}/status", h.setMeetingStatus)
	page("POST /meetings/{id}/delete", h.deleteMeeting)
	page("GET /search", h.searchPage)
	page("GET /me", h.showMe)
	page("POST /me", h.updateMe)
	page("POST /me/password", h.changePassword)
	page("GET /me/sessions", h.listSessions)
	page("POST /me/sessions/{id}/delete", h.endSession)
	page("POST /me/sessions/delete-all", h.endSessions)
	page("GET /meetings/{id}/room", h.roomPage)
	page("GET /meetings/{id}/room/stream", h.roomStream)
	page("GET /meetings/{id}/room/messages", h.roomMessages)
	page("POST /meetings/{id}/room/messages", h.postMessage)
	page("POST /meetings/{id}/room/join", h.joinRoom)
	page("POST /meetings/{id}/room/leave", h.leaveRoom)
	page("POST /meetings/{id}/room/open", h.openRoom)
	page("POST /meetings/{id}/room/extend", h.extendRoom)
	page("POST /meetings/{id}/room/end", h.endRoom)
	page("POST /meetings/{id}/room/participants/{uid}/remove", h.removeParticipant)
	page("POST /meetings/{id}/room/settings", h.roomSettings)
	page("GET /meetings/{id}/room/transcript", h.transcript)
	page("GET /rooms", h.liveRooms)

	admin("GET /admin/users", h.listUsers)
	admin("POST /admin/users", h.createUser)
	admin("GET /admin/users/{id}", h.showUser)
	admin("GET /admin/users/{id}/candidates", h.clientCandidates)
	admin("POST /admin/users/{id}/clients", h.addClient)
	admin("POST /admin/users/{id}/clients/{cid}/delete", h.removeClient)
	admin("POST /admin/users/{id}/deactivate", h.setActive(false))
	admin("POST /admin/users/{id}/reactivate", h.setActive(true))
	admin("GET /admin/imports", h.listImports)
	admin("POST /admin/imports", h.uploadImport)
	admin("GET /admin/imports/{id}", h.showImport)
	admin("POST /admin/imports/{id}/start", h.startImport)
	admin("POST /admin/imports/{id}/cancel", h.cancelImport)
	admin("POST /admin/imports/{id}/retry", h.retryImport)
	admin("GET /admin/imports/{id}/errors.csv", h.errorsCSV)
	admin("GET /admin/meeting-types", h.listMeetingTypes)
	admin("POST /admin/meeting-types", h.addMeetingType)

	// JSON API: same session, JSON errors.
	api := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, h.requireUser(fn)) }
	api("GET /api/v1/companies", h.apiListCompanies)
	api("POST /api/v1/companies", h.apiCreateCompany)
	api("GET /api/v1/companies/{id}", h.apiGetCompany)
	api("PUT /api/v1/companies/{id}", h.apiUpdateCompany)
	api("DELETE /api/v1/companies/{id}", h.apiDeleteCompany)
	api("GET /api/v1/companies/{id}/timeline", h.apiTimeline)
	for _, kind := range itemKinds {
		api("POST /api/v1/companies/{id}/"+kind.path, h.apiAddItem(kind))
	}
	api("GET /api/v1/meetings", h.apiListMeetings)
	api("POST /api/v1/companies/{id}/meetings", h.apiCreateMeeting)
	api("GET /api/v1/meetings/{id}", h.apiGetMeeting)
	api("PUT /api/v1/meetings/{id}", h.apiUpdateMeeting)
	api("DELETE /api/v1/meetings/{id}", h.apiDeleteMeeting)
	api("GET /api/v1/search", h.apiSearch)
	api("GET /api/v1/rooms", h.apiLiveRooms)
	api("GET /api/v1/meetings/{id}/room", h.apiRoom)
	api("PUT /api/v1/meetings/{id}/room", h.apiSetRoom)
	api("POST /api/v1/meetings/{id}/room/open", h.openRoom)
	api("POST /api/v1/meetings/{id}/room/extend", h.extendRoom)
	api("POST /api/v1/meetings/{id}/room/end", h.endRoom)
	api("POST /api/v1/meetings/{id}/room/join", h.joinRoom)
	api("POST /api/v1/meetings/{id}/room/leave", h.leaveRoom)
	api("GET /api/v1/meetings/{id}/room/messages", h.roomMessages)
	api("POST /api/v1/meetings/{id}/room/messages", h.postMessage)
	api("GET /api/v1/meetings/{id}/room/events", h.apiRoomEvents)
	mux.Handle("POST /api/v1/users", h.requireAdmin(h.apiCreateUser))
	mux.Handle("PUT /api/v1/users/{id}/clients", h.requireAdmin(h.apiSetClients))

	// Bulk imports, admin only: the seed's endpoints and the same under
	// /api/v1 (imports.go).
	for _, prefix := range []string{"", "/api/v1"} {
		mux.Handle("POST "+prefix+"/bulk-actions/upload", h.requireAdmin(h.apiUploadBulkAction))
		mux.Handle("GET "+prefix+"/bulk-actions", h.requireAdmin(h.apiListBulkActions))
		mux.Handle("GET "+prefix+"/bulk-actions/{id}", h.requireAdmin(h.apiGetBulkAction))
		mux.Handle("GET "+prefix+"/bulk-actions-by-account/{accountId}", h.requireAdmin(h.apiBulkActionsByAccount))
	}
	mux.Handle("GET /api/v1/bulk-actions/{id}/errors.csv", h.requireAdmin(h.errorsCSV))
	mux.Handle("POST /api/v1/bulk-actions/{id}/cancel", h.requireAdmin(h.apiCancelBulkAction))

	h.patterns = mux.patterns
	var handler http.Handler = mux.ServeMux
	handler = h.loadUser(handler)
	handler = limitBody(handler)
	handler = h.checkQuery(handler)
	handler = http.NewCrossOriginProtection().Handler(handler)
	handler = secureHeaders(handler)
	handler = h.logRequests(handler)
	return handler
}

// secureHeaders sets a strict Content-Security-Policy (no page has inline
// script or style) and the other headers every answer should carry.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w.Header(), securityHeaders)
		next.ServeHTTP(w, r)
	})
}

var securityHeaders = fixedHeaders(
	"Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
	"X-Content-Type-Options", "nosniff",
	"Referrer-Policy", "same-origin",
	"X-Frame-Options", "DENY",
)

// header is a response header that is the same on every response. Its
// value slice is shared: Header.Set replaces a slice and Header.Add
// appends past its length-1 capacity into a new array, so no response can
// change another's. It saves an allocation per header per request.
type header struct {
	key   string
	value []string
}

// fixedHeaders pairs up canonical keys and values.
func fixedHeaders(kv ...string) []header {
	out := make([]header, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		out = append(out, header{http.CanonicalHeaderKey(kv[i]), []string{kv[i+1]}})
	}
	return out
}

func setHeaders(h http.Header, hs []header) {
	for _, x := range hs {
		h[x.key] = x.value
	}
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Uploads stream to disk under their own, larger cap (imports.go).
		if r.Body != nil && !isUpload(r) {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// checkQuery answers 400 to a query string that does not parse (a bad
// percent-escape): url.Values silently drops such a pair, so a filter
// the client sent would be ignored instead of refused.
func (h *Handler) checkQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			msg := "The query string is malformed: " + err.Error() + "."
			if wantsJSON(r) {
				writeJSON(w, http.StatusBadRequest, apiError{Error: msg})
				return
			}
			h.render(w, r, http.StatusBadRequest, views.ErrorPage(h.page(r, http.StatusText(http.StatusBadRequest)), http.StatusBadRequest, msg), nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recordingMux remembers every pattern so that the authorization test can
// prove it covers them all.
type recordingMux struct {
	*http.ServeMux
	patterns []string
}

func (m *recordingMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *recordingMux) HandleFunc(pattern string, fn http.HandlerFunc) {
	m.Handle(pattern, fn)
}
