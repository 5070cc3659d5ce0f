package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeClock advances only when the policy sleeps, so schedules of
// minutes run instantly and exactly.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return true
}

var errTransient = errors.New("503")

func TestDelay(t *testing.T) {
	p := Policy{InitialInterval: 500 * time.Millisecond, MaxInterval: 10 * time.Second}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := p.Delay(i + 1); got != w {
			t.Errorf("Delay(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := (Policy{}).Delay(3); got != 0 {
		t.Errorf("zero policy delay %v", got)
	}
}

func TestDo(t *testing.T) {
	base := Policy{MaxAttempts: 4, InitialInterval: 500 * time.Millisecond, MaxInterval: 10 * time.Second, MaxElapsed: 60 * time.Second}
	cases := []struct {
		name string
		// policy changes base; jitter is fixed at 0.5 unless set.
		policy func(*Policy)
		// results are returned by successive attempts; the last repeats.
		results []error
		// wantAttempts and wantSleeps describe the schedule.
		wantAttempts int
		wantSleeps   []time.Duration
		wantErr      error
	}{
		{
			name:         "success first time",
			results:      []error{nil},
			wantAttempts: 1,
		},
		{
			name:         "permanent error is not retried",
			results:      []error{errors.New("404")},
			wantAttempts: 1,
			wantErr:      errors.New("404"),
		},
		{
			name:         "transient then success",
			results:      []error{Temporary(errTransient, 0), Temporary(errTransient, 0), nil},
			wantAttempts: 3,
			// d/2 + 0.5*d/2 = 0.75 d
			wantSleeps: []time.Duration{375 * time.Millisecond, 750 * time.Millisecond},
		},
		{
			name:         "attempts run out",
			results:      []error{Temporary(errTransient, 0)},
			wantAttempts: 4,
			wantSleeps:   []time.Duration{375 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond},
			wantErr:      errTransient,
		},
		{
			name:         "retry-after is honoured",
			results:      []error{Temporary(errTransient, 7*time.Second), nil},
			wantAttempts: 2,
			wantSleeps:   []time.Duration{7 * time.Second},
		},
		{
			name:         "retry-after beyond the budget is not waited for",
			results:      []error{Temporary(errTransient, 2*time.Minute)},
			wantAttempts: 1,
			wantErr:      errTransient,
		},
		{
			name:         "budget ends the schedule",
			policy:       func(p *Policy) { p.MaxAttempts = 100; p.MaxElapsed = 20 * time.Second },
			results:      []error{Temporary(errTransient, 0)},
			wantAttempts: 7,
			// 0.375+0.75+1.5+3+6+7.5 = 19.125s; the next 7.5s would end past 20s.
			wantSleeps: []time.Duration{375 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second, 7500 * time.Millisecond},
			wantErr:    errTransient,
		},
		{
			name:         "max interval caps the delay",
			policy:       func(p *Policy) { p.MaxAttempts = 7; p.MaxInterval = 2 * time.Second; p.MaxElapsed = time.Hour },
			results:      []error{Temporary(errTransient, 0)},
			wantAttempts: 7,
			wantSleeps:   []time.Duration{375 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond},
			wantErr:      errTransient,
		},
		{
			name:         "single attempt policy",
			policy:       func(p *Policy) { p.MaxAttempts = 1 },
			results:      []error{Temporary(errTransient, 0)},
			wantAttempts: 1,
			wantErr:      errTransient,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			p := base
			p.Clock = clock
			p.Jitter = func() float64 { return 0.5 }
			if c.policy != nil {
				c.policy(&p)
			}
			calls := 0
			_, attempts, err := Do(context.Background(), p, func(ctx context.Context, attempt int) (struct{}, error) {
				calls++
				if attempt != calls {
					t.Errorf("attempt %d on call %d", attempt, calls)
				}
				if _, ok := ctx.Deadline(); !ok {
					t.Errorf("attempt context has no deadline")
				}
				return struct{}{}, c.results[min(attempt, len(c.results))-1]
			})
			if attempts != c.wantAttempts || calls != c.wantAttempts {
				t.Errorf("attempts %d (calls %d), want %d", attempts, calls, c.wantAttempts)
			}
			if (err == nil) != (c.wantErr == nil) || (err != nil && err.Error() != c.wantErr.Error()) {
				t.Errorf("err %v, want %v", err, c.wantErr)
			}
			if len(clock.sleeps) != len(c.wantSleeps) {
				t.Fatalf("sleeps %v, want %v", clock.sleeps, c.wantSleeps)
			}
			for i := range c.wantSleeps {
				if clock.sleeps[i] != c.wantSleeps[i] {
					t.Errorf("sleep %d: %v, want %v", i, clock.sleeps[i], c.wantSleeps[i])
				}
			}
		})
	}
}

func TestJitterStaysWithinHalfAndWholeDelay(t *testing.T) {
	for _, j := range []float64{0, 0.25, 0.999} {
		clock := &fakeClock{now: time.Unix(0, 0)}
		p := Policy{MaxAttempts: 2, InitialInterval: time.Second, Clock: clock, Jitter: func() float64 { return j }}
		_, _, _ = Do(context.Background(), p, func(context.Context, int) (struct{}, error) { return struct{}{}, Temporary(errTransient, 0) })
		if len(clock.sleeps) != 1 || clock.sleeps[0] < 500*time.Millisecond || clock.sleeps[0] > time.Second {
			t.Errorf("jitter %v: slept %v", j, clock.sleeps)
		}
	}
}

func TestCancelledContextStopsRetrying(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := Policy{MaxAttempts: 10, InitialInterval: time.Hour}
	calls := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, err := Do(ctx, p, func(context.Context, int) (struct{}, error) {
			calls++
			return struct{}{}, Temporary(errTransient, 0)
		})
		if !errors.Is(err, errTransient) {
			t.Errorf("err %v", err)
		}
	}()
	cancel()
	<-done
	if calls != 1 {
		t.Errorf("%d calls after cancel, want 1", calls)
	}
}

func TestIsTemporary(t *testing.T) {
	if !IsTemporary(Temporary(errTransient, 0)) || IsTemporary(errTransient) {
		t.Error("IsTemporary misclassifies")
	}
	if !errors.Is(Temporary(errTransient, 0), errTransient) {
		t.Error("Temporary does not unwrap to its cause")
	}
}

// TestFromCountsTheBudgetFromStart: a budget that began before Do was
// called (at the end of DATA) ends on time, not MaxElapsed after the call.
func TestFromCountsTheBudgetFromStart(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	p := Policy{MaxAttempts: 100, InitialInterval: 4 * time.Second, MaxInterval: 4 * time.Second, MaxElapsed: 60 * time.Second,
		Clock: clock, Jitter: func() float64 { return 0.5 }}
	p = p.From(clock.now.Add(-50 * time.Second))
	_, attempts, err := Do(context.Background(), p, func(ctx context.Context, _ int) (int, error) {
		if d, ok := ctx.Deadline(); !ok || !d.Equal(p.Deadline) {
			t.Errorf("attempt deadline %v, want %v", d, p.Deadline)
		}
		return 0, Temporary(errTransient, 0)
	})
	// 10 s are left: three waits of 3 s fit, a fourth would end past it.
	if attempts != 4 || !errors.Is(err, errTransient) {
		t.Errorf("attempts %d err %v, want 4 and the transient error", attempts, err)
	}
	if (Policy{}).From(clock.now).Deadline != (time.Time{}) {
		t.Error("From set a deadline on a policy without MaxElapsed")
	}
}
