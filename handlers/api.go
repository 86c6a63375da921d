package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rolodex/rolodex/store"
)

// decodeJSON reads one JSON object from the body into v (decodeBody).
func decodeJSON(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeBody(b, v)
}

// readBody reads the whole body (at most maxBody: route caps it).
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, err
	}
	if err != nil {
		return nil, store.Errorf(store.EInvalid, "The body could not be read.")
	}
	return b, nil
}

// decodeBody reads one JSON object from b into v, refusing unknown fields,
// trailing data and text that is not UTF-8 (which would be stored as
// U+FFFD), so that typos and mangled bodies are reported, not ignored.
// An unknown field or one of the wrong type is named in the error's
// fields.
func decodeBody(b []byte, v any) error {
	if !utf8.Valid(b) {
		return store.Errorf(store.EInvalid, "The body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		return store.Errorf(store.EInvalid, "The body must hold one JSON object.")
	}
	return nil
}

// jsonProblem describes a decoding error of a body; encoding/json reports
// an unknown field only in its message.
func jsonProblem(err error) error {
	const prefix = "The body is not valid JSON for this request: "
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return errNotObject
	case errors.As(err, &typeErr):
		return &store.Error{Code: store.EInvalid, Message: prefix + "field " + strconv.Quote(typeErr.Field) + " has the wrong type.",
			Fields: map[string]string{typeErr.Field: "Give " + jsonKind(typeErr.Type) + ", not " + typeErr.Value + "."}}
	case errors.Is(err, io.EOF):
		return store.Errorf(store.EInvalid, prefix+"the body is empty.")
	}
	if q, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if key, err := strconv.Unquote(q); err == nil {
			return unknownField(key)
		}
	}
	return store.Errorf(store.EInvalid, prefix+"%s.", err)
}

// jsonKind names what JSON value fits Go type t, for a person.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

func unknownField(key string) error {
	return &store.Error{Code: store.EInvalid, Message: "Unknown field " + strconv.Quote(key) + ".", Fields: map[string]string{key: "Unknown field."}}
}

// errNotObject answers a body that is JSON but not an object (null, a
// list, a string...).
var errNotObject = store.Errorf(store.EInvalid, "The body must be a JSON object.")

// jsonEdit is the body of an API PUT or PATCH as its keys. A PUT's are the
// record's new fields; a PATCH's are a JSON merge patch (RFC 7396) over
// the record's: a key sent replaces the record's, a null removes it, so
// that the field is then as a PUT that left it out would make it.
// Objects are replaced whole, not merged.
type jsonEdit struct {
	keys  map[string]json.RawMessage
	patch bool
}

// readEdit reads the body of a PUT or PATCH; a PATCH must come as
// application/json or application/merge-patch+json. It is checked here,
// before the store's transaction that applies it.
func readEdit(r *http.Request) (jsonEdit, error) {
	e := jsonEdit{patch: r.Method == http.MethodPatch}
	if e.patch {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/json" && mt != "application/merge-patch+json" {
			return e, errPatchType
		}
	}
	err := decodeJSON(r, &e.keys)
	if err == nil && e.keys == nil {
		err = errNotObject
	}
	return e, err
}

// errPatchType is the answer (415) to a PATCH of another media type.
var errPatchType = errors.New("unsupported patch type")

// body is the JSON body that e makes of cur, the record as it is in the
// shape of its PUT body: the body a PUT would have sent.
func (e jsonEdit) body(cur any) ([]byte, error) {
	doc := map[string]json.RawMessage{}
	if e.patch {
		b, err := json.Marshal(cur)
		if err == nil {
			err = json.Unmarshal(b, &doc)
		}
		if err != nil {
			return nil, err
		}
	}
	for k, v := range e.keys {
		if e.patch && string(v) == "null" {
			delete(doc, k)
		} else {
			doc[k] = v
		}
	}
	return json.Marshal(doc)
}

// failEdit answers an error of an API PUT or PATCH.
func (h *Handler) failEdit(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errPatchType) {
		h.answerError(w, r, http.StatusUnsupportedMediaType, "Send a PATCH as application/json or application/merge-patch+json.", nil)
		return
	}
	h.fail(w, r, err)
}

func (h *Handler) apiListCompanies(w http.ResponseWriter, r *http.Request) {
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
	writeJSON(w, http.StatusOK, page)
}

func (h *Handler) apiCreateCompany(w http.ResponseWriter, r *http.Request) {
	var in store.CompanyInput
	if err := decodeJSON(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.Store.CreateCompany(r.Context(), userFrom(r.Context()), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/companies/"+strconv.FormatInt(c.ID, 10))
	writeJSON(w, http.StatusCreated, c)
}

func (h *Handler) apiGetCompany(w http.ResponseWriter, r *http.Request) {
	if c, ok := h.company(w, r); ok {
		writeJSON(w, http.StatusOK, c)
	}
}

func (h *Handler) apiUpdateCompany(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in store.CompanyInput
	if err := decodeJSON(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.Store.UpdateCompany(r.Context(), userFrom(r.Context()), id, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (h *Handler) apiDeleteCompany(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err == nil {
		err = h.Store.DeleteCompany(r.Context(), userFrom(r.Context()), id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) apiTimeline(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	limit := limitParam(q)
	var types []string
	if t := q.Get("type"); t != "" {
		types = []string{t}
	}
	items, next, err := h.Store.Timeline(r.Context(), userFrom(r.Context()), id, store.TimelineQuery{Types: types, Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if items == nil {
		items = []store.TimelineItem{}
	}
	writeJSON(w, http.StatusOK, struct {
		Items      []store.TimelineItem `json:"items"`
		NextCursor string               `json:"next_cursor"`
	}{items, next})
}

func (h *Handler) apiAddItem(k itemKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		var b []byte
		if err == nil {
			b, err = readBody(r)
		}
		var in map[string]string
		if err == nil {
			in, err = k.decode(b)
		}
		var item any
		if err == nil {
			item, err = k.add(r.Context(), h.Store, userFrom(r.Context()), id, in)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/"+k.path+"/"+strconv.FormatInt(itemID(item), 10))
		writeJSON(w, http.StatusCreated, item)
	}
}

// apiGetItem answers GET /api/v1/{notes,contacts,links}/{id}.
func (h *Handler) apiGetItem(k itemKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		var item any
		if err == nil {
			item, _, _, err = k.load(r.Context(), h.Store, userFrom(r.Context()), id)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, item)
	}
}

// apiEditItem answers PUT (every field; one left out is empty) and PATCH
// (the fields sent) of /api/v1/{notes,contacts,links}/{id}.
func (h *Handler) apiEditItem(k itemKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		var e jsonEdit
		if err == nil {
			e, err = readEdit(r)
		}
		var item any
		if err == nil {
			item, err = k.change(r.Context(), h.Store, userFrom(r.Context()), id, func(v map[string]string) error {
				b, err := e.body(v)
				var sent map[string]string
				if err == nil {
					sent, err = k.decode(b)
				}
				clear(v)
				maps.Copy(v, sent)
				return err
			})
		}
		if err != nil {
			h.failEdit(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, item)
	}
}

// apiDeleteItem answers DELETE /api/v1/{notes,contacts,links}/{id}.
func (h *Handler) apiDeleteItem(k itemKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err == nil {
			err = h.Store.DeleteItem(r.Context(), userFrom(r.Context()), k.typ, id)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// apiCompanyItems answers GET /api/v1/companies/{id}/{notes,...}: the
// company's items of type typ, newest first, a page at a time (limit,
// cursor), in the timeline's answer shape.
func (h *Handler) apiCompanyItems(typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			h.fail(w, r, err)
			return
		}
		q := r.URL.Query()
		page, next, err := h.Store.CompanyItems(r.Context(), userFrom(r.Context()), id, typ, q.Get("cursor"), limitParam(q))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		items := make([]any, len(page))
		for i, it := range page {
			items[i] = it.Item()
		}
		writeJSON(w, http.StatusOK, struct {
			Items      []any  `json:"items"`
			NextCursor string `json:"next_cursor"`
		}{items, next})
	}
}

// apiPatchCompany changes the fields sent of a company (jsonEdit).
func (h *Handler) apiPatchCompany(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	var e jsonEdit
	if err == nil {
		e, err = readEdit(r)
	}
	var c *store.Company
	if err == nil {
		c, err = h.Store.ChangeCompany(r.Context(), userFrom(r.Context()), id, func(cur *store.Company) (store.CompanyInput, error) {
			var in store.CompanyInput
			b, err := e.body(companyBody(cur))
			if err == nil {
				err = decodeBody(b, &in)
			}
			return in, err
		})
	}
	if err != nil {
		h.failEdit(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// companyBody is a company as the body of its PUT: one line per field.
func companyBody(c *store.Company) store.CompanyInput {
	return store.CompanyInput{Name: c.Name, Street: c.Street, Town: c.Town, State: c.State, Zip: c.Zip, Website: c.Website, Description: c.Description}
}

func (h *Handler) apiCreateUser(w http.ResponseWriter, r *http.Request) {
	var in store.UserInput
	if err := decodeJSON(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.Store.CreateUser(r.Context(), userFrom(r.Context()), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

func (h *Handler) apiSetClients(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in struct {
		CompanyIDs []int64 `json:"company_ids"`
	}
	if err := decodeJSON(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.CompanyIDs == nil {
		h.fail(w, r, &store.Error{Code: store.EInvalid, Message: "company_ids is required.", Fields: map[string]string{"company_ids": "Give a list of company ids (it may be empty)."}})
		return
	}
	if err := h.Store.SetUserClients(r.Context(), userFrom(r.Context()), id, in.CompanyIDs); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user_id": id, "company_ids": in.CompanyIDs})
}

// limitParam reads a list's page size for the store, which refuses one
// out of range: 0 when absent (the list's default), -1 when not a whole
// number of at least 1.
func limitParam(q url.Values) int {
	s := q.Get("limit")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return -1
	}
	return n
}

// boolParam reads query parameter name as true or false (strconv's
// spellings: 1, t, true, 0, f, false…); absent or empty is false, anything
// else 422 naming it.
func boolParam(q url.Values, name string) (bool, error) {
	s := q.Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, &store.Error{Code: store.EInvalid, Message: name + " is true or false.", Fields: map[string]string{name: "Use true or false."}}
	}
	return b, nil
}

// health reports the state of SQLite and Redis; 200 while SQLite answers,
// since Rolodex serves from SQLite when Redis is away or not trusted.
func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sqlErr, redisErr := h.Store.Ping(ctx)
	redisState := "ok"
	if redisErr != nil {
		redisState = "down: " + redisErr.Error()
	} else if why, err := h.Store.RedisDegraded(ctx); err != nil {
		sqlErr = err // it reads the outbox from SQLite
	} else if why != "" {
		redisState = "degraded: " + why
	}
	pending, _ := h.Store.CountOutbox(ctx)
	oldest, _ := h.Store.OldestOutbox(ctx)
	st, sqlite := http.StatusOK, "ok"
	if sqlErr != nil {
		st, sqlite = http.StatusServiceUnavailable, "down: "+sqlErr.Error()
	}
	writeJSON(w, st, map[string]any{"sqlite": sqlite, "redis": redisState, "outbox_pending": pending,
		"outbox_oldest_seconds": int64(oldest.Seconds())})
}
