package views

import (
	"net/url"
	"strconv"
)

// SearchGroup is one kind's share of a search: a page of its results and
// how many match in all.
type SearchGroup struct {
	Results []SearchResult
	Total   int
	Counted bool // false: too many to count, Total is a lower bound
	More    bool // results follow this page
}

// SearchGroups is what the search box lists: companies first, then
// contacts, each capped on its own so neither crowds out the other.
type SearchGroups struct {
	Companies, Contacts SearchGroup
}

// Total counts every match of both groups, and says whether that is a
// lower bound.
func (g SearchGroups) Total() (n int, atLeast bool) {
	return g.Companies.Total + g.Contacts.Total, !g.Companies.Counted || !g.Contacts.Counted
}

// showAll is the search box's link to the results page.
func (g SearchGroups) showAll() string {
	n, atLeast := g.Total()
	word := " results"
	if n == 1 && !atLeast {
		word = " result"
	}
	return "Show all " + countText(n, atLeast) + word
}

// SearchPager places a page of the results page among all of them.
type SearchPager struct {
	Page int // from 1
	Next bool
}

// searchURL is the results page for q, at page n.
func searchURL(q string, n int) string {
	v := url.Values{"q": {q}}
	if n > 1 {
		v.Set("page", strconv.Itoa(n))
	}
	return "/search?" + v.Encode()
}

// countText is a count for people: "1,234", or "1,000+" for a lower bound.
func countText(n int, atLeast bool) string {
	s := Thousands(int64(n))
	if atLeast {
		s += "+"
	}
	return s
}
