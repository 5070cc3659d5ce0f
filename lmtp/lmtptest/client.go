// Package lmtptest is a line-level LMTP client for tests: it writes the
// commands a test gives and returns the exact reply lines, so tests
// assert what an MTA would see on the wire. It knows the LMTP dialogue
// only, nothing of the server under test. It also holds the one rule for
// tests whose real peers are missing (MissingPeer), which every package's
// tests share.
package lmtptest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Client is one LMTP connection.
type Client struct {
	t    testing.TB
	Conn net.Conn
	r    *bufio.Reader
	// Greeting is the server's first line.
	Greeting string
}

// Dial connects to addr ("host:port" or "unix:/path"), reads the
// greeting and closes the connection when the test ends.
func Dial(t testing.TB, addr string) *Client {
	t.Helper()
	network := "tcp"
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", path
	}
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatalf("lmtptest: dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	cl := &Client{t: t, Conn: c, r: bufio.NewReader(c)}
	cl.Greeting = cl.Reply()
	return cl
}

// LHLO dials and introduces itself, failing the test unless both the
// greeting and the LHLO reply are positive. It returns the capability
// lines through Capabilities.
func LHLO(t testing.TB, addr string) *Client {
	t.Helper()
	cl := Dial(t, addr)
	if !strings.HasPrefix(cl.Greeting, "220 ") {
		t.Fatalf("lmtptest: greeting %q", cl.Greeting)
	}
	cl.Expect("250 ", "LHLO client.test")
	return cl
}

// Reply reads one reply, possibly multi-line, and returns its last line.
func (cl *Client) Reply() string {
	cl.t.Helper()
	lines := cl.ReplyLines()
	return lines[len(lines)-1]
}

// ReplyLines reads one reply and returns all its lines.
func (cl *Client) ReplyLines() []string {
	cl.t.Helper()
	var lines []string
	for {
		line, err := cl.r.ReadString('\n')
		if err != nil {
			cl.t.Fatalf("lmtptest: read reply: %v (after %q)", err, append(lines, line))
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return lines
		}
	}
}

// ReadLine returns the next line, or the error that ended the stream; it
// lets a test check that the server hung up.
func (cl *Client) ReadLine() (string, error) {
	line, err := cl.r.ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

// Write sends raw bytes, for tests that break the protocol on purpose.
func (cl *Client) Write(s string) {
	cl.t.Helper()
	if _, err := io.WriteString(cl.Conn, s); err != nil {
		cl.t.Fatalf("lmtptest: write: %v", err)
	}
}

// Cmd sends one command line and returns the reply's last line.
func (cl *Client) Cmd(format string, args ...any) string {
	cl.t.Helper()
	cl.Write(fmt.Sprintf(format, args...) + "\r\n")
	return cl.Reply()
}

// Expect sends a command and fails the test unless the reply's last line
// starts with want.
func (cl *Client) Expect(want, format string, args ...any) {
	cl.t.Helper()
	if got := cl.Cmd(format, args...); !strings.HasPrefix(got, want) {
		cl.t.Fatalf("lmtptest: %s: got %q, want %q...", fmt.Sprintf(format, args...), got, want)
	}
}

// Send runs a whole transaction and returns one reply per recipient.
func (cl *Client) Send(from string, rcpts []string, msg string) []string {
	cl.t.Helper()
	cl.Expect("250 ", "MAIL FROM:<%s>", from)
	for _, r := range rcpts {
		cl.Expect("250 ", "RCPT TO:<%s>", r)
	}
	return cl.Data(msg, len(rcpts))
}

// Data sends DATA and msg, with LF turned into CRLF and dot-stuffed, and
// reads n replies.
func (cl *Client) Data(msg string, n int) []string {
	cl.t.Helper()
	cl.Expect("354 ", "DATA")
	cl.Write(Stuff(msg))
	return cl.Replies(n)
}

// Replies reads n replies and returns their last lines.
func (cl *Client) Replies(n int) []string {
	cl.t.Helper()
	replies := make([]string, n)
	for i := range replies {
		replies[i] = cl.Reply()
	}
	return replies
}

// Stuff turns a message written with LF or CRLF line ends into the DATA
// stream: CRLF line ends, leading dots doubled, and the final ".".
func Stuff(msg string) string {
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(msg) + len(msg)/40 + 8)
	for line := range strings.SplitSeq(strings.TrimSuffix(msg, "\n"), "\n") {
		if strings.HasPrefix(line, ".") {
			b.WriteByte('.')
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.String()
}
