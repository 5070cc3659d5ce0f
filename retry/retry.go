// Package retry runs an operation again after transient failures, with
// exponential backoff, jitter, an attempt limit and a total time budget.
//
// It knows nothing about HTTP or mail: the operation says whether a failure
// is worth another try (by wrapping it with Temporary) and may ask for a
// specific delay (a server's Retry-After).
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Policy is a backoff schedule. The zero value makes a single attempt.
type Policy struct {
	// MaxAttempts is the most attempts Do makes, the first included.
	// Zero or one means no retries.
	MaxAttempts int
	// InitialInterval is the base delay before the second attempt; each
	// later delay doubles it, up to MaxInterval.
	InitialInterval time.Duration
	// MaxInterval caps a single delay.
	MaxInterval time.Duration
	// MaxElapsed is the total budget counted from the moment Do is called:
	// no attempt starts after it. Zero means no budget beyond the
	// context's deadline.
	MaxElapsed time.Duration
	// Deadline, when not zero, is an absolute end of the budget, for a
	// budget that began before Do was called (a delivery's counts from
	// the end of DATA; see From). When both are set, the earlier end
	// wins.
	Deadline time.Time

	// Clock supplies time; nil means the real clock. Tests inject a fake
	// one so that schedules of minutes run in microseconds.
	Clock Clock
	// Jitter returns a number in [0, 1); nil means math/rand. Each delay
	// is drawn uniformly from [d/2, d] so that recipients failing together
	// do not retry together.
	Jitter func() float64
}

// Clock is the part of package time a Policy uses.
type Clock interface {
	Now() time.Time
	// Sleep waits for d; it returns early, with false, when ctx ends.
	Sleep(ctx context.Context, d time.Duration) bool
}

type realClock struct{}

// Now is time.Now.
func (realClock) Now() time.Time { return time.Now() }

// Sleep waits on a timer or ctx, whichever ends first.
func (realClock) Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// TemporaryError marks a failure that another attempt may cure.
type TemporaryError struct {
	Err error
	// After is the delay the other side asked for (Retry-After); zero
	// lets the policy choose.
	After time.Duration
}

// Error returns the cause's message.
func (e *TemporaryError) Error() string { return e.Err.Error() }

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *TemporaryError) Unwrap() error { return e.Err }

// Temporary wraps err so that Do tries again, after the given delay when
// it is positive and fits the budget.
func Temporary(err error, after time.Duration) error {
	return &TemporaryError{Err: err, After: after}
}

// IsTemporary reports whether err was marked with Temporary.
func IsTemporary(err error) bool {
	var t *TemporaryError
	return errors.As(err, &t)
}

// Delay returns the backoff before attempt n+1, after n failed attempts
// (n >= 1), before jitter.
func (p Policy) Delay(n int) time.Duration {
	d := p.InitialInterval
	if d <= 0 {
		return 0
	}
	for i := 1; i < n; i++ {
		d *= 2
		if p.MaxInterval > 0 && d >= p.MaxInterval {
			return p.MaxInterval
		}
	}
	if p.MaxInterval > 0 && d > p.MaxInterval {
		d = p.MaxInterval
	}
	return d
}

// From returns p with its MaxElapsed budget counted from start instead of
// from the call to Do: its Deadline is start plus MaxElapsed. A policy
// without MaxElapsed is returned as it is.
func (p Policy) From(start time.Time) Policy {
	if p.MaxElapsed > 0 {
		p.Deadline = start.Add(p.MaxElapsed)
	}
	return p
}

// Do calls op until it returns a nil or a non-temporary error, the
// attempts or the budget run out, or ctx ends. op receives the attempt
// number, starting at 1, and a context that ends with the budget.
//
// Do returns the last attempt's value and error, and the number of
// attempts made. A retry whose delay would end past the budget is not
// waited for: Do returns at once, so that the caller can answer while the
// budget still holds.
func Do[T any](ctx context.Context, p Policy, op func(ctx context.Context, attempt int) (T, error)) (T, int, error) {
	clock := p.Clock
	if clock == nil {
		clock = realClock{}
	}
	jitter := p.Jitter
	if jitter == nil {
		jitter = rand.Float64
	}
	// The budget is kept twice: as a context deadline, which bounds the
	// operation in real time, and on the policy's clock, which decides
	// whether a wait still fits.
	var budgetEnd time.Time
	if p.MaxElapsed > 0 {
		budgetEnd = clock.Now().Add(p.MaxElapsed)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.MaxElapsed)
		defer cancel()
	}
	if !p.Deadline.IsZero() {
		if budgetEnd.IsZero() || p.Deadline.Before(budgetEnd) {
			budgetEnd = p.Deadline
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, p.Deadline)
		defer cancel()
	}

	for attempt := 1; ; attempt++ {
		v, err := op(ctx, attempt)
		if err == nil {
			return v, attempt, nil
		}
		var temp *TemporaryError
		if !errors.As(err, &temp) {
			return v, attempt, err
		}
		if attempt >= p.MaxAttempts || ctx.Err() != nil {
			return v, attempt, err
		}

		wait := temp.After
		if wait <= 0 {
			d := p.Delay(attempt)
			wait = d/2 + time.Duration(jitter()*float64(d/2))
		}
		now := clock.Now()
		if !budgetEnd.IsZero() && now.Add(wait).After(budgetEnd) {
			return v, attempt, err
		}
		if deadline, ok := ctx.Deadline(); ok && wait > time.Until(deadline) {
			return v, attempt, err
		}
		if !clock.Sleep(ctx, wait) {
			return v, attempt, err
		}
	}
}
