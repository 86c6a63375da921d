package views

import "sync"

// Cache keeps at most about 2×size entries in two generations: when the
// young one fills up it becomes the old one and the old one is dropped, so
// entries in use survive (a hit in the old generation moves the entry to
// the young one) and the memory is bounded without per-entry bookkeeping.
// It holds rendered fragments here and decoded session cookies in handlers.
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
