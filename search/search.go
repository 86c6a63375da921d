// Package search keeps a Bleve index of company and contact names so the UI
// can search as the user types, restricted to what the viewer may see,
// without touching SQL.
package search

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/token/edgengram"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/single"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	index "github.com/blevesearch/bleve_index_api"
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

// ErrStale is returned by Open when dir holds an index built by an older
// mapping. Queries against it would silently miss, so the caller should
// delete dir, Open again and reindex.
var ErrStale = errors.New("search: index was built with another mapping version")

// Bump mappingVersion whenever the mapping or analyzers change, so Open
// refuses old indexes instead of serving wrong results.
const mappingVersion = "1"

var versionKey = []byte("rolodex.mapping_version")

// Field names. Only name, email and company_id are stored: they are all a
// Hit needs beyond what the doc id already says (kind and id).
const (
	fieldName       = "name"        // stored; word analyzer; exact and fuzzy terms
	fieldNamePrefix = "name_prefix" // edge n-grams of each word
	fieldEmail      = "email"       // stored only
	fieldEmailKeys  = "email_keys"  // edge n-grams of the address and its domain
	fieldWorkspace  = "workspace_id"
	fieldCompany    = "company_id" // also stored
	fieldKind       = "kind"
)

const (
	analyzerWord        = "rolodex_word"
	analyzerPrefix      = "rolodex_prefix"
	analyzerEmailPrefix = "rolodex_email_prefix"
	analyzerEmailQuery  = "rolodex_email_query"
)

const (
	// Query words longer than the longest gram are cut to it: the prefix
	// term must exist in the n-gram field, and 20 characters of a word are
	// specific enough.
	maxNameGram = 20
	// E-mail grams start at 3 because one or two characters of an address
	// mostly repeat the name prefix and would only add work to the
	// broadest, slowest queries.
	minEmailGram = 3
	maxEmailGram = 50

	maxQueryRunes = 100
	// More words barely narrow a name search but each one adds a clause.
	maxQueryWords = 6

	defaultLimit = 10
	maxLimit     = 50

	boostExact  = 3
	boostPrefix = 2
	boostFuzzy  = 1
)

// Index is safe for concurrent use; Close it once when done.
type Index struct {
	idx        bleve.Index
	word       analysis.Analyzer
	emailQuery analysis.Analyzer
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

	ix := &Index{idx: idx}
	m := idx.Mapping()
	ix.word = m.AnalyzerNamed(analyzerWord)
	ix.emailQuery = m.AnalyzerNamed(analyzerEmailQuery)
	if ix.word == nil || ix.emailQuery == nil {
		idx.Close()
		return nil, fmt.Errorf("%w: analyzers missing: delete %s and reindex", ErrStale, dir)
	}
	return ix, nil
}

func (ix *Index) Close() error { return ix.idx.Close() }

// record is what Bleve indexes for a Doc; ids are strings so they are
// indexed as keyword terms, which is what the security filter matches on.
type record struct {
	Name        string   `json:"name"`
	Email       string   `json:"email,omitempty"`
	EmailKeys   []string `json:"email_keys,omitempty"`
	WorkspaceID string   `json:"workspace_id"`
	CompanyID   string   `json:"company_id"`
	Kind        string   `json:"kind"`
}

// Put inserts or replaces docs in one batch.
func (ix *Index) Put(docs ...Doc) error {
	if len(docs) == 0 {
		return nil
	}
	b := ix.idx.NewBatch()
	for _, d := range docs {
		if !validKind(d.Kind) {
			return fmt.Errorf("search: put %s:%d: unknown kind", d.Kind, d.ID)
		}
		r := record{
			Name:        d.Name,
			WorkspaceID: strconv.FormatInt(d.WorkspaceID, 10),
			CompanyID:   strconv.FormatInt(d.CompanyID, 10),
			Kind:        d.Kind,
		}
		if d.Kind == KindContact && d.Email != "" {
			r.Email = d.Email
			r.EmailKeys = emailKeys(d.Email)
		}
		if err := b.Index(docID(d.Kind, d.ID), r); err != nil {
			return fmt.Errorf("search: put %s:%d: %w", d.Kind, d.ID, err)
		}
	}
	if err := ix.idx.Batch(b); err != nil {
		return fmt.Errorf("search: put: %w", err)
	}
	return nil
}

// emailKeys indexes the domain as well as the whole address so that typing
// a company's domain finds its contacts.
func emailKeys(email string) []string {
	email = strings.TrimSpace(email)
	keys := []string{email}
	if at := strings.LastIndexByte(email, '@'); at >= 0 && at+1 < len(email) {
		keys = append(keys, email[at+1:])
	}
	return keys
}

// Delete removes docs of one kind in one batch; unknown ids are ignored.
func (ix *Index) Delete(kind string, ids ...int64) error {
	if !validKind(kind) {
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

type Query struct {
	WorkspaceID int64
	Text        string
	Clients     []int64  // company ids the viewer may see; nil means all (admin); empty non-nil means none
	Kinds       []string // optional; empty = both kinds
	Limit       int      // default 10, max 50
}

type Hit struct {
	Kind          string
	ID, CompanyID int64
	Name, Email   string
	Score         float64
}

// Search returns the best matches for q.Text, best first. Hits that match
// every word exactly or by prefix always come before hits that need a typo
// correction; Score follows that order.
func (ix *Index) Search(ctx context.Context, q Query) ([]Hit, error) {
	for _, k := range q.Kinds {
		if !validKind(k) {
			return nil, fmt.Errorf("search: unknown kind %q", k)
		}
	}
	if q.Clients != nil && len(q.Clients) == 0 {
		return nil, nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)

	words, email := ix.parse(q.Text)
	if len(words) == 0 && email == "" {
		return nil, nil
	}
	filter := newFilter(q)

	exact, err := ix.run(ctx, textQuery(words, email, false), filter, limit)
	if err != nil {
		return nil, err
	}
	if len(exact) >= limit || !anyFuzzy(words) {
		return exact, nil
	}

	// Too few exact or prefix matches: likely a typo. Fuzzy matching is the
	// expensive part, so it only runs here. The fuzzy query also matches
	// every exact hit, so ask for enough to fill up after removing them.
	fuzzy, err := ix.run(ctx, textQuery(words, email, true), filter, limit+len(exact))
	if err != nil {
		return nil, err
	}
	return appendFuzzy(exact, fuzzy, limit), nil
}

// appendFuzzy adds the fuzzy-only hits after the exact ones, with scores
// squeezed below the lowest exact score so Score stays in rank order.
func appendFuzzy(exact, fuzzy []Hit, limit int) []Hit {
	seen := make(map[string]bool, len(exact))
	for _, h := range exact {
		seen[docID(h.Kind, h.ID)] = true
	}
	ceiling := 1.0
	if len(exact) > 0 {
		ceiling = exact[len(exact)-1].Score / 2
	}
	var top float64
	for _, h := range fuzzy {
		top = max(top, h.Score)
	}
	hits := exact
	for _, h := range fuzzy {
		if len(hits) >= limit {
			break
		}
		if seen[docID(h.Kind, h.ID)] {
			continue
		}
		if top > 0 {
			h.Score = h.Score / top * ceiling
		}
		hits = append(hits, h)
	}
	return hits
}

// parse turns user input into analyzed words for the name fields and a
// folded, lower-cased string for the e-mail prefix ("" when it cannot be
// an address). Only the analyzers used at index time are applied, so a
// query term is byte-for-byte what was indexed.
func (ix *Index) parse(text string) (words []string, email string) {
	text = truncateRunes(strings.TrimSpace(text), maxQueryRunes)
	if text == "" {
		return nil, ""
	}
	for _, tok := range ix.word.Analyze([]byte(text)) {
		words = append(words, string(tok.Term))
		if len(words) == maxQueryWords {
			break
		}
	}
	if utf8.RuneCountInString(text) >= minEmailGram && !strings.ContainsAny(text, " \t\r\n") {
		if toks := ix.emailQuery.Analyze([]byte(text)); len(toks) == 1 {
			email = truncateRunes(string(toks[0].Term), maxEmailGram)
		}
	}
	return words, email
}

// fuzziness follows the brief: short words are too ambiguous to correct.
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

func anyFuzzy(words []string) bool {
	return slices.ContainsFunc(words, func(w string) bool { return fuzziness(w) > 0 })
}

// textQuery requires every word to match a name word (by prefix, exactly,
// or with fuzzy also by edit distance), or the whole input to be a prefix
// of the e-mail address or its domain.
func textQuery(words []string, email string, fuzzy bool) query.Query {
	var alts []query.Query
	if len(words) > 0 {
		all := make([]query.Query, 0, len(words))
		for _, w := range words {
			prefix := query.NewTermQuery(truncateRunes(w, maxNameGram))
			prefix.SetField(fieldNamePrefix)
			prefix.SetBoost(boostPrefix)
			exact := query.NewTermQuery(w)
			exact.SetField(fieldName)
			exact.SetBoost(boostExact)
			either := []query.Query{prefix, exact}
			if f := fuzziness(w); fuzzy && f > 0 {
				fq := query.NewFuzzyQuery(w)
				fq.SetField(fieldName)
				fq.SetFuzziness(f)
				fq.SetBoost(boostFuzzy)
				either = append(either, fq)
			}
			all = append(all, query.NewDisjunctionQuery(either))
		}
		if len(all) == 1 {
			alts = append(alts, all[0])
		} else {
			alts = append(alts, query.NewConjunctionQuery(all))
		}
	}
	if email != "" {
		eq := query.NewTermQuery(email)
		eq.SetField(fieldEmailKeys)
		eq.SetBoost(boostPrefix)
		alts = append(alts, eq)
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return query.NewDisjunctionQuery(alts)
}

// run executes text restricted by filter and returns hits sorted by score,
// then name. Sorting by name inside Bleve would load doc values for every
// candidate, which is what makes broad prefixes slow, so only the returned
// page is sorted by name; ties cut at the page boundary fall in index order.
func (ix *Index) run(ctx context.Context, text, filter query.Query, size int) ([]Hit, error) {
	req := bleve.NewSearchRequestOptions(query.NewConjunctionQuery([]query.Query{text, filter}), size, 0, false)
	req.Fields = []string{fieldName, fieldEmail, fieldCompany}
	res, err := ix.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	hits := make([]Hit, 0, len(res.Hits))
	for _, m := range res.Hits {
		h, err := toHit(m)
		if err != nil {
			return nil, err
		}
		hits = append(hits, h)
	}
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
	return hits, nil
}

func toHit(m *bsearch.DocumentMatch) (Hit, error) {
	kind, id, ok := parseDocID(m.ID)
	if !ok {
		return Hit{}, fmt.Errorf("search: unexpected doc id %q", m.ID)
	}
	h := Hit{Kind: kind, ID: id, Score: m.Score}
	h.Name, _ = m.Fields[fieldName].(string)
	h.Email, _ = m.Fields[fieldEmail].(string)
	company, _ := m.Fields[fieldCompany].(string)
	var err error
	if h.CompanyID, err = strconv.ParseInt(company, 10, 64); err != nil {
		return Hit{}, fmt.Errorf("search: doc %q has bad company id %q", m.ID, company)
	}
	return h, nil
}

// filter restricts a search to one workspace, optionally to some kinds and
// to the viewer's companies. It is a Bleve query, not a post-filter, so a
// viewer whose few clients are buried under thousands of better-scoring
// hits still gets all of theirs.
//
// Its searchers run unscored, which lets Bleve answer the company
// disjunction and the conjunction with plain bitmap OR/AND over posting
// lists instead of merging thousands of scored iterators. Inside the outer
// conjunction the smaller side drives, so a staff user with few clients
// only visits their own docs even for a one-letter prefix.
type filter struct {
	workspace string
	kind      string   // "" for both kinds
	companies []string // nil for all
}

func newFilter(q Query) *filter {
	f := &filter{workspace: strconv.FormatInt(q.WorkspaceID, 10)}
	if k := slices.Compact(slices.Sorted(slices.Values(q.Kinds))); len(k) == 1 {
		f.kind = k[0]
	}
	if q.Clients != nil {
		f.companies = make([]string, len(q.Clients))
		for i, id := range q.Clients {
			f.companies[i] = strconv.FormatInt(id, 10)
		}
	}
	return f
}

var unscored = bsearch.SearcherOptions{Score: "none"}

func (f *filter) Searcher(ctx context.Context, r index.IndexReader, _ mapping.IndexMapping, _ bsearch.SearcherOptions) (bsearch.Searcher, error) {
	var parts []bsearch.Searcher
	closeAll := func() {
		for _, s := range parts {
			s.Close()
		}
	}
	ws, err := searcher.NewTermSearcher(ctx, r, f.workspace, fieldWorkspace, 1, unscored)
	if err != nil {
		return nil, err
	}
	parts = append(parts, ws)
	if f.kind != "" {
		k, err := searcher.NewTermSearcher(ctx, r, f.kind, fieldKind, 1, unscored)
		if err != nil {
			closeAll()
			return nil, err
		}
		parts = append(parts, k)
	}
	if f.companies != nil {
		c, err := searcher.NewMultiTermSearcher(ctx, r, f.companies, fieldCompany, 1, unscored, false)
		if err != nil {
			closeAll()
			return nil, err
		}
		parts = append(parts, c)
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	s, err := searcher.NewConjunctionSearcher(ctx, r, parts, unscored)
	if err != nil {
		closeAll()
		return nil, err
	}
	return s, nil
}

func newMapping() *mapping.IndexMappingImpl {
	m := bleve.NewIndexMapping()
	must := func(err error) {
		if err != nil {
			panic(err) // static configuration: only a programming error gets here
		}
	}
	must(m.AddCustomTokenFilter("rolodex_name_edge", map[string]any{
		"type": edgengram.Name, "min": 1.0, "max": float64(maxNameGram),
	}))
	must(m.AddCustomTokenFilter("rolodex_email_edge", map[string]any{
		"type": edgengram.Name, "min": float64(minEmailGram), "max": float64(maxEmailGram),
	}))
	words := map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{asciifolding.Name},
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name},
	}
	must(m.AddCustomAnalyzer(analyzerWord, words))
	must(m.AddCustomAnalyzer(analyzerPrefix, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{asciifolding.Name},
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, "rolodex_name_edge"},
	}))
	// An address is one token so "lee@and" is a prefix of it.
	must(m.AddCustomAnalyzer(analyzerEmailPrefix, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{asciifolding.Name},
		"tokenizer":     single.Name,
		"token_filters": []any{lowercase.Name, "rolodex_email_edge"},
	}))
	must(m.AddCustomAnalyzer(analyzerEmailQuery, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{asciifolding.Name},
		"tokenizer":     single.Name,
		"token_filters": []any{lowercase.Name},
	}))

	text := func(name, analyzer string, store bool) *mapping.FieldMapping {
		f := mapping.NewTextFieldMapping()
		f.Name = name
		f.Analyzer = analyzer
		f.Store = store
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = false
		return f
	}
	keyword := func(name string, store bool) *mapping.FieldMapping {
		f := mapping.NewKeywordFieldMapping()
		f.Name = name
		f.Store = store
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = false
		f.SkipFreqNorm = true // filter-only: never scored
		return f
	}
	storedOnly := text(fieldEmail, analyzerWord, true)
	storedOnly.Index = false

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt("name", text(fieldName, analyzerWord, true), text(fieldNamePrefix, analyzerPrefix, false))
	doc.AddFieldMappingsAt("email", storedOnly)
	doc.AddFieldMappingsAt("email_keys", text(fieldEmailKeys, analyzerEmailPrefix, false))
	doc.AddFieldMappingsAt("workspace_id", keyword(fieldWorkspace, false))
	doc.AddFieldMappingsAt("company_id", keyword(fieldCompany, true))
	doc.AddFieldMappingsAt("kind", keyword(fieldKind, false))

	m.DefaultMapping = doc
	m.DefaultAnalyzer = analyzerWord
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	return m
}

// isEmptyDir lets Open create the index in a directory made for it (as
// t.TempDir does) without ever writing into one holding something else.
func isEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}

func validKind(k string) bool { return k == KindCompany || k == KindContact }

func docID(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }

func parseDocID(s string) (kind string, id int64, ok bool) {
	kind, num, ok := strings.Cut(s, ":")
	if !ok || !validKind(kind) {
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
