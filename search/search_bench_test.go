package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/search/query"
)

// BenchmarkSearch builds N companies and N contacts (N from
// ROLODEX_BENCH_N, default 20000) and measures as-you-type queries: 1 to 8
// letters of a word of a real name, a third after a whole first word, a
// tenth with two letters swapped.
//
//	ROLODEX_BENCH_N=200000 go test -run '^$' -bench BenchmarkSearch -benchtime 1000x -v ./search/
//
// -v shows how long indexing took. p50-ms and p99-ms are per query
// latencies of Search for an admin and for staff with 50, 1000 and 20000
// clients; box/* is what the search box asks (SearchKinds: five of each
// kind, with counts). The filter=* runs compare ways of restricting to the
// clients under the same exact/prefix query; filter=cached is what Search
// does.
func BenchmarkSearch(b *testing.B) {
	n := 20000
	if s := os.Getenv("ROLODEX_BENCH_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			b.Fatalf("ROLODEX_BENCH_N=%q: want a positive integer", s)
		}
	}
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	docs := benchDocs(rng, n)

	// ROLODEX_BENCH_DIR keeps the index between runs, since building a
	// large one takes minutes; delete the directory after changing the
	// mapping or N.
	dir := os.Getenv("ROLODEX_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	ix, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	if have, err := ix.Count(); err != nil {
		b.Fatal(err)
	} else if have == 0 {
		start := time.Now()
		const batch = 5000
		for chunk := range slices.Chunk(docs, batch) {
			if err := ix.Put(chunk...); err != nil {
				b.Fatal(err)
			}
		}
		took := time.Since(start)
		segments := settle(ix)
		b.Logf("indexed %d docs in %v (%.0f docs/s) in batches of %d; merges settled after %v more, %d segments",
			len(docs), took.Round(time.Millisecond), float64(len(docs))/took.Seconds(), batch,
			(time.Since(start) - took).Round(time.Millisecond), segments)
	} else if have != uint64(len(docs)) {
		b.Fatalf("%s holds %d docs, want %d: delete it", dir, have, len(docs))
	} else {
		b.Logf("reusing %d docs in %s, %d segments", have, dir, settle(ix))
	}

	if os.Getenv("ROLODEX_BENCH_COMPACT") != "" {
		start := time.Now()
		if err := ix.Compact(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Logf("compacted in %v: %d segments", time.Since(start).Round(time.Millisecond), settle(ix))
	}
	queries := benchQueries(rng, docs, 500)
	staff := func(k int) []int64 {
		ids := make([]int64, k)
		for i := range ids {
			ids[i] = 1 + rng.Int64N(int64(n)) // company ids are 1..n
		}
		return ids
	}
	viewers := []struct {
		name    string
		clients []int64
	}{
		{"admin", nil},
		{"staff50", staff(50)},
		{"staff1000", staff(1000)},
		{"staff20000", staff(min(20000, n))},
	}

	for _, v := range viewers {
		b.Run(v.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			var hits int
			i := 0
			for b.Loop() {
				q := Query{WorkspaceID: 1, Text: queries[i%len(queries)], Clients: v.clients}
				i++
				t0 := time.Now()
				h, err := ix.Search(context.Background(), q)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				hits += len(h)
			}
			reportLatency(b, lat)
			b.ReportMetric(float64(hits)/float64(i), "hits/op")
		})
	}

	for _, v := range viewers {
		b.Run("box/"+v.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				text := queries[i%len(queries)]
				i++
				t0 := time.Now()
				if _, err := ix.SearchKinds(context.Background(), Query{WorkspaceID: 1, Text: text, Clients: v.clients, Limit: 5}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			reportLatency(b, lat)
		})
	}

	// Ways to apply the client filter, each under the same exact/prefix
	// text query (the first of Search's two passes).
	strategies := []struct {
		name  string
		apply func(q Query, text query.Query) query.Query
	}{
		{"cached", func(q Query, text query.Query) query.Query { return ix.newFilter(q).apply(text, "", nil) }},
		// What the first keystroke of a session pays, or any keystroke
		// right after a merge rewrote most of the index.
		{"cold", func(q Query, text query.Query) query.Query {
			f := &filter{clients: newClientCache().get(q.Clients)}
			return f.apply(text, "", nil)
		}},
		{"terms", func(q Query, text query.Query) query.Query {
			f := ix.newFilter(q)
			f.noCache = true
			return f.apply(text, "", nil)
		}},
		{"boolean-filter", booleanFilter},
		{"scored-disjunction", scoredDisjunction},
	}
	for _, v := range viewers {
		if v.clients == nil || len(v.clients) > 1000 {
			continue
		}
		for _, s := range strategies {
			b.Run(fmt.Sprintf("filter=%s/%s", s.name, v.name), func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				i := 0
				for b.Loop() {
					q := Query{WorkspaceID: 1, Text: queries[i%len(queries)], Clients: v.clients}
					i++
					t0 := time.Now()
					words := ix.parse(q.Text)
					ws := strconv.FormatInt(q.WorkspaceID, 10) + ":"
					ranked, err := ix.rankable(ws, words)
					if err != nil {
						b.Fatal(err)
					}
					if _, _, _, err := ix.run(context.Background(), s.apply(q, textQuery(ws, words, nil)), 0, defaultLimit, ranked, true); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
				}
				reportLatency(b, lat)
			})
		}
	}
}

// booleanFilter uses Bleve's BooleanQuery.Filter: unscored too, but
// checked hit by hit behind the text query, so the text query drives.
func booleanFilter(q Query, text query.Query) query.Query {
	bq := query.NewBooleanQuery([]query.Query{text}, nil, nil)
	bq.AddFilter(companyTerms(q))
	return bq
}

// scoredDisjunction is the naive form: plain term queries, scored and
// merged through a heap.
func scoredDisjunction(q Query, text query.Query) query.Query {
	return query.NewConjunctionQuery([]query.Query{text, companyTerms(q)})
}

func companyTerms(q Query) query.Query {
	var companies []query.Query
	for _, id := range q.Clients {
		t := query.NewTermQuery(strconv.FormatInt(id, 10))
		t.SetField(fieldCompany)
		companies = append(companies, t)
	}
	return query.NewDisjunctionQuery(companies)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// settle waits for background merges so queries see the steady-state
// segment count, and returns it.
func settle(ix *Index) int {
	segments := func() (int, int) {
		m, _ := ix.idx.StatsMap()["index"].(map[string]any)
		f, _ := m["num_root_filesegments"].(uint64)
		mem, _ := m["num_root_memorysegments"].(uint64)
		return int(f), int(mem)
	}
	last, stable := -1, 0
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		f, mem := segments()
		if mem == 0 && f == last {
			if stable++; stable == 10 {
				break
			}
		} else {
			stable = 0
		}
		last = f
	}
	return last
}

// benchDocs makes companies 1..n and contacts 1..n in workspace 1, plus a
// small second workspace that must never show up.
func benchDocs(rng *rand.Rand, n int) []Doc {
	pick := func(words []string) string { return words[rng.IntN(len(words))] }
	docs := make([]Doc, 0, 2*n+200)
	domains := make([]string, n+1)
	for id := 1; id <= n; id++ {
		var name string
		switch rng.IntN(4) {
		case 0:
			name = pick(surnames) + " " + pick(nouns)
		case 1:
			name = pick(adjectives) + " " + pick(nouns) + " " + pick(suffixes)
		case 2:
			name = pick(surnames) + " & " + pick(surnames)
		default:
			name = pick(adjectives) + " " + pick(surnames) + " " + pick(nouns)
		}
		domains[id] = strings.ToLower(strings.Join(strings.Fields(strings.ReplaceAll(name, "&", "")), "")) + pick([]string{".com", ".co.uk", ".de", ".io"})
		docs = append(docs, Doc{Kind: KindCompany, ID: int64(id), WorkspaceID: 1, CompanyID: int64(id), Name: name})
	}
	for id := 1; id <= n; id++ {
		company := 1 + rng.IntN(n)
		first, last := pick(firstNames), pick(surnames)
		email := strings.ToLower(first+"."+last) + "@" + domains[company]
		docs = append(docs, Doc{Kind: KindContact, ID: int64(id), WorkspaceID: 1, CompanyID: int64(company), Name: first + " " + last, Email: email})
	}
	for id := n + 1; id <= n+100; id++ {
		docs = append(docs,
			Doc{Kind: KindCompany, ID: int64(id), WorkspaceID: 2, CompanyID: int64(id), Name: pick(surnames) + " " + pick(nouns)},
			Doc{Kind: KindContact, ID: int64(id), WorkspaceID: 2, CompanyID: int64(id), Name: pick(firstNames) + " " + pick(surnames)})
	}
	rng.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
	return docs
}

// benchQueries are what a user has typed so far: 1 to 8 characters of a
// real name's word, sometimes after a complete first word, and one in ten
// with two letters swapped, which forces the fuzzy pass.
func benchQueries(rng *rand.Rand, docs []Doc, k int) []string {
	qs := make([]string, 0, k)
	for len(qs) < k {
		words := strings.Fields(strings.ReplaceAll(docs[rng.IntN(len(docs))].Name, "&", ""))
		i := rng.IntN(len(words))
		w := []rune(words[i])
		w = w[:min(len(w), 1+rng.IntN(8))]
		if len(w) >= 5 && rng.IntN(10) == 0 {
			j := 1 + rng.IntN(len(w)-2)
			w[j], w[j+1] = w[j+1], w[j]
		}
		q := string(w)
		if i > 0 && rng.IntN(3) == 0 {
			q = words[i-1] + " " + q
		}
		qs = append(qs, strings.ToLower(q))
	}
	return qs
}

var firstNames = strings.Fields(`James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth
David Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa
Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua
Michelle Kenneth Dorothy Kevin Carol Brian Amanda George Melissa Edward Deborah Ronald Stephanie Timothy
Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Shirley Eric Angela
Jonathan Helen Stephen Anna Larry Brenda Justin Pamela Scott Nicole Brandon Emma Benjamin Samantha Samuel
Katherine Gregory Christine Frank Debra Alexander Rachel Raymond Catherine Patrick Carolyn Jack Janet
Dennis Ruth Jerry Maria Tyler Heather Aaron Diane Jose Virginia Adam Julie Henry Joyce Nathan Victoria
Douglas Olivia Zachary Kelly Peter Christina Kyle Lauren Walter Joan Ethan Evelyn Jeremy Judith Harold
Megan Keith Cheryl Christian Andrea Roger Hannah Noah Martha Gerald Jacqueline Carl Frances Terry Gloria
Sean Ann Austin Teresa Arthur Kathryn Lawrence Sara Jesse Janice Dylan Jean Bryan Alice Joe Madison
Jordan Doris Billy Abigail Bruce Julia Albert Judy Willie Grace Gabriel Denise Logan Amber Alan Marilyn
Juan Beverly Wayne Danielle Roy Theresa Ralph Sophia Randy Marie Eugene Diana Vincent Brittany Russell
Natalie Elijah Isabella Louis Charlotte Bobby Rose Philip Alexis Johnny Kayla Lee Zoë José Renée Søren`)

var surnames = strings.Fields(`Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez
Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White
Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores
Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz
Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper
Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett
Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell
Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons
Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant
Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez
McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson
Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner
Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols
Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen
Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews
Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Willis Carpenter Lawrence
Sandoval Anderton Müller Schäfer Østergaard Łukasz Dubois Lefèvre Björk Ångström Nakamura Okafor`)

var adjectives = strings.Fields(`Northern Southern Eastern Western Central Global United National Royal
Imperial Atlantic Pacific Coastal Highland Lowland Metro Urban Rural Golden Silver Blue Green Red Black
White Bright Clear Rapid Swift Prime Premier Superior Advanced Modern Classic Heritage Pioneer Summit
Apex Vertex Quantum Digital Smart Precision Dynamic Strategic Integrated Creative Innovative Reliable
Trusted Allied Independent Associated Consolidated Universal International Continental Regional Local
Crystal Diamond Emerald Sapphire Iron Copper Oak Pine Cedar Maple Willow River Lake Harbour Bay Valley
Meadow Forest Mountain Stone Bridge Castle Crown Phoenix Eagle Falcon Lion Tiger Wolf Fox Bear`)

var nouns = strings.Fields(`Guitars Music Timber Supplies Engineering Construction Consulting Solutions
Systems Technologies Logistics Transport Foods Bakery Brewing Coffee Textiles Fashion Furniture Interiors
Design Media Publishing Printing Marketing Advertising Insurance Finance Capital Investments Properties
Estates Homes Builders Plumbing Electrical Roofing Landscaping Gardens Nurseries Farms Dairy Meats
Seafood Trading Imports Exports Motors Automotive Garage Tyres Parts Tools Hardware Machinery Metals
Plastics Chemicals Pharma Health Dental Medical Clinic Care Fitness Sports Outdoor Travel Tours Hotels
Catering Events Security Cleaning Recruitment Staffing Training Academy Software Networks Telecom Energy
Solar Power Water Environmental Recycling Packaging Labels Signs Glass Ceramics Jewellery Optics Audio
Pianos Records Studios Films Games Toys Books Stationery Centre Works Partners Group Holdings Industries`)

var suffixes = []string{"Ltd", "Limited", "LLC", "Inc", "GmbH", "SA", "BV", "Plc", "Co", "& Sons", "Group"}
