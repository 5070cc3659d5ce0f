// Package memory is the process's policy for memory: handing a large
// message's memory back to the operating system, the budget of what
// messages in flight hold, and the collector's pacing. Both sides of the
// seam use it:
// lmtp once a message's read buffers are garbage, webhook/payload once the
// parse's intermediate data is. It is its own package so that neither side
// reaches into the other for it; it knows nothing about mail or HTTP.
package memory

import (
	"runtime/debug"
	"sync"
	"time"
)

// Large is the message size from which releasing memory is worth a
// collection.
const Large = 4 << 20

// minReleaseInterval spaces releases out: under a stream of large messages one
// release serves several of them.
const minReleaseInterval = 100 * time.Millisecond

var (
	releaseMu      sync.Mutex
	releaseLast    time.Time
	releasePending bool

	// Replaced in tests.
	freeOSMemory = debug.FreeOSMemory
	afterFunc    = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
)

// Release collects garbage and returns the freed memory to the operating
// system; lmtp calls it once a large message has been read and answered,
// webhook/payload once its parse is garbage. Within minReleaseInterval of the previous
// release it instead arranges for one more release once the interval is
// over, shared by every caller in between, and returns at once.
//
// The garbage collector alone would keep a large message's buffers
// resident until the heap next grows to twice its peak, which on an idle
// server can be minutes, and a new large buffer often cannot reuse the
// pages of old ones: resident memory would climb to several times the
// message size and stay there. Releasing at the points where a large
// message's intermediate data has just become garbage keeps the peak near
// what is actually live, and the process back to its idle size after.
func Release() {
	releaseMu.Lock()
	if releasePending {
		releaseMu.Unlock()
		return
	}
	if wait := minReleaseInterval - time.Since(releaseLast); wait > 0 {
		releasePending = true
		releaseMu.Unlock()
		afterFunc(wait, func() {
			releaseMu.Lock()
			releasePending = false
			releaseLast = time.Now()
			releaseMu.Unlock()
			freeOSMemory()
		})
		return
	}
	releaseLast = time.Now()
	releaseMu.Unlock()
	freeOSMemory()
}
