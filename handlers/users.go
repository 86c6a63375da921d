package handlers

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/rolodex/rolodex/search"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

var userFields = []string{"email", "name", "role"}

func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request, st int, f views.Form) {
	users, err := h.Store.ListUsers(r.Context(), userFrom(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.UsersPage(h.page(r, "Users"), users, f), nil)
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) {
	h.usersPage(w, r, http.StatusOK, views.Form{Values: map[string]string{"role": store.RoleStaff}})
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := formOf(r, userFields...)
	u, err := h.Store.CreateUser(r.Context(), userFrom(r.Context()), store.UserInput{
		Email: f.Values["email"], Name: f.Values["name"], Password: r.PostFormValue("password"), Role: f.Values["role"]})
	if invalid(err) {
		h.usersPage(w, r, http.StatusUnprocessableEntity, withErr(f, err))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, "User created.")
	redirect(w, r, "/admin/users/"+strconv.FormatInt(u.ID, 10))
}

// targetUser loads the {id} user of the admin's workspace.
func (h *Handler) targetUser(w http.ResponseWriter, r *http.Request) (*store.User, bool) {
	id, err := pathID(r, "id")
	if err == nil {
		var u *store.User
		if u, err = h.Store.WorkspaceUser(r.Context(), userFrom(r.Context()), id); err == nil {
			return u, true
		}
	}
	h.fail(w, r, err)
	return nil, false
}

func (h *Handler) showUser(w http.ResponseWriter, r *http.Request) {
	u, ok := h.targetUser(w, r)
	if !ok {
		return
	}
	h.userPage(w, r, http.StatusOK, u, views.Form{})
}

// userPage answers u's page with status; f.Message reports a failed
// assignment.
func (h *Handler) userPage(w http.ResponseWriter, r *http.Request, status int, u *store.User, f views.Form) {
	clients, err := h.Store.UserClients(r.Context(), userFrom(r.Context()), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, status, views.UserPage(h.page(r, u.Name), u, clients, f), nil)
}

// clientCandidates lists companies matching q for the "add client" box,
// leaving out those the user already has.
func (h *Handler) clientCandidates(w http.ResponseWriter, r *http.Request) {
	u, ok := h.targetUser(w, r)
	if !ok {
		return
	}
	q := r.URL.Query().Get("q")
	results, err := h.candidates(r.Context(), u, q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.CandidatesPage(h.page(r, "Add a client"), u, q, results), views.Candidates(u.ID, results))
}

// candidates are up to 10 companies matching q that u does not have yet.
// The search asks for as many more as u has clients (up to its limit of
// 50), so that leaving those out still leaves ten when there are ten.
func (h *Handler) candidates(ctx context.Context, u *store.User, q string) ([]views.SearchResult, error) {
	const shown = 10
	have, err := h.Store.ClientIDs(ctx, u)
	if err != nil {
		return nil, err
	}
	results, err := h.search(ctx, userFrom(ctx), q, []string{search.KindCompany}, min(shown+len(have), 50))
	if err != nil {
		return nil, err
	}
	out := results[:0]
	for _, res := range results {
		if !slices.Contains(have, res.ID) && len(out) < shown {
			out = append(out, res)
		}
	}
	return out, nil
}

func (h *Handler) addClient(w http.ResponseWriter, r *http.Request) {
	u, ok := h.targetUser(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	cid, err := strconv.ParseInt(r.PostFormValue("company_id"), 10, 64)
	if err != nil {
		h.fail(w, r, &store.Error{Code: store.EInvalid, Message: "Choose a company.", Fields: map[string]string{"company_id": "Choose a company."}})
		return
	}
	err = h.Store.AssignClient(r.Context(), userFrom(r.Context()), u.ID, cid, true)
	if invalid(err) {
		h.userPage(w, r, http.StatusUnprocessableEntity, u, withErr(views.Form{}, err))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, "Client assigned.")
	redirect(w, r, "/admin/users/"+strconv.FormatInt(u.ID, 10))
}

func (h *Handler) removeClient(w http.ResponseWriter, r *http.Request) {
	u, ok := h.targetUser(w, r)
	if !ok {
		return
	}
	cid, err := pathID(r, "cid")
	if err == nil {
		err = h.Store.AssignClient(r.Context(), userFrom(r.Context()), u.ID, cid, false)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, "Client removed.")
	redirect(w, r, "/admin/users/"+strconv.FormatInt(u.ID, 10))
}

// setActive deactivates the {id} user, which ends their sessions at once,
// or reactivates them.
func (h *Handler) setActive(active bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := h.targetUser(w, r)
		if !ok {
			return
		}
		err := h.Store.SetUserActive(r.Context(), userFrom(r.Context()), u.ID, active)
		if invalid(err) {
			h.userPage(w, r, http.StatusUnprocessableEntity, u, withErr(views.Form{}, err))
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		msg := "User reactivated."
		if !active {
			msg = "User deactivated and signed out everywhere."
			h.Log.Info("user deactivated", "user", u.ID, "by", userFrom(r.Context()).ID)
		}
		h.flash(w, r, msg)
		redirect(w, r, "/admin/users/"+strconv.FormatInt(u.ID, 10))
	}
}
