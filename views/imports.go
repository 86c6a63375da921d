package views

import (
	"fmt"
	"strconv"
	"time"

	"github.com/rolodex/rolodex/store"
)

// ImportPreview is the start of an uploaded file with the column mapping
// for the admin to confirm or change.
type ImportPreview struct {
	Columns []ImportColumn
	Fields  []ImportField // what a column can be imported as
	Rows    [][]string    // the first data rows
}

// ImportColumn is one column of the file and the field it goes to ("" for
// none).
type ImportColumn struct {
	Header string
	Field  string
}

// ImportField is a field an import can fill.
type ImportField struct {
	Key, Label string
}

// importModes are the choices of what to do with existing records, in the
// order the forms offer them.
var importModes = []ImportField{
	{store.ModeCreate, "Create only (skip existing)"},
	{store.ModeUpsert, "Create and update"},
	{store.ModeUpdate, "Update only (skip new)"},
}

func importPath(id int64) string { return "/admin/imports/" + strconv.FormatInt(id, 10) }

func importModeLabel(mode string) string {
	switch mode {
	case store.ModeUpsert:
		return "create and update"
	case store.ModeUpdate:
		return "update only"
	}
	return "create only"
}

func importStatusText(a *store.BulkAction) string {
	switch {
	case a.Status == store.StatusQueued:
		return "Waiting for a worker"
	case a.Status == store.StatusRunning && a.Encoding == "":
		return "Reading the file"
	case a.Status == store.StatusRunning:
		return "Importing"
	case a.Status == store.StatusDone:
		return "Done"
	case a.Status == store.StatusFailed:
		return "Failed"
	case a.Status == store.StatusCancelled:
		return "Cancelled"
	}
	return "Not started"
}

// statusClass colours a status badge.
func importStatusClass(status string) string {
	switch status {
	case store.StatusDone:
		return "badge badge-status-open"
	case store.StatusFailed:
		return "badge badge-import-failed"
	case store.StatusQueued, store.StatusRunning:
		return "badge badge-admin"
	}
	return "badge"
}

// Thousands formats 1234567 as 1,234,567.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func importPercent(a *store.BulkAction) string {
	if a.Total == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(a.Processed)/float64(a.Total))
}

// progressMax is the max of the progress bar: the total once known; 1 (of
// which 0 done) while the file is still being counted.
func importProgressMax(a *store.BulkAction) string {
	return strconv.FormatInt(max(a.Total, 1), 10)
}

func importRate(a *store.BulkAction) string {
	return Thousands(int64(a.Rate(now()))) + " rows/s"
}

func importLeft(a *store.BulkAction) string {
	if !a.Open() {
		return ""
	}
	d, ok := a.Left(now())
	if !ok {
		return "estimating time left"
	}
	if d < time.Second {
		return "less than a second left"
	}
	return d.Round(time.Second).String() + " left"
}

func importTook(a *store.BulkAction) string {
	if a.StartedAt == nil || a.FinishedAt == nil {
		return ""
	}
	return "in " + (time.Duration(*a.FinishedAt-*a.StartedAt) * time.Millisecond).Round(time.Millisecond).String()
}

// fileSize is a byte count for people: 85.2 MB.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func importRejected(a *store.BulkAction) int64 { return a.Skipped + a.Failed }

// cell is column i of a preview row ("" when the row is short).
func previewCell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

func previewColumnID(i int) string { return "col_" + strconv.Itoa(i) }
