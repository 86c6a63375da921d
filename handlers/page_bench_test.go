package handlers_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rolodex/rolodex/store"
)

// BenchmarkCompanyPage is the server's share of a company page without the
// network: session, user, company, timeline, render. `go test -bench
// CompanyPage ./handlers/` (the load test in TestBenchReport adds HTTP).
func BenchmarkCompanyPage(b *testing.B) {
	a := newTestApp(b)
	ctx := context.Background()
	c, err := a.Store.CreateCompany(ctx, admin(), store.CompanyInput{Name: "Andertons Music", Town: "Guildford"})
	if err != nil {
		b.Fatal(err)
	}
	for j := 0; j < 5; j++ {
		if _, err := a.Store.AddNote(ctx, admin(), c.ID, store.NoteInput{Title: fmt.Sprint("Call ", j), Body: "Spoke about **pricing**:\n\n- volume\n- terms"}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := a.Store.AddContact(ctx, admin(), c.ID, store.ContactInput{Name: "Lee Anderton", Email: "lee@andertons.example"}); err != nil {
		b.Fatal(err)
	}
	staff := a.User(b, "staff@example.com", store.RoleStaff)
	if err := a.Store.SetUserClients(ctx, admin(), staff.ID, []int64{c.ID}); err != nil {
		b.Fatal(err)
	}
	cookies := a.client(b, staff).Jar.Cookies(mustURL(a.Server.URL))
	h := a.Handler.Routes()
	req := httptest.NewRequest("GET", fmt.Sprintf("/companies/%d", c.ID), nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	b.ReportAllocs()
	w := &discardWriter{h: http.Header{}}
	for b.Loop() {
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

// BenchmarkHomePage is the server's share of the home page, as
// BenchmarkCompanyPage: session, user, the week's meetings, live rooms,
// unread notifications, recent activity, company names, render. Its
// workspace is generate's and generateDay's at 100,000 companies: a staff
// user with 1,000 clients, and an admin, each with a busy day.
// `go test -bench 'HomePage|CompanyPage' ./handlers/` compares the two.
func BenchmarkHomePage(b *testing.B) {
	const n = 100_000
	a := newTestApp(b)
	ctx := context.Background()
	path := filepath.Join(a.Dir, "rolodex.db")
	generate(b, path, n)
	staff := a.User(b, "staff@example.com", store.RoleStaff)
	colleague := a.User(b, "colleague@example.com", store.RoleStaff)
	adm := a.User(b, "admin@example.com", store.RoleAdmin)
	rng := rand.New(rand.NewPCG(3, 4))
	clients := map[int64]bool{}
	for len(clients) < 1000 {
		clients[1+rng.Int64N(n)] = true
	}
	ids := slices.Sorted(maps.Keys(clients))
	if err := a.Store.SetUserClients(ctx, admin(), staff.ID, ids); err != nil {
		b.Fatal(err)
	}
	generateDay(b, path, n, staff, colleague, adm, ids)
	if err := a.Store.RebuildRedis(ctx, store.DefaultWorkspace); err != nil {
		b.Fatal(err)
	}
	for _, u := range []*store.User{staff, adm} {
		b.Run(strings.TrimSuffix(u.Email, "@example.com"), func(b *testing.B) {
			cookies := a.client(b, u).Jar.Cookies(mustURL(a.Server.URL))
			h := a.Handler.Routes()
			req := httptest.NewRequest("GET", "/", nil)
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
			b.ReportAllocs()
			w := &discardWriter{h: http.Header{}}
			// CPU time as well as wall time: on a shared machine the
			// wall time is mostly the other tenants'.
			before := cpuTime()
			for b.Loop() {
				clear(w.h)
				w.code = 0
				h.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
			b.ReportMetric(float64(cpuTime()-before)/float64(b.N), "cpu-ns/op")
		})
	}
}

// discardWriter is a ResponseWriter that keeps only the status: the
// benchmark measures the server's work, not a recorder's buffer growth.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }

func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}
