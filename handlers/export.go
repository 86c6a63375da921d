package handlers

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rolodex/rolodex/imports"
	"github.com/rolodex/rolodex/store"
)

// Exports: a viewer's companies, contacts and meetings as CSV or JSON
// lines, streamed as the store reads them page by page. The CSV columns
// of companies and contacts are the import's field names (imports/csv.go),
// so an export imports back into an empty workspace unchanged; each JSON
// line is the object the API answers for that resource.

// exportFormat is the file an export route writes.
type exportFormat bool

const (
	exportCSV   exportFormat = false
	exportJSONL exportFormat = true
)

// exportFlushRows is how often an export pushes what it has to the client.
const exportFlushRows = 1000

// exportRow writes one row: cells for CSV, v for JSON lines.
type exportRow func(cells []string, v any) error

var (
	companyExportHeader = imports.CompanyExportHeader // the import knows them: it restores what Neutralise quoted
	contactExportHeader = imports.ContactExportHeader
	meetingExportHeader = []string{"id", "company_id", "company", "type", "status", "subject", "details", "starts_at", "ends_at", "created_at", "updated_at"}
)

func (h *Handler) exportCompanies(f exportFormat) http.HandlerFunc {
	return h.export("companies", f, companyExportHeader, func(ctx context.Context, u *store.User, _ url.Values, row exportRow) error {
		return h.Store.ExportCompanies(ctx, u, func(c *store.Company) error {
			return row([]string{c.Name, c.Street, c.Town, c.State, c.Zip, c.Website, c.Description}, c)
		})
	})
}

func (h *Handler) exportContacts(f exportFormat) http.HandlerFunc {
	return h.export("contacts", f, contactExportHeader, func(ctx context.Context, u *store.User, q url.Values, row exportRow) error {
		companyID, err := companyIDParam(q)
		if err != nil {
			return err
		}
		return h.Store.ExportContacts(ctx, u, companyID, func(e *store.ContactExport) error {
			x, c := &e.Contact, &e.Company
			return row([]string{x.Name, x.Email, x.Phone, x.Title, c.Name, c.Street, c.Town, c.State, c.Zip, c.Website}, x)
		})
	})
}

func (h *Handler) exportMeetings(f exportFormat) http.HandlerFunc {
	return h.export("meetings", f, meetingExportHeader, func(ctx context.Context, u *store.User, q url.Values, row exportRow) error {
		companyID, err := companyIDParam(q)
		if err != nil {
			return err
		}
		return h.Store.ExportMeetings(ctx, u, companyID, func(e *store.MeetingExport) error {
			m := &e.Meeting
			ends := ""
			if m.EndsAt != nil {
				ends = exportTime(*m.EndsAt)
			}
			return row([]string{strconv.FormatInt(m.ID, 10), strconv.FormatInt(m.CompanyID, 10), e.CompanyName, m.Type, m.Status,
				m.Subject, m.Details, exportTime(m.StartsAt), ends, exportTime(m.CreatedAt), exportTime(m.UpdatedAt)}, m)
		})
	})
}

// exportTime is a stored time (unix ms) as RFC 3339 in UTC, with its
// milliseconds when it has any.
func exportTime(ms int64) string { return store.Time(ms).Format(time.RFC3339Nano) }

// companyIDParam is the optional company_id of a query: 0 when absent.
func companyIDParam(q url.Values) (int64, error) {
	s := strings.TrimSpace(q.Get("company_id"))
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, &store.Error{Code: store.EInvalid, Message: "company_id must be a company's id.", Fields: map[string]string{"company_id": "Give a company's id (a positive number)."}}
	}
	return id, nil
}

// export answers an export as a download. Rows go out as they come, the
// write deadline moving on with each write (movingWriter), as the
// rejected-rows download does. Cells a spreadsheet would run as a formula
// are neutralised, reversibly (imports.Neutralise).
func (h *Handler) export(name string, f exportFormat, header []string, each func(context.Context, *store.User, url.Values, exportRow) error) http.HandlerFunc {
	ext, ctype := ".csv", "text/csv; charset=utf-8"
	if f == exportJSONL {
		ext, ctype = ".jsonl", "application/x-ndjson; charset=utf-8"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", `attachment; filename="rolodex-`+name+"-"+time.Now().UTC().Format("2006-01-02")+ext+`"`)
		w.Header().Set("Cache-Control", "no-store")
		rc := http.NewResponseController(w)
		sent := &sentWriter{w: w}
		// csv.NewWriter keeps a bufio.Writer this large as its own buffer,
		// so CSV and JSON lines share it.
		bw := bufio.NewWriterSize(movingWriter{sent, rc}, 64<<10)
		cw, enc := csv.NewWriter(bw), json.NewEncoder(bw)
		if f == exportCSV {
			cw.Write(header)
		}
		n := 0
		err := each(r.Context(), userFrom(r.Context()), r.URL.Query(), func(cells []string, v any) error {
			var err error
			if f == exportCSV {
				err = cw.Write(imports.Neutralise(cells))
			} else {
				err = enc.Encode(v)
			}
			if n++; err == nil && n%exportFlushRows == 0 {
				if err = bw.Flush(); err == nil {
					err = rc.Flush()
				}
			}
			return err
		})
		if err == nil {
			err = bw.Flush()
		}
		switch {
		case err == nil || abandoned(r):
		case !sent.sent:
			w.Header().Del("Content-Disposition")
			h.fail(w, r, err)
		default:
			// The status and some rows are gone already: drop the
			// connection, so that the client sees a failed download
			// rather than a file that looks complete.
			h.Log.Error("export", "export", name+ext, "rows", n, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
}

// sentWriter notes whether anything was written to w, after which an
// error can no longer be answered with its own status.
type sentWriter struct {
	w    http.ResponseWriter
	sent bool
}

func (s *sentWriter) Write(p []byte) (int, error) {
	s.sent = true
	return s.w.Write(p)
}
