package lmtp_test

import (
	"fmt"
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

// TestBDATIsTakenAsIs checks that chunks are not read as dot-stuffed
// data: a line of a single dot and a doubled dot arrive as sent.
func TestBDATIsTakenAsIs(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, nil)
	cl := lmtptest.LHLO(t, addr)
	cl.Expect("250 ", "MAIL FROM:<a@x.test>")
	cl.Expect("250 ", "RCPT TO:<r@x.test>")
	chunk := "Subject: b\r\n\r\nx\r\r\n.\r\n..y\r\nDATA\r\n"
	cl.Write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunk), chunk))
	if r := cl.Reply(); r != "250 2.0.0 <r@x.test> OK: queued" {
		t.Errorf("reply %q", r)
	}
	cl.Expect("250 2.0.0", "NOOP")
	if m := d.messages(); len(m) != 1 || string(m[0].Data) != chunk {
		t.Errorf("messages %+v", m)
	}
}
