package memory

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercent(t *testing.T) {
	for _, c := range []struct {
		live, headroom int64
		want           int
	}{
		{0, 32 << 20, maxGCPercent},
		{1 << 20, 32 << 20, maxGCPercent},   // 3200% wanted, capped
		{4 << 20, 32 << 20, 800},            // a small live heap: 32 MiB of room
		{5 << 20, 32 << 20, 640},            // in steps of ten
		{32 << 20, 32 << 20, minGCPercent},  // doubling is the headroom
		{200 << 20, 32 << 20, minGCPercent}, // never below the default
	} {
		if got := gcPercent(c.live, c.headroom); got != c.want {
			t.Errorf("gcPercent(%d, %d) = %d, want %d", c.live, c.headroom, got, c.want)
		}
	}
}

// waitPercent collects until the tuner's finalizer has set want, or fails.
func waitPercent(t *testing.T, tu *Tuner, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tu.Percent() != want {
		if time.Now().After(deadline) {
			t.Fatalf("percentage %d, want %d", tu.Percent(), want)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKeepHeadroom runs the tuner on this test's own heap: a small live
// heap gets a high percentage after a cycle, a live heap larger than the
// headroom the default, and Stop puts back what was set before.
func TestKeepHeadroom(t *testing.T) {
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)
	tu := KeepHeadroom(64 << 20)
	waitPercent(t, tu, maxGCPercent)
	if got := debug.SetGCPercent(maxGCPercent); got != maxGCPercent {
		t.Errorf("runtime's percentage %d, want %d", got, maxGCPercent)
	}
	live := make([]byte, 96<<20) // more than the headroom, kept live below
	for i := range live {
		live[i] = byte(i)
	}
	waitPercent(t, tu, minGCPercent)
	runtime.KeepAlive(live)
	tu.Stop()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("after Stop the runtime's percentage is %d, want the 150 set before", got)
	}
}
