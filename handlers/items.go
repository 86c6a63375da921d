package handlers

import (
	"context"
	"net/http"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// itemKind describes one kind of timeline item (note, contact, link) so
// that one set of handlers serves all three, in HTML and JSON.
type itemKind struct {
	path   string // URL segment: "notes"
	typ    string // store type: "note"
	fields []string
	add    func(ctx context.Context, st *store.Store, u *store.User, companyID int64, v map[string]string) (any, error)
	update func(ctx context.Context, st *store.Store, u *store.User, id int64, v map[string]string) error
	load   func(ctx context.Context, st *store.Store, u *store.User, id int64) (companyID int64, v map[string]string, err error)
}

// The item kinds the company page adds and edits alike; routes.go names
// each one on its routes' lines.
var (
	noteKind = itemKind{
		path: "notes", typ: store.TypeNote, fields: []string{"title", "body"},
		add: func(ctx context.Context, st *store.Store, u *store.User, cid int64, v map[string]string) (any, error) {
			return st.AddNote(ctx, u, cid, store.NoteInput{Title: v["title"], Body: v["body"]})
		},
		update: func(ctx context.Context, st *store.Store, u *store.User, id int64, v map[string]string) error {
			_, err := st.UpdateNote(ctx, u, id, store.NoteInput{Title: v["title"], Body: v["body"]})
			return err
		},
		load: func(ctx context.Context, st *store.Store, u *store.User, id int64) (int64, map[string]string, error) {
			n, err := st.Note(ctx, u, id)
			if err != nil {
				return 0, nil, err
			}
			return n.CompanyID, map[string]string{"title": n.Title, "body": n.Body}, nil
		},
	}
	contactKind = itemKind{
		path: "contacts", typ: store.TypeContact, fields: []string{"name", "email", "phone", "title"},
		add: func(ctx context.Context, st *store.Store, u *store.User, cid int64, v map[string]string) (any, error) {
			return st.AddContact(ctx, u, cid, contactInput(v))
		},
		update: func(ctx context.Context, st *store.Store, u *store.User, id int64, v map[string]string) error {
			_, err := st.UpdateContact(ctx, u, id, contactInput(v))
			return err
		},
		load: func(ctx context.Context, st *store.Store, u *store.User, id int64) (int64, map[string]string, error) {
			c, err := st.Contact(ctx, u, id)
			if err != nil {
				return 0, nil, err
			}
			return c.CompanyID, map[string]string{"name": c.Name, "email": c.Email, "phone": c.Phone, "title": c.Title}, nil
		},
	}
	linkKind = itemKind{
		path: "links", typ: store.TypeLink, fields: []string{"title", "url"},
		add: func(ctx context.Context, st *store.Store, u *store.User, cid int64, v map[string]string) (any, error) {
			return st.AddLink(ctx, u, cid, store.LinkInput{Title: v["title"], URL: v["url"]})
		},
		update: func(ctx context.Context, st *store.Store, u *store.User, id int64, v map[string]string) error {
			_, err := st.UpdateLink(ctx, u, id, store.LinkInput{Title: v["title"], URL: v["url"]})
			return err
		},
		load: func(ctx context.Context, st *store.Store, u *store.User, id int64) (int64, map[string]string, error) {
			l, err := st.Link(ctx, u, id)
			if err != nil {
				return 0, nil, err
			}
			return l.CompanyID, map[string]string{"title": l.Title, "url": l.URL}, nil
		},
	}
)

func contactInput(v map[string]string) store.ContactInput {
	return store.ContactInput{Name: v["name"], Email: v["email"], Phone: v["phone"], Title: v["title"]}
}

// addItem adds a note, contact or link from the company page.
func (h *Handler) addItem(k itemKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := h.company(w, r)
		if !ok {
			return
		}
		if err := parseForm(r); err != nil {
			h.fail(w, r, err)
			return
		}
		f := formOf(r, k.fields...)
		item, err := k.add(r.Context(), h.Store, userFrom(r.Context()), c.ID, f.Values)
		h.added(w, r, c, k.typ, item, f, err)
	}
}

// added answers an add form of the company page (typ: note, contact, link,
// meeting) that was submitted as f and stored as item with result err.
// With htmx a success swaps in the refreshed timeline with the new item
// highlighted and the add forms collapsed, and a failure swaps the form
// back with its errors. Without it a success is redirected to the new item
// on the company page (its anchor highlights it) and a failure is shown the
// page.
func (h *Handler) added(w http.ResponseWriter, r *http.Request, c *store.Company, typ string, item any, f views.Form, err error) {
	switch {
	case invalid(err):
		forms, ferr := h.itemForms(r, typ)
		if ferr != nil {
			h.fail(w, r, ferr)
			return
		}
		if isHTMX(r) {
			w.Header().Set("HX-Retarget", "#"+typ+"-form")
			w.Header().Set("HX-Reswap", "outerHTML")
		}
		h.renderForms(w, r, http.StatusUnprocessableEntity, c, forms.With(typ, withErr(f, err)))
	case err != nil:
		h.fail(w, r, err)
	case isHTMX(r):
		tl, err := h.timelineFor(r, c.ID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		tl.Added = views.ItemAnchor(typ, itemID(item))
		// The answer is the unfiltered timeline: the address bar must not
		// keep a filter tab's URL.
		w.Header().Set("HX-Replace-Url", companyURL(c.ID))
		h.render(w, r, http.StatusOK, views.ItemAdded(c, tl, typ), nil)
	default:
		h.flash(w, r, "Added.")
		redirect(w, r, companyURL(c.ID)+"#"+views.ItemAnchor(typ, itemID(item)))
	}
}

// itemID is the id of a note, contact, link or meeting that was just added.
func itemID(item any) int64 {
	switch it := item.(type) {
	case *store.Note:
		return it.ID
	case *store.Contact:
		return it.ID
	case *store.Link:
		return it.ID
	case *store.Meeting:
		return it.ID
	}
	return 0
}

// itemForms are the empty add forms of a company page for r's user, with
// open the one shown open ("" for none). Only an open form is rendered
// besides the note form, so the meeting types are read only for an open
// meeting form.
func (h *Handler) itemForms(r *http.Request, open string) (views.ItemForms, error) {
	forms := views.ItemForms{Open: open}
	if open != store.TypeMeeting {
		return forms, nil
	}
	var err error
	if forms.MeetingTypes, err = h.Store.MeetingTypes(r.Context(), userFrom(r.Context())); err != nil {
		return forms, err
	}
	// The form's routes are the company's: /companies/{id}/meetings...
	companyID, err := pathID(r, "id")
	if err != nil {
		return forms, err
	}
	if forms.Room, err = h.roomChoices(r, companyID); err != nil {
		return forms, err
	}
	forms.Attendees, err = h.attendeeChoices(r, companyID)
	return forms, err
}

// newItem answers GET /companies/{id}/{kind}s/new: the empty add form of
// typ alone for htmx (a collapsed form on the company page loads it when
// opened), otherwise the company page with that form open.
func (h *Handler) newItem(typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := h.company(w, r)
		if !ok {
			return
		}
		forms, err := h.itemForms(r, typ)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.renderForms(w, r, http.StatusOK, c, forms)
	}
}

// renderForms answers the open add form of forms alone to htmx, and the
// company page with it open otherwise.
func (h *Handler) renderForms(w http.ResponseWriter, r *http.Request, status int, c *store.Company, forms views.ItemForms) {
	if isHTMX(r) {
		h.render(w, r, status, forms.OpenForm(c), nil)
		return
	}
	tl, err := h.timelineFor(r, c.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, status, views.CompanyPage(h.page(r, c.Name), c, tl, forms), nil)
}

func (h *Handler) editItem(k itemKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			h.fail(w, r, err)
			return
		}
		u := userFrom(r.Context())
		cid, values, err := k.load(r.Context(), h.Store, u, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		c, err := h.Store.Company(r.Context(), u, cid)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, http.StatusOK, views.ItemEditPage(h.page(r, "Edit "+k.typ), c, k.typ, id, views.Form{Values: values}), nil)
	}
}

func (h *Handler) updateItem(k itemKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			h.fail(w, r, err)
			return
		}
		u := userFrom(r.Context())
		cid, _, err := k.load(r.Context(), h.Store, u, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if err := parseForm(r); err != nil {
			h.fail(w, r, err)
			return
		}
		f := formOf(r, k.fields...)
		err = k.update(r.Context(), h.Store, u, id, f.Values)
		if invalid(err) {
			c, cerr := h.Store.Company(r.Context(), u, cid)
			if cerr != nil {
				h.fail(w, r, cerr)
				return
			}
			h.render(w, r, http.StatusUnprocessableEntity, views.ItemEditPage(h.page(r, "Edit "+k.typ), c, k.typ, id, withErr(f, err)), nil)
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.flash(w, r, "Saved.")
		redirect(w, r, companyURL(cid))
	}
}

func (h *Handler) deleteItem(k itemKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			h.fail(w, r, err)
			return
		}
		u := userFrom(r.Context())
		cid, _, err := k.load(r.Context(), h.Store, u, id)
		if err == nil {
			err = h.Store.DeleteItem(r.Context(), u, k.typ, id)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.flash(w, r, "Deleted.")
		redirect(w, r, companyURL(cid))
	}
}
