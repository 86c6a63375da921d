package handlers

import (
	"net/http"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// The signed-in user's own profile (/me): name, e-mail address, time zone,
// and password.

// rememberZone stores the browser's time zone, which the sign-in form
// carries (app.js fills it), as u's zone when u has none yet. It is only a
// default: a zone the user chose is never replaced, and a missing or
// unknown one changes nothing and does not stop the sign-in.
func (h *Handler) rememberZone(r *http.Request, u *store.User) {
	zone := r.PostFormValue("time_zone")
	if zone == "" || u.TimeZone != "" {
		return
	}
	err := h.Store.SetTimeZoneIfUnset(r.Context(), u.ID, zone)
	switch {
	case store.ErrorCode(err) == store.EInvalid:
		h.Log.Info("browser time zone not stored", "user", u.ID, "zone", zone)
	case err != nil:
		h.Log.Warn("store browser time zone", "user", u.ID, "err", err)
	}
}

// profileForm fills the profile form with u's current values; a user
// without a zone sees UTC, the zone their pages are shown in.
func profileForm(u *store.User) views.Form {
	return views.Form{Values: map[string]string{"name": u.Name, "email": u.Email, "time_zone": u.Location().String()}}
}

func (h *Handler) mePage(w http.ResponseWriter, r *http.Request, st int, profile, password views.Form) {
	notify, err := h.notifySettings(r, userFrom(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.MePage(h.page(r, "Your profile"), profile, password, notify), nil)
}

func (h *Handler) showMe(w http.ResponseWriter, r *http.Request) {
	h.mePage(w, r, http.StatusOK, profileForm(userFrom(r.Context())), views.Form{})
}

func (h *Handler) updateMe(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := formOf(r, "name", "email", "time_zone")
	u, err := h.Store.UpdateProfile(r.Context(), userFrom(r.Context()).ID,
		store.ProfileInput{Name: f.Values["name"], Email: f.Values["email"], TimeZone: f.Values["time_zone"]})
	if invalid(err) {
		h.mePage(w, r, http.StatusUnprocessableEntity, withErr(f, err), views.Form{})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Log.Info("profile saved", "user", u.ID)
	h.flash(w, r, "Profile saved.")
	redirect(w, r, "/me")
}

// changePassword sets a new password; the current one must be given. The
// values are never sent back in the form.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	u := userFrom(r.Context())
	// Whoever else held a session of this user is out; this browser goes
	// on under a new token.
	token, err := h.Store.ChangePassword(r.Context(), u, currentSession(r.Context()).ID, h.clientAddress(r),
		r.PostFormValue("current_password"), r.PostFormValue("new_password"))
	if invalid(err) {
		h.mePage(w, r, http.StatusUnprocessableEntity, profileForm(u), withErr(views.Form{}, err))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Log.Info("password changed", "user", u.ID)
	if err := h.setSessionCookie(w, r, token); err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, "Password changed. You were signed out everywhere else.")
	redirect(w, r, "/me")
}
