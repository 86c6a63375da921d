package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

var names = []string{"htmx.min.js", "sse.js", "room.js", "app.css", "app.js", "favicon.svg"}

func TestPath(t *testing.T) {
	re := regexp.MustCompile(`^/static/[0-9a-f]{8}/[a-z.]+$`)
	for _, name := range names {
		p := Path(name)
		if !re.MatchString(p) || !strings.HasSuffix(p, "/"+name) {
			t.Errorf("Path(%q) = %q", name, p)
		}
		body, _ := embedded.ReadFile(name)
		sum := sha256.Sum256(body)
		if want := hex.EncodeToString(sum[:])[:8]; !strings.Contains(p, "/"+want+"/") {
			t.Errorf("Path(%q) = %q, want hash %s", name, p, want)
		}
	}
}

func TestPathUnknownPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Path of an unknown asset did not panic")
		}
	}()
	Path("nope.js")
}

func get(t *testing.T, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	mux := http.NewServeMux()
	mux.Handle("GET /static/", Handler())
	mux.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	types := map[string]string{
		"htmx.min.js": "text/javascript; charset=utf-8",
		"sse.js":      "text/javascript; charset=utf-8",
		"room.js":     "text/javascript; charset=utf-8",
		"app.js":      "text/javascript; charset=utf-8",
		"app.css":     "text/css; charset=utf-8",
		"favicon.svg": "image/svg+xml",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			w := get(t, Path(name))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if got := w.Header().Get("Content-Type"); got != types[name] {
				t.Errorf("Content-Type %q, want %q", got, types[name])
			}
			if got := w.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q", got)
			}
			if w.Header().Get("Content-Encoding") != "" {
				t.Error("encoded without Accept-Encoding")
			}
			want, _ := embedded.ReadFile(name)
			if !bytes.Equal(w.Body.Bytes(), want) {
				t.Error("body differs from the embedded file")
			}
		})
	}
}

func TestHandlerGzip(t *testing.T) {
	w := get(t, Path("htmx.min.js"), "Accept-Encoding", "br, gzip;q=0.8")
	if w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", w.Header().Get("Content-Encoding"))
	}
	if !strings.Contains(w.Header().Get("Vary"), "Accept-Encoding") {
		t.Error("no Vary: Accept-Encoding")
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	want, _ := embedded.ReadFile("htmx.min.js")
	if !bytes.Equal(got, want) {
		t.Error("gunzipped body differs")
	}
	if w := get(t, Path("htmx.min.js"), "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent though refused with q=0")
	}
}

func TestHandlerConditional(t *testing.T) {
	w := get(t, Path("app.css"))
	etag := w.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if w := get(t, Path("app.css"), "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", w.Code)
	}
}

func TestHandlerStaleHash(t *testing.T) {
	// A page from another release asks for its own hash: serve what we
	// have, but do not let it be cached under that URL.
	w := get(t, "/static/00000000/app.css")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("Cache-Control %q, want no-cache", got)
	}
}

func TestHandlerNotFound(t *testing.T) {
	for _, target := range []string{
		"/static/",
		"/static/app.css",
		"/static/00000000/nope.css",
		"/static/00000000/",
		"/static/" + strings.Split(Path("app.css"), "/")[2] + "/../app.css",
		"/static/00000000/app.css/x",
	} {
		// ServeMux answers unclean paths (..) with a redirect to the clean one.
		if w := get(t, target); w.Code != http.StatusNotFound && w.Code/100 != 3 {
			t.Errorf("%s: status %d, want 404", target, w.Code)
		}
	}
}

func TestHandlerMethod(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, Path("app.css"), nil)
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d", w.Code)
	}
}

// The views rely on app.js letting htmx swap 422 responses (a form that
// failed validation); without it the errors would never show.
func TestAppJSSwaps422(t *testing.T) {
	js, _ := embedded.ReadFile("app.js")
	for _, want := range []string{`htmx.config.responseHandling`, `{ code: "422", swap: true }`, `getElementById("search-q")`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("app.js lacks %s", want)
		}
	}
}
