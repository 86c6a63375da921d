package handlers

import (
	"context"
	"net/http"
	"net/url"

	"github.com/rolodex/rolodex/static"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// maxBody caps form and JSON bodies; larger requests get 413.
const maxBody = 1 << 20

// Routes returns the complete HTTP handler: every route on a line of its
// own, then the middleware that applies to all of them. How a route is
// served is the wrapper its line starts with:
//
//	open      anyone (apiOpen: with JSON errors)
//	page      signed-in users; errors as an HTML page (JSON if the client asks for it)
//	admin     admins; likewise
//	api       signed-in users; errors always JSON
//	apiAdmin  admins; errors always JSON
//	upload, apiUpload  an admin's CSV upload, which streams to disk under
//	          its own size cap (imports.go) instead of maxBody
func (h *Handler) Routes() http.Handler {
	mux := &recordingMux{ServeMux: http.NewServeMux()}
	open := func(p string, fn http.HandlerFunc) { mux.Handle(p, h.route(html, body, nil, fn)) }
	apiOpen := func(p string, fn http.HandlerFunc) { mux.Handle(p, h.route(jsonOnly, body, nil, fn)) }
	page := func(p string, fn http.HandlerFunc) { mux.Handle(p, h.route(html, body, h.requireUser, fn)) }
	admin := func(p string, fn http.HandlerFunc) { mux.Handle(p, h.route(html, body, h.requireAdmin, fn)) }
	api := func(p string, fn http.HandlerFunc) { mux.Handle(p, h.route(jsonOnly, body, h.requireUser, fn)) }
	apiAdmin := func(p string, fn http.HandlerFunc) { mux.Handle(p, h.route(jsonOnly, body, h.requireAdmin, fn)) }
	upload := func(p string, fn http.HandlerFunc) { mux.Handle(p, h.route(html, fileBody, h.requireAdmin, fn)) }
	apiUpload := func(p string, fn http.HandlerFunc) { mux.Handle(p, h.route(jsonOnly, fileBody, h.requireAdmin, fn)) }

	open("GET /static/", static.Handler().ServeHTTP)
	open("GET /favicon.ico", static.Favicon().ServeHTTP)
	open("GET /healthz", h.health)
	open("GET /login", h.loginPage)
	open("POST /login", h.login)
	open("POST /logout", h.logout)
	open("/", h.unmatched(mux.ServeMux))
	apiOpen("/api/", h.unmatched(mux.ServeMux))
	// A digest e-mail's link, signed for its reader (notifications.go).
	open("GET /unsubscribe", h.unsubscribePage)
	open("POST /unsubscribe", h.unsubscribe)
	// Counts that pages poll: 204 when signed out, so a background poll
	// never swaps in the sign-in page (live.go, notifications.go).
	open("GET /rooms/count", h.liveCount)
	open("GET /notifications/bell", h.bell)

	// A room's guests: their invite link's token is their only credential
	// (guests.go).
	open("GET /guest/{token}", h.guestPage)
	open("GET /guest/{token}/stream", h.guestStream)
	open("GET /guest/{token}/messages", h.guestMessages)
	open("POST /guest/{token}/messages", h.guestPost)
	open("POST /guest/{token}/join", h.guestJoin)

	page("GET /{$}", h.home)
	page("GET /companies", h.listCompanies)
	page("GET /companies/new", h.newCompany)
	page("POST /companies", h.createCompany)
	page("GET /companies/{id}", h.showCompany)
	page("GET /companies/{id}/timeline", h.timeline)
	page("GET /companies/{id}/edit", h.editCompany)
	page("POST /companies/{id}", h.updateCompany)
	page("POST /companies/{id}/delete", h.deleteCompany)
	page("GET /companies/{id}/notes/new", h.newItem(store.TypeNote))
	page("POST /companies/{id}/notes", h.addItem(noteKind))
	page("GET /notes/{id}/edit", h.editItem(noteKind))
	page("POST /notes/{id}", h.updateItem(noteKind))
	page("POST /notes/{id}/delete", h.deleteItem(noteKind))
	page("GET /companies/{id}/contacts/new", h.newItem(store.TypeContact))
	page("POST /companies/{id}/contacts", h.addItem(contactKind))
	page("GET /contacts", h.listContacts)
	page("GET /contacts/{id}", h.showContact)
	page("GET /contacts/{id}/edit", h.editItem(contactKind))
	page("POST /contacts/{id}", h.updateItem(contactKind))
	page("POST /contacts/{id}/delete", h.deleteItem(contactKind))
	page("GET /companies/{id}/links/new", h.newItem(store.TypeLink))
	page("POST /companies/{id}/links", h.addItem(linkKind))
	page("GET /links/{id}/edit", h.editItem(linkKind))
	page("POST /links/{id}", h.updateItem(linkKind))
	page("POST /links/{id}/delete", h.deleteItem(linkKind))
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
	page("GET /me/tokens", h.listTokens)
	page("POST /me/tokens", h.createToken)
	page("POST /me/tokens/{id}/delete", h.revokeToken)
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
	page("GET /notifications", h.notificationsPage)
	page("POST /notifications/read", h.markRead)
	page("POST /me/notifications", h.updateNotificationSettings)
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
	upload("POST /admin/imports", h.uploadImport)
	admin("GET /admin/imports/{id}", h.showImport)
	admin("POST /admin/imports/{id}/start", h.startImport)
	admin("POST /admin/imports/{id}/cancel", h.cancelImport)
	admin("POST /admin/imports/{id}/retry", h.retryImport)
	admin("GET /admin/imports/{id}/errors.csv", h.errorsCSV)
	admin("GET /admin/meeting-types", h.listMeetingTypes)
	admin("POST /admin/meeting-types", h.addMeetingType)
	admin("GET /admin/mail", h.listMail)
	admin("GET /admin/webhooks", h.listWebhooks)
	admin("POST /admin/webhooks", h.createWebhook)
	admin("GET /admin/webhooks/{id}", h.showWebhook)
	admin("POST /admin/webhooks/{id}/delete", h.deleteWebhook)
	admin("POST /admin/webhooks/{id}/deliveries/{delivery}/resend", h.resendDelivery)

	// The API describes itself: no workspace data, so open (openapi.go).
	apiOpen("GET /api/v1/openapi.json", h.openAPI)
	api("GET /api/v1/companies", h.apiListCompanies)
	api("POST /api/v1/companies", h.apiCreateCompany)
	api("GET /api/v1/companies/{id}", h.apiGetCompany)
	api("PUT /api/v1/companies/{id}", h.apiUpdateCompany)
	api("PATCH /api/v1/companies/{id}", h.apiPatchCompany)
	api("DELETE /api/v1/companies/{id}", h.apiDeleteCompany)
	api("GET /api/v1/companies/{id}/timeline", h.apiTimeline)
	api("POST /api/v1/companies/{id}/notes", h.apiAddItem(noteKind))
	api("POST /api/v1/companies/{id}/contacts", h.apiAddItem(contactKind))
	api("GET /api/v1/contacts", h.apiListContacts)
	api("POST /api/v1/companies/{id}/links", h.apiAddItem(linkKind))
	// One item at a time, and a company's items of one type (api.go).
	api("GET /api/v1/notes/{id}", h.apiGetItem(noteKind))
	api("PUT /api/v1/notes/{id}", h.apiEditItem(noteKind))
	api("PATCH /api/v1/notes/{id}", h.apiEditItem(noteKind))
	api("DELETE /api/v1/notes/{id}", h.apiDeleteItem(noteKind))
	api("GET /api/v1/contacts/{id}", h.apiGetItem(contactKind))
	api("PUT /api/v1/contacts/{id}", h.apiEditItem(contactKind))
	api("PATCH /api/v1/contacts/{id}", h.apiEditItem(contactKind))
	api("DELETE /api/v1/contacts/{id}", h.apiDeleteItem(contactKind))
	api("GET /api/v1/links/{id}", h.apiGetItem(linkKind))
	api("PUT /api/v1/links/{id}", h.apiEditItem(linkKind))
	api("PATCH /api/v1/links/{id}", h.apiEditItem(linkKind))
	api("DELETE /api/v1/links/{id}", h.apiDeleteItem(linkKind))
	api("GET /api/v1/companies/{id}/notes", h.apiCompanyItems(store.TypeNote))
	api("GET /api/v1/companies/{id}/contacts", h.apiCompanyItems(store.TypeContact))
	api("GET /api/v1/companies/{id}/links", h.apiCompanyItems(store.TypeLink))
	api("GET /api/v1/companies/{id}/meetings", h.apiCompanyItems(store.TypeMeeting))
	api("GET /api/v1/meetings", h.apiListMeetings)
	api("POST /api/v1/companies/{id}/meetings", h.apiCreateMeeting)
	api("GET /api/v1/meetings/{id}", h.apiGetMeeting)
	api("PUT /api/v1/meetings/{id}", h.apiUpdateMeeting)
	api("PATCH /api/v1/meetings/{id}", h.apiPatchMeeting)
	api("DELETE /api/v1/meetings/{id}", h.apiDeleteMeeting)
	api("GET /api/v1/search", h.apiSearch)
	api("GET /api/v1/rooms", h.apiLiveRooms)
	api("GET /api/v1/activity", h.apiActivity)
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
	api("GET /api/v1/notifications", h.apiNotifications)
	api("POST /api/v1/notifications/read", h.apiMarkRead)
	api("GET /api/v1/me/notification-settings", h.apiNotificationSettings)
	api("PUT /api/v1/me/notification-settings", h.apiSetNotificationSettings)
	api("GET /api/v1/me/tokens", h.apiListTokens)
	api("POST /api/v1/me/tokens", h.apiCreateToken)
	api("DELETE /api/v1/me/tokens/{id}", h.revokeToken)
	// Exports, streamed (export.go); the list pages link to the CSV ones.
	api("GET /api/v1/export/companies.csv", h.exportCompanies(exportCSV))
	api("GET /api/v1/export/companies.jsonl", h.exportCompanies(exportJSONL))
	api("GET /api/v1/export/contacts.csv", h.exportContacts(exportCSV))
	api("GET /api/v1/export/contacts.jsonl", h.exportContacts(exportJSONL))
	api("GET /api/v1/export/meetings.csv", h.exportMeetings(exportCSV))
	api("GET /api/v1/export/meetings.jsonl", h.exportMeetings(exportJSONL))
	apiAdmin("POST /api/v1/users", h.apiCreateUser)
	apiAdmin("PUT /api/v1/users/{id}/clients", h.apiSetClients)
	apiAdmin("POST /api/v1/webhooks", h.apiCreateWebhook)
	apiAdmin("GET /api/v1/webhooks", h.apiListWebhooks)
	apiAdmin("DELETE /api/v1/webhooks/{id}", h.deleteWebhook)
	apiAdmin("GET /api/v1/webhooks/{id}/deliveries", h.apiWebhookDeliveries)
	apiAdmin("POST /api/v1/webhooks/{id}/deliveries/{delivery}/resend", h.resendDelivery)

	// Bulk imports: the seed's endpoints, and the same under /api/v1
	// (imports.go).
	apiUpload("POST /bulk-actions/upload", h.apiUploadBulkAction)
	apiAdmin("GET /bulk-actions", h.apiListBulkActions)
	apiAdmin("GET /bulk-actions/{id}", h.apiGetBulkAction)
	apiAdmin("GET /bulk-actions-by-account/{accountId}", h.apiBulkActionsByAccount)
	apiUpload("POST /api/v1/bulk-actions/upload", h.apiUploadBulkAction)
	apiAdmin("GET /api/v1/bulk-actions", h.apiListBulkActions)
	apiAdmin("GET /api/v1/bulk-actions/{id}", h.apiGetBulkAction)
	apiAdmin("GET /api/v1/bulk-actions-by-account/{accountId}", h.apiBulkActionsByAccount)
	apiAdmin("GET /api/v1/bulk-actions/{id}/errors.csv", h.errorsCSV)
	apiAdmin("POST /api/v1/bulk-actions/{id}/cancel", h.apiCancelBulkAction)

	h.patterns = mux.patterns
	var handler http.Handler = mux.ServeMux
	handler = secureHeaders(handler)
	handler = h.logRequests(handler)
	return handler
}

// How a route answers errors, and what body it takes (Routes).
type (
	errorStyle bool
	bodyLimit  bool
)

const (
	html     errorStyle = false // an HTML page, or JSON if the client asks
	jsonOnly errorStyle = true
	body     bodyLimit  = false // at most maxBody
	fileBody bodyLimit  = true  // an upload, capped by the upload handler
)

// route is what every route's line wraps its handler in: the body limit,
// the query string check, the signed-in user (by session cookie, or on an
// API route by bearer token), then who (requireUser, requireAdmin, or nil
// for anyone).
//
// A request signed in by cookie, or by nobody, passes the cross-origin
// check first: a browser attaches the cookie to another site's request,
// and an Authorization header of another scheme too (a reverse proxy's
// HTTP Basic auth). Only a bearer token on an API route is let through
// unchecked: such a request is signed in by the token alone, never by the
// cookie, and another site cannot have the token; a browser sends no such
// header cross-origin without CORS, which Rolodex does not grant.
func (h *Handler) route(style errorStyle, limit bodyLimit, who func(http.HandlerFunc) http.Handler, fn http.HandlerFunc) http.Handler {
	var next http.Handler = fn
	if who != nil {
		next = who(fn)
	}
	next = h.checkQuery(next)
	withCookie := crossOrigin.Handler(h.loadUser(next))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if style == jsonOnly {
			r = r.WithContext(context.WithValue(r.Context(), jsonKey{}, true))
		}
		if limit == body && r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		if secret, ok := bearer(r); ok && style == jsonOnly {
			h.withToken(w, r, secret, next)
			return
		}
		withCookie.ServeHTTP(w, r)
	})
}

// crossOrigin refuses cross-origin requests that a browser makes with the
// session cookie (route).
var crossOrigin = http.NewCrossOriginProtection()

// jsonKey marks a request of an API route (route): its errors are JSON.
type jsonKey struct{}

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
