package views

import (
	"strings"
	"testing"
	"time"
)

// noteMax is the longest note the store accepts (store/timeline.go).
const noteMax = 100000

// fill repeats unit up to noteMax characters.
func fill(unit string) string { return strings.Repeat(unit, noteMax/len(unit)) }

// pathologicalNotes are the inputs that make Markdown parsers work
// quadratically or recurse deeply, each as long as a note may be.
var pathologicalNotes = map[string]string{
	"open links":       fill("[a]("),
	"open brackets":    fill("["),
	"nested emphasis":  strings.Repeat("*a ", noteMax/6) + strings.Repeat(" a*", noteMax/6),
	"emphasis runs":    fill("*a**"),
	"nested quotes":    fill(">"),
	"nested lists":     fill("- "),
	"backticks":        fill("`a``"),
	"link refs":        fill("[x]: http://example.com/\n") + fill("[x]")[:noteMax/2],
	"long link ref":    "[" + strings.Repeat("a", noteMax-10) + "]\n",
	"open angle links": fill("<http://a"),
	"table":            "|a|b|\n|-|-|\n" + fill("|x|\n"),
	"nested brackets":  strings.Repeat("[", noteMax/2) + strings.Repeat("]", noteMax/2),
	"inline html":      fill("<a "),
	"indented lists":   indentedLists(),
}

// indentedLists is a list nested one level deeper on every line.
func indentedLists() string {
	var b strings.Builder
	for d := 0; b.Len() < noteMax; d++ {
		b.WriteString(strings.Repeat(" ", 2*d) + "- a\n")
	}
	return b.String()[:noteMax]
}

// ordinaryNote is what notes look like: a few paragraphs, some emphasis,
// a link, a list.
const ordinaryNote = `Called **Anna** about the *renewal*; she wants the [price list](https://example.com/prices) by Friday.

- send the quote
- book a visit in March

> Their budget is set in January.

`

// TestMarkdownWorstCase: no note costs much more to render than an
// ordinary one of the same length. Timing is relative to the ordinary note
// in the same run, so a slow machine does not fail it; a quadratic parse
// is hundreds of times slower. The output must stay sanitised.
func TestMarkdownWorstCase(t *testing.T) {
	cost := func(name, src string) time.Duration {
		best := time.Duration(1 << 62)
		for i := 0; i < 3; i++ {
			start := time.Now()
			html := convertMarkdown(src)
			best = min(best, time.Since(start))
			if bad := dangerous(t, string(html)); len(bad) > 0 {
				t.Fatalf("%s: unsafe output: %v", name, bad)
			}
		}
		return best
	}
	plain := cost("plain", fill(ordinaryNote))
	t.Logf("ordinary 100k note: %v", plain)
	for name, src := range pathologicalNotes {
		d := cost(name, src)
		t.Logf("%s: %v (%.1fx plain)", name, d, float64(d)/float64(plain))
		if d > 20*plain && d > 50*time.Millisecond {
			t.Errorf("%s: %v, plain %v", name, d, plain)
		}
	}
}

func BenchmarkMarkdownWorst(b *testing.B) {
	src := pathologicalNotes["open links"]
	for b.Loop() {
		convertMarkdown(src)
	}
}
