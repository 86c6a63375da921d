// Package proc holds what tunes the serving process itself rather than
// any request: the collector's settings and the buffered log output.
package proc

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The server's collector settings (TuneGC).
const (
	serveGCPercent = 400      // GOGC once the live heap is large
	heapFloor      = 96 << 20 // no collection before the heap reaches this
)

// TuneGC sets the collector for serving and returns a function that puts
// back the previous setting. `rolodex serve` calls it unless GOGC is set;
// the load test in handlers/bench_test.go runs under it too.
//
// A page allocates about 15 KB that dies with the request, while the live
// heap stays at a few megabytes: Bleve's segments are mapped files and
// SQLite's caches are C memory. With GOGC alone the collector then runs at
// every 20 MB of garbage, ten times a second under load, and on two cores
// each cycle takes one core for a few milliseconds: the queued requests
// behind it are the slowest ones. So the heap may grow to heapFloor before
// a collection, and past that the usual rule (GOGC=serveGCPercent) applies.
// GOMEMLIMIT, when set, still caps the total.
func TuneGC() (restore func()) {
	return keepHeapFloor(heapFloor, serveGCPercent)
}

// keepHeapFloor re-computes GOGC after every collection so that the next
// one starts at max(floor, live*(1+percent/100)). The runtime has no floor
// setting of its own; this is the "GC tuner" that sets GOGC from the live
// heap the last cycle measured.
func keepHeapFloor(floor uint64, percent int) (restore func()) {
	var mu sync.Mutex
	stopped := false
	prev := debug.SetGCPercent(percent)
	last := percent
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var tune func()
	tune = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		metrics.Read(sample)
		p := gcPercent(sample[0].Value.Uint64(), floor, percent)
		if p != last {
			debug.SetGCPercent(p)
			last = p
		}
		// A fresh object that nothing references: its cleanup runs after
		// the next cycle, which tunes again and arms the next one.
		s := new(gcSentinel)
		runtime.AddCleanup(s, func(struct{}) { tune() }, struct{}{})
	}
	tune()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		debug.SetGCPercent(prev)
	}
}

// gcPercent is the GOGC that starts the next collection at
// max(floor, live*(1+percent/100)) for a live heap of live bytes; 0 means
// no cycle has measured it yet.
func gcPercent(live, floor uint64, percent int) int {
	if live > 0 && live < floor {
		return max(percent, int(floor*100/live)-100)
	}
	return percent
}

// gcSentinel holds a pointer so that it is never batched into a tiny
// allocation with other objects, which could keep it alive.
type gcSentinel struct{ _ *byte }
