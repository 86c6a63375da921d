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

const (
	// Each kind has its own cap in the search box, so the companies of a
	// name show however many of its contacts match too.
	boxLimit = 5
	// pageSize is the results page's, companies and contacts together.
	pageSize = 20
	// maxPage keeps the offset far from overflowing.
	maxPage = 1_000_000
)

// searchKind runs a name search for u over one kind, from offset on;
// clients are u's (store.ClientIDs).
func (h *Handler) searchKind(ctx context.Context, u *store.User, clients []int64, text, kind string, offset, limit int) (views.SearchGroup, error) {
	p, err := h.Index.SearchPage(ctx, search.Query{WorkspaceID: u.WorkspaceID, Text: text, Clients: clients, Kinds: []string{kind}, Limit: limit, Offset: offset})
	if err != nil {
		return views.SearchGroup{}, err
	}
	g, err := h.named(ctx, u, p)
	if err != nil {
		return views.SearchGroup{}, err
	}
	return g[0], nil
}

// named turns pages of hits into results. The index filters by u's
// clients; the hits' companies are then loaded from SQLite, in one query
// for all pages, through the same security check as every page, which
// names them and drops anything the index still holds but SQLite no
// longer allows (a company just deleted or unassigned).
func (h *Handler) named(ctx context.Context, u *store.User, pages ...search.Page) ([]views.SearchGroup, error) {
	var ids []int64
	for _, p := range pages {
		for _, hit := range p.Hits {
			ids = append(ids, hit.CompanyID)
		}
	}
	var companies map[int64]*store.Company
	if len(ids) > 0 {
		var err error
		if companies, err = h.Store.CompaniesByID(ctx, u, ids); err != nil {
			return nil, err
		}
	}
	groups := make([]views.SearchGroup, 0, len(pages))
	for _, p := range pages {
		g := views.SearchGroup{Results: []views.SearchResult{}, Total: p.Total, Counted: p.Counted, More: p.More}
		for _, hit := range p.Hits {
			c, ok := companies[hit.CompanyID]
			if !ok {
				continue
			}
			res := views.SearchResult{Kind: hit.Kind, ID: hit.ID, CompanyID: hit.CompanyID, Name: hit.Name, Email: hit.Email, CompanyName: c.Name}
			if hit.Kind == search.KindCompany {
				res.Name = c.Name
			}
			g.Results = append(g.Results, res)
		}
		groups = append(groups, g)
	}
	return groups, nil
}

// searchGroups searches each of kinds (both when empty) on its own, up to
// limit each.
func (h *Handler) searchGroups(ctx context.Context, u *store.User, text string, kinds []string, limit int) (views.SearchGroups, error) {
	empty := views.SearchGroup{Results: []views.SearchResult{}, Counted: true}
	g := views.SearchGroups{Companies: empty, Contacts: empty}
	kinds = slices.Compact(slices.Sorted(slices.Values(kinds)))
	for _, k := range kinds {
		if !search.ValidKind(k) {
			return g, &store.Error{Code: store.EInvalid, Message: "Unknown kind.", Fields: map[string]string{"kind": "Choose company or contact."}}
		}
	}
	if len(kinds) == 0 {
		kinds = []string{search.KindCompany, search.KindContact}
	}
	clients, err := h.Store.ClientIDs(ctx, u)
	if err != nil {
		return g, err
	}
	pages, err := h.Index.SearchKinds(ctx, search.Query{WorkspaceID: u.WorkspaceID, Text: text, Clients: clients, Kinds: kinds, Limit: limit})
	if err != nil {
		return g, err
	}
	groups, err := h.named(ctx, u, pages...)
	if err != nil {
		return g, err
	}
	for i, k := range kinds {
		if k == search.KindCompany {
			g.Companies = groups[i]
		} else {
			g.Contacts = groups[i]
		}
	}
	return g, nil
}

// search is searchGroups as one list, companies first.
func (h *Handler) search(ctx context.Context, u *store.User, text string, kinds []string, limit int) ([]views.SearchResult, error) {
	g, err := h.searchGroups(ctx, u, text, kinds, limit)
	if err != nil {
		return nil, err
	}
	return append(g.Companies.Results, g.Contacts.Results...), nil
}

// searchPage answers the search box as it is typed (htmx) with a few of
// each kind, and otherwise the results page: all matches, companies then
// contacts, pageSize at a time (?page=2).
func (h *Handler) searchPage(w http.ResponseWriter, r *http.Request) {
	ctx, u, q := r.Context(), userFrom(r.Context()), r.URL.Query().Get("q")
	if isHTMX(r) {
		g, err := h.searchGroups(ctx, u, q, nil, boxLimit)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, http.StatusOK, nil, views.SearchResults(q, g))
		return
	}
	pager := views.SearchPager{Page: 1}
	if s := r.URL.Query().Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			h.fail(w, r, &store.Error{Code: store.EInvalid, Message: "No such page.", Fields: map[string]string{"page": "Give a page number from 1."}})
			return
		}
		pager.Page = n
	}
	g, next, err := h.searchResultsPage(ctx, u, q, (pager.Page-1)*pageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pager.Next = next
	h.render(w, r, http.StatusOK, views.SearchPage(h.page(r, "Search"), g, pager), nil)
}

// searchResultsPage returns the pageSize matches from offset on of the
// list of every matching company followed by every matching contact, and
// whether more follow. The contacts' place in that list is known exactly
// when it matters: a page reaches them only when the companies ran out,
// and then their count is complete.
func (h *Handler) searchResultsPage(ctx context.Context, u *store.User, text string, offset int) (views.SearchGroups, bool, error) {
	var g views.SearchGroups
	clients, err := h.Store.ClientIDs(ctx, u)
	if err != nil {
		return g, false, err
	}
	if g.Companies, err = h.searchKind(ctx, u, clients, text, search.KindCompany, offset, pageSize); err != nil {
		return g, false, err
	}
	shown := offset + pageSize - g.Companies.Total // contacts up to this page's end
	from := max(0, offset-g.Companies.Total)
	if g.Companies.More {
		shown, from = 0, 0
	}
	// With no room left, one contact is asked for only for the count.
	if g.Contacts, err = h.searchKind(ctx, u, clients, text, search.KindContact, from, max(1, min(shown, pageSize))); err != nil {
		return g, false, err
	}
	next := g.Companies.More || g.Contacts.Total > 0
	if shown <= 0 {
		g.Contacts.Results = g.Contacts.Results[:0]
	} else {
		next = g.Companies.More || g.Contacts.More
	}
	return g, next, nil
}

func (h *Handler) apiSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// The index serves at most 50 a kind; 0 (no limit given) is its default.
	limit := limitParam(q)
	if limit < 0 || limit > 50 {
		h.fail(w, r, &store.Error{Code: store.EInvalid, Message: "Use a limit from 1 to 50.", Fields: map[string]string{"limit": "Use a number from 1 to 50."}})
		return
	}
	g, err := h.searchGroups(r.Context(), userFrom(r.Context()), q.Get("q"), q["kind"], limit)
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
	hits := func(results []views.SearchResult) []hit {
		out := make([]hit, 0, len(results))
		for _, res := range results {
			out = append(out, hit{res.Kind, res.ID, res.CompanyID, res.Name, res.Email, res.CompanyName})
		}
		return out
	}
	_, atLeast := g.Total()
	writeJSON(w, http.StatusOK, struct {
		Companies    []hit `json:"companies"`
		Contacts     []hit `json:"contacts"`
		CompanyCount int   `json:"company_count"`
		ContactCount int   `json:"contact_count"`
		// false when a count stopped at 1,000: it is then a lower bound.
		CountsExact bool `json:"counts_exact"`
	}{hits(g.Companies.Results), hits(g.Contacts.Results), g.Companies.Total, g.Contacts.Total, !atLeast})
}
