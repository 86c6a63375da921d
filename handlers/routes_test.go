package handlers_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestRoutesAreLiteral keeps routes.go greppable: inside Routes every route
// is one line that starts with its wrapper and a literal pattern, and no
// loop builds patterns.
func TestRoutesAreLiteral(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	body := string(src)
	start := strings.Index(body, "func (h *Handler) Routes() http.Handler {")
	end := strings.Index(body[start:], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatal("Routes not found in routes.go")
	}
	body = body[start : start+end]
	line := regexp.MustCompile(`^\t(open|apiOpen|page|admin|api|apiAdmin|upload|apiUpload)\((.*)$`)
	literal := regexp.MustCompile(`^"[A-Z]* ?/[^"+]*", `)
	n := 0
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "for ") {
			t.Errorf("a loop in Routes: %s", l)
		}
		if strings.Contains(l, "mux.Handle") && !strings.Contains(l, ":= func(") {
			t.Errorf("a route registered without its wrapper: %s", l)
		}
		if m := line.FindStringSubmatch(l); m != nil {
			n++
			if !literal.MatchString(m[2]) {
				t.Errorf("not a literal pattern: %s", l)
			}
		}
	}
	if n < 100 {
		t.Errorf("found %d route lines; the pattern above no longer matches routes.go", n)
	}
}
