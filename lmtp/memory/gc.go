package memory

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// The collector's default pacing (GOGC=100) starts a cycle each time the
// heap doubles. The bridge's live heap is a few megabytes, and every small
// message allocates tens of kilobytes that are garbage a moment later, so
// under load a cycle ran every few milliseconds and the collector took a
// tenth of the process's time. KeepHeadroom raises the percentage while
// the live heap is small, so that each cycle has at least a headroom's
// worth of room, and leaves the default alone once the live heap is large
// (a large message in flight), where doubling is room enough. The soft
// memory limit still bounds the heap whatever the percentage.

// Bounds of the percentage KeepHeadroom sets.
const (
	minGCPercent = 100
	maxGCPercent = 1000
)

// Tuner keeps the collector's headroom; see KeepHeadroom.
type Tuner struct {
	headroom int64
	base     int
	percent  atomic.Int32
	stopped  atomic.Bool
}

// KeepHeadroom sets the collector's percentage after every cycle so that
// the next one starts once about headroom bytes more than the live heap
// are allocated, but never sooner than GOGC=100 would: between
// minGCPercent and maxGCPercent. Stop puts the percentage back.
func KeepHeadroom(headroom int64) *Tuner {
	t := &Tuner{headroom: headroom}
	t.base = debug.SetGCPercent(minGCPercent)
	t.percent.Store(minGCPercent)
	t.adjust()
	t.arm()
	return t
}

// Percent returns the percentage set after the last cycle.
func (t *Tuner) Percent() int { return int(t.percent.Load()) }

// Stop ends the tuning and puts back the percentage found at the start.
func (t *Tuner) Stop() {
	if t.stopped.Swap(true) {
		return
	}
	debug.SetGCPercent(t.base)
}

// sentinel is garbage from birth: its finalizer runs after the next
// cycle, adjusts the percentage and makes the next sentinel. Its pointer
// keeps it out of the tiny allocator, whose blocks may never be freed.
type sentinel struct{ t *Tuner }

func (t *Tuner) arm() {
	runtime.SetFinalizer(&sentinel{t}, func(s *sentinel) {
		if s.t.stopped.Load() {
			return
		}
		s.t.adjust()
		s.t.arm()
	})
}

// adjust sets the percentage for the live heap just measured.
func (t *Tuner) adjust() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	var live int64
	if sample[0].Value.Kind() == metrics.KindUint64 {
		live = int64(sample[0].Value.Uint64())
	}
	p := gcPercent(live, t.headroom)
	if int32(p) != t.percent.Load() && !t.stopped.Load() {
		debug.SetGCPercent(p)
		t.percent.Store(int32(p))
	}
}

// gcPercent is the percentage that gives a live heap of live bytes
// headroom bytes of room, within bounds, in steps of ten so that small
// changes of the live heap do not reset it after every cycle.
func gcPercent(live, headroom int64) int {
	if live <= 0 {
		return maxGCPercent
	}
	p := headroom * 100 / live
	p -= p % 10
	return int(min(max(p, minGCPercent), maxGCPercent))
}
