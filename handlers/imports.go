package handlers

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rolodex/rolodex/imports"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// Imports configures bulk CSV uploads.
type Imports struct {
	Dir      string // where uploads are kept: <data>/imports
	MaxBytes int64  // the largest file taken; a larger one answers 413
	Wake     func() // tells this process's import workers there is a job (may be nil)
}

// upload is a received file and the form fields sent with it.
type upload struct {
	path   string // a temporary file in Imports.Dir
	name   string // as the browser named it
	size   int64
	fields map[string]string
}

func (u *upload) discard() {
	if u != nil && u.path != "" {
		os.Remove(u.path)
	}
}

// maxFieldBytes bounds the other form fields of an upload (the mapping
// JSON is the largest).
const maxFieldBytes = 64 << 10

// receive streams the multipart body to a temporary file, part by part,
// never holding the file in memory. A file over Imports.MaxBytes is a
// *http.MaxBytesError (413).
func (h *Handler) receive(w http.ResponseWriter, r *http.Request) (*upload, error) {
	limit := h.Imports.MaxBytes
	if limit <= 0 {
		limit = 2 << 30
	}
	// The cap on the whole body leaves room for the part headers and the
	// small fields around the file.
	rc := http.NewResponseController(w)
	r.Body = http.MaxBytesReader(w, movingReader{r.Body, rc}, limit+1<<20)
	// The server's write deadline runs from the request's start, and an
	// upload may take longer than it; the answer is a short page or JSON
	// that the socket takes whole, so it needs none.
	_ = rc.SetWriteDeadline(time.Time{})
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, &store.Error{Code: store.EInvalid, Message: "Send the file as multipart/form-data, in a field named file.",
			Fields: map[string]string{"file": "Choose a CSV file."}}
	}
	if err := os.MkdirAll(h.Imports.Dir, 0o700); err != nil {
		return nil, err
	}
	up := &upload{fields: map[string]string{}}
	fail := func(err error) (*upload, error) {
		up.discard()
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return fail(&http.MaxBytesError{Limit: limit})
			}
			return fail(store.Errorf(store.EInvalid, "The upload could not be read: it was cut off or is not multipart/form-data."))
		}
		name := part.FormName()
		if name != "file" {
			b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil || len(b) > maxFieldBytes {
				return fail(store.Errorf(store.EInvalid, "The field %q is too long or could not be read.", name))
			}
			up.fields[name] = string(b)
			continue
		}
		if up.path != "" {
			return fail(store.Errorf(store.EInvalid, "Send one file at a time."))
		}
		f, err := os.CreateTemp(h.Imports.Dir, "upload-*.part")
		if err != nil {
			return fail(err)
		}
		up.path, up.name = f.Name(), filepath.Base(part.FileName())
		n, err := io.Copy(f, io.LimitReader(part, limit+1))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		up.size = n
		var tooBig *http.MaxBytesError
		switch {
		case n > limit || errors.As(err, &tooBig):
			return fail(&http.MaxBytesError{Limit: limit})
		case err != nil:
			return fail(store.Errorf(store.EInvalid, "The upload was cut off. Try again."))
		}
	}
	if up.path == "" {
		return nil, &store.Error{Code: store.EInvalid, Message: "Choose a CSV file to upload.", Fields: map[string]string{"file": "Choose a CSV file."}}
	}
	if up.name == "" || up.name == "." {
		up.name = "upload.csv"
	}
	return up, nil
}

// streamIdle is how long an upload or a download may stall. The server's
// ReadTimeout and WriteTimeout bound an ordinary request whole (main.go);
// a file of hundreds of megabytes takes longer, so each read or write of
// one moves the deadline on instead, and only a stalled client is cut off.
const streamIdle = 30 * time.Second

// movingReader pushes the connection's read deadline on before each read.
type movingReader struct {
	io.ReadCloser
	rc *http.ResponseController
}

func (m movingReader) Read(p []byte) (int, error) {
	_ = m.rc.SetReadDeadline(time.Now().Add(streamIdle)) // not every writer supports it; then there is none to move
	return m.ReadCloser.Read(p)
}

// movingWriter pushes the connection's write deadline on before each write.
type movingWriter struct {
	io.Writer
	rc *http.ResponseController
}

func (m movingWriter) Write(p []byte) (int, error) {
	_ = m.rc.SetWriteDeadline(time.Now().Add(streamIdle))
	return m.Writer.Write(p)
}

// createImport checks an upload and records it as a bulk action, queued
// or (draft) waiting for the admin to confirm the columns. A file that is
// not CSV, empty, or (when queued) without a usable column is refused
// before any job exists.
func (h *Handler) createImport(r *http.Request, up *upload, draft bool) (*store.BulkAction, error) {
	u := userFrom(r.Context())
	if acc := up.fields["accountId"]; acc != "" && acc != strconv.FormatInt(u.WorkspaceID, 10) {
		return nil, notFound // another workspace's account: as if it did not exist
	}
	kind := up.fields["kind"]
	if kind == "" {
		kind = store.ImportContacts
	}
	if kind != store.ImportContacts && kind != store.ImportCompanies {
		return nil, &store.Error{Code: store.EInvalid, Message: "Choose contacts or companies.", Fields: map[string]string{"kind": "Choose contacts or companies."}}
	}
	// UTF-16 (Excel's "Unicode Text") is stored as UTF-8, once.
	if converted, err := imports.ConvertUTF16(up.path, up.path); err != nil {
		return nil, err
	} else if converted {
		fi, err := os.Stat(up.path)
		if err != nil {
			return nil, err
		}
		up.size = fi.Size()
	}
	p, err := imports.Inspect(up.path)
	if err != nil {
		return nil, err
	}
	mapping := imports.DetectMapping(kind, p.Header)
	if raw := up.fields["mapping"]; raw != "" {
		if mapping, err = parseMapping(raw, p.Header); err != nil {
			return nil, err
		}
	}
	if err := imports.CheckMapping(kind, p.Header, mapping); err != nil && !draft {
		return nil, err
	}
	return h.Store.CreateBulkAction(r.Context(), u, store.BulkActionInput{
		Kind: kind, Mode: up.fields["mode"], FileName: up.name, FileSize: up.size, Delimiter: string(p.Delimiter),
		Header: p.Header, Mapping: mapping, Draft: draft,
	}, func(id int64) (string, error) {
		path := filepath.Join(h.Imports.Dir, strconv.FormatInt(id, 10)+".csv")
		if err := os.Rename(up.path, path); err != nil {
			return "", err
		}
		up.path = "" // it is the action's now
		return path, nil
	})
}

// parseMapping reads the API's mapping: {"email": "E-mail", "name": 0},
// each field to a column named by its header or its index.
func parseMapping(raw string, header []string) (map[string]int, error) {
	bad := func(msg string) error {
		return &store.Error{Code: store.EInvalid, Message: msg, Fields: map[string]string{"mapping": msg}}
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return nil, bad(`The mapping must be a JSON object such as {"email": "E-mail", "name": 0}.`)
	}
	out := map[string]int{}
	for field, v := range in {
		var col int
		var name string
		switch {
		case json.Unmarshal(v, &col) == nil:
		case json.Unmarshal(v, &name) == nil:
			col = -1
			for i, h := range header {
				if strings.EqualFold(strings.TrimSpace(h), strings.TrimSpace(name)) {
					col = i
					break
				}
			}
			if col < 0 {
				return nil, bad(fmt.Sprintf("The file has no column %q (for %s).", name, field))
			}
		default:
			return nil, bad(fmt.Sprintf("Map %s to a column name or index.", field))
		}
		out[field] = col
	}
	return out, nil
}

func (h *Handler) wake() {
	if h.Imports.Wake != nil {
		h.Imports.Wake()
	}
}

// bulkActionJSON is a bulk action as the API answers it: with the seed's
// _id and accountId besides id and workspace_id.
type bulkActionJSON struct {
	UnderscoreID int64 `json:"_id"`
	AccountID    int64 `json:"accountId"`
	*store.BulkAction
	ErrorsURL string `json:"errors_url"`
}

func bulkJSON(a *store.BulkAction) bulkActionJSON {
	return bulkActionJSON{UnderscoreID: a.ID, AccountID: a.WorkspaceID, BulkAction: a,
		ErrorsURL: "/api/v1/bulk-actions/" + strconv.FormatInt(a.ID, 10) + "/errors.csv"}
}

func (h *Handler) apiUploadBulkAction(w http.ResponseWriter, r *http.Request) {
	up, err := h.receive(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer up.discard()
	a, err := h.createImport(r, up, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.wake()
	w.Header().Set("Location", "/api/v1/bulk-actions/"+strconv.FormatInt(a.ID, 10))
	writeJSON(w, http.StatusCreated, bulkJSON(a))
}

func (h *Handler) bulkAction(w http.ResponseWriter, r *http.Request) (*store.BulkAction, bool) {
	id, err := pathID(r, "id")
	if err == nil {
		var a *store.BulkAction
		if a, err = h.Store.BulkAction(r.Context(), userFrom(r.Context()), id); err == nil {
			return a, true
		}
	}
	h.fail(w, r, err)
	return nil, false
}

func (h *Handler) apiGetBulkAction(w http.ResponseWriter, r *http.Request) {
	if a, ok := h.bulkAction(w, r); ok {
		writeJSON(w, http.StatusOK, bulkJSON(a))
	}
}

func (h *Handler) apiListBulkActions(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	if acc := r.URL.Query().Get("accountId"); acc != "" && acc != strconv.FormatInt(u.WorkspaceID, 10) {
		h.fail(w, r, notFound)
		return
	}
	h.writeBulkActions(w, r)
}

// apiBulkActionsByAccount lists an account's imports; an account is a
// workspace, and an admin sees only their own.
func (h *Handler) apiBulkActionsByAccount(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("accountId") != strconv.FormatInt(userFrom(r.Context()).WorkspaceID, 10) {
		h.fail(w, r, notFound)
		return
	}
	h.writeBulkActions(w, r)
}

func (h *Handler) writeBulkActions(w http.ResponseWriter, r *http.Request) {
	list, err := h.Store.ListBulkActions(r.Context(), userFrom(r.Context()), limitParam(r.URL.Query()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	items := make([]bulkActionJSON, len(list))
	for i := range list {
		items[i] = bulkJSON(&list[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (h *Handler) apiCancelBulkAction(w http.ResponseWriter, r *http.Request) {
	a, err := h.cancel(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, bulkJSON(a))
}

// cancel cancels the {id} import and returns it as it is now. A worker
// holding it stops at its next batch and removes the file; otherwise the
// file goes here.
func (h *Handler) cancel(r *http.Request) (*store.BulkAction, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	u := userFrom(r.Context())
	before, err := h.Store.CancelBulkAction(r.Context(), u, id)
	if err != nil {
		return nil, err
	}
	if before.Status != store.StatusRunning && filepath.Dir(before.FilePath) == filepath.Clean(h.Imports.Dir) {
		os.Remove(before.FilePath)
	}
	return h.Store.BulkAction(r.Context(), u, id)
}

// errorsCSV downloads an import's rejected rows: the file's columns, then
// the line and the reason. Cells that a spreadsheet would run as a formula
// are neutralised.
func (h *Handler) errorsCSV(w http.ResponseWriter, r *http.Request) {
	a, ok := h.bulkAction(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="import-%d-rejected.csv"`, a.ID))
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(movingWriter{w, http.NewResponseController(w)})
	header := append(append([]string{}, a.Header...), "line", "reason")
	cw.Write(imports.Neutralise(header))
	err := h.Store.EachBulkActionError(r.Context(), userFrom(r.Context()), a.ID, func(e *store.BulkActionError) error {
		fields, err := csv.NewReader(strings.NewReader(e.Raw)).Read()
		if err != nil {
			fields = []string{e.Raw}
		}
		row := make([]string, max(len(fields), len(a.Header)), max(len(fields), len(a.Header))+2)
		copy(row, fields)
		row = append(row, strconv.FormatInt(e.Line, 10), e.Reason)
		return cw.Write(imports.Neutralise(row))
	})
	cw.Flush()
	if err != nil && !abandoned(r) {
		h.Log.Error("rejected rows download", "bulk_action", a.ID, "err", err)
	}
}

// The admin pages.

func (h *Handler) importsPage(w http.ResponseWriter, r *http.Request, st int, f views.Form) {
	list, err := h.Store.ListBulkActions(r.Context(), userFrom(r.Context()), 100)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.ImportsPage(h.page(r, "Imports"), f, list, h.Imports.MaxBytes), nil)
}

func (h *Handler) listImports(w http.ResponseWriter, r *http.Request) {
	h.importsPage(w, r, http.StatusOK, views.Form{Values: map[string]string{"kind": store.ImportContacts, "mode": store.ModeCreate}})
}

// uploadImport takes the file from the upload form and shows the preview
// (a draft); a file that cannot be imported comes back 422 on the form.
func (h *Handler) uploadImport(w http.ResponseWriter, r *http.Request) {
	up, err := h.receive(w, r)
	if up != nil {
		defer up.discard()
	}
	var a *store.BulkAction
	if err == nil {
		a, err = h.createImport(r, up, true)
	}
	var tooBig *http.MaxBytesError
	switch {
	case invalid(err) || errors.As(err, &tooBig):
		st := http.StatusUnprocessableEntity
		if errors.As(err, &tooBig) {
			st = http.StatusRequestEntityTooLarge
			err = &store.Error{Code: store.EInvalid, Message: "The file is larger than the " + byteLimit(h.Imports.MaxBytes) + " limit.",
				Fields: map[string]string{"file": "Choose a smaller file, or split it."}}
		}
		f := views.Form{Values: map[string]string{}}
		if up != nil {
			f.Values = up.fields
		}
		h.importsPage(w, r, st, withErr(f, err))
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	redirect(w, r, "/admin/imports/"+strconv.FormatInt(a.ID, 10))
}

func byteLimit(n int64) string {
	if n%(1<<30) == 0 {
		return strconv.FormatInt(n>>30, 10) + " GiB"
	}
	return strconv.FormatInt(n>>20, 10) + " MiB"
}

// showImport is the preview of a draft, or the progress of an import (the
// fragment alone when htmx polls it).
func (h *Handler) showImport(w http.ResponseWriter, r *http.Request) {
	a, ok := h.bulkAction(w, r)
	if !ok {
		return
	}
	if a.Status == store.StatusDraft {
		h.previewPage(w, r, http.StatusOK, a, a.Mapping, views.Form{})
		return
	}
	h.render(w, r, http.StatusOK, views.ImportPage(h.page(r, a.FileName), a), views.ImportProgress(a))
}

func (h *Handler) previewPage(w http.ResponseWriter, r *http.Request, st int, a *store.BulkAction, mapping map[string]int, f views.Form) {
	p, err := imports.Inspect(a.FilePath)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if f.Message == "" {
		if err := imports.CheckMapping(a.Kind, a.Header, mapping); err != nil {
			f = withErr(f, err)
		}
	}
	pv := views.ImportPreview{Rows: p.Rows}
	for _, fl := range imports.ImportFields(a.Kind) {
		pv.Fields = append(pv.Fields, views.ImportField{Key: fl.Key, Label: fl.Label})
	}
	pv.Columns = make([]views.ImportColumn, len(a.Header))
	for i, hd := range a.Header {
		pv.Columns[i].Header = hd
	}
	for field, col := range mapping {
		if col >= 0 && col < len(pv.Columns) {
			pv.Columns[col].Field = field
		}
	}
	h.render(w, r, st, views.ImportPreviewPage(h.page(r, "Check the columns"), a, pv, f), nil)
}

// startImport queues a draft with the mapping chosen on the preview.
func (h *Handler) startImport(w http.ResponseWriter, r *http.Request) {
	a, ok := h.bulkAction(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	mapping := map[string]int{}
	for i := range a.Header {
		if field := r.PostFormValue("col_" + strconv.Itoa(i)); field != "" {
			if _, dup := mapping[field]; dup {
				h.previewPage(w, r, http.StatusUnprocessableEntity, a, mapping, withErr(views.Form{},
					store.Errorf(store.EInvalid, "Two columns are imported as the same field; choose one.")))
				return
			}
			mapping[field] = i
		}
	}
	err := imports.CheckMapping(a.Kind, a.Header, mapping)
	if err == nil {
		_, err = h.Store.StartBulkAction(r.Context(), userFrom(r.Context()), a.ID, r.PostFormValue("mode"), mapping)
	}
	if invalid(err) {
		h.previewPage(w, r, http.StatusUnprocessableEntity, a, mapping, withErr(views.Form{}, err))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.wake()
	redirect(w, r, "/admin/imports/"+strconv.FormatInt(a.ID, 10))
}

// retryImport queues a failed import again; it resumes after its last
// committed batch.
func (h *Handler) retryImport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.Store.RetryBulkAction(r.Context(), userFrom(r.Context()), id, func(path string) bool {
		_, err := os.Stat(path)
		return err == nil
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.Imports.Wake != nil {
		h.Imports.Wake()
	}
	h.flash(w, r, "Import queued again. It goes on after the last batch it committed.")
	redirect(w, r, "/admin/imports/"+strconv.FormatInt(a.ID, 10))
}

func (h *Handler) cancelImport(w http.ResponseWriter, r *http.Request) {
	a, err := h.cancel(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if a.StartedAt == nil {
		h.flash(w, r, "Upload discarded.")
		redirect(w, r, "/admin/imports")
		return
	}
	h.flash(w, r, "Import cancelled. Rows already imported stay.")
	redirect(w, r, "/admin/imports/"+strconv.FormatInt(a.ID, 10))
}
