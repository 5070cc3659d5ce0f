package memory

import (
	"testing"
	"time"
)

func TestReleaseIsSpacedOut(t *testing.T) {
	runs := 0
	var scheduled []func()
	savedFree, savedAfter := freeOSMemory, afterFunc
	t.Cleanup(func() { freeOSMemory, afterFunc = savedFree, savedAfter })
	freeOSMemory = func() { runs++ }
	afterFunc = func(d time.Duration, f func()) {
		if d <= 0 || d > minReleaseInterval {
			t.Errorf("release deferred by %s", d)
		}
		scheduled = append(scheduled, f)
	}
	releaseLast, releasePending = time.Time{}, false

	// The first release runs at once; those that follow within the
	// interval share one more, run when the interval is over.
	Release()
	releaseLast = time.Now() // as if the rest came at once, however slow the machine
	for range 9 {
		Release()
	}
	if runs != 1 || len(scheduled) != 1 {
		t.Fatalf("%d releases ran and %d were scheduled, want 1 and 1", runs, len(scheduled))
	}
	scheduled[0]()
	if runs != 2 || releasePending {
		t.Fatalf("after the interval: %d releases ran, pending %t", runs, releasePending)
	}

	// Once the interval has passed, a release runs at once again.
	releaseLast = time.Now().Add(-2 * minReleaseInterval)
	Release()
	if runs != 3 || len(scheduled) != 1 {
		t.Fatalf("%d releases ran and %d were scheduled, want 3 and 1", runs, len(scheduled))
	}
}
