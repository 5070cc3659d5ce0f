package lmtp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/memory"
)

// costly is a deliverer that says each byte of a message costs it three.
type costly struct{ deliverer }

func (*costly) MemoryCost(size int64) int64 { return 3 * size }

func TestMessageThatDoesNotFitTheBudgetIsDeferred(t *testing.T) {
	budget := memory.NewBudget(1<<20, 100*time.Millisecond)
	d := &costly{}
	addr, _ := start(t, d, func(c *lmtp.Config) {
		c.Budget = budget
		c.MaxMessageBytes = 1 << 20
		c.MaxConnections = 10
	})
	msg := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 8000) // 144 kB
	send := func(size bool) []string {
		cl := lmtptest.LHLO(t, addr)
		if size {
			cl.Expect("250 ", "MAIL FROM:<a@x.test> SIZE=%d", len(msg))
		} else {
			cl.Expect("250 ", "MAIL FROM:<a@x.test>")
		}
		cl.Expect("250 ", "RCPT TO:<r1@x.test>")
		cl.Expect("250 ", "RCPT TO:<r2@x.test>")
		replies := cl.Data(msg, 2)
		cl.Expect("250 ", "NOOP") // the data was read to its end
		return replies
	}

	// Another transaction holds all but 400 kB: the message and what the
	// deliverer says it costs (4 x 144 kB) do not fit.
	other := budget.Hold()
	if err := other.Grow(context.Background(), 1<<20-400<<10); err != nil {
		t.Fatal(err)
	}
	for _, size := range []bool{true, false} {
		got := send(size)
		for i, r := range got {
			if want := "451 4.3.1 <r" + string(rune('1'+i)) + "@x.test> Insufficient system resources, try again later"; r != want {
				t.Errorf("SIZE given %v: reply %q, want %q", size, r, want)
			}
		}
	}
	if n := len(d.messages()); n != 0 {
		t.Fatalf("%d messages delivered while the budget was full", n)
	}
	if held := budget.Held(); held != other.Held() {
		t.Errorf("budget holds %d after the refusals, want only the other transaction's %d", held, other.Held())
	}

	other.Release()
	for _, size := range []bool{true, false} {
		for _, r := range send(size) {
			if !strings.HasPrefix(r, "250 ") {
				t.Errorf("SIZE given %v, with room: reply %q", size, r)
			}
		}
	}
	msgs := d.messages()
	if len(msgs) != 2 || msgs[0].Memory == nil {
		t.Fatalf("%d messages delivered, want 2 with their hold", len(msgs))
	}
	if held := budget.Held(); held != 0 {
		t.Errorf("budget holds %d once the transactions ended", held)
	}
}
