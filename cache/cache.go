// Package cache is the one in-memory cache of Rolodex: rendered fragments,
// Markdown, decoded cookies. It is bounded by bytes, not entries, because
// what it holds varies from a few bytes (a filter bar) to the 100 KB of a
// long note: a count alone would let a few thousand long notes take
// hundreds of megabytes.
package cache

import "sync"

// entryOverhead is added to every entry's own size: two map slots, the key
// and value headers. It keeps a cache of tiny entries bounded too.
const entryOverhead = 64

// Cache keeps entries in two generations of at most budget/2 bytes each:
// when the young one is full it becomes the old one and the old one is
// dropped, so entries in use survive (a hit in the old generation moves the
// entry to the young one) without per-entry bookkeeping.
type Cache[K comparable, V any] struct {
	mu         sync.Mutex
	half       int // bytes one generation may hold
	size       func(K, V) int
	young, old map[K]V
	youngBytes int
}

// New returns a cache of at most about budget bytes, measuring an entry
// with size (its key and value bytes; the overhead is added here).
func New[K comparable, V any](budget int, size func(K, V) int) *Cache[K, V] {
	return &Cache[K, V]{half: budget / 2, size: size, young: map[K]V{}, old: map[K]V{}}
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
		delete(c.old, k)
		c.putLocked(k, v)
	}
	return v, ok
}

// Put caches v for k. A value larger than half the budget is not kept.
func (c *Cache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v)
}

func (c *Cache[K, V]) putLocked(k K, v V) {
	n := c.size(k, v) + entryOverhead
	if n > c.half {
		return
	}
	if old, ok := c.young[k]; ok {
		c.youngBytes -= c.size(k, old) + entryOverhead
	}
	if c.youngBytes+n > c.half {
		c.old, c.young, c.youngBytes = c.young, make(map[K]V), 0
	}
	c.young[k] = v
	c.youngBytes += n
}

// Bytes reports the bytes the cache holds, by its own measure.
func (c *Cache[K, V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.youngBytes
	for k, v := range c.old {
		n += c.size(k, v) + entryOverhead
	}
	return n
}
