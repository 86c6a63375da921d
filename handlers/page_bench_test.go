package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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

// BenchmarkHomePage is the server's share of the home page for a staff
// user, as BenchmarkCompanyPage: session, user, the week's meetings,
// overdue ones, live rooms, recent activity, company names, render.
// `go test -bench 'HomePage|CompanyPage' ./handlers/` compares the two.
func BenchmarkHomePage(b *testing.B) {
	a := newTestApp(b)
	alice, _, _ := homeWorkspace(b, a)
	cookies := a.client(b, alice).Jar.Cookies(mustURL(a.Server.URL))
	h := a.Handler.Routes()
	req := httptest.NewRequest("GET", "/", nil)
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
