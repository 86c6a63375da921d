package handlers_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"

	"github.com/rolodex/rolodex/imports"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// multipartBody builds an upload: the form fields and one file.
func multipartBody(fields map[string]string, fileName, content string) (contentType, body string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if fileName != "" {
		f, _ := w.CreateFormFile("file", fileName)
		f.Write([]byte(content))
	}
	w.Close()
	return w.FormDataContentType(), b.String()
}

// mustImport records an import of a two-row file: a draft, or queued.
func mustImport(t *testing.T, a *testApp, draft bool) int64 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.csv")
	if err := os.WriteFile(path, []byte("name,email\nLee,lee@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ba, err := a.Store.CreateBulkAction(context.Background(), admin(), store.BulkActionInput{Kind: store.ImportContacts,
		FileName: "c.csv", Delimiter: ",", Header: []string{"name", "email"}, Mapping: map[string]int{"name": 0, "email": 1}, Draft: draft},
		func(int64) (string, error) { return path, nil })
	if err != nil {
		t.Fatal(err)
	}
	return ba.ID
}

// mustFailedImport records an import of one row that failed.
func mustFailedImport(t *testing.T, a *testApp) int64 {
	t.Helper()
	ctx := context.Background()
	id := mustImport(t, a, false)
	if _, err := a.Store.ClaimBulkAction(ctx, id, "gone", time.Now().Add(time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if err := a.Store.FinishBulkAction(ctx, id, "gone", store.StatusFailed, "Disk full."); err != nil {
		t.Fatal(err)
	}
	return id
}

// runImporter runs the import workers of the test app over the real Redis
// stream until the test ends.
func runImporter(t *testing.T, a *testApp) *imports.Importer {
	im := &imports.Importer{Store: a.Store, Dir: a.Handler.Imports.Dir, Log: a.Handler.Log}
	a.Handler.Imports.Wake = im.Wake
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { im.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return im
}

type bulkJSON struct {
	UnderscoreID int64          `json:"_id"`
	ID           int64          `json:"id"`
	AccountID    int64          `json:"accountId"`
	Status       string         `json:"status"`
	Total        int64          `json:"total"`
	Processed    int64          `json:"processed"`
	Created      int64          `json:"created"`
	Updated      int64          `json:"updated"`
	Skipped      int64          `json:"skipped"`
	Failed       int64          `json:"failed"`
	Mapping      map[string]int `json:"mapping"`
}

func decodeBulk(t *testing.T, body string) bulkJSON {
	t.Helper()
	var b bulkJSON
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return b
}

func waitFinished(t *testing.T, a *testApp, c *http.Client, id int64) bulkJSON {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		_, body := do(t, c, "GET", fmt.Sprintf("%s/bulk-actions/%d", a.Server.URL, id), "", "")
		b := decodeBulk(t, body)
		if b.Status == store.StatusDone || b.Status == store.StatusFailed || b.Status == store.StatusCancelled {
			return b
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("import %d did not finish", id)
	return bulkJSON{}
}

// TestBulkActionAPI is the seed's flow: upload a file with the account id,
// get the bulk action back, follow it through the queue and the worker to
// done, list it, and download the rejected rows.
func TestBulkActionAPI(t *testing.T) {
	a := newTestApp(t)
	runImporter(t, a)
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	file := "Name,E-mail,Company\n" +
		"Lee,lee@acme.example,Acme\n" +
		"=cmd|' /C calc'!A0,not-an-address,Acme\n" +
		"Ann,ANN@acme.example,Acme\n" +
		"Ann Again,ann@acme.example,Acme\n" +
		"+Ragged,row\n"
	ctype, body := multipartBody(map[string]string{"accountId": "1", "mode": "create"}, "people.csv", file)
	resp, out := do(t, c, "POST", a.Server.URL+"/bulk-actions/upload", ctype, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, out)
	}
	b := decodeBulk(t, out)
	if b.UnderscoreID == 0 || b.UnderscoreID != b.ID || b.AccountID != 1 || b.Status != store.StatusQueued {
		t.Fatalf("upload answered %+v", b)
	}
	if b.Mapping["name"] != 0 || b.Mapping["email"] != 1 || b.Mapping["company"] != 2 {
		t.Errorf("detected mapping %v", b.Mapping)
	}
	done := waitFinished(t, a, c, b.ID)
	if done.Status != store.StatusDone || done.Total != 5 || done.Processed != 5 || done.Created != 2 || done.Skipped != 1 || done.Failed != 2 {
		t.Errorf("finished: %+v", done)
	}
	if _, err := os.Stat(filepath.Join(a.Handler.Imports.Dir, fmt.Sprintf("%d.csv", b.ID))); !os.IsNotExist(err) {
		t.Errorf("upload kept after the import: %v", err)
	}

	for _, path := range []string{"/bulk-actions", "/api/v1/bulk-actions", "/bulk-actions-by-account/1", "/api/v1/bulk-actions-by-account/1"} {
		resp, out := do(t, c, "GET", a.Server.URL+path, "", "")
		var list struct{ Items []bulkJSON }
		json.Unmarshal([]byte(out), &list)
		if resp.StatusCode != 200 || len(list.Items) != 1 || list.Items[0].ID != b.ID {
			t.Errorf("%s: %d %s", path, resp.StatusCode, out)
		}
	}

	resp, out = do(t, c, "GET", fmt.Sprintf("%s/api/v1/bulk-actions/%d/errors.csv", a.Server.URL, b.ID), "", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("errors.csv: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("errors.csv is not CSV: %v\n%s", err, out)
	}
	want := [][]string{
		{"Name", "E-mail", "Company", "line", "reason"},
		{"'=cmd|' /C calc'!A0", "not-an-address", "Acme", "3", "E-mail: Enter a valid e-mail address."},
		{"Ann Again", "ann@acme.example", "Acme", "5", "Duplicate of line 4."},
		{"'+Ragged", "row", "", "6", "The row has 2 columns; the header has 3."},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("errors.csv:\n got %q\nwant %q", rows, want)
	}

	// Cancelling a finished import is a conflict.
	resp, _ = do(t, c, "POST", fmt.Sprintf("%s/api/v1/bulk-actions/%d/cancel", a.Server.URL, b.ID), "", "")
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("cancel after done: %d", resp.StatusCode)
	}
}

// TestBulkActionOtherAccount: an admin of another workspace sees nothing
// of this one's imports, and cannot upload into it.
func TestBulkActionOtherAccount(t *testing.T) {
	a := newTestApp(t)
	id := mustImport(t, a, false)
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(a.Dir, "rolodex.db")+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO workspaces (id, name, created_at) VALUES (2, 'Other', 0)`); err != nil {
		t.Fatal(err)
	}
	other, err := a.Store.CreateWorkspaceUser(context.Background(), 2, store.UserInput{Email: "other@example.com", Name: "Other", Password: storetest.Password, Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	c := a.client(t, other)
	for _, path := range []string{fmt.Sprintf("/bulk-actions/%d", id), "/bulk-actions-by-account/1", "/api/v1/bulk-actions?accountId=1",
		fmt.Sprintf("/api/v1/bulk-actions/%d/errors.csv", id), fmt.Sprintf("/admin/imports/%d", id)} {
		if resp, body := do(t, c, "GET", a.Server.URL+path, "", ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d %.200s", path, resp.StatusCode, body)
		}
	}
	resp, body := do(t, c, "GET", a.Server.URL+"/bulk-actions", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"items":[]`) {
		t.Errorf("other workspace's list: %d %s", resp.StatusCode, body)
	}
	ctype, up := multipartBody(map[string]string{"accountId": "1"}, "c.csv", "name\nLee\n")
	if resp, _ := do(t, c, "POST", a.Server.URL+"/bulk-actions/upload", ctype, up); resp.StatusCode != http.StatusNotFound {
		t.Errorf("upload into another account: %d", resp.StatusCode)
	}
}

// TestBulkActionUploadRefused: what cannot be imported is refused with a
// clear message before any job exists, and leaves no file behind.
func TestBulkActionUploadRefused(t *testing.T) {
	a := newTestApp(t)
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	cases := []struct {
		name, file, content string
		fields              map[string]string
		status              int
		msg                 string
	}{
		{"empty", "e.csv", "", nil, 422, "The file is empty."},
		{"header only", "h.csv", "name,email\r\n", nil, 422, "no data rows"},
		{"workbook", "x.xlsx", "PK\x03\x04\x14\x00\x06\x00", nil, 422, "workbook"},
		{"binary", "b.csv", "name\n\x00\x00\x01", nil, 422, "binary"},
		{"no usable column", "n.csv", "foo;bar\n1;2\n", nil, 422, "No usable column"},
		{"prose", "p.txt", "Dear team, please find the list below.\nThanks\n", nil, 422, "No usable column"},
		{"companies without a name", "c.csv", "email\nlee@x.example\n", map[string]string{"kind": "companies"}, 422, "company name"},
		{"bad kind", "k.csv", "name\nLee\n", map[string]string{"kind": "deals"}, 422, "contacts or companies"},
		{"bad mode", "m.csv", "name\nLee\n", map[string]string{"mode": "merge"}, 422, "create, upsert or update"},
		{"bad mapping", "m.csv", "name\nLee\n", map[string]string{"mapping": `{"email":"Mail"}`}, 422, "(for email)"},
		{"no file", "", "", nil, 422, "Choose a CSV file"},
		{"too large", "big.csv", "name\n" + strings.Repeat("Lee\n", 300_000), nil, 413, "too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctype, body := multipartBody(tc.fields, tc.file, tc.content)
			resp, out := do(t, c, "POST", a.Server.URL+"/api/v1/bulk-actions/upload", ctype, body)
			if resp.StatusCode != tc.status || !strings.Contains(out, tc.msg) || !strings.Contains(out, `"error"`) {
				t.Errorf("%d %s, want %d with %q", resp.StatusCode, out, tc.status, tc.msg)
			}
		})
	}
	if list, _ := a.Store.ListBulkActions(context.Background(), admin(), 10); len(list) != 0 {
		t.Errorf("%d bulk actions after refused uploads", len(list))
	}
	if files, _ := os.ReadDir(a.Handler.Imports.Dir); len(files) != 0 {
		t.Errorf("files left in the imports dir: %v", files)
	}
	resp, _ := do(t, c, "POST", a.Server.URL+"/bulk-actions/upload", jsonType, `{"file":"x"}`)
	if resp.StatusCode != 422 {
		t.Errorf("JSON instead of multipart: %d", resp.StatusCode)
	}
}

// TestImportPages walks the admin pages: upload, preview with the detected
// mapping, a mapping that leaves nothing to import, start, progress until
// done (polling stops), history, and a bad file on the form.
func TestImportPages(t *testing.T) {
	a := newTestApp(t)
	runImporter(t, a)
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	file := "\xEF\xBB\xBFFull Name;Mail;Organisation\r\nJos\xC3\xA9;jose@acme.example;Acme\r\nLee;lee@acme.example;Acme\r\n"
	ctype, body := multipartBody(map[string]string{"kind": "contacts", "mode": "upsert"}, "people.csv", file)
	resp, _ := do(t, c, "POST", a.Server.URL+"/admin/imports", ctype, body)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !regexp.MustCompile(`^/admin/imports/\d+$`).MatchString(loc) {
		t.Fatalf("upload: %d to %q", resp.StatusCode, loc)
	}
	resp, page := do(t, c, "GET", a.Server.URL+loc, "", "")
	if resp.StatusCode != 200 || !strings.Contains(page, "José") {
		t.Fatalf("preview: %d\n%.2000s", resp.StatusCode, page)
	}
	// "Mail" is no synonym the header detection knows: the preview says
	// so, and the name column was found.
	if !regexp.MustCompile(`(?s)id="col_0".*?<option value="name" selected`).MatchString(page) {
		t.Errorf("name column not preselected")
	}
	resp, page = do(t, c, "POST", a.Server.URL+loc+"/start", formType, "col_2=company&mode=upsert")
	if resp.StatusCode != 422 || !strings.Contains(page, "No usable column") {
		t.Errorf("start without a name or e-mail column: %d", resp.StatusCode)
	}
	resp, _ = do(t, c, "POST", a.Server.URL+loc+"/start", formType, "col_0=name&col_1=email&col_2=company&mode=upsert")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != loc {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	var fragment string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		_, fragment = do(t, c, "GET", a.Server.URL+loc, "", "", "HX-Request", "true")
		if strings.Contains(fragment, ">done<") {
			break
		}
		if !strings.Contains(fragment, `hx-trigger="every 1s"`) {
			t.Fatalf("an open import's progress does not poll:\n%s", fragment)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if strings.Contains(fragment, "<html") || strings.Contains(fragment, "hx-trigger") || !strings.Contains(fragment, "<progress") ||
		!strings.Contains(fragment, "<strong>2</strong> of 2 rows") {
		t.Errorf("finished progress fragment:\n%s", fragment)
	}
	_, page = do(t, c, "GET", a.Server.URL+"/admin/imports", "", "")
	if !strings.Contains(page, "people.csv") || !strings.Contains(page, `href="/admin/imports"`) {
		t.Errorf("history lacks the import")
	}

	ctype, body = multipartBody(map[string]string{"kind": "contacts"}, "book.xlsx", "PK\x03\x04rest")
	resp, page = do(t, c, "POST", a.Server.URL+"/admin/imports", ctype, body)
	if resp.StatusCode != 422 || !strings.Contains(page, "workbook") || !strings.Contains(page, `aria-invalid="true"`) {
		t.Errorf("bad file on the form: %d", resp.StatusCode)
	}
	ctype, body = multipartBody(nil, "big.csv", "name\n"+strings.Repeat("Lee\n", 300_000))
	if resp, page = do(t, c, "POST", a.Server.URL+"/admin/imports", ctype, body); resp.StatusCode != 413 || !strings.Contains(page, "limit") {
		t.Errorf("oversize file on the form: %d", resp.StatusCode)
	}

	// A draft can be discarded; its file goes with it.
	ctype, body = multipartBody(nil, "again.csv", "name\nLee\n")
	resp, _ = do(t, c, "POST", a.Server.URL+"/admin/imports", ctype, body)
	draft := resp.Header.Get("Location")
	resp, _ = do(t, c, "POST", a.Server.URL+draft+"/cancel", formType, "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/imports" {
		t.Errorf("discard: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if files, _ := os.ReadDir(a.Handler.Imports.Dir); len(files) != 0 {
		t.Errorf("files left in the imports dir: %v", files)
	}
}

// TestRetryImport: an admin retries a failed import from its page; it is
// queued again and runs to the end.
func TestRetryImport(t *testing.T) {
	a := newTestApp(t)
	runImporter(t, a)
	c := a.client(t, a.User(t, "admin@example.com", store.RoleAdmin))
	id := mustFailedImport(t, a)
	_, page := do(t, c, "GET", fmt.Sprintf("%s/admin/imports/%d", a.Server.URL, id), "", "")
	if !strings.Contains(page, "/retry") || !strings.Contains(page, "Disk full.") {
		t.Errorf("the page of a failed import offers no retry:\n%s", page)
	}
	resp, out := do(t, c, "POST", fmt.Sprintf("%s/admin/imports/%d/retry", a.Server.URL, id), "application/x-www-form-urlencoded", "")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry: %d %s", resp.StatusCode, out)
	}
	if b := waitFinished(t, a, c, id); b.Status != store.StatusDone || b.Created != 1 {
		t.Errorf("after the retry: %+v", b)
	}
	resp, _ = do(t, c, "POST", fmt.Sprintf("%s/admin/imports/%d/retry", a.Server.URL, id), "application/x-www-form-urlencoded", "")
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("retry of a finished import: %d, want 409", resp.StatusCode)
	}
}

// TestBulkActionUTF16: a UTF-16 file, tab-separated with a byte-order
// mark as Excel's "Unicode Text" saves it, is stored as UTF-8 and imports
// with every character intact.
func TestBulkActionUTF16(t *testing.T) {
	a := newTestApp(t)
	runImporter(t, a)
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	c := a.client(t, adm)
	text := "Name\tE-mail\tCompany\r\nZoë Ångström\tzoe@example.com\t東京 Trading 🚀\r\n"
	file, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	ctype, body := multipartBody(map[string]string{"accountId": "1", "mode": "create"}, "people.txt", file)
	resp, out := do(t, c, "POST", a.Server.URL+"/bulk-actions/upload", ctype, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, out)
	}
	b := decodeBulk(t, out)
	if b.Mapping["name"] != 0 || b.Mapping["email"] != 1 || b.Mapping["company"] != 2 {
		t.Errorf("detected mapping %v", b.Mapping)
	}
	if done := waitFinished(t, a, c, b.ID); done.Status != store.StatusDone || done.Created != 1 || done.Failed != 0 {
		t.Fatalf("finished: %+v", done)
	}
	page, err := a.Store.ListCompanies(context.Background(), adm, store.CompanyQuery{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != "東京 Trading 🚀" {
		t.Fatalf("companies: %+v, %v", page, err)
	}
	items, _, err := a.Store.Timeline(context.Background(), adm, page.Items[0].ID, store.TimelineQuery{})
	if err != nil || len(items) != 1 || items[0].Contact == nil || items[0].Contact.Name != "Zoë Ångström" || items[0].Contact.Email != "zoe@example.com" {
		t.Fatalf("timeline: %+v, %v", items, err)
	}
}
