package handlers

import (
	"net/http"
	"strconv"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

var companyFields = []string{"name", "street", "town", "state", "zip", "website", "description"}

func companyInput(f views.Form) store.CompanyInput {
	v := f.Values
	return store.CompanyInput{Name: v["name"], Street: v["street"], Town: v["town"], State: v["state"], Zip: v["zip"], Website: v["website"], Description: v["description"]}
}

// companyQuery reads the list's sort, order and cursor from the URL.
func companyQuery(r *http.Request) store.CompanyQuery {
	q := r.URL.Query()
	return store.CompanyQuery{Sort: q.Get("sort"), Desc: q.Get("order") == "desc", Cursor: q.Get("cursor"), Limit: limitParam(q)}
}

func (h *Handler) listCompanies(w http.ResponseWriter, r *http.Request) {
	q := companyQuery(r)
	page, err := h.Store.ListCompanies(r.Context(), userFrom(r.Context()), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := views.CompanyList{Page: page, Sort: q.Sort, Desc: q.Desc, Staff: !userFrom(r.Context()).IsAdmin()}
	if l.Sort == "" {
		l.Sort = "name"
	}
	h.render(w, r, http.StatusOK, views.CompaniesPage(h.page(r, "Companies"), l), views.CompanyRows(l))
}

func (h *Handler) newCompany(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, views.CompanyFormPage(h.page(r, "New company"), nil, views.Form{}), nil)
}

func (h *Handler) createCompany(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := formOf(r, companyFields...)
	c, err := h.Store.CreateCompany(r.Context(), userFrom(r.Context()), companyInput(f))
	if invalid(err) {
		h.render(w, r, http.StatusUnprocessableEntity, views.CompanyFormPage(h.page(r, "New company"), nil, withErr(f, err)), nil)
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
	h.render(w, r, http.StatusOK, views.CompanyFormPage(h.page(r, "Edit "+c.Name), c, views.FormFromCompany(c)), nil)
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
	_, err := h.Store.UpdateCompany(r.Context(), userFrom(r.Context()), c.ID, companyInput(f))
	if invalid(err) {
		h.render(w, r, http.StatusUnprocessableEntity, views.CompanyFormPage(h.page(r, "Edit "+c.Name), c, withErr(f, err)), nil)
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
