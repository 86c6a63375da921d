package views

import "sync"

// genCache keeps at most about 2×size entries in two generations: when the
// young one fills up it becomes the old one and the old one is dropped, so
// entries in use survive (a hit in the old generation moves the entry to
// the young one) and the memory is bounded without per-entry bookkeeping.
type genCache[K comparable, V any] struct {
	mu         sync.Mutex
	size       int
	young, old map[K]V
}

func newGenCache[K comparable, V any](size int) *genCache[K, V] {
	return &genCache[K, V]{size: size, young: map[K]V{}, old: map[K]V{}}
}

func (c *genCache[K, V]) get(k K) (V, bool) {
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

func (c *genCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v)
}

func (c *genCache[K, V]) putLocked(k K, v V) {
	if len(c.young) >= c.size {
		c.old, c.young = c.young, make(map[K]V, c.size)
	}
	c.young[k] = v
}
