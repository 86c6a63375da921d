package views

import (
	"bytes"
	"context"
	"io"
	"regexp"

	"github.com/a-h/templ"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

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
	), goldmark.WithParserOptions(
		parser.WithInlineParsers(util.Prioritized(linkBudget{}, 150)),
		parser.WithASTTransformers(util.Prioritized(flattenNesting{}, 1000)),
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
	if err := markdown.Convert(boundNesting([]byte(src)), &buf); err != nil {
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

// Any staff user can write a note, so what a note costs to render must not
// depend on how it is written. Two shapes make goldmark's work grow with
// the square of a note's length or nest without end, and are bounded here;
// a 100,000-character note of either renders in about the time of plain
// text (views/markdown_cost_test.go).

// linkScanBudget is how many bytes of line may follow the link openers
// ("[" and "![") of one note. goldmark reads from every opener to the end
// of its line looking for a destination, so "[a](" repeated on one line
// costs the square of its length: four seconds for a 100,000-character
// note. Ordinary notes use a few kilobytes of it.
const linkScanBudget = 1 << 20

var linkBudgetKey = parser.NewContextKey()

// linkBudget runs before goldmark's link parser and lets it see link
// openers while the note's budget lasts; past it, an opener is plain text.
type linkBudget struct{}

func (linkBudget) Trigger() []byte { return []byte{'[', '!'} }

func (linkBudget) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, seg := block.PeekLine()
	if line[0] == '!' && (len(line) < 2 || line[1] != '[') {
		return nil
	}
	used, _ := pc.Get(linkBudgetKey).(int)
	if used += len(line); used <= linkScanBudget {
		pc.Set(linkBudgetKey, used)
		return nil // the link parser's turn
	}
	block.Advance(1)
	return ast.NewTextSegment(seg.WithStop(seg.Start + 1))
}

// maxNesting is how deep quotes, lists and inline markup may nest, and
// how many quotes and lists one line may open.
const maxNesting = 16

// boundNesting escapes the container markers (">", "-", "*", "+", "1."
// and "1)") a line has past maxNesting at its start, so they are text:
// goldmark takes seconds to open ">" repeated 100,000 times as that many
// nested quotes. Lines within the bound, which is every line of an
// ordinary note, are left as they are (a code line so shaped gains a
// backslash).
func boundNesting(src []byte) []byte {
	var out []byte // nil until a line needs a change
	last := 0
	for start := 0; start < len(src); {
		end := bytes.IndexByte(src[start:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += start
		}
		if at := pastNesting(src[start:end]); at >= 0 {
			out = append(out, src[last:start+at]...)
			out = append(out, '\\')
			last = start + at
		}
		start = end + 1
	}
	if out == nil {
		return src
	}
	return append(out, src[last:]...)
}

// pastNesting returns the offset in line of the character that would open
// container maxNesting+1, or -1.
func pastNesting(line []byte) int {
	depth := 0
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			i++
			continue
		case c == '>':
		case (c == '-' || c == '*' || c == '+') && i+1 < len(line) && (line[i+1] == ' ' || line[i+1] == '\t'):
		case c >= '0' && c <= '9':
			j := i
			for j < len(line) && j-i < 9 && line[j] >= '0' && line[j] <= '9' {
				j++
			}
			if j+1 >= len(line) || (line[j] != '.' && line[j] != ')') || (line[j+1] != ' ' && line[j+1] != '\t') {
				return -1
			}
			i = j // the "." or ")" is what to escape
		default:
			return -1
		}
		if depth++; depth > maxNesting {
			return i
		}
		i++
	}
	return -1
}

// flattenNesting unwraps block quotes, lists and inline markup (emphasis,
// links, strikethrough) nested deeper than maxNesting, keeping what they
// hold: "*a " repeated and closed again nests as deep as the note is long,
// and a list indented two more spaces a line 300 deep, more than a browser
// (or an HTML parser) will nest.
type flattenNesting struct{}

func (flattenNesting) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	flatten(doc, 0)
}

func flatten(n ast.Node, depth int) {
	for c := n.FirstChild(); c != nil; {
		next := c.NextSibling()
		switch {
		case !nests(c):
			flatten(c, depth)
		case depth < maxNesting:
			flatten(c, depth+1)
		default:
			next = unwrap(n, c)
		}
		c = next
	}
}

// nests reports whether n is markup that nests.
func nests(n ast.Node) bool {
	switch n.Kind() {
	case ast.KindBlockquote, ast.KindList:
		return true
	}
	return n.Type() == ast.TypeInline && n.HasChildren()
}

// unwrap puts what c holds (for a list, what its items hold) in its place
// among n's children, and returns the first of it: what to look at next.
func unwrap(n, c ast.Node) ast.Node {
	var content []ast.Node
	for gc := c.FirstChild(); gc != nil; gc = gc.NextSibling() {
		if c.Kind() != ast.KindList {
			content = append(content, gc)
			continue
		}
		for item := gc.FirstChild(); item != nil; item = item.NextSibling() {
			content = append(content, item)
		}
	}
	next := c.NextSibling()
	for _, m := range content {
		n.InsertBefore(n, c, m)
	}
	n.RemoveChild(n, c)
	if len(content) > 0 {
		return content[0]
	}
	return next
}
