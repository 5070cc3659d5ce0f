package lmtp_test

import (
	"testing"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

// TestRSETDuringBDAT drops a message given in chunks before its last
// chunk; the session goes on.
func TestRSETDuringBDAT(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, nil)
	cl := lmtptest.LHLO(t, addr)
	cl.Expect("250 ", "MAIL FROM:<a@x.test>")
	cl.Expect("250 ", "RCPT TO:<r@x.test>")
	cl.Write("BDAT 10\r\n0123456789")
	if r := cl.Reply(); r != "250 2.0.0 Continue" {
		t.Fatalf("chunk: %q", r)
	}
	cl.Expect("250 2.0.0 Session reset", "RSET")
	if r := cl.Send("a@x.test", []string{"r@x.test"}, msg); r[0] != "250 2.0.0 <r@x.test> OK: queued" {
		t.Errorf("next message: %q", r[0])
	}
	if m := d.messages(); len(m) != 1 {
		t.Errorf("%d messages delivered, want 1", len(m))
	}
}
