// Package static holds the browser assets (htmx, its SSE extension, the
// stylesheet, the script and the icon), embedded in the binary and served at
// content-hashed URLs so that browsers may cache them for good.
//
// htmx.min.js is htmx 2.0.11 and sse.js is htmx-ext-sse 2.2.4, both from npm
// and both under the Zero-Clause BSD licence. No page loads sse.js until a
// page has an event stream to listen to.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed htmx.min.js sse.js room.js app.css app.js favicon.svg
var embedded embed.FS

// Prefix is the URL path every asset is served under.
const Prefix = "/static/"

type asset struct {
	name  string
	hash  string // first 8 hex digits of the SHA-256 of body
	url   string // Prefix + hash + "/" + name, what Path returns
	ctype string
	body  []byte
	gz    []byte // gzip of body, nil when that would not be smaller
}

var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

// assets is filled once at start-up: hashing and compressing at init costs a
// few milliseconds once instead of on every request.
var assets = load()

func load() map[string]*asset {
	entries, err := embedded.ReadDir(".")
	if err != nil {
		panic(err)
	}
	m := make(map[string]*asset, len(entries))
	for _, e := range entries {
		body, err := embedded.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		a := &asset{name: e.Name(), hash: hex.EncodeToString(sum[:])[:8], ctype: contentTypes[path.Ext(e.Name())], body: body}
		if a.ctype == "" {
			panic("static: no content type for " + e.Name())
		}
		a.gz = compress(body)
		a.url = Prefix + a.hash + "/" + e.Name()
		m[e.Name()] = a
	}
	return m
}

func compress(body []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	if buf.Len() >= len(body) {
		return nil
	}
	return buf.Bytes()
}

// Path returns the URL of the named asset, e.g. "/static/3f9a1c2b/app.css".
// The hash changes whenever the content does, so a new release is never
// hidden behind an old cached copy. An unknown name is a programming error
// and panics (the views tests render every page, so a typo fails a test).
func Path(name string) string {
	a, ok := assets[name]
	if !ok {
		panic(fmt.Sprintf("static: unknown asset %q", name))
	}
	return a.url
}

// Handler serves GET and HEAD requests for /static/{hash}/{name}; mount it
// at "GET /static/".
//
// When the hash matches, the response is cacheable for a year and marked
// immutable. When it does not (during a rolling deploy a page rendered by a
// node running another release asks this node for that release's hash), the
// current content is served with Cache-Control: no-cache: the page keeps
// working, and the browser does not pin this content under a URL that
// names other content. Unknown names and malformed paths are 404.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	hash, name, ok := strings.Cut(rest, "/")
	a := assets[name]
	if !ok || a == nil {
		http.NotFound(w, r)
		return
	}
	if hash == a.hash {
		a.serve(w, r, "public, max-age=31536000, immutable")
	} else {
		a.serve(w, r, "no-cache")
	}
}

// Favicon serves favicon.svg at /favicon.ico, which browsers ask for
// whatever a page links to; mount it at "GET /favicon.ico". That URL
// keeps its name when the icon changes, so it is cached for a day only.
func Favicon() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assets["favicon.svg"].serve(w, r, "public, max-age=86400")
	})
}

func (a *asset) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", cacheControl)
	body, etag := a.body, `"`+a.hash+`"`
	if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag = a.gz, `"`+a.hash+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	// ServeContent answers If-None-Match and Range requests.
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
