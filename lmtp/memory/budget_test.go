package memory

import (
	"context"
	"errors"
	"testing"
	"time"
)

// grown returns a new hold of b with n bytes.
func grown(t *testing.T, b *Budget, n int64) *Hold {
	t.Helper()
	h := b.Hold()
	if err := h.Grow(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestBudgetHoldsAndGivesBack(t *testing.T) {
	b := NewBudget(100, 50*time.Millisecond)
	ctx := context.Background()
	a := b.Hold()
	if err := a.Grow(ctx, 60); err != nil {
		t.Fatal(err)
	}
	if err := a.Grow(ctx, 40); err != nil {
		t.Fatal(err)
	}
	if b.Held() != 100 || a.Held() != 100 {
		t.Fatalf("held %d (hold %d), want 100", b.Held(), a.Held())
	}
	// Full: the next hold waits out the wait, then gets ErrNoRoom.
	c := b.Hold()
	start := time.Now()
	if err := c.Grow(ctx, 1); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("Grow on a full budget: %v, want ErrNoRoom", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("gave up after %s, want the wait of 50ms", waited)
	}
	// The wait is per hold, in all: a second try does not wait again.
	start = time.Now()
	if err := c.Grow(ctx, 1); !errors.Is(err, ErrNoRoom) || time.Since(start) > 40*time.Millisecond {
		t.Errorf("second Grow: %v after %s, want ErrNoRoom at once", err, time.Since(start))
	}

	a.Shrink(30)
	if b.Held() != 30 || a.Held() != 30 {
		t.Fatalf("after Shrink(30): held %d, hold %d", b.Held(), a.Held())
	}
	a.Shrink(50) // never grows
	if a.Held() != 30 {
		t.Errorf("Shrink(50) made the hold %d", a.Held())
	}
	a.Release()
	a.Release() // once is enough
	if b.Held() != 0 {
		t.Errorf("held %d after Release, want 0", b.Held())
	}
}

func TestBudgetWaiterGetsRoomWhenItIsGivenBack(t *testing.T) {
	b := NewBudget(100, 10*time.Second)
	ctx := context.Background()
	a := grown(t, b, 100)
	got := make(chan error, 1)
	go func() { got <- b.Hold().Grow(ctx, 70) }()
	select {
	case err := <-got:
		t.Fatalf("Grow returned %v while the budget was full", err)
	case <-time.After(20 * time.Millisecond):
	}
	a.Release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("Grow after Release: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not get the room given back")
	}
	if b.Held() != 70 {
		t.Errorf("held %d, want 70", b.Held())
	}
}

func TestBudgetSharedHoldGoesBackWithItsLastOwner(t *testing.T) {
	b := NewBudget(100, time.Millisecond)
	h := grown(t, b, 80)
	parse := h.Share()
	h.Shrink(10) // the sharer may still use it all
	h.Release()
	if b.Held() != 80 {
		t.Fatalf("held %d with one owner left, want 80", b.Held())
	}
	parse.Release()
	if b.Held() != 0 {
		t.Errorf("held %d once every owner released, want 0", b.Held())
	}
}

func TestBudgetHoldNeverTakesMoreThanTheWholeBudget(t *testing.T) {
	b := NewBudget(100, time.Millisecond)
	h := grown(t, b, 1000) // a message larger than the budget runs alone, not never
	if err := h.Grow(context.Background(), 10); err != nil || h.Held() != 100 {
		t.Errorf("Grow past the whole budget: %v, hold %d", err, h.Held())
	}
	h.Release()
}

func TestBudgetEndsWithContext(t *testing.T) {
	b := NewBudget(10, time.Minute)
	grown(t, b, 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Hold().Grow(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Grow with an ended context: %v", err)
	}
}

func TestNilBudgetHasNoLimit(t *testing.T) {
	var b *Budget
	h := b.Hold()
	if err := h.Grow(context.Background(), 1<<40); err != nil {
		t.Fatal(err)
	}
	h.Share().Release()
	h.Shrink(0)
	h.Release()
	if b.Held() != 0 || b.Limit() != 0 || h.Held() != 0 {
		t.Error("a nil budget holds nothing")
	}
}
