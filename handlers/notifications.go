package handlers

import (
	"net/http"
	"strconv"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// Notifications: the inbox (/notifications), the navigation's bell, the
// user's choice of how to hear (a section of /me), the admin's list of sent
// mail, and the one-click unsubscribe of digest e-mail. The pipeline that
// fills the inbox is notify's.

// notifySettings is u's choice as the /me form shows it.
func (h *Handler) notifySettings(r *http.Request, u *store.User) (views.NotifySettings, error) {
	ns, err := h.Store.NotificationSettings(r.Context(), u)
	if err != nil {
		return views.NotifySettings{}, err
	}
	email := ""
	if ns.Email {
		email = "on"
	}
	return views.NotifySettings{
		Form:    views.Form{Values: map[string]string{"mode": ns.Mode, "quiet_seconds": strconv.FormatInt(h.quietMS(ns)/1000, 10), "email": email}},
		Periods: h.periodSeconds(),
	}, nil
}

// quietMS is the period a choice stands for, the default's when unchosen.
func (h *Handler) quietMS(ns *store.NotificationSettings) int64 {
	if ns.QuietMS == 0 {
		return h.Notify.DefaultQuiet().Milliseconds()
	}
	return ns.QuietMS
}

func (h *Handler) periodSeconds() []int64 {
	var out []int64
	for _, ms := range h.Notify.OfferedMS() {
		out = append(out, ms/1000)
	}
	return out
}

// saveNotifySettings stores u's choice and moves a window already open to
// its new deadline.
func (h *Handler) saveNotifySettings(r *http.Request, u *store.User, ns store.NotificationSettings) error {
	if err := h.Store.SetNotificationSettings(r.Context(), u, ns, h.Notify.OfferedMS()); err != nil {
		return err
	}
	if err := h.Notify.Resync(r.Context(), u.WorkspaceID, u.ID); err != nil {
		// The scheduler checks every window against SQLite when it falls
		// due, so a later deadline still holds; only an earlier one waits.
		h.Log.Warn("notify: resync after settings", "user", u.ID, "err", err)
	}
	return nil
}

func (h *Handler) updateNotificationSettings(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	u := userFrom(r.Context())
	f := formOf(r, "mode", "quiet_seconds", "email")
	quiet, perr := strconv.ParseInt(f.Values["quiet_seconds"], 10, 64)
	err := h.saveNotifySettings(r, u, store.NotificationSettings{Mode: f.Values["mode"], QuietMS: quiet * 1000, Email: f.Values["email"] == "on"})
	if perr != nil && f.Values["mode"] == store.NotifyDigest {
		err = &store.Error{Code: store.EInvalid, Message: "Check the notification settings.", Fields: map[string]string{"quiet_seconds": "Choose one of the offered periods."}}
	}
	if invalid(err) {
		h.render(w, r, http.StatusUnprocessableEntity, views.MePage(h.page(r, "Your profile"), profileForm(u), views.Form{},
			views.NotifySettings{Form: withErr(f, err), Periods: h.periodSeconds()}), nil)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, "Notification settings saved.")
	redirect(w, r, "/me")
}

// notificationSettingsJSON is the API's form of a choice.
type notificationSettingsJSON struct {
	Mode           string  `json:"mode"`
	QuietSeconds   int64   `json:"quiet_seconds"`
	Email          bool    `json:"email"`
	OfferedSeconds []int64 `json:"offered_seconds,omitempty"`
}

func (h *Handler) apiNotificationSettings(w http.ResponseWriter, r *http.Request) {
	ns, err := h.Store.NotificationSettings(r.Context(), userFrom(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, notificationSettingsJSON{Mode: ns.Mode, QuietSeconds: h.quietMS(ns) / 1000, Email: ns.Email, OfferedSeconds: h.periodSeconds()})
}

func (h *Handler) apiSetNotificationSettings(w http.ResponseWriter, r *http.Request) {
	var in notificationSettingsJSON
	if err := decodeJSON(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	u := userFrom(r.Context())
	if err := h.saveNotifySettings(r, u, store.NotificationSettings{Mode: in.Mode, QuietMS: in.QuietSeconds * 1000, Email: in.Email}); err != nil {
		h.fail(w, r, err)
		return
	}
	h.apiNotificationSettings(w, r)
}

func (h *Handler) notificationsPage(w http.ResponseWriter, r *http.Request) {
	page, err := h.Store.Notifications(r.Context(), userFrom(r.Context()), false, r.URL.Query().Get("cursor"), 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.NotificationsPage(h.page(r, "Notifications"), page), nil)
}

// bell is the navigation's unread count, fetched after the page loads.
func (h *Handler) bell(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	if u == nil {
		w.WriteHeader(http.StatusNoContent) // signed out: the poll has nothing to show
		return
	}
	n, err := h.Store.UnreadNotifications(r.Context(), u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	views.Bell(n).Render(r.Context(), w)
}

func (h *Handler) markRead(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	var ids []int64
	for _, v := range r.PostForm["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			h.fail(w, r, &store.Error{Code: store.EInvalid, Message: "Not a notification.", Fields: map[string]string{"id": "Not a notification id."}})
			return
		}
		ids = append(ids, id)
	}
	if err := h.Store.MarkNotificationsRead(r.Context(), userFrom(r.Context()), ids, r.PostFormValue("all") != ""); err != nil {
		h.fail(w, r, err)
		return
	}
	redirect(w, r, "/notifications")
}

func (h *Handler) apiNotifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	unread, err := boolParam(q, "unread")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.Store.Notifications(r.Context(), userFrom(r.Context()), unread, q.Get("cursor"), 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (h *Handler) apiMarkRead(w http.ResponseWriter, r *http.Request) {
	var in struct {
		IDs []int64 `json:"ids"`
		All bool    `json:"all"`
	}
	if err := decodeJSON(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if !in.All && len(in.IDs) == 0 {
		h.fail(w, r, &store.Error{Code: store.EInvalid, Message: "Name the notifications, or all.", Fields: map[string]string{"ids": "Give ids, or all: true."}})
		return
	}
	u := userFrom(r.Context())
	if err := h.Store.MarkNotificationsRead(r.Context(), u, in.IDs, in.All); err != nil {
		h.fail(w, r, err)
		return
	}
	n, err := h.Store.UnreadNotifications(r.Context(), u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"unread": n})
}

// listMail is the admin's list of the digest e-mail that went out.
func (h *Handler) listMail(w http.ResponseWriter, r *http.Request) {
	mails, err := h.Store.SentMail(r.Context(), userFrom(r.Context()), 200)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	files := h.Notify.Mail != nil && h.Notify.Mail.SMTP == nil
	h.render(w, r, http.StatusOK, views.MailPage(h.page(r, "Sent mail"), mails, files), nil)
}

// unsubscribeUser is whom the request's signed token names.
func (h *Handler) unsubscribeUser(r *http.Request) (*store.User, error) {
	if h.Notify.Mail == nil {
		return nil, notFound
	}
	uid, ok := h.Notify.Mail.CheckUnsubscribe(r.FormValue("token"))
	if !ok {
		return nil, notFound
	}
	return h.Store.UserByID(r.Context(), uid)
}

// unsubscribePage asks before turning digests off: a mail scanner that
// follows links must not unsubscribe anyone.
func (h *Handler) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	if _, err := h.unsubscribeUser(r); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.UnsubscribePage(h.page(r, "Turn off digests"), r.FormValue("token"), false), nil)
}

// unsubscribe turns the token's user's notifications off: the confirmation
// page's button, or a mail client's one-click POST (RFC 8058).
func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	u, err := h.unsubscribeUser(r)
	if err == nil {
		var ns *store.NotificationSettings
		if ns, err = h.Store.NotificationSettings(r.Context(), u); err == nil {
			err = h.saveNotifySettings(r, u, store.NotificationSettings{Mode: store.NotifyOff, Email: ns.Email})
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.UnsubscribePage(h.page(r, "Digests are off"), "", true), nil)
}
