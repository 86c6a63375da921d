package views

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/a-h/templ"
)

// Cache keeps at most about 2×size entries in two generations: when the
// young one fills up it becomes the old one and the old one is dropped, so
// entries in use survive (a hit in the old generation moves the entry to
// the young one) and the memory is bounded without per-entry bookkeeping.
// It holds rendered fragments here (replay, timeline items, Markdown) and
// decoded session cookies in handlers.
type Cache[K comparable, V any] struct {
	mu         sync.Mutex
	size       int
	young, old map[K]V
}

// NewCache returns a Cache of about 2×size entries at most.
func NewCache[K comparable, V any](size int) *Cache[K, V] {
	return &Cache[K, V]{size: size, young: map[K]V{}, old: map[K]V{}}
}

// Get returns the value cached for k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.young[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		c.putLocked(k, v)
	}
	return v, ok
}

// Put caches v for k.
func (c *Cache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v)
}

func (c *Cache[K, V]) putLocked(k K, v V) {
	if len(c.young) >= c.size {
		c.old, c.young = c.young, make(map[K]V, c.size)
	}
	c.young[k] = v
}

// replay renders c the first time key is seen and writes the kept bytes
// after that. It is for markup that is a pure function of its key, which
// must name everything c reads: parts of a company page that are the same
// on every view of that company (TestReplayKeys).
func replay[K comparable](cache *Cache[K, []byte], key K, c templ.Component) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		b, ok := cache.Get(key)
		if !ok {
			var buf bytes.Buffer
			if err := c.Render(ctx, &buf); err != nil {
				return err
			}
			b = buf.Bytes()
			cache.Put(key, b)
		}
		_, err := w.Write(b)
		return err
	})
}

var (
	// tabNavs holds timelineTabs by company and active filter.
	tabNavs = NewCache[tabKey, []byte](1024)
	// collapsedForms holds addForms with no form open, by company.
	collapsedForms = NewCache[int64, []byte](1024)
)

type tabKey struct {
	cid    int64
	active string
}
