package views

import (
	"bytes"
	"context"
	"io"
	"regexp"

	"github.com/a-h/templ"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/rolodex/rolodex/cache"
)

// Notes are written by users and read by their colleagues, so their
// Markdown is untrusted. Two layers: goldmark with raw HTML off (its
// default: HTML in the source becomes a comment, and javascript:, vbscript:,
// file: and data: link targets are dropped), then bluemonday on the output,
// so that a goldmark bug or a future extension cannot let markup through.
var (
	// GitHub-flavoured Markdown (extension.GFM's four parts), with table
	// column alignment as align attributes: the sanitiser keeps those but
	// drops the style attributes goldmark writes by default.
	markdown = goldmark.New(goldmark.WithExtensions(
		extension.Linkify,
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough,
		extension.TaskList,
	))

	notePolicy = func() *bluemonday.Policy {
		p := bluemonday.UGCPolicy()
		// Links and images must be absolute http, https or mailto URLs:
		// relative ones would point into Rolodex itself, and notes also
		// travel in digests where they mean nothing.
		p.AllowURLSchemes("http", "https", "mailto")
		p.AllowRelativeURLs(false)
		p.RequireNoFollowOnLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(true) // also adds rel="noopener"
		// GFM task lists render as disabled checkboxes.
		p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
		p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^(|checked|disabled)$`)).OnElements("input")
		return p
	}()
)

// rendered caches sanitised HTML by source text: the same notes are shown
// far more often than they are written, and converting plus sanitising is
// most of a company page's rendering time.
var rendered = cache.New(16<<20, func(src string, html []byte) int { return len(src) + len(html) })

// renderMarkdown converts src to sanitised HTML.
func renderMarkdown(src string) []byte {
	if html, ok := rendered.Get(src); ok {
		return html
	}
	html := convertMarkdown(src)
	rendered.Put(src, html)
	return html
}

func convertMarkdown(src string) []byte {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		// goldmark only fails on writer errors, which a bytes.Buffer has
		// none of; show the text rather than nothing all the same.
		return []byte(templ.EscapeString(src))
	}
	return notePolicy.SanitizeBytes(buf.Bytes())
}

// Markdown renders src (GitHub-flavoured Markdown) as sanitised HTML. It is
// the only place the views write HTML they did not escape themselves.
func Markdown(src string) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		_, err := w.Write(renderMarkdown(src))
		return err
	})
}
