package handlers

import (
	"net/http"
	"strconv"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

var companyFields = []string{"name", "street", "town", "state", "zip", "website", "description", "owner_id"}

// companyInput reads a submitted company form. The owner select is only
// on the form for those who may change the owner: without it (owner_id
// empty) the owner stays as it is.
func companyInput(f views.Form) (store.CompanyInput, error) {
	v := f.Values
	in := store.CompanyInput{Name: v["name"], Street: v["street"], Town: v["town"], State: v["state"], Zip: v["zip"], Website: v["website"], Description: v["description"]}
	if s := v["owner_id"]; s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return in, &store.Error{Code: store.EInvalid, Message: "Choose the owner from the list.", Fields: map[string]string{"owner_id": "Choose the owner from the list."}}
		}
		in.OwnerID = &id
	}
	return in, nil
}

// companyQuery reads the list's sort, order, cursor and "My clients"
// (mine=1 or mine=true) from the URL; a mine that is not a boolean is
// EInvalid rather than read as false.
func companyQuery(r *http.Request) (store.CompanyQuery, error) {
	q := r.URL.Query()
	mine, err := boolParam(q, "mine")
	return store.CompanyQuery{Sort: q.Get("sort"), Desc: q.Get("order") == "desc", Cursor: q.Get("cursor"), Limit: limitParam(q), Mine: mine}, err
}

// ownerChoices is who may own c, for the edit form of a user who may
// change its owner; nil for the others, whose form has no owner select.
func (h *Handler) ownerChoices(r *http.Request, c *store.Company) ([]store.User, error) {
	u := userFrom(r.Context())
	if !c.CanChangeOwner(u) {
		return nil, nil
	}
	return h.Store.OwnerChoices(r.Context(), u, c.ID)
}

func (h *Handler) listCompanies(w http.ResponseWriter, r *http.Request) {
	q, err := companyQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.Store.ListCompanies(r.Context(), userFrom(r.Context()), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := views.CompanyList{Page: page, Sort: q.Sort, Desc: q.Desc, Mine: q.Mine, Staff: !userFrom(r.Context()).IsAdmin()}
	if l.Sort == "" {
		l.Sort = "name"
	}
	h.render(w, r, http.StatusOK, views.CompaniesPage(h.page(r, "Companies"), l), views.CompanyRows(l))
}

func (h *Handler) newCompany(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, views.CompanyFormPage(h.page(r, "New company"), nil, views.Form{}, nil), nil)
}

func (h *Handler) createCompany(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := formOf(r, companyFields...)
	in, err := companyInput(f)
	var c *store.Company
	if err == nil {
		c, err = h.Store.CreateCompany(r.Context(), userFrom(r.Context()), in)
	}
	if invalid(err) {
		h.render(w, r, http.StatusUnprocessableEntity, views.CompanyFormPage(h.page(r, "New company"), nil, withErr(f, err), nil), nil)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, "Company created.")
	redirect(w, r, companyURL(c.ID))
}

func companyURL(id int64) string { return "/companies/" + strconv.FormatInt(id, 10) }

// company loads the {id} company of r for its user, or answers 404.
func (h *Handler) company(w http.ResponseWriter, r *http.Request) (*store.Company, bool) {
	id, err := pathID(r, "id")
	if err == nil {
		var c *store.Company
		if c, err = h.Store.Company(r.Context(), userFrom(r.Context()), id); err == nil {
			return c, true
		}
	}
	h.fail(w, r, err)
	return nil, false
}

// timelineFor reads company id, if r's user may see it, with the timeline
// page that r asks for.
func (h *Handler) timelineFor(r *http.Request, id int64) (views.Timeline, error) {
	q := r.URL.Query()
	typ := q.Get("type")
	var types []string
	if typ != "" {
		types = []string{typ}
	}
	c, items, next, err := h.Store.CompanyTimeline(r.Context(), userFrom(r.Context()), id, store.TimelineQuery{Types: types, Cursor: q.Get("cursor")})
	return views.Timeline{Company: c, Items: items, Next: next, Type: typ}, err
}

// companyTimeline is timelineFor the {id} company of r; it answers the
// error itself.
func (h *Handler) companyTimeline(w http.ResponseWriter, r *http.Request) (views.Timeline, bool) {
	id, err := pathID(r, "id")
	var tl views.Timeline
	if err == nil {
		if tl, err = h.timelineFor(r, id); err == nil {
			return tl, true
		}
	}
	h.fail(w, r, err)
	return tl, false
}

func (h *Handler) showCompany(w http.ResponseWriter, r *http.Request) {
	tl, ok := h.companyTimeline(w, r)
	if !ok {
		return
	}
	c := tl.Company
	h.render(w, r, http.StatusOK, views.CompanyPage(h.page(r, c.Name), c, tl, views.ItemForms{}), views.TimelineSection(tl))
}

// timeline answers the timeline fragment: a filter change swaps the whole
// section, "load more" (a cursor) appends the next items.
func (h *Handler) timeline(w http.ResponseWriter, r *http.Request) {
	tl, ok := h.companyTimeline(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Get("cursor") != "" {
		h.render(w, r, http.StatusOK, views.TimelineItems(tl), nil)
		return
	}
	h.render(w, r, http.StatusOK, views.TimelineSection(tl), nil)
}

func (h *Handler) editCompany(w http.ResponseWriter, r *http.Request) {
	c, ok := h.company(w, r)
	if !ok {
		return
	}
	owners, err := h.ownerChoices(r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.CompanyFormPage(h.page(r, "Edit "+c.Name), c, views.FormFromCompany(c), owners), nil)
}

func (h *Handler) updateCompany(w http.ResponseWriter, r *http.Request) {
	c, ok := h.company(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := formOf(r, companyFields...)
	in, err := companyInput(f)
	if err == nil {
		_, err = h.Store.UpdateCompany(r.Context(), userFrom(r.Context()), c.ID, in)
	}
	if invalid(err) {
		owners, oerr := h.ownerChoices(r, c)
		if oerr != nil {
			h.fail(w, r, oerr)
			return
		}
		h.render(w, r, http.StatusUnprocessableEntity, views.CompanyFormPage(h.page(r, "Edit "+c.Name), c, withErr(f, err), owners), nil)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, "Company saved.")
	redirect(w, r, companyURL(c.ID))
}

func (h *Handler) deleteCompany(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err == nil {
		err = h.Store.DeleteCompany(r.Context(), userFrom(r.Context()), id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(w, r, "Company deleted.")
	redirect(w, r, "/companies")
}
