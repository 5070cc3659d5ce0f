package lmtp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

// TestEndOfDataAfterBareCR sends messages whose lines end in a bare CR
// (Postfix passes such lines through as "...\r\r\n") and checks that
// each gets its replies at once and arrives with the right bytes: the
// end of data is the first CRLF "." CRLF, and a dot-stuffed line right
// after "\r\r\n" loses its extra dot.
func TestEndOfDataAfterBareCR(t *testing.T) {
	cases := []struct {
		name, wire, want string
	}{
		{"last line ends in CR", "Subject: cr\r\n\r\nlast line\r\r\n.\r\n", "Subject: cr\r\n\r\nlast line\r\r\n"},
		{"stuffed line after CR", "Subject: cr\r\n\r\nbare\r\r\n..stuffed\r\n.\r\n", "Subject: cr\r\n\r\nbare\r\r\n.stuffed\r\n"},
		{"several CRs", "Subject: cr\r\n\r\nx\r\r\r\r\n.\r\n", "Subject: cr\r\n\r\nx\r\r\r\r\n"},
		{"line of one dot and a CR", "Subject: cr\r\n\r\n.\r\r\n.\r\n", "Subject: cr\r\n\r\n\r\r\n"},
		{"dot then CR inside a line", "Subject: cr\r\n\r\n.\rx\r\n.\r\n", "Subject: cr\r\n\r\n\rx\r\n"},
		// Bare LF and bare CR never end a line: none of these is an end
		// of data, so no second message can be smuggled in.
		{"bare LF dot", "Subject: lf\r\n\r\na\n.\nb\n.\r\nc\r\n.\r\n", "Subject: lf\r\n\r\na\n.\nb\n.\r\nc\r\n"},
		{"bare CR dot", "Subject: cr\r\n\r\na\r.\rb\r\n.\r\n", "Subject: cr\r\n\r\na\r.\rb\r\n"},
	}
	d := &deliverer{}
	addr, _ := start(t, d, nil)
	cl := lmtptest.LHLO(t, addr)
	for i, tc := range cases {
		cl.Expect("250 ", "MAIL FROM:<a@x.test>")
		cl.Expect("250 ", "RCPT TO:<r@x.test>")
		cl.Expect("250 ", "RCPT TO:<s@x.test>")
		cl.Expect("354 ", "DATA")
		cl.Write(tc.wire)
		// The replies come at once, not after the read timeout.
		_ = cl.Conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		got := cl.Replies(2)
		if got[0] != "250 2.0.0 <r@x.test> OK: queued" || got[1] != "250 2.0.0 <s@x.test> OK: queued" {
			t.Errorf("%s: replies %q", tc.name, got)
		}
		msgs := d.messages()
		if len(msgs) != i+1 {
			t.Fatalf("%s: %d messages delivered, want %d", tc.name, len(msgs), i+1)
		}
		if got := string(msgs[i].Data); got != tc.want {
			t.Errorf("%s: data %q, want %q", tc.name, got, tc.want)
		}
		// Nothing of the message is read as a command.
		cl.Expect("250 2.0.0", "NOOP")
	}
}

// TestCommandsPipelinedAroundData sends the next commands in the same
// packet as the end of data, and message data in the same packet as
// DATA (a client that does not wait for the 354): every byte is still
// read as what it is.
func TestCommandsPipelinedAroundData(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, nil)
	cl := lmtptest.LHLO(t, addr)
	cl.Write("MAIL FROM:<a@x.test>\r\nRCPT TO:<r@x.test>\r\nDATA\r\nSubject: early\r\n\r\nx\r\r\n..y\r\n.\r\nNOOP\r\n" +
		"MAIL FROM:<b@x.test>\r\nRCPT TO:<s@x.test>\r\nDATA\r\n")
	_ = cl.Conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	want := []string{"250 2.0.0 Roger, accepting mail from <a@x.test>", "250 2.0.0 I'll make sure <r@x.test> gets this",
		"354 Go ahead. End your data with <CR><LF>.<CR><LF>", "250 2.0.0 <r@x.test> OK: queued",
		"250 2.0.0 I have successfully done nothing", "250 2.0.0 Roger, accepting mail from <b@x.test>",
		"250 2.0.0 I'll make sure <s@x.test> gets this", "354 Go ahead. End your data with <CR><LF>.<CR><LF>"}
	got := cl.Replies(len(want))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("replies\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	cl.Write(".\r\n")
	if r := cl.Reply(); r != "250 2.0.0 <s@x.test> OK: queued" {
		t.Errorf("second message: %q", r)
	}
	msgs := d.messages()
	if len(msgs) != 2 || string(msgs[0].Data) != "Subject: early\r\n\r\nx\r\r\n.y\r\n" || string(msgs[1].Data) != "" {
		for _, m := range msgs {
			t.Logf("message %q", m.Data)
		}
		t.Errorf("%d messages, not the two sent", len(msgs))
	}
}
