package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/rolodex/rolodex/store"
)

// decodeJSON reads one JSON object from the body into v, refusing unknown
// fields and trailing data so that typos are reported, not ignored.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return store.Errorf(store.EInvalid, "The body is not valid JSON for this request: %s.", jsonProblem(err))
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		return store.Errorf(store.EInvalid, "The body must hold one JSON object.")
	}
	return nil
}

func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return "field " + strconv.Quote(typeErr.Field) + " has the wrong type"
	}
	if errors.Is(err, io.EOF) {
		return "the body is empty"
	}
	return err.Error()
}

func (h *Handler) apiListCompanies(w http.ResponseWriter, r *http.Request) {
	page, err := h.Store.ListCompanies(r.Context(), userFrom(r.Context()), companyQuery(r))
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
		if err != nil {
			h.fail(w, r, err)
			return
		}
		in := map[string]string{}
		if err := decodeJSON(r, &in); err != nil {
			h.fail(w, r, err)
			return
		}
		for key := range in {
			if !slices.Contains(k.fields, key) {
				h.fail(w, r, store.Errorf(store.EInvalid, "Unknown field %q.", key))
				return
			}
		}
		item, err := k.add(r.Context(), h.Store, userFrom(r.Context()), id, in)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, item)
	}
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
