package views

import (
	"bytes"
	"context"
	"io"

	"github.com/a-h/templ"

	"github.com/rolodex/rolodex/cache"
)

// replay renders the component that render makes of key the first time key
// is seen and writes the kept bytes after that. render gets the key alone,
// so the markup cannot depend on anything the key does not name: it is for
// parts of a company page that are the same on every view of that company
// (TestReplayKeys).
func replay[K comparable](c *cache.Cache[K, []byte], key K, render func(K) templ.Component) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		b, ok := c.Get(key)
		if !ok {
			var buf bytes.Buffer
			if err := render(key).Render(ctx, &buf); err != nil {
				return err
			}
			b = buf.Bytes()
			c.Put(key, b)
		}
		_, err := w.Write(b)
		return err
	})
}

var (
	// tabNavs holds timelineTabs by company and active filter.
	tabNavs = cache.New(2<<20, func(_ tabKey, b []byte) int { return 24 + len(b) })
	// collapsedForms holds collapsedAddForms by company.
	collapsedForms = cache.New(2<<20, func(_ int64, b []byte) int { return 8 + len(b) })
)

type tabKey struct {
	cid    int64
	active string
}

func tabsFor(k tabKey) templ.Component { return timelineTabs(k.cid, k.active) }
