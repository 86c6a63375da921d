package handlers

import (
	"context"
	"net/http"
	"strconv"

	"github.com/rolodex/rolodex/search"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// search runs a name search for u. The index filters by u's clients; the
// hits' companies are then loaded from SQLite through the same security
// check as every page, which names them and drops anything the index still
// holds but SQLite no longer allows (a company just deleted or unassigned).
func (h *Handler) search(ctx context.Context, u *store.User, text string, kinds []string, limit int) ([]views.SearchResult, error) {
	clients, err := h.Store.ClientIDs(ctx, u)
	if err != nil {
		return nil, err
	}
	hits, err := h.Index.Search(ctx, search.Query{WorkspaceID: u.WorkspaceID, Text: text, Clients: clients, Kinds: kinds, Limit: limit})
	if err != nil || len(hits) == 0 {
		return []views.SearchResult{}, err
	}
	ids := make([]int64, 0, len(hits))
	for _, hit := range hits {
		ids = append(ids, hit.CompanyID)
	}
	companies, err := h.Store.CompaniesByID(ctx, u, ids)
	if err != nil {
		return nil, err
	}
	out := make([]views.SearchResult, 0, len(hits))
	for _, hit := range hits {
		c, ok := companies[hit.CompanyID]
		if !ok {
			continue
		}
		res := views.SearchResult{Kind: hit.Kind, ID: hit.ID, CompanyID: hit.CompanyID, Name: hit.Name, Email: hit.Email, CompanyName: c.Name}
		if hit.Kind == search.KindCompany {
			res.Name = c.Name
		}
		out = append(out, res)
	}
	return out, nil
}

func (h *Handler) searchPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	results, err := h.search(r.Context(), userFrom(r.Context()), q, nil, 10)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.SearchPage(h.page(r, "Search"), results), views.SearchResults(q, results))
}

func (h *Handler) apiSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	results, err := h.search(r.Context(), userFrom(r.Context()), q.Get("q"), q["kind"], limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	type hit struct {
		Kind        string `json:"kind"`
		ID          int64  `json:"id"`
		CompanyID   int64  `json:"company_id"`
		Name        string `json:"name"`
		Email       string `json:"email,omitempty"`
		CompanyName string `json:"company_name"`
	}
	out := struct {
		Companies []hit `json:"companies"`
		Contacts  []hit `json:"contacts"`
	}{[]hit{}, []hit{}}
	for _, res := range results {
		x := hit{res.Kind, res.ID, res.CompanyID, res.Name, res.Email, res.CompanyName}
		if res.Kind == search.KindCompany {
			out.Companies = append(out.Companies, x)
		} else {
			out.Contacts = append(out.Contacts, x)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
