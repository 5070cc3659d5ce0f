package lmtp_test

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

// TestXForwardAdvertised checks the LHLO keyword Postfix looks for before
// it sends XFORWARD, and that the rest of the reply is intact.
func TestXForwardAdvertised(t *testing.T) {
	addr, _ := start(t, &deliverer{}, nil)
	cl := lmtptest.Dial(t, addr)
	cl.Write("LHLO mta.test\r\n")
	lines := cl.ReplyLines()
	if len(lines) < 3 || lines[1] != "250-PIPELINING" || lines[2] != "250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE" {
		t.Fatalf("LHLO reply:\n%s", strings.Join(lines, "\n"))
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "250 ") {
		t.Errorf("LHLO reply ends %q", last)
	}
}

// TestXForwardAsPostfixSendsIt pipelines two XFORWARD commands with the
// transaction, as Postfix's lmtp client does, and checks the replies, in
// order, and the client the deliverer is given; the next transaction
// without XFORWARD has none.
func TestXForwardAsPostfixSendsIt(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, nil)
	cl := lmtptest.LHLO(t, addr)
	cl.Write("XFORWARD NAME=mail.example.com ADDR=IPV6:2001:db8::7 PORT=40123 PROTO=ESMTP HELO=mail+2Bx.example.com\r\n" +
		"XFORWARD IDENT=4ZbQ1 SOURCE=REMOTE\r\n" +
		"MAIL FROM:<a@x.test>\r\nRCPT TO:<r@x.test>\r\nDATA\r\n")
	_ = cl.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	want := []string{"250 2.0.0 Ok", "250 2.0.0 Ok", "250 2.0.0 Roger, accepting mail from <a@x.test>",
		"250 2.0.0 I'll make sure <r@x.test> gets this", "354 Go ahead. End your data with <CR><LF>.<CR><LF>"}
	if got := cl.Replies(len(want)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("replies\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	cl.Write(lmtptest.Stuff(msg))
	if r := cl.Reply(); r != "250 2.0.0 <r@x.test> OK: queued" {
		t.Fatalf("data: %q", r)
	}
	if r := cl.Send("b@x.test", []string{"r@x.test"}, msg); r[0] != "250 2.0.0 <r@x.test> OK: queued" {
		t.Fatalf("second message: %q", r)
	}
	msgs := d.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	wantClient := lmtp.Client{IP: netip.MustParseAddr("2001:db8::7"), Port: 40123, Name: "mail.example.com",
		Helo: "mail+x.example.com", Proto: "ESMTP", Ident: "4ZbQ1"}
	if c := msgs[0].Client; c == nil || *c != wantClient {
		t.Errorf("client %+v, want %+v", c, wantClient)
	}
	if c := msgs[1].Client; c != nil {
		t.Errorf("a transaction without XFORWARD has client %+v", c)
	}
}

// TestXForwardByteByByte sends a session one byte per write: the command
// is still recognised whole and answered in order.
func TestXForwardByteByByte(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, nil)
	cl := lmtptest.LHLO(t, addr)
	for _, b := range []byte("NOOP\r\nXFORWARD ADDR=192.0.2.9 HELO=h\r\nMAIL FROM:<a@x.test>\r\n") {
		cl.Write(string(b))
	}
	want := "250 2.0.0 I have successfully done nothing\n250 2.0.0 Ok\n250 2.0.0 Roger, accepting mail from <a@x.test>"
	if got := strings.Join(cl.Replies(3), "\n"); got != want {
		t.Fatalf("replies\n%s\nwant\n%s", got, want)
	}
	cl.Expect("250 ", "RCPT TO:<r@x.test>")
	if r := cl.Data(msg, 1); r[0] != "250 2.0.0 <r@x.test> OK: queued" {
		t.Fatalf("data: %q", r)
	}
	if m := d.messages(); len(m) != 1 || m[0].Client == nil || m[0].Client.IP != netip.MustParseAddr("192.0.2.9") || m[0].Client.Helo != "h" {
		t.Errorf("client %+v", m[0].Client)
	}
}

// TestXForwardRefused covers the commands Postfix's smtpd refuses: before
// LHLO, inside a transaction, malformed; a refused command changes
// nothing, and RSET forgets what was said.
func TestXForwardRefused(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, nil)
	cl := lmtptest.Dial(t, addr)
	cl.Expect("503 5.5.1 Error: send LHLO first", "XFORWARD ADDR=192.0.2.1")
	cl.Write("LHLO mta.test\r\n")
	cl.ReplyLines()
	cl.Expect("250 2.0.0 Ok", "XFORWARD ADDR=192.0.2.1")
	for _, bad := range []string{"XFORWARD", "XFORWARD ADDR=not-an-address", "XFORWARD COLOR=blue", "XFORWARD HELO=a+0Db"} {
		cl.Expect("501 5.5.4 Syntax: XFORWARD attribute=value...", "%s", bad)
	}
	cl.Expect("250 ", "MAIL FROM:<a@x.test>")
	cl.Expect("503 5.5.1 Error: MAIL transaction in progress", "XFORWARD ADDR=192.0.2.66")
	cl.Expect("250 ", "RCPT TO:<r@x.test>")
	if r := cl.Data(msg, 1); r[0] != "250 2.0.0 <r@x.test> OK: queued" {
		t.Fatalf("data: %q", r)
	}
	cl.Expect("250 2.0.0 Ok", "XFORWARD ADDR=192.0.2.2")
	cl.Expect("250 2.0.0 Session reset", "RSET")
	if r := cl.Send("a@x.test", []string{"r@x.test"}, msg); r[0] != "250 2.0.0 <r@x.test> OK: queued" {
		t.Fatalf("second message: %q", r)
	}
	msgs := d.messages()
	if len(msgs) != 2 || msgs[0].Client == nil || msgs[0].Client.IP != netip.MustParseAddr("192.0.2.1") || msgs[1].Client != nil {
		t.Errorf("clients %+v, %+v", msgs[0].Client, msgs[1].Client)
	}
}

// TestXForwardInMessageDataIsData checks that an XFORWARD line inside a
// message, under DATA or BDAT, is content, not a command.
func TestXForwardInMessageDataIsData(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, nil)
	cl := lmtptest.LHLO(t, addr)
	body := "Subject: x\r\n\r\nXFORWARD ADDR=192.0.2.66\r\n"
	cl.Expect("250 ", "MAIL FROM:<a@x.test>")
	cl.Expect("250 ", "RCPT TO:<r@x.test>")
	if r := cl.Data(body, 1); r[0] != "250 2.0.0 <r@x.test> OK: queued" {
		t.Fatalf("data: %q", r)
	}
	cl.Expect("250 ", "MAIL FROM:<a@x.test>")
	cl.Expect("250 ", "RCPT TO:<r@x.test>")
	cl.Write("BDAT " + strconv.Itoa(len(body)) + " LAST\r\n" + body)
	if r := cl.Reply(); r != "250 2.0.0 <r@x.test> OK: queued" {
		t.Fatalf("bdat: %q", r)
	}
	for i, m := range d.messages() {
		if string(m.Data) != body || m.Client != nil {
			t.Errorf("message %d: %q, client %+v", i, m.Data, m.Client)
		}
	}
}

// TestXForwardCountsAsJunk cuts off a client that sends XFORWARD over and
// over without a message, like any other junk command.
func TestXForwardCountsAsJunk(t *testing.T) {
	addr, _ := start(t, &deliverer{}, func(c *lmtp.Config) { c.MaxJunkCommands = 3 })
	cl := lmtptest.LHLO(t, addr)
	for range 3 {
		cl.Expect("250 2.0.0 Ok", "XFORWARD HELO=h")
	}
	cl.Write("XFORWARD HELO=h\r\n")
	if r := cl.Reply(); r != "421 4.7.0 bridge.test Too many junk commands, closing connection" {
		t.Errorf("fourth XFORWARD: %q", r)
	}
}
