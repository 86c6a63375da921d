// Package search keeps a Bleve index of company and contact names so the UI
// can search as the user types, restricted to what the viewer may see,
// without touching SQL.
package search

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	index "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Doc is one searchable record.
type Doc struct {
	Kind        string // KindCompany or KindContact
	ID          int64  // company id or contact id
	WorkspaceID int64
	CompanyID   int64  // for a company, its own id; for a contact, its company
	Name        string // company name or contact name
	Email       string // contacts only
}

const (
	KindCompany = "company"
	KindContact = "contact"
)

// ErrStale is returned by Open when dir holds an index built with another
// mapping. Queries against it would silently miss, so the caller should
// delete dir, Open again and reindex.
var ErrStale = errors.New("search: index was built with another mapping version")

// Bump mappingVersion whenever the mapping or the way terms are built
// changes, so Open refuses old indexes instead of serving wrong results.
const mappingVersion = "4"

var versionKey = []byte("rolodex.mapping_version")

// Fields. Every searchable term starts with "<workspace id>:", so a query
// can only ever match its own workspace: there is no separate workspace
// clause to forget, and no per-hit cost to pay for it. Only name, email and
// company_id are stored, which is all a Hit needs beyond the doc id.
const (
	fieldName      = "name"     // stored only
	fieldEmail     = "email"    // stored only
	fieldWords     = "words"    // "<ws>:<word>" per name word: exact and fuzzy matching
	fieldPrefixes  = "prefixes" // "<ws>:<prefix>" per name and e-mail word: as-you-type
	fieldWorkspace = "workspace_id"
	fieldCompany   = "company_id" // also stored
	fieldKind      = "kind"
)

const (
	// analyzerWord is applied in Go to names, e-mails and queries alike,
	// so query terms are byte for byte what was indexed.
	analyzerWord = "rolodex_word"
	// analyzerTerms indexes the terms Put already built.
	analyzerTerms = "rolodex_terms"
)

const (
	// Longer words are indexed and queried by their first maxPrefix
	// characters only; that many characters of a word are specific enough.
	maxPrefix = 20

	maxQueryRunes = 100
	// More words barely narrow a name search but each adds a clause.
	maxQueryWords = 6

	defaultLimit = 10
	maxLimit     = 50

	boostExact  = 3
	boostPrefix = 2
	boostFuzzy  = 1
)

// Ranking a prefix means scoring every doc that has it. Past this many
// (one or two letters in a big workspace) the query is run unscored and
// stops at the first Limit matches: nobody reads a ranking of 100,000
// names starting with "s", but everybody notices the wait. A var so tests
// can reach that path with little data.
var maxRankedMatches uint64 = 25_000

// Index is safe for concurrent use; Close it once when done.
type Index struct {
	idx     bleve.Index
	word    analysis.Analyzer
	clients *clientCache
}

// Open opens the index at dir, creating it when dir does not exist or is
// empty.
func Open(dir string) (*Index, error) {
	idx, err := bleve.Open(dir)
	switch {
	case errors.Is(err, bleve.ErrorIndexPathDoesNotExist) || errors.Is(err, bleve.ErrorIndexMetaMissing) && isEmptyDir(dir):
		idx, err = bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, nil)
		if err != nil {
			return nil, fmt.Errorf("search: create %s: %w", dir, err)
		}
		if err := idx.SetInternal(versionKey, []byte(mappingVersion)); err != nil {
			idx.Close()
			return nil, fmt.Errorf("search: create %s: %w", dir, err)
		}
	case err != nil:
		return nil, fmt.Errorf("search: open %s: %w", dir, err)
	default:
		v, err := idx.GetInternal(versionKey)
		if err != nil {
			idx.Close()
			return nil, fmt.Errorf("search: open %s: %w", dir, err)
		}
		if string(v) != mappingVersion {
			idx.Close()
			return nil, fmt.Errorf("%w (have %q, want %q): delete %s and reindex", ErrStale, v, mappingVersion, dir)
		}
	}

	word := idx.Mapping().AnalyzerNamed(analyzerWord)
	if word == nil {
		idx.Close()
		return nil, fmt.Errorf("%w: analyzer missing: delete %s and reindex", ErrStale, dir)
	}
	return &Index{idx: idx, word: word, clients: newClientCache()}, nil
}

func (ix *Index) Close() error { return ix.idx.Close() }

// Compact merges the index's segments into as few as it can and returns
// when done. A bulk build leaves a dozen or more segments that the
// background merger keeps rewriting for a while; every query pays per
// segment (a dictionary lookup per term, the client filter per segment),
// so `rolodex reindex` ends with this.
func (ix *Index) Compact(ctx context.Context) error {
	adv, err := ix.idx.Advanced()
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	if err := s.ForceMerge(ctx, &mergeplan.SingleSegmentMergePlanOptions); err != nil {
		return fmt.Errorf("search: compact: %w", err)
	}
	return nil
}

// record is what Bleve indexes for a Doc. Ids are strings so they are
// indexed as keyword terms.
type record struct {
	Name        string `json:"name"`
	Email       string `json:"email,omitempty"`
	Words       string `json:"words"`
	Prefixes    string `json:"prefixes"`
	WorkspaceID string `json:"workspace_id"`
	CompanyID   string `json:"company_id"`
	Kind        string `json:"kind"`
}

// Put inserts or replaces docs in one batch.
func (ix *Index) Put(docs ...Doc) error {
	if len(docs) == 0 {
		return nil
	}
	b := ix.idx.NewBatch()
	var words, prefixes strings.Builder
	for _, d := range docs {
		if !ValidKind(d.Kind) {
			return fmt.Errorf("search: put %s:%d: unknown kind", d.Kind, d.ID)
		}
		ws := strconv.FormatInt(d.WorkspaceID, 10) + ":"
		words.Reset()
		prefixes.Reset()
		for _, tok := range ix.word.Analyze([]byte(d.Name)) {
			addTerm(&words, ws, string(tok.Term))
			addPrefixes(&prefixes, ws, string(tok.Term))
		}
		r := record{
			Name:        d.Name,
			WorkspaceID: strconv.FormatInt(d.WorkspaceID, 10),
			CompanyID:   strconv.FormatInt(d.CompanyID, 10),
			Kind:        d.Kind,
		}
		if d.Kind == KindContact && d.Email != "" {
			r.Email = d.Email
			// "lee@andertons.co.uk" gives "lee" and "andertons.co.uk", so
			// both the address and the domain can be typed.
			for _, tok := range ix.word.Analyze([]byte(d.Email)) {
				addPrefixes(&prefixes, ws, string(tok.Term))
			}
		}
		r.Words, r.Prefixes = words.String(), prefixes.String()
		if err := b.Index(docID(d.Kind, d.ID), r); err != nil {
			return fmt.Errorf("search: put %s:%d: %w", d.Kind, d.ID, err)
		}
	}
	if err := ix.idx.Batch(b); err != nil {
		return fmt.Errorf("search: put: %w", err)
	}
	return nil
}

func addTerm(b *strings.Builder, ws, term string) {
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(ws)
	b.WriteString(term)
}

// addPrefixes adds the edge n-grams of word: what Bleve's edge_ngram token
// filter would produce, built here because each needs the workspace prefix.
func addPrefixes(b *strings.Builder, ws, word string) {
	n := 0
	for i := range word {
		if n > 0 {
			addTerm(b, ws, word[:i])
		}
		if n++; n > maxPrefix {
			return
		}
	}
	addTerm(b, ws, word)
}

// Delete removes docs of one kind in one batch; unknown ids are ignored.
func (ix *Index) Delete(kind string, ids ...int64) error {
	if !ValidKind(kind) {
		return fmt.Errorf("search: delete: unknown kind %q", kind)
	}
	if len(ids) == 0 {
		return nil
	}
	b := ix.idx.NewBatch()
	for _, id := range ids {
		b.Delete(docID(kind, id))
	}
	if err := ix.idx.Batch(b); err != nil {
		return fmt.Errorf("search: delete: %w", err)
	}
	return nil
}

// Count returns the number of docs in the index.
func (ix *Index) Count() (uint64, error) {
	n, err := ix.idx.DocCount()
	if err != nil {
		return 0, fmt.Errorf("search: count: %w", err)
	}
	return n, nil
}

// Query is what the viewer typed and what they may see.
type Query struct {
	WorkspaceID int64
	Text        string
	Clients     []int64  // company ids the viewer may see; nil means all (admin); empty non-nil means none
	Kinds       []string // optional; empty = both kinds
	Limit       int      // default 10, max 50
	Offset      int      // matches to skip: a later page
}

// Hit is one match, with all a result list shows: no SQL needed.
type Hit struct {
	Kind          string
	ID, CompanyID int64
	Name, Email   string
	Score         float64
}

// Page is one page of a search's matches and how many there are in all.
type Page struct {
	Hits []Hit
	// Total counts every match when Counted; otherwise the text matched
	// too many docs to count them all (see countCap) and Total is a lower
	// bound.
	Total   int
	Counted bool
	More    bool // matches follow this page
}

// Search returns the first page of SearchPage.
func (ix *Index) Search(ctx context.Context, q Query) ([]Hit, error) {
	p, err := ix.SearchPage(ctx, q)
	return p.Hits, err
}

// SearchPage returns the matches for q.Text from q.Offset on, best first,
// and how many there are. Hits that match every word exactly or by prefix
// always come before hits that need a typo correction, and Score follows
// that order. When the text matches too many docs to rank (see
// maxRankedMatches) Score is 0 and the hits of a page are in name order.
//
// Pages follow Bleve's order (score, then index order), so on an unchanged
// index every match is on exactly one page; only within a page are equal
// scores put in name order.
func (ix *Index) SearchPage(ctx context.Context, q Query) (Page, error) {
	pq, err := ix.prepare(q)
	if err != nil || pq == nil {
		return none(), err
	}
	return ix.page(ctx, pq, kindFilter(q.Kinds, pq.clients), max(q.Offset, 0))
}

// SearchKinds searches each of q.Kinds (both when empty) on its own and
// returns their pages in that order, so one kind never crowds out the
// other; the searches share their preparation.
func (ix *Index) SearchKinds(ctx context.Context, q Query) ([]Page, error) {
	kinds := q.Kinds
	if len(kinds) == 0 {
		kinds = []string{KindCompany, KindContact}
	}
	pq, err := ix.prepare(q)
	if err != nil {
		return nil, err
	}
	pages := make([]Page, 0, len(kinds))
	for _, k := range kinds {
		p := none()
		if pq != nil {
			if p, err = ix.page(ctx, pq, kindFilter([]string{k}, pq.clients), max(q.Offset, 0)); err != nil {
				return nil, err
			}
		}
		pages = append(pages, p)
	}
	return pages, nil
}

func none() Page { return Page{Hits: []Hit{}, Counted: true} }

// prepared is what the searches of one text by one viewer share, whatever
// the kind and page.
type prepared struct {
	words   []string
	ws      string
	clients *clientList // nil for all
	limit   int
	ranked  bool
	typos   *fuzzyTerms // shared by every fuzzy pass of the search
}

// prepare checks q and reads its text; nil means nothing can match.
func (ix *Index) prepare(q Query) (*prepared, error) {
	for _, k := range q.Kinds {
		if !ValidKind(k) {
			return nil, fmt.Errorf("search: unknown kind %q", k)
		}
	}
	if q.Clients != nil && len(q.Clients) == 0 {
		return nil, nil
	}
	words := ix.parse(q.Text)
	if len(words) == 0 {
		return nil, nil
	}
	pq := &prepared{words: words, ws: strconv.FormatInt(q.WorkspaceID, 10) + ":", limit: q.Limit, typos: &fuzzyTerms{}}
	if pq.limit <= 0 {
		pq.limit = defaultLimit
	}
	pq.limit = min(pq.limit, maxLimit)
	if q.Clients != nil {
		pq.clients = ix.clients.get(q.Clients)
	}
	// A staff user's few docs drive the conjunction, so they can always be
	// ranked; otherwise it depends on how common the words are.
	pq.ranked = pq.clients != nil && pq.clients.size() <= maxRankedMatches
	if !pq.ranked {
		var err error
		if pq.ranked, err = ix.rankable(pq.ws, words); err != nil {
			return nil, err
		}
	}
	return pq, nil
}

// page runs a prepared search under f from offset on.
func (ix *Index) page(ctx context.Context, pq *prepared, f *filter, offset int) (Page, error) {
	words, ws, limit, ranked := pq.words, pq.ws, pq.limit, pq.ranked
	exactQ := f.apply(textQuery(ws, words, nil), ws, words)
	size := limit
	if !ranked {
		size++ // unranked, Bleve stops early: one more says whether a page follows
	}
	exact, total, stopped, err := ix.run(ctx, exactQ, offset, size, ranked, true)
	if err != nil {
		return Page{}, err
	}
	p := Page{Hits: sortPage(exact[:min(len(exact), limit)]), Total: total, Counted: !stopped, More: len(exact) > limit}
	if stopped {
		if p.Total, p.Counted, err = ix.count(ctx, exactQ, offset+len(p.Hits), p.More); err != nil {
			return Page{}, err
		}
		if !p.Counted {
			return f.checkPage(p)
		}
		total = p.Total
	}
	p.More = offset+len(p.Hits) < total
	if total >= typosBelow || !slices.ContainsFunc(words, func(w string) bool { return fuzziness(w) > 0 }) {
		return f.checkPage(p)
	}

	// Few exact or prefix matches: likely a typo. Fuzzy matching is the
	// expensive part, so it only runs here. The fuzzy query matches every
	// exact hit too: the typo matches are its hits less those, and this
	// page shows them from offset-total on. Its first total+need hits hold
	// at least need of them, wherever the exact ones fall.
	need := offset + limit - total // typo matches up to this page's end
	all := exact
	if need > 0 && (offset > 0 || len(exact) < total) {
		// The page starts past the exact hits: all of them are needed to
		// tell the typo matches apart.
		if all, _, _, err = ix.run(ctx, exactQ, 0, total, ranked, false); err != nil {
			return Page{}, err
		}
	}
	fuzzyQ := f.apply(textQuery(ws, words, pq.typos), "", nil)
	if fq, ok := fuzzyQ.(*filtered); ok {
		fq.typos = pq.typos // each kind's narrowing starts from the same client docs
	}
	fuzzySize := 0 // only the count
	if need > 0 {
		fuzzySize = total + need
		if !ranked {
			fuzzySize++ // as above
		}
	}
	fuzzy, fuzzyTotal, fuzzyStopped, err := ix.run(ctx, fuzzyQ, 0, fuzzySize, ranked, need > 0)
	if err != nil {
		return Page{}, err
	}
	typos := typoOnly(all, fuzzy)
	more := len(typos) > max(0, need)
	typos = typos[min(len(typos), max(0, offset-total)):min(len(typos), max(0, need))]
	p.Hits = append(p.Hits, sortPage(typos)...)
	p.Total, p.Counted = fuzzyTotal, true
	p.More = offset+len(p.Hits) < fuzzyTotal
	if fuzzyStopped {
		p.More = more
		if p.Total, p.Counted, err = ix.count(ctx, fuzzyQ, offset+len(p.Hits), more); err != nil {
			return Page{}, err
		}
	}
	return f.checkPage(p)
}

// typosBelow: typo matches are added only to fewer exact or prefix matches
// than this. Past it, what was typed is evidently spelled as names are,
// and the costly fuzzy pass would only bury the matches.
const typosBelow = maxLimit

// countCap is how far a query too broad to rank is counted: counting on
// means reading every posting, which is the cost an unranked query avoids.
// A var so tests can reach it with little data.
var countCap = 1000

// count counts the matches of a query that stopped early after seen of
// them (and more, when it saw that more follow), up to countCap, unscored
// and without loading any doc. Past countCap it returns a lower bound and
// false.
func (ix *Index) count(ctx context.Context, q query.Query, seen int, more bool) (int, bool, error) {
	if more {
		seen++
	}
	if seen >= countCap {
		return seen, false, nil
	}
	_, n, stopped, err := ix.run(ctx, q, countCap-1, 1, false, false)
	if err != nil {
		return 0, false, err
	}
	return max(seen, n), !stopped, nil
}

// typoOnly returns the fuzzy hits that are not exact hits, with scores
// squeezed below the lowest exact score so Score stays in rank order.
func typoOnly(exact, fuzzy []Hit) []Hit {
	seen := make(map[string]bool, len(exact))
	for _, h := range exact {
		seen[docID(h.Kind, h.ID)] = true
	}
	ceiling := 1.0
	if len(exact) > 0 {
		ceiling = slices.MinFunc(exact, func(a, b Hit) int { return cmp.Compare(a.Score, b.Score) }).Score / 2
	}
	var top float64
	for _, h := range fuzzy {
		top = max(top, h.Score)
	}
	var out []Hit
	for _, h := range fuzzy {
		if seen[docID(h.Kind, h.ID)] {
			continue
		}
		if top > 0 {
			h.Score = h.Score / top * ceiling
		}
		out = append(out, h)
	}
	return out
}

// sortPage puts equal scores in name order, so a page reads the same on
// every load.
func sortPage(hits []Hit) []Hit {
	slices.SortStableFunc(hits, func(a, b Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return hits
}

// parse turns user input into words analyzed exactly as indexed names are.
func (ix *Index) parse(text string) []string {
	text = truncateRunes(strings.TrimSpace(text), maxQueryRunes)
	if text == "" {
		return nil
	}
	var words []string
	for _, tok := range ix.word.Analyze([]byte(text)) {
		words = append(words, string(tok.Term))
		if len(words) == maxQueryWords {
			break
		}
	}
	return words
}

// rankable reports whether the rarest word's prefix is rare enough to rank
// all its matches; a conjunction costs about as much as its rarest part.
func (ix *Index) rankable(ws string, words []string) (bool, error) {
	adv, err := ix.idx.Advanced()
	if err != nil {
		return false, fmt.Errorf("search: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return false, fmt.Errorf("search: %w", err)
	}
	defer r.Close()
	rarest := maxRankedMatches + 1
	for _, w := range words {
		tfr, err := r.TermFieldReader(context.Background(), []byte(ws+truncateRunes(w, maxPrefix)), fieldPrefixes, false, false, false)
		if err != nil {
			return false, fmt.Errorf("search: %w", err)
		}
		rarest = min(rarest, tfr.Count())
		tfr.Close()
	}
	return rarest <= maxRankedMatches, nil
}

// fuzziness allows one typo in a word of 4 to 6 letters and two in longer
// ones; shorter words are too ambiguous to correct.
func fuzziness(word string) int {
	switch n := utf8.RuneCountInString(word); {
	case n < 4:
		return 0
	case n <= 6:
		return 1
	default:
		return 2
	}
}

// term is one term a word may match: its field, the term, and its boost.
type term struct {
	field, text string
	boost       float64
}

// wordTerms are the terms a word matches exactly or by prefix: always its
// prefix term; for three letters or more also the whole word (for one or
// two letters an exact match adds nothing to the ranking worth another
// clause on the most expensive queries).
func wordTerms(ws, w string) []term {
	terms := []term{{fieldPrefixes, ws + truncateRunes(w, maxPrefix), boostPrefix}}
	if utf8.RuneCountInString(w) >= 3 {
		terms = append(terms, term{fieldWords, ws + w, boostExact})
	}
	return terms
}

// textQuery requires every word to match a word of the name or e-mail by
// prefix, or of the name exactly or (with typos) within an edit distance.
func textQuery(ws string, words []string, typos *fuzzyTerms) query.Query {
	all := make([]query.Query, 0, len(words))
	for _, w := range words {
		var either []query.Query
		for _, t := range wordTerms(ws, w) {
			q := query.NewTermQuery(t.text)
			q.SetField(t.field)
			q.SetBoost(t.boost)
			either = append(either, q)
		}
		if f := fuzziness(w); typos != nil && f > 0 {
			either = append(either, &fuzzyQuery{word: ws + w, ws: ws, fuzziness: f, found: typos})
		}
		if len(either) == 1 {
			all = append(all, either[0])
		} else {
			all = append(all, query.NewDisjunctionQuery(either))
		}
	}
	if len(all) == 1 {
		return all[0]
	}
	return query.NewConjunctionQuery(all)
}

// fuzzyQuery is Bleve's FuzzyQuery on the words field, staying inside the
// workspace's terms, with the terms it matches found once per snapshot
// (see fuzzyTerms). Its searcher is the one Bleve's would be: the same
// terms, boosted by their edit distance.
type fuzzyQuery struct {
	word, ws  string // ws+word as indexed; ws, the prefix every match shares
	fuzziness int
	found     *fuzzyTerms
}

func (q *fuzzyQuery) Searcher(ctx context.Context, r index.IndexReader, m mapping.IndexMapping, options bsearch.SearcherOptions) (bsearch.Searcher, error) {
	c, err := q.found.get(r, q)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return searcher.NewFuzzySearcher(ctx, r, q.word, len(q.ws), q.fuzziness, fieldWords, boostFuzzy, options)
	}
	if len(c.terms) == 0 || len(c.terms) == 1 && c.terms[0] == q.word {
		return searcher.NewTermSearcher(ctx, r, q.word, fieldWords, boostFuzzy, options)
	}
	return searcher.NewMultiTermSearcherBoosted(ctx, r, c.terms, fieldWords, boostFuzzy, c.distances, options, true)
}

// fuzzyTerms holds the terms near each word of one search. The search box
// runs the fuzzy query for each kind, each time once unscored and once
// ranked (filtered.narrow); walking every segment's dictionary with a
// freshly built Levenshtein automaton each time was most of a staff user's
// time on a whole word with few exact matches. One search uses it, one
// searcher at a time.
type fuzzyTerms struct {
	r     index.IndexReader // the snapshot terms were found in
	terms map[string]*nearTerms

	// The client docs matching the fuzzy text, either kind (narrow).
	narrowed   []uint64
	narrowedIn index.IndexReader
}

type nearTerms struct {
	terms     []string
	distances []uint8
}

// get returns the terms near q.word in r, or nil when r cannot list them
// (not a scorch snapshot).
func (f *fuzzyTerms) get(r index.IndexReader, q *fuzzyQuery) (*nearTerms, error) {
	fr, ok := r.(index.IndexReaderFuzzy)
	if !ok {
		return nil, nil
	}
	if f.r != r {
		f.r, f.terms = r, make(map[string]*nearTerms)
	}
	if c, ok := f.terms[q.word]; ok {
		return c, nil
	}
	dict, _, err := fr.FieldDictFuzzyAutomaton(fieldWords, q.word, q.fuzziness, q.ws)
	if err != nil {
		return nil, err
	}
	defer dict.Close()
	c := &nearTerms{}
	for {
		e, err := dict.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		c.terms = append(c.terms, e.Term)
		c.distances = append(c.distances, e.EditDistance)
	}
	f.terms[q.word] = c
	return c, nil
}

// run executes q and returns size hits from the from'th on, in Bleve's
// order: score, then index order, so consecutive pages never overlap.
// Sorting by name inside Bleve would read the name's doc values for every
// candidate, which is what makes broad prefixes slow; sortPage orders a
// page by name afterwards. total counts the matches, only up to from+size
// when stopped (an unranked query stops there). Without fields, hits carry
// only their kind, id and score.
func (ix *Index) run(ctx context.Context, q query.Query, from, size int, ranked, fields bool) (hits []Hit, total int, stopped bool, err error) {
	req := bleve.NewSearchRequestOptions(q, size, from, false)
	if fields {
		req.Fields = []string{fieldName, fieldEmail, fieldCompany}
	}
	if !ranked {
		req.Score = bleve.ScoreNone // lets Bleve stop at the first from+size matches
	}
	res, err := ix.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, 0, false, fmt.Errorf("search: %w", err)
	}
	hits = make([]Hit, 0, len(res.Hits))
	for _, m := range res.Hits {
		h, err := toHit(m, fields)
		if err != nil {
			return nil, 0, false, err
		}
		hits = append(hits, h)
	}
	return hits, int(res.Total), res.TotalRelation == bleve.TotalRelationGte, nil
}

func toHit(m *bsearch.DocumentMatch, fields bool) (Hit, error) {
	kind, id, ok := parseDocID(m.ID)
	if !ok {
		return Hit{}, fmt.Errorf("search: unexpected doc id %q", m.ID)
	}
	h := Hit{Kind: kind, ID: id, Score: m.Score}
	if !fields {
		return h, nil
	}
	h.Name, _ = m.Fields[fieldName].(string)
	h.Email, _ = m.Fields[fieldEmail].(string)
	company, _ := m.Fields[fieldCompany].(string)
	var err error
	if h.CompanyID, err = strconv.ParseInt(company, 10, 64); err != nil {
		return Hit{}, fmt.Errorf("search: doc %q has bad company id %q", m.ID, company)
	}
	return h, nil
}

// A filter restricts a search to the viewer's companies and to one kind.
// The workspace needs no filter: it is part of every term.
//
// The restriction is a searcher inside the Bleve query, conjoined with the
// text, not a post-filter on a top-N: a viewer whose few clients are
// buried under thousands of better matches still gets all of theirs. In
// the conjunction the side with fewer docs drives, so for a staff user the
// text is only checked against their own clients' docs.
//
// The client side is the set of docs whose company_id is one of the
// viewer's companies. Computing it means one term lookup per client per
// segment, about 15 ms for 1,000 clients over 18 segments, too slow to
// repeat on every keystroke. Segments never change once written, so the
// docs found in each are cached per client list and reused until the
// segment is merged away; a write adds a small segment, which costs a
// lookup per client in that segment only.
type filter struct {
	kind    string      // "" for both kinds
	clients *clientList // nil for all
	noCache bool        // benchmarks: compare against the uncached terms
}

func (ix *Index) newFilter(q Query) *filter {
	var clients *clientList
	if q.Clients != nil {
		clients = ix.clients.get(q.Clients)
	}
	return kindFilter(q.Kinds, clients)
}

func kindFilter(kinds []string, clients *clientList) *filter {
	f := &filter{clients: clients}
	if k := slices.Compact(slices.Sorted(slices.Values(kinds))); len(k) == 1 {
		f.kind = k[0]
	}
	return f
}

// checkPage fails the search if a hit escaped the client filter. It never
// fires unless the filter is broken, for instance by a Bleve upgrade
// changing how scorch numbers docs; then an error beats a leak.
func (f *filter) checkPage(p Page) (Page, error) {
	if f.clients == nil {
		return p, nil
	}
	for _, h := range p.Hits {
		if _, ok := slices.BinarySearch(f.clients.ids, h.CompanyID); !ok {
			return Page{}, fmt.Errorf("search: internal error: %s %d of company %d passed the client filter", h.Kind, h.ID, h.CompanyID)
		}
	}
	return p, nil
}

// apply restricts text to the filter. words, when not nil, says that text
// is textQuery(ws, words, nil): every word matches one of its terms
// (wordTerms), which lets a staff user's docs be narrowed term by term.
func (f *filter) apply(text query.Query, ws string, words []string) query.Query {
	if f.kind == "" && f.clients == nil {
		return text
	}
	return &filtered{text: text, ws: ws, words: words, f: f}
}

type filtered struct {
	text  query.Query
	ws    string
	words []string    // what text is made of, when it is only terms (see apply)
	typos *fuzzyTerms // the fuzzy text's search, when it has one: shares narrow's docs
	f     *filter
}

var unscored = bsearch.SearcherOptions{Score: bleve.ScoreNone}

func (q *filtered) Searcher(ctx context.Context, r index.IndexReader, m mapping.IndexMapping, options bsearch.SearcherOptions) (bsearch.Searcher, error) {
	var parts []bsearch.Searcher
	closeAll := func() {
		for _, s := range parts {
			s.Close()
		}
	}
	if q.f.clients != nil {
		c, err := q.f.clientSearcher(ctx, r)
		if err != nil {
			return nil, err
		}
		if ds, ok := c.(*docsSearcher); ok && options.Score != bleve.ScoreNone {
			if q.words != nil {
				// Only terms: match and score the client docs without
				// term searchers (narrowTerms says why). A docsSearcher
				// comes only from a scorch snapshot.
				return q.narrowTerms(r.(*scorch.IndexSnapshot), ds)
			}
			// Ranking happens in the conjunction, and a scored term
			// searcher decodes the frequency and norm of every posting
			// it skips on its way to the next client doc: thousands of
			// steps through lists of hundreds of thousands of postings
			// ("t" for a name starting with t). So find which client
			// docs match at all, unscored (an unscored advance is a
			// bitmap lookup), and rank only those. Both passes read the
			// same snapshot r.
			if ds, err = q.narrow(ctx, r, m, ds); err != nil {
				return nil, err
			}
			c = ds
		}
		parts = append(parts, c)
	}
	text, err := q.text.Searcher(ctx, r, m, options)
	if err != nil {
		closeAll()
		return nil, err
	}
	parts = append([]bsearch.Searcher{text}, parts...)
	if q.f.kind != "" {
		// Unscored, a term searcher skips frequencies and norms.
		k, err := searcher.NewTermSearcher(ctx, r, q.f.kind, fieldKind, 1, unscored)
		if err != nil {
			closeAll()
			return nil, err
		}
		parts = append(parts, k)
	}
	if len(parts) == 1 {
		return text, nil
	}
	s, err := searcher.NewConjunctionSearcher(ctx, r, parts, options)
	if err != nil {
		closeAll()
		return nil, err
	}
	return s, nil
}

// narrow returns the docs of clients that match the text and kind,
// found with unscored searchers. Within one search (q.typos) the docs that
// match the text are found once, for both kinds: the unscored fuzzy
// searchers are half a staff user's time on a whole word.
func (q *filtered) narrow(ctx context.Context, r index.IndexReader, m mapping.IndexMapping, clients *docsSearcher) (*docsSearcher, error) {
	if q.typos == nil || q.f.kind == "" {
		return q.narrowKind(ctx, r, m, clients, q.f.kind)
	}
	if q.typos.narrowed == nil || q.typos.narrowedIn != r {
		all, err := q.narrowKind(ctx, r, m, clients, "")
		if err != nil {
			return nil, err
		}
		q.typos.narrowed, q.typos.narrowedIn = all.docs, r
	}
	// The kind alone, looked up doc by doc as narrowTerms does.
	kindOnly := &filtered{f: &filter{kind: q.f.kind}}
	ds, err := kindOnly.narrowTerms(r.(*scorch.IndexSnapshot), &docsSearcher{docs: q.typos.narrowed})
	if err != nil {
		return nil, err
	}
	return &docsSearcher{docs: ds.docs}, nil
}

// narrowKind is narrow without sharing: kind "" for both kinds.
func (q *filtered) narrowKind(ctx context.Context, r index.IndexReader, m mapping.IndexMapping, clients *docsSearcher, kind string) (*docsSearcher, error) {
	unscoredQ := &filtered{text: q.text, f: &filter{kind: kind}}
	text, err := unscoredQ.Searcher(ctx, r, m, unscored)
	if err != nil {
		return nil, err
	}
	s, err := searcher.NewConjunctionSearcher(ctx, r, []bsearch.Searcher{text, clients}, unscored)
	if err != nil {
		text.Close()
		return nil, err
	}
	defer s.Close()
	sctx := &bsearch.SearchContext{DocumentMatchPool: bsearch.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0)}
	var docs []uint64
	for {
		dm, err := s.Next(sctx)
		if err != nil {
			return nil, err
		}
		if dm == nil {
			break
		}
		docs = append(docs, dm.IndexInternalID.Value())
		sctx.DocumentMatchPool.Put(dm)
	}
	if docs == nil {
		docs = []uint64{} // found none, as opposed to not looked for
	}
	return &docsSearcher{docs: docs}, nil
}

// narrowTerms keeps the client docs that have, for every word, one of its
// terms (and the kind's term), and scores them: for each word, the boost
// of the best of its terms the doc has (the whole word over a prefix).
// It looks each doc up in each term's posting list, segment by segment.
//
// Term searchers would do the same through the snapshot, but in a segment
// with a deletion bitmap (as segments merged or written by the running
// process can have) zap's Advance steps through every posting up to the target,
// and a scored one always does: the whole of a one-letter prefix's list,
// 25 ms for "e" over 2M docs. A posting list asked for without the
// deletions advances through its bitmap; the client docs have no deleted
// docs in them (clientList.docs). Bleve's tf-idf would add only the
// names' lengths to this ranking.
func (q *filtered) narrowTerms(snap *scorch.IndexSnapshot, clients *docsSearcher) (*docsSearcher, error) {
	var words [][]term
	for _, w := range q.words {
		words = append(words, wordTerms(q.ws, w))
	}
	if q.f.kind != "" {
		words = append(words, []term{{field: fieldKind, text: q.f.kind}}) // boost 0: a filter
	}
	docs := clients.docs
	out := &docsSearcher{scores: []float64{}}
	var offset uint64 // same arithmetic as scorch's snapshot offsets
	for _, ss := range snap.Segments() {
		seg := ss.Segment()
		end := offset + seg.Count()
		n := sort.Search(len(docs), func(i int) bool { return docs[i] >= end })
		here := docs[:n]
		docs = docs[n:]
		score := make([]float64, len(here))
		for _, terms := range words {
			best, err := bestTerm(seg, offset, here, terms)
			if err != nil {
				return nil, err
			}
			for i, b := range best {
				score[i] += b
				if b < 0 {
					score[i] = math.Inf(-1) // a word it lacks: out
				}
			}
		}
		for i, d := range here {
			if score[i] >= 0 {
				out.docs = append(out.docs, d)
				out.scores = append(out.scores, score[i])
			}
		}
		offset = end
	}
	return out, nil
}

// bestTerm returns, for each of docs (snapshot numbers of seg's docs,
// ascending, seg's first at offset), the highest boost of the terms it
// has, or -1 for none.
func bestTerm(seg segment.Segment, offset uint64, docs []uint64, terms []term) ([]float64, error) {
	best := make([]float64, len(docs))
	for i := range best {
		best[i] = -1
	}
	for _, t := range terms {
		dict, err := seg.Dictionary(t.field)
		if err != nil {
			return nil, err
		}
		pl, err := dict.PostingsList([]byte(t.text), nil, nil)
		if err != nil {
			return nil, err
		}
		if pl == nil {
			continue
		}
		it := pl.Iterator(false, false, false, nil)
		var at uint64 // the iterator's posting; Advance must go past it
		started := false
		for i, d := range docs {
			local := d - offset
			if started && at > local {
				continue
			}
			if !started || at < local {
				p, err := it.Advance(local)
				if err != nil {
					return nil, err
				}
				if p == nil {
					break
				}
				at, started = p.Number(), true
			}
			if at == local {
				best[i] = max(best[i], t.boost)
			}
		}
	}
	return best, nil
}

func (f *filter) clientSearcher(ctx context.Context, r index.IndexReader) (bsearch.Searcher, error) {
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok || f.noCache {
		// Unscored, Bleve ORs the terms' posting bitmaps instead of
		// merging thousands of scored iterators through a heap.
		return searcher.NewMultiTermSearcher(ctx, r, f.clients.terms, fieldCompany, 1, unscored, false)
	}
	docs, err := f.clients.docs(snap)
	if err != nil {
		return nil, err
	}
	return &docsSearcher{docs: docs}, nil
}

// clientCache holds the docs of recently used client lists.
type clientCache struct {
	mu    sync.Mutex
	lists map[string]*clientList
	clock uint64
}

// maxClientLists bounds the cache: an entry for 1,000 clients over 2M docs
// holds about 2,000 doc numbers.
const maxClientLists = 256

func newClientCache() *clientCache {
	return &clientCache{lists: make(map[string]*clientList)}
}

// get returns the entry for a client list, in whatever order it comes.
func (c *clientCache) get(clients []int64) *clientList {
	ids := slices.Compact(slices.Sorted(slices.Values(clients)))
	key := make([]byte, 0, 8*len(ids))
	for _, id := range ids {
		key = binary.LittleEndian.AppendUint64(key, uint64(id))
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	if l, ok := c.lists[string(key)]; ok {
		l.used = c.clock
		return l
	}
	if len(c.lists) >= maxClientLists {
		var oldest string
		var oldestUse uint64
		for k, l := range c.lists {
			if oldest == "" || l.used < oldestUse {
				oldest, oldestUse = k, l.used
			}
		}
		delete(c.lists, oldest)
	}
	l := &clientList{ids: ids, segments: make(map[uint64][]uint32), used: c.clock}
	for _, id := range ids {
		l.terms = append(l.terms, strconv.FormatInt(id, 10))
	}
	c.lists[string(key)] = l
	return l
}

// clientList is one viewer's companies and, per segment, their docs.
type clientList struct {
	ids   []int64  // sorted
	terms []string // ids as indexed
	used  uint64   // guarded by clientCache.mu
	docsN atomic.Uint64

	mu sync.Mutex
	// Keyed by segment id: scorch never reuses one, and a segment keeps
	// its id and doc numbers when persisted from memory to disk.
	// Deleted docs are included; they are dropped per snapshot.
	segments map[uint64][]uint32
}

// size is how many docs the list matched last time, or, before it was
// first used, its number of companies.
func (l *clientList) size() uint64 {
	if n := l.docsN.Load(); n > 0 {
		return n
	}
	return uint64(len(l.ids))
}

// docs returns the snapshot-wide doc numbers of the list's companies,
// ascending, without deleted docs.
func (l *clientList) docs(snap *scorch.IndexSnapshot) ([]uint64, error) {
	segs := snap.Segments()
	var out []uint64
	var offset uint64 // same arithmetic as scorch's snapshot offsets
	for _, ss := range segs {
		local, err := l.segmentDocs(ss.Id(), ss.Segment())
		if err != nil {
			return nil, err
		}
		deleted := ss.Deleted()
		for _, n := range local {
			if deleted == nil || !deleted.Contains(n) {
				out = append(out, offset+uint64(n))
			}
		}
		offset += ss.Segment().Count()
	}

	l.docsN.Store(uint64(len(out)))

	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.segments) > 2*len(segs)+8 {
		live := make(map[uint64]bool, len(segs))
		for _, ss := range segs {
			live[ss.Id()] = true
		}
		for id := range l.segments {
			if !live[id] {
				delete(l.segments, id)
			}
		}
	}
	return out, nil
}

func (l *clientList) segmentDocs(id uint64, seg segment.Segment) ([]uint32, error) {
	l.mu.Lock()
	local, ok := l.segments[id]
	l.mu.Unlock()
	if ok {
		return local, nil
	}

	// Looked up outside the lock: two searches may both compute a new
	// segment, but neither waits for the other.
	dict, err := seg.Dictionary(fieldCompany)
	if err != nil {
		return nil, err
	}
	local = []uint32{}
	for _, term := range l.terms {
		// No preallocated lists or iterators: zap hands out shared empty
		// ones for missing terms, which must never be written to.
		pl, err := dict.PostingsList([]byte(term), nil, nil)
		if err != nil {
			return nil, err
		}
		if pl == nil {
			continue
		}
		it := pl.Iterator(false, false, false, nil)
		for {
			p, err := it.Next()
			if err != nil {
				return nil, err
			}
			if p == nil {
				break
			}
			local = append(local, uint32(p.Number()))
		}
	}
	slices.Sort(local)

	l.mu.Lock()
	l.segments[id] = local
	l.mu.Unlock()
	return local, nil
}

// docsSearcher walks a sorted list of snapshot doc numbers: in a
// conjunction it only narrows it; with scores (narrowTerms) it is the
// whole search.
type docsSearcher struct {
	docs   []uint64
	scores []float64 // by position in docs; nil when it scores nothing
	pos    int
}

func (s *docsSearcher) Next(ctx *bsearch.SearchContext) (*bsearch.DocumentMatch, error) {
	if s.pos >= len(s.docs) {
		return nil, nil
	}
	m := ctx.DocumentMatchPool.Get()
	m.IndexInternalID = index.NewIndexInternalID(m.IndexInternalID, s.docs[s.pos])
	if s.scores != nil {
		m.Score = s.scores[s.pos]
	}
	s.pos++
	return m, nil
}

func (s *docsSearcher) Advance(ctx *bsearch.SearchContext, id index.IndexInternalID) (*bsearch.DocumentMatch, error) {
	target := id.Value()
	rest := s.docs[s.pos:]
	s.pos += sort.Search(len(rest), func(i int) bool { return rest[i] >= target })
	return s.Next(ctx)
}

func (s *docsSearcher) Close() error               { return nil }
func (s *docsSearcher) Weight() float64            { return 0 }
func (s *docsSearcher) SetQueryNorm(float64)       {}
func (s *docsSearcher) Count() uint64              { return uint64(len(s.docs)) }
func (s *docsSearcher) Min() int                   { return 0 }
func (s *docsSearcher) Size() int                  { return 48 + 8*len(s.docs) }
func (s *docsSearcher) DocumentMatchPoolSize() int { return 1 }

func newMapping() *mapping.IndexMappingImpl {
	m := bleve.NewIndexMapping()
	must := func(err error) {
		if err != nil {
			panic(err) // static configuration: only a programming error gets here
		}
	}
	must(m.AddCustomAnalyzer(analyzerWord, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{asciifolding.Name},
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name},
	}))
	must(m.AddCustomAnalyzer(analyzerTerms, map[string]any{
		"type":      custom.Name,
		"tokenizer": tokenizerSpaces,
	}))

	field := func(name string, f *mapping.FieldMapping) *mapping.FieldMapping {
		f.Name = name
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = false
		return f
	}
	stored := field(fieldName, mapping.NewTextFieldMapping())
	stored.Index, stored.Store = false, true
	storedEmail := field(fieldEmail, mapping.NewTextFieldMapping())
	storedEmail.Index, storedEmail.Store = false, true
	terms := func(name string) *mapping.FieldMapping {
		f := field(name, mapping.NewTextFieldMapping())
		f.Analyzer = analyzerTerms
		return f
	}
	keyword := func(name string) *mapping.FieldMapping {
		f := field(name, mapping.NewKeywordFieldMapping())
		f.SkipFreqNorm = true // filter-only: never scored
		return f
	}
	company := keyword(fieldCompany)
	company.Store = true

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt("name", stored)
	doc.AddFieldMappingsAt("email", storedEmail)
	doc.AddFieldMappingsAt("words", terms(fieldWords))
	doc.AddFieldMappingsAt("prefixes", terms(fieldPrefixes))
	doc.AddFieldMappingsAt("workspace_id", keyword(fieldWorkspace))
	doc.AddFieldMappingsAt("company_id", company)
	doc.AddFieldMappingsAt("kind", keyword(fieldKind))

	m.DefaultMapping = doc
	m.DefaultAnalyzer = analyzerTerms
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	return m
}

// tokenizerSpaces splits the terms Put built on single spaces. Bleve's
// whitespace tokenizer does the same rune by rune, and was a tenth of
// indexing time.
const tokenizerSpaces = "rolodex_spaces"

type spaceTokenizer struct{}

func (spaceTokenizer) Tokenize(input []byte) analysis.TokenStream {
	toks := make([]analysis.Token, 0, bytes.Count(input, []byte{' '})+1)
	for start := 0; start < len(input); {
		end := bytes.IndexByte(input[start:], ' ')
		if end < 0 {
			end = len(input)
		} else {
			end += start
		}
		if end > start {
			toks = append(toks, analysis.Token{
				Start:    start,
				End:      end,
				Term:     input[start:end],
				Position: len(toks) + 1,
				Type:     analysis.AlphaNumeric,
			})
		}
		start = end + 1
	}
	stream := make(analysis.TokenStream, len(toks))
	for i := range toks {
		stream[i] = &toks[i]
	}
	return stream
}

func init() {
	err := registry.RegisterTokenizer(tokenizerSpaces, func(map[string]any, *registry.Cache) (analysis.Tokenizer, error) {
		return spaceTokenizer{}, nil
	})
	if err != nil {
		panic(err)
	}
}

// isEmptyDir lets Open create the index in a directory made for it (as
// t.TempDir does) without ever writing into one holding something else.
func isEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}

// ValidKind reports whether k is KindCompany or KindContact.
func ValidKind(k string) bool { return k == KindCompany || k == KindContact }

func docID(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }

func parseDocID(s string) (kind string, id int64, ok bool) {
	kind, num, ok := strings.Cut(s, ":")
	if !ok || !ValidKind(kind) {
		return "", 0, false
	}
	id, err := strconv.ParseInt(num, 10, 64)
	return kind, id, err == nil
}

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
