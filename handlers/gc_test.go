package handlers

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// TestHeapFloor: with a small live heap the collector waits for the floor
// (GOGC is raised to floor/live); once the live heap is past the floor's
// share, GOGC goes back to its percent; restore puts back what was before.
func TestHeapFloor(t *testing.T) {
	gogc := func() int {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		metrics.Read(s)
		return int(s[0].Value.Uint64())
	}
	waitFor := func(what string, ok func(int) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok(gogc()) {
			if time.Now().After(deadline) {
				t.Fatalf("GOGC is %d, want %s", gogc(), what)
			}
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
	}
	before := gogc()
	const floor = 256 << 20
	restore := keepHeapFloor(floor, 150)
	runtime.GC()
	// The test binary's live heap is a few MB: far below 256 MB / 2.5.
	waitFor("well above 150 while the live heap is small", func(p int) bool { return p > 1000 })

	big := make([]byte, 200<<20) // live, pointer-free: past floor/2.5
	waitFor("150 once the live heap is 200 MB", func(p int) bool { return p == 150 })
	runtime.KeepAlive(big)

	restore()
	if got := gogc(); got != before {
		t.Fatalf("after restore GOGC is %d, want %d", got, before)
	}
}
