package store

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// putMemoryLimit bounds what Put may allocate for a 20 MiB part. A client
// that buffered the part (the multipart path reads 16 MiB per part) or
// copied it would pass this many times over.
const putMemoryLimit = 4 * mib

// TestPutMemory measures what Put holds while it streams a 20 MiB part:
// bytes allocated, the peak of the live heap above where it started, and
// the process's peak RSS above its RSS before.
func TestPutMemory(t *testing.T) {
	_, s, _ := sharedBucket(t, "memory", time.Hour)
	data, sum := content(7, 20*mib)
	ctx := context.Background()
	// One small Put first, so that connections and the client's caches
	// exist and are not counted.
	small, smallSum := content(8, 1000)
	if _, err := s.Put(ctx, PartKey(smallSum), int64(len(small)), "", bytes.NewReader(small)); err != nil {
		t.Fatalf("warm-up Put: %v", err)
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore, rssOK := resetPeakRSS()

	var peakHeap uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapAlloc)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	_, err := s.Put(ctx, PartKey(sum), int64(len(data)), "application/octet-stream", bytes.NewReader(data))
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	allocated := after.TotalAlloc - before.TotalAlloc
	heapAbove := int64(peakHeap) - int64(before.HeapAlloc)
	t.Logf("Put of a 20 MiB part: allocated %.2f MiB in %d objects; live heap peaked %.2f MiB above its start",
		float64(allocated)/mib, after.Mallocs-before.Mallocs, float64(heapAbove)/mib)
	if rssOK {
		if peak, ok := procStatusKiB("VmHWM"); ok {
			t.Logf("peak RSS during Put: %.2f MiB above the %.2f MiB before", float64(peak-rssBefore)/1024, float64(rssBefore)/1024)
		}
	}
	if allocated > putMemoryLimit {
		t.Errorf("Put allocated %d bytes for a 20 MiB part, want at most %d", allocated, putMemoryLimit)
	}
}

// resetPeakRSS sets the kernel's peak-RSS mark (VmHWM) to the current RSS
// and returns that RSS in KiB; ok is false where /proc does not allow it.
func resetPeakRSS() (kib int64, ok bool) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0, false
	}
	return procStatusKiB("VmRSS")
}

func procStatusKiB(field string) (int64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
