package main

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

// The LMTP allow list and the limits on slow and noisy clients, as an
// operator sets them in the environment of the built program.

// hangsUp asserts that the next line is want and that the server then
// closed the connection.
func hangsUp(t *testing.T, cl *lmtptest.Client, want string) {
	t.Helper()
	_ = cl.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := cl.ReadLine(); err != nil || line != want {
		t.Fatalf("got %q (%v), want %q", line, err, want)
	}
	if line, err := cl.ReadLine(); err != io.EOF {
		t.Errorf("after %q: %q (%v), want the connection closed", want, line, err)
	}
}

func TestLMTPAllowFromTheEnvironment(t *testing.T) {
	rc := newReceiver(t, nil)
	b := startBridge(t, rc.url(), "LMTP_ALLOW=10.0.0.0/8")
	cl := lmtptest.Dial(t, b.lmtpAddr)
	if cl.Greeting != "554 5.7.1 bridge.example.test Access denied, closing connection" {
		t.Errorf("a loopback client outside LMTP_ALLOW=10.0.0.0/8: %q", cl.Greeting)
	}
	_ = cl.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := cl.ReadLine(); err != io.EOF {
		t.Errorf("not closed: %q %v", line, err)
	}
	if n := b.metric(t, "lmtp_webhook_lmtp_connections_denied_total"); n != 1 {
		t.Errorf("lmtp_webhook_lmtp_connections_denied_total = %v, want 1", n)
	}

	// The default admits loopback; a bare address is a network of one.
	for _, allow := range []string{"", "LMTP_ALLOW=10.0.0.0/8, 127.0.0.1", "LMTP_ALLOW=0.0.0.0/0,::/0"} {
		var env []string
		if allow != "" {
			env = append(env, allow)
		}
		b := startBridge(t, rc.url(), env...)
		if r := lmtptest.LHLO(t, b.lmtpAddr).Send("a@example.org", []string{"r@example.com"}, "Subject: in\n\nhi\n"); r[0] != "250 2.0.0 <r@example.com> delivered" {
			t.Errorf("%q: %q", allow, r[0])
		}
	}
}

func TestLMTPLimitConfigurationErrorsExit2(t *testing.T) {
	for _, c := range []struct{ env, want string }{
		{"LMTP_ALLOW=garbage", `LMTP_ALLOW: "garbage" is not a network`},
		{"LMTP_ALLOW=10.0.0.0/33", `LMTP_ALLOW: "10.0.0.0/33" is not a network`},
		{"LMTP_ALLOW=10.0.0.0/8,,::1", "LMTP_ALLOW: empty entry"},
		{"LMTP_ALLOW=", "LMTP_ALLOW: empty"},
		{"LMTP_MIN_DATA_RATE=-1", "LMTP_MIN_DATA_RATE: must not be negative"},
		{"LMTP_MIN_DATA_RATE=fast", "LMTP_MIN_DATA_RATE: invalid"},
		{"LMTP_MAX_JUNK_COMMANDS=lots", "LMTP_MAX_JUNK_COMMANDS: invalid"},
		{"LMTP_MAX_FAILED_COMMANDS=-3", "LMTP_MAX_FAILED_COMMANDS: must not be negative"},
	} {
		cmd := exec.Command(bridgeBinary(t))
		cmd.Env = []string{"WEBHOOK_URL=http://hook.test", c.env}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		out := strings.TrimSpace(stderr.String())
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 {
			t.Errorf("%s: %v, want exit 2 (%s)", c.env, err, out)
			continue
		}
		if !strings.Contains(out, c.want) || strings.Contains(out, "\n") {
			t.Errorf("%s: stderr %q, want one line with %q", c.env, out, c.want)
		}
	}
}

func TestHelpListsTheLMTPLimits(t *testing.T) {
	out, err := exec.Command(bridgeBinary(t), "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v\n%s", err, out)
	}
	for _, row := range [][]string{
		{"LMTP_ALLOW", "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"},
		{"LMTP_MIN_DATA_RATE", "1024"},
		{"LMTP_MAX_JUNK_COMMANDS", "50"},
		{"LMTP_MAX_FAILED_COMMANDS", "100"},
	} {
		if !strings.Contains(string(out), "\n"+row[0]+" ") || !strings.Contains(string(out), " "+row[1]+" ") {
			t.Errorf("-h lacks %s with its default %s", row[0], row[1])
		}
	}
}

func TestJunkAndFailedCommandLimitsFromTheEnvironment(t *testing.T) {
	rc := newReceiver(t, nil)
	b := startBridge(t, rc.url(), "LMTP_MAX_JUNK_COMMANDS=2", "LMTP_MAX_FAILED_COMMANDS=1", "LMTP_DOMAINS=example.com")
	cl := lmtptest.LHLO(t, b.lmtpAddr)
	cl.Expect("250 ", "NOOP")
	cl.Expect("250 ", "RSET")
	cl.Write("NOOP\r\n")
	hangsUp(t, cl, "421 4.7.0 bridge.example.test Too many junk commands, closing connection")

	cl = lmtptest.LHLO(t, b.lmtpAddr)
	cl.Expect("250 ", "MAIL FROM:<a@example.org>")
	cl.Expect("550 5.1.2", "RCPT TO:<r@elsewhere.test>")
	cl.Write("RCPT TO:<r@elsewhere.test>\r\n")
	hangsUp(t, cl, "421 4.7.0 bridge.example.test Too many failed commands, closing connection")
	for reason, want := range map[string]float64{"junk_commands": 1, "failed_commands": 1} {
		if n := b.metric(t, `lmtp_webhook_lmtp_connections_cut_total{reason="`+reason+`"}`); n != want {
			t.Errorf("connections cut for %s: %v, want %v", reason, n, want)
		}
	}

	// 0 means no limit: more than the default 50 junk commands pass.
	b = startBridge(t, rc.url(), "LMTP_MAX_JUNK_COMMANDS=0")
	cl = lmtptest.LHLO(t, b.lmtpAddr)
	for range 60 {
		cl.Expect("250 ", "NOOP")
	}
}

// trickle sends a message's data in pieces of piece bytes, one every
// interval, each pause far shorter than the read timeout, and returns
// the reply to the end of data, or the line the server hung up with.
func trickle(t *testing.T, addr string, piece, pieces int, interval time.Duration) string {
	t.Helper()
	cl := lmtptest.LHLO(t, addr)
	cl.Expect("250 ", "MAIL FROM:<a@example.org>")
	cl.Expect("250 ", "RCPT TO:<r@example.com>")
	cl.Expect("354 ", "DATA")
	cl.Write("Subject: slow\r\n\r\n")
	// The reply is read as it comes, so that a write after the server
	// hung up cannot reset the connection before it is read.
	reply := make(chan string, 1)
	go func() {
		line, _ := cl.ReadLine()
		reply <- line
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for range pieces {
		select {
		case line := <-reply:
			return line
		case <-tick.C:
		}
		_, _ = cl.Conn.Write([]byte(strings.Repeat("x", piece-2) + "\r\n"))
	}
	_, _ = cl.Conn.Write([]byte(".\r\n"))
	return <-reply
}

func TestMinDataRateFromTheEnvironment(t *testing.T) {
	rc := newReceiver(t, nil)
	// 50 bytes every 100 ms is 500 bytes/s, each pause far within
	// LMTP_READ_TIMEOUT: below a floor of 4000 and below the default
	// (1024, which cuts it off after about 2.5 s), above none at all.
	const piece, pieces, every = 50, 30, 100 * time.Millisecond
	b := startBridge(t, rc.url(), "LMTP_READ_TIMEOUT=1s", "LMTP_MIN_DATA_RATE=4000")
	if r := trickle(t, b.lmtpAddr, piece, pieces, every); r != "421 4.4.2 bridge.example.test Message data too slow, closing connection" {
		t.Errorf("LMTP_MIN_DATA_RATE=4000, data at 500 bytes/s: %q", r)
	}
	if n := b.metric(t, `lmtp_webhook_lmtp_connections_cut_total{reason="slow_data"}`); n != 1 {
		t.Errorf("connections cut for slow data: %v, want 1", n)
	}
	b = startBridge(t, rc.url(), "LMTP_READ_TIMEOUT=1s", "LMTP_MIN_DATA_RATE=0")
	if r := trickle(t, b.lmtpAddr, piece, pieces, every); r != "250 2.0.0 <r@example.com> delivered" {
		t.Errorf("LMTP_MIN_DATA_RATE=0, data at 500 bytes/s: %q", r)
	}
}
