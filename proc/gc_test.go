package proc

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

// TestGCPercent: below the floor's share of the live heap GOGC is raised
// so the next collection starts at the floor; past it, percent applies.
func TestGCPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 400},           // no cycle measured yet
		{1 * mb, 9500},     // next cycle at 96 MB
		{10 * mb, 860},     // 10 MB * 9.6 = 96 MB
		{96 * mb / 5, 400}, // exactly where 400% reaches the floor
		{50 * mb, 400},     // 50 MB * 5 is past the floor
		{200 * mb, 400},    // past the floor itself
	} {
		if got := gcPercent(c.live, 96*mb, 400); got != c.want {
			t.Errorf("gcPercent(%d MB) = %d, want %d", c.live/mb, got, c.want)
		}
	}
}

// TestKeepHeapFloor: the tuner sets GOGC at once from the live heap the
// last cycle measured, and restore puts back what was before.
func TestKeepHeapFloor(t *testing.T) {
	gogc := func() int {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		metrics.Read(s)
		return int(s[0].Value.Uint64())
	}
	runtime.GC() // so the live heap is measured: a few MB in a test binary
	before := gogc()
	restore := keepHeapFloor(256<<20, 150)
	// A live heap under 23 MB puts GOGC past 1000 for a 256 MB floor.
	if got := gogc(); got <= 1000 {
		t.Errorf("GOGC is %d with a small live heap, want over 1000", got)
	}
	restore()
	if got := gogc(); got != before {
		t.Fatalf("after restore GOGC is %d, want %d", got, before)
	}
}
