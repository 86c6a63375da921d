package cache

import (
	"fmt"
	"strings"
	"testing"
)

func byteSize(k string, v []byte) int { return len(k) + len(v) }

// TestBudget: whatever is put, the cache never holds more than its budget,
// and what was used recently is still there.
func TestBudget(t *testing.T) {
	const budget = 64 << 10
	c := New(budget, byteSize)
	hot := []byte("hot")
	for i := range 10000 {
		v := []byte(strings.Repeat("x", i%3000))
		c.Put(fmt.Sprint("k", i), v)
		c.Put("hot", hot)
		if _, ok := c.Get("hot"); !ok {
			t.Fatalf("round %d: the entry in use was dropped", i)
		}
		if n := c.Bytes(); n > budget {
			t.Fatalf("round %d: %d bytes held, budget %d", i, n, budget)
		}
	}
	if _, ok := c.Get("k0"); ok {
		t.Error("an entry from 10,000 puts ago is still held")
	}
}

// TestTooLarge: a value over half the budget is not kept, so one huge entry
// cannot push out everything else.
func TestTooLarge(t *testing.T) {
	c := New(1000, byteSize)
	c.Put("small", []byte("v"))
	c.Put("big", make([]byte, 600))
	if _, ok := c.Get("big"); ok {
		t.Error("an entry over half the budget was kept")
	}
	if v, ok := c.Get("small"); !ok || string(v) != "v" {
		t.Error("a small entry was lost to a big one")
	}
}

// TestReplace: putting a key again counts its bytes once.
func TestReplace(t *testing.T) {
	c := New(1<<20, byteSize)
	for range 100 {
		c.Put("k", make([]byte, 100))
	}
	if n := c.Bytes(); n != 1+100+entryOverhead {
		t.Errorf("one entry put 100 times holds %d bytes", n)
	}
}

// TestPromote: a hit in the old generation moves the entry to the young one,
// so it survives the next rotation.
func TestPromote(t *testing.T) {
	c := New(2*(10*(2+entryOverhead)), byteSize) // ten 2-byte entries a generation
	c.Put("a", []byte("1"))
	for i := range 9 {
		c.Put(fmt.Sprint(i), []byte("x"))
	}
	c.Put("z", []byte("x")) // rotates: a is old now
	if _, ok := c.Get("a"); !ok {
		t.Fatal("a lost at the first rotation")
	}
	for i := range 9 {
		c.Put(fmt.Sprint("y", i), []byte("x"))
	}
	if _, ok := c.Get("a"); !ok {
		t.Error("a promoted entry was dropped at the next rotation")
	}
}
