package handlers_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The OpenAPI document (handlers/openapi.json) is held to the routes and to
// what the handlers really answer: every test's app (newTestApp) checks each
// answer of an API route against it, and the query parameters and JSON body
// of every request a route accepted (checkAPI). The tests below check the
// document itself.

// apiSpec is openapi.json, read once per test binary.
type apiSpec struct {
	doc map[string]any
	ops map[string]*apiOp // by "METHOD /path/{template}"
	mux *http.ServeMux    // the documented paths, to find a request's operation

	mu       sync.Mutex // guards compiler and schemas
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema // by location
}

// apiOp is one documented operation.
type apiOp struct {
	key  string         // "GET /api/v1/companies/{id}"
	ptr  string         // its JSON pointer, where its path item is defined
	op   map[string]any // the operation object
	item map[string]any // its path item
}

const specFile = "openapi.json"

var loadSpec = sync.OnceValues(func() (*apiSpec, error) {
	raw, err := os.ReadFile(specFile)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s is not JSON: %w", specFile, err)
	}
	s := &apiSpec{doc: doc.(map[string]any), ops: map[string]*apiOp{}, mux: http.NewServeMux(), schemas: map[string]*jsonschema.Schema{}}
	s.compiler = jsonschema.NewCompiler()
	s.compiler.DefaultDraft(jsonschema.Draft2020)
	if err := s.compiler.AddResource(specFile, s.doc); err != nil {
		return nil, err
	}
	paths, _ := s.doc["paths"].(map[string]any)
	for path, v := range paths {
		item, _ := v.(map[string]any)
		ptr := "/paths/" + pointerToken(path)
		// A path item may be another's ($ref): /bulk-actions is
		// /api/v1/bulk-actions under the seed's address.
		if ref, ok := item["$ref"].(string); ok {
			target, err := s.resolve(ref)
			if err != nil {
				return nil, fmt.Errorf("paths[%q]: %w", path, err)
			}
			item, _ = target.(map[string]any)
			ptr = strings.TrimPrefix(ref, "#")
		}
		for _, method := range []string{"get", "put", "post", "delete", "patch"} {
			op, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			key := strings.ToUpper(method) + " " + path
			s.ops[key] = &apiOp{key: key, ptr: ptr + "/" + method, op: op, item: item}
			s.mux.Handle(key, http.NotFoundHandler())
		}
	}
	return s, nil
})

// spec returns the document or fails t.
func spec(t testing.TB) *apiSpec {
	t.Helper()
	s, err := loadSpec()
	if err != nil {
		t.Fatalf("handlers/%s: %v", specFile, err)
	}
	return s
}

// pointerToken escapes one JSON pointer token for a URI fragment.
func pointerToken(tok string) string {
	return url.PathEscape(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
}

// resolve follows a local $ref ("#/components/schemas/Company").
func (s *apiSpec) resolve(ref string) (any, error) {
	frag, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local to the document", ref)
	}
	var v any = s.doc
	for _, tok := range strings.Split(frag, "/") {
		tok, err := url.PathUnescape(tok)
		if err != nil {
			return nil, fmt.Errorf("$ref %q: %w", ref, err)
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
		if v, ok = m[tok]; !ok {
			return nil, fmt.Errorf("$ref %q does not resolve: no %q", ref, tok)
		}
	}
	return v, nil
}

// deref follows v's $ref, if it has one.
func (s *apiSpec) deref(v any) (map[string]any, string, error) {
	m, _ := v.(map[string]any)
	ref, ok := m["$ref"].(string)
	if !ok {
		return m, "", nil
	}
	target, err := s.resolve(ref)
	if err != nil {
		return nil, "", err
	}
	m, _ = target.(map[string]any)
	return m, strings.TrimPrefix(ref, "#"), nil
}

// schema compiles the schema at ptr, a JSON pointer into the document,
// once.
func (s *apiSpec) schema(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.schemas[ptr]; ok {
		return sch, nil
	}
	sch, err := s.compiler.Compile(specFile + "#" + ptr)
	if err != nil {
		return nil, err
	}
	s.schemas[ptr] = sch
	return sch, nil
}

// find returns the documented operation that r would reach, if any.
func (s *apiSpec) find(r *http.Request) *apiOp {
	if r.Method == http.MethodHead {
		return nil
	}
	_, pattern := s.mux.Handler(r)
	return s.ops[pattern]
}

// mediaSchema returns the JSON pointer of the schema for media type mt
// in content (of a response or request body at ptr), or "" if content does
// not list it.
func (s *apiSpec) mediaSchema(obj map[string]any, ptr, mt string) string {
	content, _ := obj["content"].(map[string]any)
	media, ok := content[mt].(map[string]any)
	if !ok {
		return ""
	}
	if _, ok := media["schema"]; !ok {
		return ""
	}
	return ptr + "/content/" + pointerToken(mt) + "/schema"
}

// checkAnswer reports how an answer (status, Content-Type, body) of op
// disagrees with the document, or "" when it agrees.
func (s *apiSpec) checkAnswer(op *apiOp, status int, ctype string, body []byte) string {
	responses, _ := op.op["responses"].(map[string]any)
	code := strconv.Itoa(status)
	resp, ok := responses[code]
	if !ok {
		return fmt.Sprintf("%s answered %d, which handlers/%s does not list: add %q to %s.responses", op.key, status, specFile, code, op.jsonPath())
	}
	r, ptr, err := s.deref(resp)
	if err != nil {
		return err.Error()
	}
	if ptr == "" {
		ptr = op.ptr + "/responses/" + code
	}
	if len(body) == 0 {
		return ""
	}
	mt, _, _ := strings.Cut(ctype, ";")
	schemaPtr := s.mediaSchema(r, ptr, strings.TrimSpace(mt))
	if schemaPtr == "" {
		return fmt.Sprintf("%s answered %d with %s, which %s.responses[%q] does not list as content", op.key, status, mt, op.jsonPath(), code)
	}
	what := fmt.Sprintf("%s answered %d with a body that %s.responses[%q] does not allow", op.key, status, op.jsonPath(), code)
	switch mt {
	case "application/json":
		return s.validate(schemaPtr, body, what)
	case jsonLines:
		return s.validateLines(r, ptr, body, what)
	}
	return ""
}

// jsonLines is the media type of JSON lines answers (the exports).
const jsonLines = "application/x-ndjson"

// validateLines checks each line of a JSON lines body against the item
// schema of its content (x-itemSchema, OpenAPI 3.2's itemSchema, which
// 3.1 has not), at ptr. A body cut off within a line fails: a whole one
// ends with a line feed.
func (s *apiSpec) validateLines(resp map[string]any, ptr string, body []byte, what string) string {
	content, _ := resp["content"].(map[string]any)
	if media, _ := content[jsonLines].(map[string]any); media["x-itemSchema"] == nil {
		return fmt.Sprintf("%s: its %s content has no x-itemSchema", what, jsonLines)
	}
	itemPtr := ptr + "/content/" + pointerToken(jsonLines) + "/x-itemSchema"
	if !bytes.HasSuffix(body, []byte("\n")) {
		return fmt.Sprintf("%s: the last line does not end with a line feed: %.300q", what, body[max(0, len(body)-300):])
	}
	for i, line := range bytes.Split(body[:len(body)-1], []byte("\n")) {
		if p := s.validate(itemPtr, line, fmt.Sprintf("%s (line %d)", what, i+1)); p != "" {
			return p
		}
	}
	return ""
}

// requestTypes are the media types of the JSON request bodies checkAPI
// holds to the document: a PATCH may come as either.
var requestTypes = []string{"application/json", "application/merge-patch+json"}

// checkRequest reports how a JSON request body of media type mt that op
// accepted disagrees with the document's requestBody.
func (s *apiSpec) checkRequest(op *apiOp, mt string, body []byte) string {
	rb, ok := op.op["requestBody"]
	if !ok {
		return fmt.Sprintf("%s accepted a JSON body, and %s has no requestBody: add one", op.key, op.jsonPath())
	}
	r, ptr, err := s.deref(rb)
	if err != nil {
		return err.Error()
	}
	if ptr == "" {
		ptr = op.ptr + "/requestBody"
	}
	schemaPtr := s.mediaSchema(r, ptr, mt)
	if schemaPtr == "" {
		return fmt.Sprintf("%s accepted a JSON body, and %s.requestBody lists no %s content", op.key, op.jsonPath(), mt)
	}
	return s.validate(schemaPtr, body, fmt.Sprintf("%s accepted a request body that %s.requestBody does not allow", op.key, op.jsonPath()))
}

// checkQuery reports the query parameters of a request that op accepted
// that the document does not declare.
func (s *apiSpec) checkQuery(op *apiOp, q url.Values) string {
	declared := map[string]bool{}
	for _, list := range []any{op.item["parameters"], op.op["parameters"]} {
		params, _ := list.([]any)
		for _, p := range params {
			if param, _, err := s.deref(p); err == nil && param["in"] == "query" {
				declared[param["name"].(string)] = true
			}
		}
	}
	var missing []string
	for name := range q {
		if !declared[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	slices.Sort(missing)
	return fmt.Sprintf("%s accepted query parameters that %s.parameters does not declare: %s", op.key, op.jsonPath(), strings.Join(missing, ", "))
}

// validate checks body against the schema at ptr; what says which.
func (s *apiSpec) validate(ptr string, body []byte, what string) string {
	sch, err := s.schema(ptr)
	if err != nil {
		return fmt.Sprintf("%s: the schema at %s does not compile: %v", what, ptr, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Sprintf("%s: not JSON: %v\n%.300s", what, err, body)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Sprintf("%s (fix the schema at %s or the handler):\n%v\nbody: %.500s", what, ptr, err, body)
	}
	return ""
}

// jsonPath names op's place in the document the way a reader finds it.
func (op *apiOp) jsonPath() string {
	method, path, _ := strings.Cut(op.key, " ")
	return fmt.Sprintf("paths[%q].%s", path, strings.ToLower(method))
}

// checkAPI wraps an app's handler so that every answer of a documented
// operation, and the query parameters and JSON body of every request such
// an operation accepted, are checked against the document; disagreements
// fail t when its app closes.
// Benchmarks, and the bench reports (ROLODEX_BENCH_OUT), are served
// unwrapped, so that checking costs them nothing: it keeps a copy of each
// answer, a whole export's too.
func checkAPI(t testing.TB, next http.Handler) http.Handler {
	if _, bench := t.(*testing.B); bench || os.Getenv("ROLODEX_BENCH_OUT") != "" {
		return next
	}
	s := spec(t)
	var mu sync.Mutex
	var problems []string
	seen := map[string]bool{}
	// Each disagreement once per app: its first line says what and where.
	report := func(p string) {
		first, _, _ := strings.Cut(p, "\n")
		mu.Lock()
		if !seen[first] {
			seen[first] = true
			problems = append(problems, p)
		}
		mu.Unlock()
	}
	// Registered before the server's own cleanup, so this runs after it
	// closed and every answer is in.
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("OpenAPI: %s", p)
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := s.find(r)
		if op == nil {
			next.ServeHTTP(w, r)
			return
		}
		var reqBody []byte
		mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
		mt = strings.TrimSpace(mt)
		if slices.Contains(requestTypes, mt) && r.Body != nil {
			reqBody, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		rec := &answerRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if r.Context().Err() != nil {
			return // abandoned: nobody read the answer
		}
		if p := s.checkAnswer(op, rec.status, rec.Header().Get("Content-Type"), rec.body.Bytes()); p != "" {
			report(p + "\nrequest: " + r.Method + " " + r.URL.RequestURI())
		}
		if rec.status < 300 {
			if p := s.checkQuery(op, r.URL.Query()); p != "" {
				report(p + "\nrequest: " + r.Method + " " + r.URL.RequestURI())
			}
		}
		if rec.status < 300 && len(reqBody) > 0 {
			if p := s.checkRequest(op, mt, reqBody); p != "" {
				report(fmt.Sprintf("%s\nrequest: %s %s %.300s", p, r.Method, r.URL.RequestURI(), reqBody))
			}
		}
	})
}

// answerRecorder passes an answer on and keeps a copy.
type answerRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	body   bytes.Buffer
}

func (a *answerRecorder) WriteHeader(code int) {
	if !a.wrote {
		a.status, a.wrote = code, true
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *answerRecorder) Write(b []byte) (int, error) {
	a.wrote = true
	a.body.Write(b)
	return a.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (deadlines,
// flushes) through the recorder.
func (a *answerRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// TestOpenAPICoverage: every API route is documented, and every documented
// operation is a route.
func TestOpenAPICoverage(t *testing.T) {
	a := newTestApp(t)
	s := spec(t)
	routes := map[string]bool{}
	for _, p := range a.Handler.Patterns() {
		method, path, ok := strings.Cut(p, " ")
		if !ok || !strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/bulk-actions") {
			continue // "/api/" is the catch-all that answers 404 and 405
		}
		key := method + " " + samePath(path)
		routes[key] = true
		if !slices.ContainsFunc(mapKeys(s.ops), func(k string) bool { return op2key(k) == key }) {
			t.Errorf("route %q is not in handlers/%s: add paths[%q].%s with its parameters, requestBody and responses (Error for each of 400/401/403/404/409/413/422 it can answer)",
				p, specFile, path, strings.ToLower(method))
		}
	}
	for k := range s.ops {
		if !routes[op2key(k)] {
			t.Errorf("handlers/%s documents %q, which is no route in routes.go: remove it, or add the route", specFile, k)
		}
	}
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// samePath makes path templates that differ only in their parameters'
// names equal: /a/{id} and /a/{x} are the same path.
func samePath(path string) string { return pathParam.ReplaceAllString(path, "{}") }

func op2key(k string) string {
	method, path, _ := strings.Cut(k, " ")
	return method + " " + samePath(path)
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestOpenAPIDocument: the document is served as written, is well-formed
// OpenAPI 3.1 (every $ref resolves, every schema is valid JSON Schema
// 2020-12, every path parameter is declared), and lists the error answers
// that every route of its kind can give.
func TestOpenAPIDocument(t *testing.T) {
	a := newTestApp(t)
	s := spec(t)
	file, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	c := a.client(t, nil)
	resp, body := do(t, c, "GET", a.Server.URL+"/api/v1/openapi.json", "", "")
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || body != string(file) || etag == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d, ETag %q, %s, %d bytes; want 200 with an ETag and handlers/%s as JSON",
			resp.StatusCode, etag, resp.Header.Get("Content-Type"), len(body), specFile)
	}
	if resp, _ := do(t, c, "GET", a.Server.URL+"/api/v1/openapi.json", "", "", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("GET /api/v1/openapi.json with If-None-Match: %d, want 304", resp.StatusCode)
	}

	if s.doc["openapi"] != "3.1.0" {
		t.Errorf("openapi is %v, want 3.1.0", s.doc["openapi"])
	}
	info, _ := s.doc["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Errorf("info needs a title and a version: %v", info)
	}

	meta, err := jsonschema.NewCompiler().Compile("https://json-schema.org/draft/2020-12/schema")
	if err != nil {
		t.Fatal(err)
	}
	// Every $ref resolves, and every schema is a valid 2020-12 schema that
	// compiles in place.
	var walk func(v any, ptr string, isSchema bool)
	walk = func(v any, ptr string, isSchema bool) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := s.resolve(ref); err != nil {
					t.Errorf("%s: %v", ptr, err)
				}
			}
			if isSchema {
				if err := meta.Validate(v); err != nil {
					t.Errorf("%s is not a valid JSON Schema 2020-12: %v", ptr, err)
				} else if _, err := s.schema(ptr); err != nil {
					t.Errorf("%s does not compile: %v", ptr, err)
				}
				return // its subschemas are checked with it
			}
			for k, x := range v {
				walk(x, ptr+"/"+pointerToken(k), k == "schema" || k == "x-itemSchema" || strings.HasSuffix(ptr, "/components/schemas"))
			}
		case []any:
			for i, x := range v {
				walk(x, ptr+"/"+strconv.Itoa(i), false)
			}
		}
	}
	walk(s.doc, "", false)

	schemes, _ := s.doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	checkSecurity := func(where string, v any) {
		reqs, _ := v.([]any)
		for _, r := range reqs {
			for name := range r.(map[string]any) {
				if schemes[name] == nil {
					t.Errorf("%s: security scheme %q is not in components.securitySchemes", where, name)
				}
			}
		}
	}
	checkSecurity("security", s.doc["security"])

	ids := map[string]string{}
	for _, op := range s.ops {
		where := op.jsonPath()
		checkSecurity(where+".security", op.op["security"])
		if id, ok := op.op["operationId"].(string); ok {
			if other, dup := ids[id]; dup && other != op.ptr {
				t.Errorf("%s: operationId %q is also %s's", where, id, other)
			}
			ids[id] = op.ptr
		}
		// Path parameters: each of the template's is declared, in the
		// operation or its path item, and nothing else is.
		_, path, _ := strings.Cut(op.key, " ")
		want := map[string]bool{}
		for _, p := range pathParam.FindAllString(path, -1) {
			want[strings.Trim(p, "{}")] = true
		}
		declared := map[string]bool{}
		for _, list := range []any{op.item["parameters"], op.op["parameters"]} {
			params, _ := list.([]any)
			for _, p := range params {
				param, _, err := s.deref(p)
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				name, _ := param["name"].(string)
				if param["in"] != "path" {
					continue
				}
				declared[name] = true
				if !want[name] {
					t.Errorf("%s declares path parameter %q, which %s does not have", where, name, path)
				}
				if param["required"] != true {
					t.Errorf("%s: path parameter %q must say required: true", where, name)
				}
			}
		}
		for name := range want {
			if !declared[name] {
				t.Errorf("%s: add path parameter %q (in: path, required: true)", where, name)
			}
		}
		// The error answers every route of its kind can give.
		responses, _ := op.op["responses"].(map[string]any)
		for code, r := range responses {
			if resp, _, err := s.deref(r); err != nil || resp["description"] == nil {
				t.Errorf("%s.responses[%q] needs a description (%v)", where, code, err)
			}
		}
		need := []string{"400", "401"} // a malformed query string; a bad token
		method, _, _ := strings.Cut(op.key, " ")
		if method != "GET" {
			need = append(need, "403") // a read-only token
		}
		if op.op["requestBody"] != nil {
			need = append(need, "413", "422")
		}
		if len(want) > 0 && op.key != "GET /api/v1/openapi.json" {
			need = append(need, "404")
		}
		for _, code := range need {
			if responses[code] == nil {
				t.Errorf("%s.responses lacks %q: add {\"$ref\": \"#/components/responses/...\"}", where, code)
			}
		}
	}
}

// TestOpenAPICheckCanFail: the check every test app runs refuses an answer
// the document does not allow, so that the suite passing means something.
func TestOpenAPICheckCanFail(t *testing.T) {
	s := spec(t)
	op := s.ops["GET /api/v1/companies/{id}"]
	if op == nil {
		t.Fatal("GET /api/v1/companies/{id} is not documented")
	}
	good := `{"id":1,"workspace_id":1,"name":"Acme","street":"","town":"","state":"","zip":"","website":"","description":"","created_at":1,"updated_at":1,"owner_id":null,"owner_name":null}`
	if p := s.checkAnswer(op, 200, "application/json", []byte(good)); p != "" {
		t.Fatalf("a good company refused: %s", p)
	}
	for _, bad := range []struct {
		status int
		body   string
	}{
		{200, strings.Replace(good, `"id":1`, `"id":"1"`, 1)},            // a string for an integer
		{200, strings.Replace(good, `"zip":"",`, ``, 1)},                 // a field missing
		{200, strings.Replace(good, `"id":1`, `"id":1,"secret":"x"`, 1)}, // a field not documented
		{404, `{"message":"Not found."}`},                                // not the Error shape
		{418, `{"error":"I'm a teapot."}`},                               // a status not listed
	} {
		if p := s.checkAnswer(op, bad.status, "application/json", []byte(bad.body)); p == "" {
			t.Errorf("%d %s: accepted", bad.status, bad.body)
		}
	}
	// A JSON lines answer: each line is checked against the item schema.
	export := s.ops["GET /api/v1/export/companies.jsonl"]
	if export == nil {
		t.Fatal("GET /api/v1/export/companies.jsonl is not documented")
	}
	if p := s.checkAnswer(export, 200, jsonLines+"; charset=utf-8", []byte(good+"\n"+good+"\n")); p != "" {
		t.Fatalf("two good companies as JSON lines refused: %s", p)
	}
	for _, bad := range []string{
		good + "\n" + strings.Replace(good, `"zip":"",`, ``, 1) + "\n", // the second line lacks a field
		good + "\n" + good,          // cut off within a line
		good + "\n\n" + good + "\n", // an empty line
	} {
		if p := s.checkAnswer(export, 200, jsonLines, []byte(bad)); p == "" {
			t.Errorf("JSON lines %q: accepted", bad)
		}
	}
	create := s.ops["POST /api/v1/companies"]
	if p := s.checkRequest(create, "application/json", []byte(`{"name":"Acme","fax":"1"}`)); p == "" {
		t.Error("a request body with an undocumented field: accepted")
	}
	if p := s.checkQuery(s.ops["GET /api/v1/companies"], url.Values{"sort": {"name"}, "colour": {"red"}}); p == "" {
		t.Error("an undeclared query parameter: accepted")
	}
}

// collectTB keeps what checkAPI reports instead of failing the test, and
// runs its cleanups when told.
type collectTB struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (c *collectTB) Errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}
func (c *collectTB) Cleanup(f func()) { c.cleanups = append(c.cleanups, f) }

// TestOpenAPICheckHoldsRequests: a request body that an operation accepted
// is held to its requestBody schema, sent as application/merge-patch+json
// as much as application/json.
func TestOpenAPICheckHoldsRequests(t *testing.T) {
	for _, mt := range requestTypes {
		c := &collectTB{TB: t}
		h := checkAPI(c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		r := httptest.NewRequest("PATCH", "/api/v1/companies/1", strings.NewReader(`{"name":5}`))
		r.Header.Set("Content-Type", mt+"; charset=utf-8")
		h.ServeHTTP(httptest.NewRecorder(), r)
		for _, f := range c.cleanups {
			f()
		}
		if !slices.ContainsFunc(c.errs, func(e string) bool { return strings.Contains(e, "accepted a request body that") }) {
			t.Errorf("%s: a name that is a number passed: %q", mt, c.errs)
		}
	}
}
