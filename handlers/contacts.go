package handlers

import (
	"cmp"
	"net/http"
	"strconv"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// Contacts as records: the /contacts list, a contact's page and the JSON
// list. Adding, editing and deleting a contact are the timeline item's
// routes (items.go).

// contactQuery reads the list's filters from the URL, for the page and
// the API alike: q, company_id, mine, sort, order, cursor and limit. A
// malformed company_id, mine or order is reported here with the parameter
// as the field; the store reports the rest the same way.
func contactQuery(r *http.Request) (store.ContactQuery, error) {
	v := r.URL.Query()
	q := store.ContactQuery{Q: v.Get("q"), Sort: v.Get("sort"), Cursor: v.Get("cursor"), Limit: limitParam(v)}
	p := store.Problems{}
	if s := v.Get("company_id"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			p.Add("company_id", "Give a company's id.")
		}
		q.CompanyID = n
	}
	switch v.Get("mine") {
	case "", "0", "false":
	case "1", "true":
		q.Mine = true
	default:
		p.Add("mine", "Use 1 or 0.")
	}
	switch v.Get("order") {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		p.Add("order", "Use asc or desc.")
	}
	return q, p.Err()
}

// listContacts is /contacts. Rejected filters answer 422 with the list
// empty and their messages shown; a company filter names its company.
func (h *Handler) listContacts(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	q, err := contactQuery(r)
	l := views.ContactList{Query: q}
	if err == nil && q.CompanyID != 0 {
		l.Company, err = h.Store.Company(r.Context(), u, q.CompanyID)
	}
	if err == nil {
		l.Page, err = h.Store.ListContacts(r.Context(), u, q)
	}
	st := http.StatusOK
	switch {
	case invalid(err):
		st, l.Page = http.StatusUnprocessableEntity, nil
		l.Errors, l.Message = store.ErrorFields(err), store.ErrorMessage(err)
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.ContactsPage(h.page(r, "Contacts"), l), nil)
}

// showContact is /contacts/{id}: a contact of a client the user cannot
// see is not found.
func (h *Handler) showContact(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	var d *store.ContactDetail
	if err == nil {
		d, err = h.Store.ContactDetail(r.Context(), userFrom(r.Context()), id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.ContactPage(h.page(r, cmp.Or(d.Contact.Name, d.Contact.Email)), d), nil)
}

func (h *Handler) apiListContacts(w http.ResponseWriter, r *http.Request) {
	q, err := contactQuery(r)
	var page *store.ContactPage
	if err == nil {
		page, err = h.Store.ListContacts(r.Context(), userFrom(r.Context()), q)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Items      []store.ListedContact `json:"items"`
		NextCursor string                `json:"next_cursor"`
		PrevCursor string                `json:"prev_cursor"`
	}{page.Items, page.Next, page.Prev})
}
