package views

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

func markdownHTML(t *testing.T, src string) string {
	t.Helper()
	var b strings.Builder
	if err := Markdown(src).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// dangerous lists what in fragment could run script or load active
// content: elements other than plain formatting, event-handler or style
// attributes, and URLs that are not absolute http, https or mailto.
func dangerous(t *testing.T, fragment string) []string {
	t.Helper()
	nodes, err := html.ParseFragment(strings.NewReader(fragment), &html.Node{Type: html.ElementNode, DataAtom: atom.Div, Data: "div"})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Script, atom.Iframe, atom.Object, atom.Embed, atom.Style, atom.Form, atom.Svg, atom.Math,
				atom.Base, atom.Meta, atom.Link, atom.Frame, atom.Frameset, atom.Textarea, atom.Select, atom.Button:
				found = append(found, "<"+n.Data+">")
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				switch {
				case strings.HasPrefix(key, "on"), key == "style", key == "srcdoc", key == "formaction":
					found = append(found, key+"="+a.Val)
				case key == "href" || key == "src" || key == "cite" || key == "action":
					u, err := url.Parse(a.Val)
					if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto") {
						found = append(found, key+"="+a.Val)
					}
				}
			}
			if n.DataAtom == atom.Input {
				for _, a := range n.Attr {
					if a.Key == "type" && a.Val != "checkbox" {
						found = append(found, "input type="+a.Val)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	return found
}

func TestDangerousDetects(t *testing.T) {
	for _, bad := range []string{`<script>x</script>`, `<a href="javascript:x">x</a>`, `<img src="data:image/png,x">`,
		`<p onclick="x">x</p>`, `<a href="/relative">x</a>`, `<iframe></iframe>`} {
		if len(dangerous(t, bad)) == 0 {
			t.Errorf("dangerous(%q) found nothing", bad)
		}
	}
	if got := dangerous(t, `<p><a href="https://x.example" rel="nofollow">x</a></p>`); len(got) != 0 {
		t.Errorf("safe HTML flagged: %v", got)
	}
}

func TestMarkdownXSS(t *testing.T) {
	cases := []struct {
		name, src string
	}{
		{"script tag", `<script>alert(1)</script>`},
		{"script inline", `hello <script>alert(1)</script> world`},
		{"javascript link", `[x](javascript:alert(1))`},
		{"javascript link mixed case", `[x](JaVaScRiPt:alert(1))`},
		{"javascript link entity", `[x](&#106;avascript:alert(1))`},
		{"javascript link escaped colon", `[x](javascript&#58;alert(1))`},
		{"javascript reference link", "[x][1]\n\n[1]: javascript:alert(1)"},
		{"img onerror", `<img src=x onerror=alert(1)>`},
		{"img markdown javascript", `![x](javascript:alert(1))`},
		{"raw anchor", `<a href="javascript:alert(1)">x</a>`},
		{"raw html block", "<div onclick=\"alert(1)\">\n\n*hi*\n\n</div>"},
		{"iframe", `<iframe src="https://evil.example"></iframe>`},
		{"iframe srcdoc", `<iframe srcdoc="<script>alert(1)</script>"></iframe>`},
		{"data url link", `[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`},
		{"data url image", `![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)`},
		{"data png image", `![x](data:image/png;base64,iVBORw0KGgo=)`},
		{"autolink javascript", `<javascript:alert(1)>`},
		{"autolink data", `<data:text/html,<script>alert(1)</script>>`},
		{"vbscript", `[x](vbscript:msgbox(1))`},
		{"svg", `<svg onload=alert(1)>`},
		{"style", `<style>body{display:none}</style>`},
		{"form", `<form action="https://evil.example"><input name=x></form>`},
		{"html comment trick", "<!-- x --><script>alert(1)</script>"},
		{"link title attribute breakout", `[x](https://example.com "a\" onmouseover=\"alert(1)")`},
		{"base tag", `<base href="https://evil.example/">`},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=https://evil.example">`},
		{"table cell html", "| a |\n|---|\n| <img src=x onerror=alert(1)> |"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := markdownHTML(t, tc.src)
			if bad := dangerous(t, out); len(bad) > 0 {
				t.Errorf("%q rendered %q: contains %v", tc.src, out, bad)
			}
		})
	}
}

func TestMarkdownLinks(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
		not       []string
	}{
		{
			name: "http link opens in a new tab without opener or follow",
			src:  `[Acme](https://acme.example/about)`,
			want: []string{`href="https://acme.example/about"`, `nofollow`, `noopener`, `target="_blank"`, `>Acme</a>`},
		},
		{
			name: "autolink",
			src:  `<https://acme.example>`,
			want: []string{`href="https://acme.example"`, `target="_blank"`},
		},
		{
			name: "bare www link (GFM linkify)",
			src:  `see www.acme.example today`,
			want: []string{`href="http://www.acme.example"`},
		},
		{
			name: "mailto",
			src:  `[mail](mailto:sales@acme.example)`,
			want: []string{`href="mailto:sales@acme.example"`, `nofollow`},
		},
		{
			name: "relative link loses its href",
			src:  `[x](/admin/users)`,
			want: []string{`x`},
			not:  []string{`href=`},
		},
		{
			name: "protocol-relative link loses its href",
			src:  `[x](//evil.example/x)`,
			not:  []string{`href=`},
		},
		{
			name: "ftp link loses its href",
			src:  `[x](ftp://files.example/x)`,
			not:  []string{`href=`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := markdownHTML(t, tc.src)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%q rendered %q: missing %q", tc.src, out, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("%q rendered %q: has %q", tc.src, out, n)
				}
			}
		})
	}
}

func TestMarkdownRendersMarkdown(t *testing.T) {
	src := "# Heading\n\nSome **bold** and _em_ and ~~gone~~ and `code`.\n\n" +
		"- one\n- two\n\n1. first\n2. second\n\n" +
		"- [x] done\n- [ ] todo\n\n" +
		"| Name | Size |\n|------|-----:|\n| Acme | 10 |\n\n" +
		"```go\nfmt.Println(\"<hi>\")\n```\n\n> quoted\n\n---\n"
	out := markdownHTML(t, src)
	for _, want := range []string{
		"<h1>Heading</h1>", "<strong>bold</strong>", "<em>em</em>", "<del>gone</del>", "<code>code</code>",
		"<ul>", "<li>one</li>", "<ol>", "<li>first</li>",
		`type="checkbox"`, "<table>", "<th>Name</th>", "<td>Acme</td>", `<td align="right">10</td>`,
		"<pre><code", "fmt.Println(&#34;&lt;hi&gt;&#34;)", "<blockquote>", "<hr",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	// Headings get no id: an id from a note could clash with the page's
	// own (#timeline) and hijack htmx targets.
	if strings.Contains(out, "id=") {
		t.Errorf("rendered an id attribute:\n%s", out)
	}
}

func TestMarkdownEscapesText(t *testing.T) {
	out := markdownHTML(t, `5 < 6 & "quotes" <b>x</b>`)
	if strings.Contains(out, "<b>") {
		t.Errorf("raw HTML passed through: %q", out)
	}
	if !strings.Contains(out, "5 &lt; 6 &amp;") {
		t.Errorf("text not escaped: %q", out)
	}
}
