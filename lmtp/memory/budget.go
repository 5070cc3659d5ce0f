package memory

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// DefaultWait is how long a message waits for room in a Budget before it
// is refused: long enough to ride out a burst, short enough that the MTA
// is told to try later well within its timeouts.
const DefaultWait = 5 * time.Second

// ErrNoRoom is the error of a Hold that could not grow within the wait.
var ErrNoRoom = errors.New("memory: budget exhausted")

// Budget bounds the memory that messages in flight hold, as one count of
// bytes shared by the process: each message takes what it will hold
// before it holds it, and gives it back when it is done. The receiving
// side charges the bytes it buffers, and with them what the delivering
// side says a message of that size costs it at most, so that a message
// once received never waits for memory again.
//
// A nil *Budget has no limit: its Hold is nil, and a nil *Hold does
// nothing.
type Budget struct {
	sem   *semaphore.Weighted
	limit int64
	wait  time.Duration
	held  atomic.Int64
}

// NewBudget returns a budget of limit bytes (at least 1); a message that
// does not fit waits at most wait in all (DefaultWait when zero).
func NewBudget(limit int64, wait time.Duration) *Budget {
	limit = max(limit, 1)
	if wait <= 0 {
		wait = DefaultWait
	}
	return &Budget{sem: semaphore.NewWeighted(limit), limit: limit, wait: wait}
}

// Limit returns the size of the budget.
func (b *Budget) Limit() int64 {
	if b == nil {
		return 0
	}
	return b.limit
}

// Held returns the bytes held now by every message.
func (b *Budget) Held() int64 {
	if b == nil {
		return 0
	}
	return b.held.Load()
}

// Hold opens the account of one message, holding nothing yet.
func (b *Budget) Hold() *Hold {
	if b == nil {
		return nil
	}
	return &Hold{b: b, refs: 1}
}

// Hold is what one message holds of a Budget. The receiving side grows
// it, the delivering side may shrink it once it knows the message's real
// cost, and work that outlives the transaction (a parse given up on) may
// share it; the bytes go back when every owner has released it.
type Hold struct {
	b      *Budget
	mu     sync.Mutex
	n      int64 // bytes held
	refs   int
	waited time.Duration
}

// Grow takes n more bytes, waiting for room while the budget's wait for
// this hold lasts and ctx has not ended; it returns ErrNoRoom (or ctx's
// error) when they could not be had, and then holds what it held. A hold
// never takes more than the whole budget: a message costing more runs
// alone rather than never.
func (h *Hold) Grow(ctx context.Context, n int64) error {
	if h == nil || n <= 0 {
		return nil
	}
	h.mu.Lock()
	n = min(n, h.b.limit-h.n)
	left := h.b.wait - h.waited
	h.mu.Unlock()
	if n <= 0 {
		return nil
	}
	if !h.b.sem.TryAcquire(n) {
		if left <= 0 {
			return ErrNoRoom
		}
		start := time.Now()
		wctx, cancel := context.WithTimeout(ctx, left)
		err := h.b.sem.Acquire(wctx, n)
		cancel()
		h.mu.Lock()
		h.waited += time.Since(start)
		h.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return ErrNoRoom
		}
	}
	h.mu.Lock()
	h.n += n
	h.mu.Unlock()
	h.b.held.Add(n)
	return nil
}

// Shrink gives back what the hold holds beyond n, unless it is shared:
// the work sharing it may still use what it was given.
func (h *Hold) Shrink(n int64) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refs != 1 || n >= h.n {
		return
	}
	h.give(h.n - max(n, 0))
}

// Held returns what the hold holds.
func (h *Hold) Held() int64 {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Share adds an owner to the hold and returns it; that owner must call
// Release once done.
func (h *Hold) Share() *Hold {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	h.refs++
	h.mu.Unlock()
	return h
}

// Release ends one owner's use of the hold; the last one gives its bytes
// back.
func (h *Hold) Release() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refs == 0 {
		return
	}
	if h.refs--; h.refs == 0 {
		h.give(h.n)
	}
}

// give returns n of the hold's bytes to the budget; h.mu is held.
func (h *Hold) give(n int64) {
	h.n -= n
	h.b.held.Add(-n)
	h.b.sem.Release(n)
}
