package handlers

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// itemKind describes one kind of timeline item (note, contact, link) so
// that one set of handlers serves all three, in HTML and JSON. Handlers
// see an item's fields as a map of strings, as forms and JSON bodies
// carry them.
type itemKind struct {
	path   string // URL segment: "notes"
	typ    string // store type: "note"
	fields []string
	add    func(ctx context.Context, st *store.Store, u *store.User, companyID int64, v map[string]string) (any, error)
	// change edits item id: edit gets its fields as they are, read in the
	// transaction that then writes what edit leaves in them.
	change func(ctx context.Context, st *store.Store, u *store.User, id int64, edit func(v map[string]string) error) (any, error)
	load   func(ctx context.Context, st *store.Store, u *store.User, id int64) (item any, companyID int64, v map[string]string, err error)
}

// kindOf builds the itemKind of item type T, whose store methods take an
// In: values is an item as its company and fields, input the fields as
// an In. A new field is a line in each.
type kindOf[T, In any] struct {
	path, typ string
	fields    []string
	add       func(*store.Store, context.Context, *store.User, int64, In) (*T, error)
	get       func(*store.Store, context.Context, *store.User, int64) (*T, error)
	change    func(*store.Store, context.Context, *store.User, int64, func(*T) (In, error)) (*T, error)
	values    func(*T) (companyID int64, v map[string]string)
	input     func(v map[string]string) In
}

func (k kindOf[T, In]) kind() itemKind {
	return itemKind{path: k.path, typ: k.typ, fields: k.fields,
		add: func(ctx context.Context, st *store.Store, u *store.User, cid int64, v map[string]string) (any, error) {
			item, err := k.add(st, ctx, u, cid, k.input(v))
			return item, err
		},
		change: func(ctx context.Context, st *store.Store, u *store.User, id int64, edit func(map[string]string) error) (any, error) {
			item, err := k.change(st, ctx, u, id, func(cur *T) (In, error) {
				_, v := k.values(cur)
				err := edit(v)
				return k.input(v), err
			})
			return item, err
		},
		load: func(ctx context.Context, st *store.Store, u *store.User, id int64) (any, int64, map[string]string, error) {
			item, err := k.get(st, ctx, u, id)
			if err != nil {
				return nil, 0, nil, err
			}
			cid, v := k.values(item)
			return item, cid, v, nil
		},
	}
}

// The item kinds the company page adds and edits alike; routes.go names
// each one on its routes' lines.
var (
	noteKind = kindOf[store.Note, store.NoteInput]{
		path: "notes", typ: store.TypeNote, fields: []string{"title", "body"},
		add: (*store.Store).AddNote, get: (*store.Store).Note, change: (*store.Store).ChangeNote,
		values: func(n *store.Note) (int64, map[string]string) {
			return n.CompanyID, map[string]string{"title": n.Title, "body": n.Body}
		},
		input: func(v map[string]string) store.NoteInput { return store.NoteInput{Title: v["title"], Body: v["body"]} },
	}.kind()
	contactKind = kindOf[store.Contact, store.ContactInput]{
		path: "contacts", typ: store.TypeContact, fields: []string{"name", "email", "phone", "title"},
		add: (*store.Store).AddContact, get: (*store.Store).Contact, change: (*store.Store).ChangeContact,
		values: func(c *store.Contact) (int64, map[string]string) {
			return c.CompanyID, map[string]string{"name": c.Name, "email": c.Email, "phone": c.Phone, "title": c.Title}
		},
		input: func(v map[string]string) store.ContactInput {
			return store.ContactInput{Name: v["name"], Email: v["email"], Phone: v["phone"], Title: v["title"]}
		},
	}.kind()
	linkKind = kindOf[store.Link, store.LinkInput]{
		path: "links", typ: store.TypeLink, fields: []string{"title", "url"},
		add: (*store.Store).AddLink, get: (*store.Store).Link, change: (*store.Store).ChangeLink,
		values: func(l *store.Link) (int64, map[string]string) {
			return l.CompanyID, map[string]string{"title": l.Title, "url": l.URL}
		},
		input: func(v map[string]string) store.LinkInput { return store.LinkInput{Title: v["title"], URL: v["url"]} },
	}.kind()
)

// decode reads a JSON body of k's fields, all strings (null is empty). An
// unknown key or a value that is not a string is reported on its field.
func (k itemKind) decode(b []byte) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := decodeBody(b, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, errNotObject
	}
	v := make(map[string]string, len(raw))
	p := store.Problems{}
	for key, val := range raw {
		var s string
		switch {
		case !slices.Contains(k.fields, key):
			p.Add(key, "Unknown field: a "+k.typ+" has "+strings.Join(k.fields, ", ")+".")
		case json.Unmarshal(val, &s) != nil:
			p.Add(key, "Give a string.")
		}
		v[key] = s
	}
	return v, p.Err()
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
		_, cid, values, err := k.load(r.Context(), h.Store, u, id)
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
		_, cid, _, err := k.load(r.Context(), h.Store, u, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if err := parseForm(r); err != nil {
			h.fail(w, r, err)
			return
		}
		f := formOf(r, k.fields...)
		_, err = k.change(r.Context(), h.Store, u, id, func(v map[string]string) error {
			maps.Copy(v, f.Values) // the form has every field
			return nil
		})
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
		_, cid, _, err := k.load(r.Context(), h.Store, u, id)
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
