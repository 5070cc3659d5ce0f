package lmtp_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

// trickle writes data to c one byte every interval, over and over, until
// stop is called or a write fails.
func trickle(c net.Conn, data string, every time.Duration) (stop func()) {
	return pace(c, every, func(i int) (string, bool) { return data[i%len(data) : i%len(data)+1], true })
}

// pace writes what next gives for i = 0, 1, ... one every interval,
// until next says there is no more, stop is called or a write fails.
func pace(c net.Conn, every time.Duration, next func(i int) (string, bool)) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			s, more := next(i)
			if !more {
				return
			}
			if _, err := io.WriteString(c, s); err != nil {
				return
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return sync.OnceFunc(func() { close(done); <-stopped })
}

// expectHangUp reads what the server says next: exactly want, then the
// end of the stream.
func expectHangUp(t *testing.T, cl *lmtptest.Client, want string) {
	t.Helper()
	_ = cl.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := cl.ReadLine()
	if err != nil || line != want {
		t.Fatalf("got %q (%v), want %q", line, err, want)
	}
	if line, err := cl.ReadLine(); err != io.EOF {
		t.Errorf("after %q: %q (%v), want the connection closed", want, line, err)
	}
}

func TestReadTimeoutClosesInAnyState(t *testing.T) {
	const timeout = 300 * time.Millisecond
	d := &deliverer{}
	addr, _ := start(t, d, func(c *lmtp.Config) {
		c.ReadTimeout = timeout
		c.MaxConnections = 1
	})
	const (
		inCommand = "421 4.4.2 bridge.test Timeout reading command, closing connection"
		inData    = "421 4.4.2 bridge.test Timeout reading message data, closing connection"
		tooSlow   = "421 4.4.2 bridge.test Message data too slow, closing connection"
	)
	cases := []struct {
		name    string
		setup   []string // commands, each answered positively
		send    string   // then sent at once
		trickle string   // then sent a byte every 50ms
		want    string
	}{
		{name: "silent after the greeting", want: inCommand},
		{name: "partial command line", setup: []string{"LHLO client.test"}, trickle: "NOOP", want: inCommand},
		{name: "partial RCPT line", setup: []string{"LHLO client.test", "MAIL FROM:<a@x.test>"}, send: "RCPT TO:<r@x.", trickle: "x", want: inCommand},
		{name: "silent in DATA", setup: []string{"LHLO client.test", "MAIL FROM:<a@x.test>", "RCPT TO:<r@x.test>", "DATA"},
			send: "Subject: x\r\n\r\nhalf", want: inData},
		{name: "trickle in DATA", setup: []string{"LHLO client.test", "MAIL FROM:<a@x.test>", "RCPT TO:<r@x.test>", "DATA"},
			trickle: "NOOP\r\n", want: tooSlow},
		{name: "silent in a BDAT chunk", setup: []string{"LHLO client.test", "MAIL FROM:<a@x.test>", "RCPT TO:<r@x.test>"},
			send: "BDAT 100\r\n0123456789", want: inData},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := waitDial(t, addr)
			for _, cmd := range tc.setup {
				if r := cl.Cmd("%s", cmd); r[0] != '2' && r[0] != '3' {
					t.Fatalf("%s: %q", cmd, r)
				}
			}
			began := time.Now()
			if tc.send != "" {
				cl.Write(tc.send)
			}
			if tc.trickle != "" {
				defer trickle(cl.Conn, tc.trickle, 50*time.Millisecond)()
			}
			// Nothing trickled is taken for a command: the one reply is
			// the hang-up.
			expectHangUp(t, cl, tc.want)
			if took := time.Since(began); took < timeout || took > timeout+time.Second {
				t.Errorf("closed after %v, want about %v", took, timeout)
			}
		})
	}
	if n := len(d.messages()); n != 0 {
		t.Errorf("%d partial messages delivered", n)
	}
	// The slot is free again.
	cl := waitDial(t, addr)
	cl.Expect("250 ", "LHLO client.test")
}

// TestMinDataRate sends message data in pieces, each pause shorter than
// the read timeout: at 2.5 KiB/s the message arrives, at 500 B/s the
// client is cut off once the grace is spent.
func TestMinDataRate(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, func(c *lmtp.Config) { c.ReadTimeout = 300 * time.Millisecond })
	// send sends a message of eight pieces of the given size, one every
	// 200 ms, and the end of data.
	send := func(piece int) (*lmtptest.Client, func()) {
		cl := lmtptest.LHLO(t, addr)
		cl.Expect("250 ", "MAIL FROM:<a@x.test>")
		cl.Expect("250 ", "RCPT TO:<r@x.test>")
		cl.Expect("354 ", "DATA")
		cl.Write("Subject: slow\r\n\r\n")
		return cl, pace(cl.Conn, 200*time.Millisecond, func(i int) (string, bool) {
			if i == 8 {
				return ".\r\n", true
			}
			return strings.Repeat("x", piece-2) + "\r\n", i < 8
		})
	}
	steady, stop := send(512) // 1.6 s in all
	if r := steady.Reply(); r != "250 2.0.0 <r@x.test> OK: queued" {
		t.Errorf("steady 2.5 KiB/s: %q", r)
	}
	stop()
	slow, stop := send(100)
	expectHangUp(t, slow, "421 4.4.2 bridge.test Message data too slow, closing connection")
	stop()
	if n := len(d.messages()); n != 1 {
		t.Errorf("%d messages delivered, want 1", n)
	}
}

func TestJunkCommandLimit(t *testing.T) {
	junk := []struct{ cmd, reply string }{
		{"NOOP", "250 2.0.0 I have successfully done nothing"},
		{"RSET", "250 2.0.0 Session reset"},
		{"VRFY someone", "252 2.5.0 Cannot VRFY user, but will accept message"},
		{"HELP", "214 2.0.0 bridge.test LMTP (RFC 2033): LHLO XFORWARD MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT"},
		{"EXPN list", "502 5.5.1 EXPN command not implemented"},
		{"FROB", "500 5.5.2 Syntax errors, FROB command unrecognized"},
	}
	for _, limit := range []int{0, 7} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			addr, _ := start(t, &deliverer{}, func(c *lmtp.Config) { c.MaxJunkCommands = limit })
			if limit == 0 {
				limit = lmtp.DefaultMaxJunkCommands
			}
			cl := lmtptest.LHLO(t, addr)
			for i := range limit {
				j := junk[i%len(junk)]
				if i >= len(junk) && j.cmd == "FROB" {
					j = junk[0] // go-smtp itself lets only three unknown commands by
				}
				if r := cl.Cmd("%s", j.cmd); r != j.reply {
					t.Fatalf("junk command %d, %s: %q, want %q", i+1, j.cmd, r, j.reply)
				}
			}
			cl.Write("NOOP\r\n")
			expectHangUp(t, cl, "421 4.7.0 bridge.test Too many junk commands, closing connection")
		})
	}
}

func TestFailedCommandLimit(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		addr, _ := start(t, &deliverer{}, nil)
		cl := lmtptest.LHLO(t, addr)
		for i := range lmtp.DefaultMaxFailedCommands {
			if r := cl.Cmd("RCPT TO:<r@x.test>"); r != "502 5.5.1 Missing MAIL FROM command." {
				t.Fatalf("failed command %d: %q", i+1, r)
			}
		}
		cl.Write("RCPT TO:<r@x.test>\r\n")
		expectHangUp(t, cl, "421 4.7.0 bridge.test Too many failed commands, closing connection")
	})
	t.Run("refused recipients", func(t *testing.T) {
		addr, _ := start(t, &deliverer{}, func(c *lmtp.Config) {
			c.MaxFailedCommands = 3
			c.Domains = []string{"x.test"}
		})
		cl := lmtptest.LHLO(t, addr)
		cl.Expect("250 ", "MAIL FROM:<a@x.test>")
		for range 3 {
			cl.Expect("550 5.1.2", "RCPT TO:<r@elsewhere.test>")
		}
		cl.Write("RCPT TO:<r@elsewhere.test>\r\n")
		expectHangUp(t, cl, "421 4.7.0 bridge.test Too many failed commands, closing connection")
	})
}

// TestCountsStartAgainWithEachMessage uses small limits: a client that
// stays within them between messages is never cut off.
func TestCountsStartAgainWithEachMessage(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, func(c *lmtp.Config) {
		c.MaxJunkCommands = 3
		c.MaxFailedCommands = 2
		c.Domains = []string{"x.test"}
	})
	cl := lmtptest.LHLO(t, addr)
	for i := range 5 {
		cl.Expect("250 2.0.0", "NOOP")
		cl.Expect("250 2.0.0", "RSET")
		cl.Expect("250 2.0.0", "NOOP")
		cl.Expect("250 ", "MAIL FROM:<a@x.test>")
		cl.Expect("550 5.1.2", "RCPT TO:<no@elsewhere.test>")
		cl.Expect("550 5.1.2", "RCPT TO:<no@elsewhere.test>")
		cl.Expect("250 ", "RCPT TO:<r@x.test>")
		if r := cl.Data(msg, 1); r[0] != "250 2.0.0 <r@x.test> OK: queued" {
			t.Fatalf("message %d: %q", i+1, r[0])
		}
	}
	// The limits still hold after the last message.
	for range 3 {
		cl.Expect("250 2.0.0", "NOOP")
	}
	cl.Write("NOOP\r\n")
	expectHangUp(t, cl, "421 4.7.0 bridge.test Too many junk commands, closing connection")
}

// TestLongSessionIsNeverCutOff is an MTA that keeps its connection: 120
// messages with RSET and NOOP between them, at the default limits.
func TestLongSessionIsNeverCutOff(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, nil)
	cl := lmtptest.LHLO(t, addr)
	for i := range 120 {
		cl.Expect("250 2.0.0", "RSET")
		cl.Expect("250 2.0.0", "NOOP")
		if r := cl.Send("a@x.test", []string{"r@x.test", "s@x.test"}, msg); r[0] != "250 2.0.0 <r@x.test> OK: queued" || r[1] != "250 2.0.0 <s@x.test> OK: queued" {
			t.Fatalf("message %d: %q", i+1, r)
		}
	}
	cl.Expect("221 2.0.0", "QUIT")
	if n := len(d.messages()); n != 120 {
		t.Errorf("%d messages delivered, want 120", n)
	}
}

// TestTricklersAreCutOffWhileOthersAreServed holds 50 connections open
// with a byte a second, half in the middle of a command line and half
// inside DATA, with a 5 s read timeout: all are closed within 15 s, and a
// client that connects meanwhile is served at once.
func TestTricklersAreCutOffWhileOthersAreServed(t *testing.T) {
	if testing.Short() {
		t.Skip("takes the 5 s read timeout")
	}
	const timeout = 5 * time.Second
	d := &deliverer{}
	addr, _ := start(t, d, func(c *lmtp.Config) {
		c.ReadTimeout = timeout
		c.MaxConnections = 51
	})

	type result struct {
		line string
		took time.Duration
		err  error
	}
	results := make(chan result, 50)
	var wg, established sync.WaitGroup
	began := time.Now()
	for i := range 50 {
		inData := i%2 == 1
		established.Add(1)
		wg.Go(func() {
			setUp := sync.OnceFunc(established.Done)
			defer setUp()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				results <- result{err: err}
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			r := bufio.NewReader(c)
			expect := func(cmd, prefix string) error {
				if cmd != "" {
					if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
						return err
					}
				}
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return fmt.Errorf("%s: %w", cmd, err)
					}
					if line[3] == '-' {
						continue
					}
					if !strings.HasPrefix(line, prefix) {
						return fmt.Errorf("%s: %q", cmd, line)
					}
					return nil
				}
			}
			steps := [][2]string{{"", "220 "}, {"LHLO trickler.test", "250 "}}
			if inData {
				steps = append(steps, [2]string{"MAIL FROM:<a@x.test>", "250 "}, [2]string{"RCPT TO:<r@x.test>", "250 "}, [2]string{"DATA", "354 "})
			}
			for _, s := range steps {
				if err := expect(s[0], s[1]); err != nil {
					results <- result{err: err}
					return
				}
			}
			start := time.Now()
			stop := trickle(c, "NOOP", time.Second)
			defer stop()
			setUp()
			line, _ := r.ReadString('\n')
			if _, err := r.ReadString('\n'); err != io.EOF {
				results <- result{line: line, err: fmt.Errorf("not closed after %q: %v", line, err)}
				return
			}
			results <- result{line: strings.TrimRight(line, "\r\n"), took: time.Since(start)}
		})
	}

	// A well-behaved client, while the tricklers hold their slots.
	established.Wait()
	good := waitDial(t, addr)
	good.Expect("250 ", "LHLO client.test")
	served := time.Now()
	if r := good.Send("a@x.test", []string{"good@x.test"}, msg); r[0] != "250 2.0.0 <good@x.test> OK: queued" {
		t.Errorf("well-behaved client: %q", r[0])
	}
	servedIn := time.Since(served)

	wg.Wait()
	close(results)
	var slowest, fastest time.Duration
	fastest = time.Hour
	for r := range results {
		if r.err != nil {
			t.Errorf("trickler: %v", r.err)
			continue
		}
		if !strings.HasPrefix(r.line, "421 4.4.2 bridge.test ") {
			t.Errorf("trickler told %q", r.line)
		}
		slowest, fastest = max(slowest, r.took), min(fastest, r.took)
	}
	all := time.Since(began)
	t.Logf("50 tricklers cut off %v to %v after they began trickling, all within %v of the first dial; well-behaved message served in %v",
		fastest.Round(time.Millisecond), slowest.Round(time.Millisecond), all.Round(time.Millisecond), servedIn)
	if all > 15*time.Second {
		t.Errorf("tricklers took %v to be cut off, want within 15 s", all)
	}
	if n := len(d.messages()); n != 1 {
		t.Errorf("%d messages delivered, want the well-behaved one", n)
	}
}
