package search

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

func openTest(t *testing.T, docs ...Doc) *Index {
	t.Helper()
	ix, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	if err := ix.Put(docs...); err != nil {
		t.Fatal(err)
	}
	return ix
}

func company(ws, id int64, name string) Doc {
	return Doc{Kind: KindCompany, ID: id, WorkspaceID: ws, CompanyID: id, Name: name}
}

func contact(ws, id, companyID int64, name, email string) Doc {
	return Doc{Kind: KindContact, ID: id, WorkspaceID: ws, CompanyID: companyID, Name: name, Email: email}
}

func search(t *testing.T, ix *Index, q Query) []Hit {
	t.Helper()
	hits, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	return hits
}

func names(hits []Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Name)
	}
	return out
}

var sample = []Doc{
	company(1, 1, "Andertons"),
	company(1, 2, "Guitar Centre"),
	company(1, 3, "Acme"),
	company(1, 4, "Acme Widgets"),
	company(1, 5, "Café Müller"),
	company(1, 6, "Anderson & Sons"),
	contact(1, 1, 1, "Lee Anderton", "lee@andertons.co.uk"),
	contact(1, 2, 2, "Rob Chapman", "rob@guitarcentre.com"),
	contact(1, 3, 5, "Zoë Ångström", "zoe@mueller.de"),
	company(2, 7, "Andertons Music"), // another workspace: never in workspace 1's results
}

func TestFinds(t *testing.T) {
	ix := openTest(t, sample...)
	tests := []struct {
		text string
		want string
	}{
		{"andert", "Andertons"},
		{"andretons", "Andertons"},
		{"ANDERTONS", "Andertons"},
		{"guit", "Guitar Centre"},
		{"g", "Guitar Centre"},
		{"guitr cent", "Guitar Centre"},
		{"centre guitar", "Guitar Centre"},
		{"lee and", "Lee Anderton"},
		{"lee@and", "Lee Anderton"},
		{"andertons.co.uk", "Lee Anderton"},
		{"LEE@ANDERTONS.CO.UK", "Lee Anderton"},
		{"cafe", "Café Müller"},
		{"müll", "Café Müller"},
		{"muller", "Café Müller"},
		{"zoe angstrom", "Zoë Ångström"},
		{"chapmen", "Rob Chapman"},
		{"  acme  ", "Acme"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			hits := search(t, ix, Query{WorkspaceID: 1, Text: tt.text})
			if !slices.Contains(names(hits), tt.want) {
				t.Errorf("got %q, want it to contain %q", names(hits), tt.want)
			}
			for _, h := range hits {
				if h.Name == "Andertons Music" {
					t.Errorf("hit from another workspace: %+v", h)
				}
			}
		})
	}
}

func TestNoMatch(t *testing.T) {
	ix := openTest(t, sample...)
	for _, text := range []string{"xylophone", "lee zzz", "q"} {
		t.Run(text, func(t *testing.T) {
			if hits := search(t, ix, Query{WorkspaceID: 1, Text: text}); len(hits) != 0 {
				t.Errorf("got %q, want none", names(hits))
			}
		})
	}
}

func TestHitFields(t *testing.T) {
	ix := openTest(t, sample...)
	hits := search(t, ix, Query{WorkspaceID: 1, Text: "lee@andertons"})
	want := Hit{Kind: KindContact, ID: 1, CompanyID: 1, Name: "Lee Anderton", Email: "lee@andertons.co.uk"}
	if len(hits) != 1 {
		t.Fatalf("got %+v, want one hit", hits)
	}
	got := hits[0]
	if got.Score <= 0 {
		t.Errorf("score %v, want > 0", got.Score)
	}
	got.Score = 0
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestRanking(t *testing.T) {
	docs := []Doc{
		company(1, 1, "Acme Widgets"),
		company(1, 2, "Acme"),
		company(1, 3, "Acmeco"),
		// Smyth is rare, so by term statistics alone a fuzzy match on it
		// would score well; it must still come after every Smith.
		company(1, 10, "Smyth"),
	}
	for i := range int64(5) {
		docs = append(docs, company(1, 20+i, fmt.Sprintf("Smith %d", i)))
	}
	ix := openTest(t, docs...)

	tests := []struct {
		text string
		want []string // expected order of the first len(want) hits
	}{
		{"acme", []string{"Acme", "Acme Widgets", "Acmeco"}},
		{"acm", []string{"Acme"}},
		{"smith", []string{"Smith 0", "Smith 1", "Smith 2", "Smith 3", "Smith 4", "Smyth"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			hits := search(t, ix, Query{WorkspaceID: 1, Text: tt.text})
			got := names(hits)
			if len(got) < len(tt.want) || !slices.Equal(got[:len(tt.want)], tt.want) {
				t.Errorf("got %q, want it to start with %q", got, tt.want)
			}
			for i := 1; i < len(hits); i++ {
				if hits[i].Score > hits[i-1].Score {
					t.Errorf("scores not descending: %+v", hits)
				}
			}
		})
	}
}

func TestClients(t *testing.T) {
	ix := openTest(t, sample...)
	tests := []struct {
		name    string
		clients []int64
		kinds   []string
		want    []string
	}{
		{"admin", nil, nil, []string{"Anderson & Sons", "Andertons", "Lee Anderton"}},
		{"none", []int64{}, nil, nil},
		{"one client", []int64{1}, nil, []string{"Andertons", "Lee Anderton"}},
		{"other workspace's company", []int64{7}, nil, nil},
		{"unknown company", []int64{999}, nil, nil},
		{"contacts only", nil, []string{KindContact}, []string{"Lee Anderton"}},
		{"companies only", []int64{1, 6}, []string{KindCompany}, []string{"Anderson & Sons", "Andertons"}},
		{"both kinds listed", []int64{1}, []string{KindCompany, KindContact}, []string{"Andertons", "Lee Anderton"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits := search(t, ix, Query{WorkspaceID: 1, Text: "ander", Clients: tt.clients, Kinds: tt.kinds})
			got := names(hits)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWorkspaces tries to reach another workspace's terms through the
// "<workspace>:" prefix every term carries.
func TestWorkspaces(t *testing.T) {
	ix := openTest(t,
		company(1, 1, "Andertons"),
		company(2, 2, "Andertons Music"),
		company(12, 3, "Zebra Music"),
		company(21, 4, "Zebra Two"),
	)
	for _, text := range []string{"2:andertons", "2:andertons music", "zebra", "2:zebra", "12:zebra", "zebrx", "zebar", ":zebra", "1:2:zebra", "music"} {
		t.Run(text, func(t *testing.T) {
			for _, h := range search(t, ix, Query{WorkspaceID: 1, Text: text}) {
				if h.Name != "Andertons" {
					t.Errorf("workspace 1 found %q", h.Name)
				}
			}
		})
	}
	if got := names(search(t, ix, Query{WorkspaceID: 12, Text: "zebar"})); !slices.Equal(got, []string{"Zebra Music"}) {
		t.Errorf("workspace 12 fuzzy: got %q, want only its own Zebra Music", got)
	}
}

// TestConcurrent is for the race detector: searches with a shared client
// list while writes add and merge segments.
func TestConcurrent(t *testing.T) {
	ix := openTest(t, sample...)
	done := make(chan struct{})
	errs := make(chan error, 4)
	for g := range 3 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				hits, err := ix.Search(context.Background(), Query{WorkspaceID: 1, Text: "ander", Clients: []int64{1, 6, int64(g)}})
				if err == nil && len(hits) == 0 {
					err = errors.New("no hits")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range int64(30) {
		if err := ix.Put(company(1, 100+i, "Anders Filler")); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 3 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestUnknownKind(t *testing.T) {
	ix := openTest(t)
	if _, err := ix.Search(context.Background(), Query{WorkspaceID: 1, Text: "a", Kinds: []string{"deal"}}); err == nil {
		t.Error("Search with unknown kind: want error")
	}
	if err := ix.Put(Doc{Kind: "deal", ID: 1, Name: "x"}); err == nil {
		t.Error("Put with unknown kind: want error")
	}
	if err := ix.Delete("deal", 1); err == nil {
		t.Error("Delete with unknown kind: want error")
	}
}

// TestClientsRandom checks the filter against brute force: every hit is
// allowed, and no allowed match is lost, however sparse the clients are.
func TestClientsRandom(t *testing.T) {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}
	rng := rand.New(rand.NewPCG(1, 2))
	var docs []Doc
	workspaceOf := map[string]int64{}
	const companies = 120
	for id := int64(1); id <= companies; id++ {
		ws := 1 + id%3
		name := words[rng.IntN(len(words))] + " " + words[rng.IntN(len(words))]
		docs = append(docs, company(ws, id, name))
		for range rng.IntN(3) {
			cid := int64(len(docs) + 1000)
			first := words[rng.IntN(len(words))]
			docs = append(docs, contact(ws, cid, id, first+" "+words[rng.IntN(len(words))], first+"@"+words[rng.IntN(len(words))]+".example"))
		}
	}
	for _, d := range docs {
		workspaceOf[docID(d.Kind, d.ID)] = d.WorkspaceID
	}
	ix := openTest(t, docs...)

	// Queries of one to three letters never go fuzzy, so brute force can
	// say exactly what must match: a word of the name, or the address or
	// domain of the e-mail, starting with the text.
	matches := func(d Doc, text string) bool {
		local, domain, _ := strings.Cut(d.Email, "@")
		for w := range strings.FieldsSeq(d.Name + " " + local + " " + domain) {
			if strings.HasPrefix(strings.ToLower(w), text) {
				return true
			}
		}
		return false
	}

	kinds := [][]string{nil, {KindCompany}, {KindContact}, {KindContact, KindCompany}}
	for i := range 80 {
		ws := int64(1 + rng.IntN(3))
		var clients []int64
		switch i % 4 {
		case 0: // admin
		case 1:
			clients = []int64{}
		default:
			// With a sparse list the client filter drives the
			// conjunction, with a dense one the text does.
			density := []int{10, 90}[i/4%2]
			clients = []int64{}
			for id := int64(1); id <= companies+5; id++ { // includes ids nobody has
				if rng.IntN(100) < density {
					clients = append(clients, id)
				}
			}
		}
		kind := kinds[rng.IntN(len(kinds))]
		w := words[rng.IntN(len(words))]
		text := w[:1+rng.IntN(3)]

		want := map[string]bool{}
		for _, d := range docs {
			if d.WorkspaceID == ws &&
				(clients == nil || slices.Contains(clients, d.CompanyID)) &&
				(len(kind) == 0 || slices.Contains(kind, d.Kind)) &&
				matches(d, text) {
				want[docID(d.Kind, d.ID)] = true
			}
		}
		for _, ranked := range []bool{true, false} {
			name := fmt.Sprintf("%d_ws%d_%s_clients%d_kinds%d_ranked=%v", i, ws, text, len(clients), len(kind), ranked)
			t.Run(name, func(t *testing.T) {
				if !ranked {
					defer func(old uint64) { maxRankedMatches = old }(maxRankedMatches)
					maxRankedMatches = 0
				}
				hits := search(t, ix, Query{WorkspaceID: ws, Text: text, Clients: clients, Kinds: kind, Limit: maxLimit})
				for _, h := range hits {
					id := docID(h.Kind, h.ID)
					if workspaceOf[id] != ws {
						t.Errorf("hit %s from workspace %d", id, workspaceOf[id])
					}
					if clients != nil && !slices.Contains(clients, h.CompanyID) {
						t.Errorf("hit %s of company %d not in clients", id, h.CompanyID)
					}
					if !want[id] {
						t.Errorf("hit %s (%q) not expected", id, h.Name)
					}
				}
				if len(hits) != min(len(want), maxLimit) {
					t.Errorf("got %d hits, want %d", len(hits), min(len(want), maxLimit))
				}
			})
		}
	}
}

// TestClientsAfterWrites moves contacts between companies and deletes
// them, batch after batch, so segments come, go and merge under the cached
// client filter; a staff search must keep matching brute force.
func TestClientsAfterWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ix := openTest(t)
	current := map[int64]Doc{} // contact id -> doc
	clients := []int64{2, 3, 5, 7}
	for batch := range 40 {
		var docs []Doc
		for range 5 {
			id := int64(1 + rng.IntN(30))
			if _, ok := current[id]; ok && rng.IntN(4) == 0 {
				if err := ix.Delete(KindContact, id); err != nil {
					t.Fatal(err)
				}
				delete(current, id)
				continue
			}
			d := contact(1, id, int64(1+rng.IntN(10)), fmt.Sprintf("Pat %d", id), "")
			current[id] = d
			docs = append(docs, d)
		}
		if err := ix.Put(docs...); err != nil {
			t.Fatal(err)
		}
		var want []int64
		for id, d := range current {
			if slices.Contains(clients, d.CompanyID) {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		var got []int64
		for _, h := range search(t, ix, Query{WorkspaceID: 1, Text: "pat", Clients: clients, Limit: maxLimit}) {
			got = append(got, h.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("after batch %d: got contacts %v, want %v", batch, got, want)
		}
	}
}

func TestUpsertDeleteCount(t *testing.T) {
	ix := openTest(t, sample...)
	count := func() uint64 {
		t.Helper()
		n, err := ix.Count()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	find := func(text string) []string {
		t.Helper()
		return names(search(t, ix, Query{WorkspaceID: 1, Text: text}))
	}
	if got := count(); got != uint64(len(sample)) {
		t.Fatalf("Count = %d, want %d", got, len(sample))
	}

	if err := ix.Put(company(1, 2, "Guitar Guitar")); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != uint64(len(sample)) {
		t.Errorf("Count after upsert = %d, want %d", got, len(sample))
	}
	if got := find("centre"); slices.Contains(got, "Guitar Centre") {
		t.Errorf("old name still found: %q", got)
	}
	if got := find("guitar gui"); !slices.Contains(got, "Guitar Guitar") {
		t.Errorf("new name not found: %q", got)
	}

	// Same id, other kind: a separate doc.
	if err := ix.Delete(KindContact, 1, 404); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != uint64(len(sample)-1) {
		t.Errorf("Count after delete = %d, want %d", got, len(sample)-1)
	}
	if got := find("lee"); len(got) != 0 {
		t.Errorf("deleted contact found: %q", got)
	}
	if got := find("andertons"); !slices.Contains(got, "Andertons") {
		t.Errorf("company 1 lost with contact 1: %q", got)
	}
	if err := ix.Put(); err != nil {
		t.Errorf("empty Put: %v", err)
	}
	if err := ix.Delete(KindCompany); err != nil {
		t.Errorf("empty Delete: %v", err)
	}
}

func TestWeirdInput(t *testing.T) {
	ix := openTest(t, sample...)
	tests := []struct {
		text string
		want string // "" means any result, including none, is fine
	}{
		{"", ""},
		{"   \t\n", ""},
		{`"acme"`, "Acme"},
		{`name:acme`, ""},
		{`+acme -widgets`, "Acme Widgets"},
		{`acme*`, "Acme"},
		{`acme~2`, ""},
		{`*`, ""},
		{`:`, ""},
		{`+`, ""},
		{`-`, ""},
		{`"`, ""},
		{`\`, ""},
		{`(acme OR x) AND /re.*/`, ""},
		{"\x00\xff\xfe", ""},
		{"😀 acme", "Acme"},
		{"@@@", ""},
		{strings.Repeat("a", 500), ""},
		{strings.Repeat("acme ", 200), "Acme"},
		{strings.Repeat("ü", 300), ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20q", tt.text), func(t *testing.T) {
			hits := search(t, ix, Query{WorkspaceID: 1, Text: tt.text})
			if tt.want != "" && !slices.Contains(names(hits), tt.want) {
				t.Errorf("got %q, want it to contain %q", names(hits), tt.want)
			}
			if strings.TrimSpace(tt.text) == "" && len(hits) != 0 {
				t.Errorf("blank query returned %q", names(hits))
			}
		})
	}
}

func TestLimit(t *testing.T) {
	var docs []Doc
	for i := range int64(60) {
		// Same length, so same score.
		docs = append(docs, company(1, i+1, fmt.Sprintf("Acme %02d", i)))
	}
	ix := openTest(t, docs...)
	tests := []struct{ limit, want int }{{0, 10}, {-1, 10}, {3, 3}, {50, 50}, {1000, 50}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.limit), func(t *testing.T) {
			if got := len(search(t, ix, Query{WorkspaceID: 1, Text: "acme", Limit: tt.limit})); got != tt.want {
				t.Errorf("got %d hits, want %d", got, tt.want)
			}
		})
	}
	// Same score: name order decides, so results are stable between calls.
	got := names(search(t, ix, Query{WorkspaceID: 1, Text: "acme", Limit: 50}))
	if !slices.IsSortedFunc(got, strings.Compare) {
		t.Errorf("equal scores not in name order: %q", got)
	}
}

// TestUnranked covers queries too broad to rank: they must still respect
// the limit and the filter, and come back in name order.
func TestUnranked(t *testing.T) {
	defer func(old uint64) { maxRankedMatches = old }(maxRankedMatches)
	maxRankedMatches = 5

	var docs []Doc
	for i := range int64(40) {
		docs = append(docs, company(1, i+1, fmt.Sprintf("Smith %c", 'Z'-i%26)))
	}
	docs = append(docs, company(1, 100, "Jones"))
	ix := openTest(t, docs...)

	hits := search(t, ix, Query{WorkspaceID: 1, Text: "s", Limit: 7})
	if len(hits) != 7 {
		t.Fatalf("got %d hits, want 7", len(hits))
	}
	for _, h := range hits {
		if h.Score != 0 {
			t.Errorf("unranked hit with score %v", h.Score)
		}
	}
	if got := names(hits); !slices.IsSorted(got) {
		t.Errorf("not in name order: %q", got)
	}
	// Rare enough to rank even with the low cut-off.
	if got := search(t, ix, Query{WorkspaceID: 1, Text: "jones"}); len(got) != 1 || got[0].Score == 0 {
		t.Errorf("jones: got %+v, want one ranked hit", got)
	}
	// A staff user's docs are ranked, however common the word.
	got := search(t, ix, Query{WorkspaceID: 1, Text: "s", Clients: []int64{3, 4}})
	if len(got) != 2 || got[0].Score == 0 || got[1].Score == 0 {
		t.Errorf("staff: got %+v, want two ranked hits", got)
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Put(sample...); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}

	ix, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(search(t, ix, Query{WorkspaceID: 1, Text: "guit"})); !slices.Contains(got, "Guitar Centre") {
		t.Errorf("after reopen got %q, want Guitar Centre", got)
	}
	// An index from another mapping version must be rebuilt, not used.
	if err := ix.idx.SetInternal(versionKey, []byte("0")); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrStale) {
		t.Errorf("Open of old version: got %v, want ErrStale", err)
	}
}

func TestCancelled(t *testing.T) {
	ix := openTest(t, sample...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ix.Search(ctx, Query{WorkspaceID: 1, Text: "acme"}); err == nil {
		t.Error("Search with cancelled context: want error")
	}
}

// TestNarrowTerms: narrowing a staff user's docs term by term keeps
// exactly the docs the searcher-based narrowing keeps, for every kind and
// texts of one and two words, in an index whose segments have deletions.
func TestNarrowTerms(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ix := openTest(t)
	words := []string{"acme", "acorn", "beta", "bravo", "cobalt", "echo"}
	name := func() string { return words[rng.IntN(len(words))] + " " + words[rng.IntN(len(words))] }
	for batch := range 12 {
		var docs []Doc
		for range 30 {
			id := int64(1 + rng.IntN(200))
			docs = append(docs, company(1, id, name()), contact(1, id, int64(1+rng.IntN(200)), name(), words[rng.IntN(len(words))]+"@example.com"))
		}
		if err := ix.Put(docs...); err != nil { // replacing docs deletes their old versions
			t.Fatal(err)
		}
		if batch%3 == 2 {
			if err := ix.Delete(KindContact, int64(1+rng.IntN(200))); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Scorch merges segments in the background, and a merge drops the
	// deletion bitmaps: replace one more doc until a snapshot is caught
	// with one (each replacement marks the old version deleted).
	adv, err := ix.idx.Advanced()
	if err != nil {
		t.Fatal(err)
	}
	var r index.IndexReader
	var snap *scorch.IndexSnapshot
	for try := 0; ; try++ {
		if r, err = adv.Reader(); err != nil {
			t.Fatal(err)
		}
		snap = r.(*scorch.IndexSnapshot)
		withDeletions := false
		for _, ss := range snap.Segments() {
			withDeletions = withDeletions || ss.Deleted() != nil && !ss.Deleted().IsEmpty()
		}
		if withDeletions {
			break
		}
		r.Close()
		if try == 50 {
			t.Fatal("no segment has deletions: the test does not cover them")
		}
		id := int64(1 + rng.IntN(200))
		if err := ix.Put(company(1, id, name())); err != nil {
			t.Fatal(err)
		}
	}
	defer r.Close()
	var clients []int64
	for id := int64(1); id <= 200; id += 3 {
		clients = append(clients, id)
	}
	ctx := context.Background()
	for _, kinds := range [][]string{nil, {KindCompany}, {KindContact}} {
		for _, text := range []string{"a", "ac", "acm", "acorn", "e", "ex", "b", "cobalt e", "bravo ac", "zulu"} {
			f := ix.newFilter(Query{WorkspaceID: 1, Clients: clients, Kinds: kinds})
			parsed := ix.parse(text)
			q := &filtered{text: textQuery("1:", parsed, nil), ws: "1:", words: parsed, f: f}
			clientDocs := func() *docsSearcher {
				cs, err := f.clientSearcher(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				return cs.(*docsSearcher)
			}
			byTerms, err := q.narrowTerms(snap, clientDocs())
			if err != nil {
				t.Fatal(err)
			}
			bySearchers, err := q.narrow(ctx, r, ix.idx.Mapping(), clientDocs())
			if err != nil {
				t.Fatal(err)
			}
			got, want := byTerms.docs, bySearchers.docs
			if !slices.Equal(got, want) {
				t.Errorf("kinds %v, %q: term by term %v, searchers %v", kinds, text, got, want)
			}
		}
	}
}

// TestStaffRanking: a staff user's matches are ranked with the whole word
// above a prefix of a longer one, and each matched word counts.
func TestStaffRanking(t *testing.T) {
	ix := openTest(t,
		company(1, 1, "Acmeon Trading"),
		company(1, 2, "Acme Trading"),
		company(1, 3, "Acme Tradewinds"),
		company(1, 4, "Acme Trading"), // not a client
		company(1, 5, "Zulu"),
	)
	clients := []int64{1, 2, 3, 5}
	got := search(t, ix, Query{WorkspaceID: 1, Text: "acme", Clients: clients})
	if n := names(got); len(n) != 3 || n[2] != "Acmeon Trading" || !(got[1].Score > got[2].Score) || got[2].Score <= 0 {
		t.Errorf("acme: got %+v, want the prefix-only match last", got)
	}
	got = search(t, ix, Query{WorkspaceID: 1, Text: "acme trading", Clients: clients})
	if len(got) != 2 || got[0].ID != 2 || !(got[0].Score > got[1].Score) {
		t.Errorf("acme trading: got %+v, want Acme Trading (2) first", got)
	}
}

// andertonDocs are five companies named Anderton and, to bury them, seven
// contacts named Anderton and sixty more whose e-mail starts with it.
func andertonDocs() []Doc {
	docs := []Doc{
		company(1, 1, "Anderton Mills"),
		company(1, 2, "Anderton Logistics"),
		company(1, 3, "Anderton & Daughters"),
		company(1, 4, "Anderton Guitars"),
		company(1, 5, "Anderton Bakery"),
		company(1, 6, "Zebra Paints"),
	}
	for i := range int64(7) {
		docs = append(docs, contact(1, 1+i, 1+i%6, fmt.Sprintf("Sam%c Anderton", 'a'+i), ""))
	}
	for i := range int64(60) {
		docs = append(docs, contact(1, 100+i, 6, fmt.Sprintf("Pat %d", i), fmt.Sprintf("anderton%d@zebra.example", i)))
	}
	return docs
}

// TestCompaniesAmongContacts: a company name, whole, as a prefix or with
// a typo, finds every company of that name however many contacts match
// too, with the count of each kind.
func TestCompaniesAmongContacts(t *testing.T) {
	ix := openTest(t, andertonDocs()...)
	five := []int64{1, 2, 3, 4, 5}
	tests := []struct {
		text      string
		clients   []int64
		companies []int64
		contacts  int // how many contacts match
	}{
		{"anderton", nil, five, 67},
		{"Ander", nil, five, 67},
		{"andretons", nil, five, 7},
		{"anderton", []int64{2, 4}, []int64{2, 4}, 2},
		{"andretons", []int64{2, 4}, []int64{2, 4}, 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_%v", tt.text, tt.clients), func(t *testing.T) {
			p, err := ix.SearchPage(context.Background(), Query{WorkspaceID: 1, Text: tt.text, Clients: tt.clients, Kinds: []string{KindCompany}, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, h := range p.Hits {
				got = append(got, h.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.companies) || p.Total != len(tt.companies) || !p.Counted || p.More {
				t.Errorf("companies: got %v of %d (counted %v, more %v), want %v", got, p.Total, p.Counted, p.More, tt.companies)
			}
			p, err = ix.SearchPage(context.Background(), Query{WorkspaceID: 1, Text: tt.text, Clients: tt.clients, Kinds: []string{KindContact}, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != tt.contacts || !p.Counted || len(p.Hits) != min(5, tt.contacts) || p.More != (tt.contacts > 5) {
				t.Errorf("contacts: got %d hits of %d (counted %v, more %v), want %d", len(p.Hits), p.Total, p.Counted, p.More, tt.contacts)
			}
			for _, h := range p.Hits {
				if h.Kind != KindContact || tt.clients != nil && !slices.Contains(tt.clients, h.CompanyID) {
					t.Errorf("contact hit %+v", h)
				}
			}

			// SearchKinds answers both at once, the same way.
			pages, err := ix.SearchKinds(context.Background(), Query{WorkspaceID: 1, Text: tt.text, Clients: tt.clients, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			if len(pages) != 2 || pages[0].Total != len(tt.companies) || len(pages[0].Hits) != len(tt.companies) || pages[0].Hits[0].Kind != KindCompany ||
				pages[1].Total != tt.contacts || !slices.Equal(pages[1].Hits, p.Hits) {
				t.Errorf("SearchKinds: %+v", pages)
			}
		})
	}
}

// TestPages: paging by Offset reaches every match once, exact and prefix
// matches before typo matches, with the same Total on every page.
func TestPages(t *testing.T) {
	var docs []Doc
	for i := range int64(23) {
		docs = append(docs, company(1, 1+i, fmt.Sprintf("Smith %02d", i)))
	}
	for i := range int64(4) {
		docs = append(docs, company(1, 100+i, fmt.Sprintf("Smyth %d", i)))
	}
	docs = append(docs, company(1, 200, "Jones"))
	ix := openTest(t, docs...)

	for _, ranked := range []bool{true, false} {
		for _, tt := range []struct {
			text  string
			limit int
			want  int
		}{{"smith", 5, 27}, {"smith", 10, 27}, {"smith", 50, 27}, {"smi", 7, 23}} {
			t.Run(fmt.Sprintf("%s_%d_ranked=%v", tt.text, tt.limit, ranked), func(t *testing.T) {
				if !ranked {
					defer func(old uint64) { maxRankedMatches = old }(maxRankedMatches)
					maxRankedMatches = 0
				}
				seen := map[int64]bool{}
				var order []string
				for offset := 0; ; offset += tt.limit {
					p, err := ix.SearchPage(context.Background(), Query{WorkspaceID: 1, Text: tt.text, Limit: tt.limit, Offset: offset})
					if err != nil {
						t.Fatal(err)
					}
					if p.Total != tt.want || !p.Counted {
						t.Fatalf("offset %d: total %d (counted %v), want %d", offset, p.Total, p.Counted, tt.want)
					}
					if len(p.Hits) > tt.limit {
						t.Fatalf("offset %d: %d hits, limit %d", offset, len(p.Hits), tt.limit)
					}
					for _, h := range p.Hits {
						if seen[h.ID] {
							t.Errorf("offset %d: %q again", offset, h.Name)
						}
						seen[h.ID] = true
						order = append(order, h.Name)
					}
					if p.More != (offset+tt.limit < tt.want) {
						t.Errorf("offset %d: more %v", offset, p.More)
					}
					if !p.More {
						break
					}
				}
				if len(seen) != tt.want {
					t.Errorf("pages hold %d matches, want %d: %q", len(seen), tt.want, order)
				}
				for i := 1; i < len(order); i++ {
					if strings.HasPrefix(order[i-1], "Smyth") && strings.HasPrefix(order[i], "Smith") {
						t.Errorf("exact match after a typo match: %q", order)
						break
					}
				}
			})
		}
	}
}

// TestCountCap: a query too broad to rank is counted up to countCap, and
// its pages still reach every match.
func TestCountCap(t *testing.T) {
	defer func(old uint64, oldCap int) { maxRankedMatches, countCap = old, oldCap }(maxRankedMatches, countCap)
	maxRankedMatches = 5

	var docs []Doc
	for i := range int64(40) {
		docs = append(docs, company(1, i+1, fmt.Sprintf("Smith %02d", i)))
	}
	ix := openTest(t, docs...)
	page := func(offset int) Page {
		t.Helper()
		p, err := ix.SearchPage(context.Background(), Query{WorkspaceID: 1, Text: "s", Limit: 7, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	countCap = 1000
	if p := page(0); p.Total != 40 || !p.Counted || !p.More || len(p.Hits) != 7 {
		t.Errorf("under the cap: %d hits of %d (counted %v, more %v), want 7 of 40 counted", len(p.Hits), p.Total, p.Counted, p.More)
	}
	countCap = 20
	if p := page(0); p.Total != 20 || p.Counted || !p.More {
		t.Errorf("over the cap: total %d (counted %v, more %v), want at least 20", p.Total, p.Counted, p.More)
	}
	seen := map[int64]bool{}
	for offset := 0; ; offset += 7 {
		p := page(offset)
		for _, h := range p.Hits {
			seen[h.ID] = true
		}
		if p.Total < offset+len(p.Hits) {
			t.Errorf("offset %d: total %d below the hits seen", offset, p.Total)
		}
		if !p.More {
			break
		}
	}
	if len(seen) != 40 {
		t.Errorf("pages hold %d matches, want 40", len(seen))
	}
}

// TestFuzzyQuery: the fuzzy query that shares its terms across a search
// finds and scores what Bleve's FuzzyQuery does, also when asked again,
// and sees a term written after it last looked.
func TestFuzzyQuery(t *testing.T) {
	ix := openTest(t)
	for i, batch := range [][]string{{"Anderton", "Andertons Music"}, {"Andretton", "Anderson"}, {"Andertn & Sons", "Bandertons"}} {
		var docs []Doc
		for j, name := range batch {
			id := int64(10*i + j + 1)
			docs = append(docs, company(1, id, name), contact(1, id, id, name, ""))
		}
		if err := ix.Put(docs...); err != nil { // a segment each
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	hits := func(q query.Query) []Hit {
		t.Helper()
		got, _, _, err := ix.run(ctx, q, 0, maxLimit, true, false)
		if err != nil {
			t.Fatal(err)
		}
		// Equal scores in one order: a background merge between two
		// queries may renumber the docs.
		return sortPage(got)
	}
	typos := &fuzzyTerms{}
	check := func(word string, want int) {
		t.Helper()
		bleveQ := query.NewFuzzyQuery("1:" + word)
		bleveQ.SetField(fieldWords)
		bleveQ.SetFuzziness(fuzziness(word))
		bleveQ.SetPrefix(len("1:"))
		bleveQ.SetBoost(boostFuzzy)
		wantHits := hits(bleveQ)
		for range 2 { // the second time from typos' terms
			got := hits(&fuzzyQuery{word: "1:" + word, ws: "1:", fuzziness: fuzziness(word), found: typos})
			if !slices.Equal(got, wantHits) {
				t.Errorf("%q: got %+v, Bleve's FuzzyQuery %+v", word, got, wantHits)
			}
		}
		if len(wantHits) != want {
			t.Errorf("%q: %d hits, want %d", word, len(wantHits), want)
		}
	}
	check("anderton", 12) // every name: the farthest, bandertons and andretton, are two edits away
	check("andersno", 6)
	if err := ix.Put(company(1, 99, "Andersen")); err != nil {
		t.Fatal(err)
	}
	check("andersno", 7) // andersen is two edits away too
}

// TestNarrowShared: within one search the fuzzy text's client docs are
// found once for both kinds, and each kind keeps exactly the docs its own
// unshared narrowing finds.
func TestNarrowShared(t *testing.T) {
	var docs []Doc
	names := []string{"Cobalt Systems", "Cobolt Supply", "Kobalt Ltd", "Boreal Union", "Borel Unions", "Zenith Pinnacle"}
	for id := int64(1); id <= 60; id++ {
		name := names[id%int64(len(names))]
		docs = append(docs, company(1, id, name), contact(1, 1000+id, id, name+" Smith", "x@example.com"))
	}
	ix := openTest(t, docs...)
	adv, err := ix.idx.Advanced()
	if err != nil {
		t.Fatal(err)
	}
	r, err := adv.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var clients []int64
	for id := int64(1); id <= 60; id += 2 {
		clients = append(clients, id)
	}
	ctx := context.Background()
	for _, text := range []string{"cobalt", "boreal union", "pinacle", "zulu"} {
		words := ix.parse(text)
		typos := &fuzzyTerms{}
		found := 0
		for _, kind := range []string{KindCompany, KindContact} {
			f := ix.newFilter(Query{WorkspaceID: 1, Clients: clients, Kinds: []string{kind}})
			clientDocs := func() *docsSearcher {
				cs, err := f.clientSearcher(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				return cs.(*docsSearcher)
			}
			q := &filtered{text: textQuery("1:", words, typos), typos: typos, f: f}
			shared, err := q.narrow(ctx, r, ix.idx.Mapping(), clientDocs())
			if err != nil {
				t.Fatal(err)
			}
			alone, err := q.narrowKind(ctx, r, ix.idx.Mapping(), clientDocs(), kind)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(shared.docs, alone.docs) {
				t.Errorf("%q, %s: shared %v, alone %v", text, kind, shared.docs, alone.docs)
			}
			found += len(shared.docs)
		}
		if typos.narrowedIn != r {
			t.Errorf("%q: the text's client docs were not shared", text)
		}
		if text != "zulu" && found == 0 {
			t.Errorf("%q: found nothing: the test compares nothing", text)
		}
	}
}
