package lmtp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// Defaults of the limits on slow and noisy clients; Config's zero values
// stand for them.
const (
	// DefaultMinDataRate, in bytes per second, is far below what any MTA
	// sends at (Postfix's smtpd_min_data_rate is 500) and far above a
	// trickle: a 25 MiB message may take seven hours, a byte a second is
	// cut off after ReadTimeout.
	DefaultMinDataRate = 1024
	// DefaultMaxJunkCommands is half of Postfix's smtpd_junk_command_limit:
	// an MTA sends one or two such commands per message (RSET, NOOP), and
	// the count starts again with each message.
	DefaultMaxJunkCommands = 50
	// DefaultMaxFailedCommands is as large as the program's default
	// recipient limit, so that a transaction whose recipients are all
	// refused does not end the connection; Postfix sends at most 50 per
	// transaction (lmtp_destination_recipient_limit).
	DefaultMaxFailedCommands = 100
)

// readLimits is a conn's part in the limits on slow and noisy clients.
// The deadline fields are used only by the goroutine reading the
// connection; junk and failed are under wmu.
type readLimits struct {
	cmdDeadline time.Time // end of the wait for the command line under way
	dataStart   time.Time // first read of the message data
	dataBytes   int64     // bytes read since
	deadline    time.Time // as last set on the socket

	junk, failed int // commands since the last message received
}

// readRaw reads what the client sent: first what was kept back (see
// dotFraming), then from the socket, whose read deadline it sets from
// the state of the session. When the deadline passes, the client is told
// 421 4.4.2 and the connection is closed, a partial line or message
// included: nothing read so far is given to go-smtp as a command.
func (c *conn) readRaw(b []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	if len(c.pending) > 0 {
		n := copy(b, c.pending)
		if c.pending = c.pending[n:]; len(c.pending) == 0 {
			c.pending = nil
		}
		return n, nil
	}
	deadline, slow := c.readDeadline(time.Now())
	if !deadline.Equal(c.deadline) {
		if err := c.Conn.SetReadDeadline(deadline); err != nil {
			return 0, fmt.Errorf("lmtp: set read deadline: %w", err)
		}
		c.deadline = deadline
	}
	n, err := c.Conn.Read(b)
	if c.inData.Load() {
		c.dataBytes += int64(n)
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		c.timedOut(slow)
		// go-smtp ends the session quietly on net.ErrClosed.
		return 0, fmt.Errorf("lmtp: read timeout (%w): %w", err, net.ErrClosed)
	}
	return n, err
}

// readDeadline returns when the read that starts at now must end, and
// whether it is the data rate that sets it. A command line must be whole
// within ReadTimeout of the moment the server began to wait for it, so a
// line trickled in byte by byte is cut off like a silent client. Message
// data may pause for ReadTimeout at most, and must come at MinDataRate
// on average after a grace of ReadTimeout: n bytes are due by
// ReadTimeout + n/MinDataRate after the first read of the data.
func (c *conn) readDeadline(now time.Time) (time.Time, bool) {
	timeout := c.srv.cfg.ReadTimeout
	if timeout <= 0 {
		return time.Time{}, false
	}
	if !c.inData.Load() {
		if c.lineLen == 0 && len(c.cmdq) == 0 {
			c.cmdDeadline = now.Add(timeout)
		}
		return c.cmdDeadline, false
	}
	if c.dataStart.IsZero() {
		c.dataStart = now
	}
	idle := now.Add(timeout)
	if rate := c.srv.cfg.MinDataRate; rate > 0 {
		due := time.Duration(float64(c.dataBytes) / float64(rate) * float64(time.Second))
		if slow := c.dataStart.Add(timeout + due); slow.Before(idle) {
			return slow, true
		}
	}
	return idle, false
}

// timedOut tells the client its time is up and closes the connection.
func (c *conn) timedOut(slow bool) {
	state, reason, text := "command", "timeout", "Timeout reading command"
	if c.inData.Load() {
		state, text = "data", "Timeout reading message data"
		if slow {
			reason, text = "slow_data", "Message data too slow"
		}
	}
	c.log.Warn().Str("state", state).Str("reason", reason).Dur("read_timeout", c.srv.cfg.ReadTimeout).
		Int64("data_bytes", c.dataBytes).Msg("read timeout, closing connection")
	c.srv.cfg.Metrics.cutOff(reason)
	c.cutOff("421 4.4.2 " + c.srv.cfg.Hostname + " " + text + ", closing connection\r\n")
}

// Closing a socket with unread bytes sends a reset, which can make the
// client lose the last reply; a client that is cut off is usually still
// sending. So cutOff lingers: it half-closes and reads what comes for up
// to lingerTime or lingerBytes, then closes.
const (
	lingerTime  = time.Second
	lingerBytes = 64 << 10
)

// cutOff tells the client why it is let go, after any replies held back,
// and closes the connection once the client has had the time to read it.
// Only the goroutine reading the connection may call it.
func (c *conn) cutOff(text string) {
	c.lastWords(text)
	c.closed.Store(true) // nothing more is written
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok && c.flush() == nil && cw.CloseWrite() == nil {
		_ = c.Conn.SetReadDeadline(time.Now().Add(lingerTime))
		_, _ = io.CopyN(io.Discard, c.Conn, lingerBytes)
	}
	_ = c.Close()
}

// Which replies count as a junk command: go-smtp answers these commands
// with fixed texts (HELP after replyRewrites), and conn answers XFORWARD,
// which an MTA sends once or twice per message.
var (
	junkExact = [][]byte{
		[]byte("250 2.0.0 I have successfully done nothing\r\n"), // NOOP
		[]byte("250 2.0.0 Session reset\r\n"),                    // RSET
		[]byte(xforwardOK),                                       // XFORWARD (conn's own reply)
	}
	junkPrefixes = [][]byte{
		[]byte("252 "),       // VRFY
		[]byte("214 "),       // HELP
		[]byte("500 5.5.2 "), // an unknown or malformed command, an empty line
	}
	notImplemented = []byte(" command not implemented\r\n") // EXPN, TURN, SEND, SOML, SAML
)

func isJunkReply(p []byte) bool {
	for _, j := range junkExact {
		if bytes.Equal(p, j) {
			return true
		}
	}
	for _, j := range junkPrefixes {
		if bytes.HasPrefix(p, j) {
			return true
		}
	}
	return bytes.HasPrefix(p, []byte("502 ")) && bytes.HasSuffix(p, notImplemented)
}

// countReply counts the reply line p (after replyRewrites) against the
// limits, and names the limit it passes, if any. Only replies to
// commands count: not those to a message's recipients or data. The
// caller holds wmu.
func (c *conn) countReply(p []byte) string {
	if len(p) < 4 || p[3] != ' ' || c.inData.Load() {
		return "" // a line of a longer reply, or the message is being answered
	}
	if isJunkReply(p) {
		if c.junk++; c.srv.cfg.MaxJunkCommands > 0 && c.junk > c.srv.cfg.MaxJunkCommands {
			return "junk"
		}
	}
	if p[0] == '4' || p[0] == '5' {
		if c.failed++; c.srv.cfg.MaxFailedCommands > 0 && c.failed > c.srv.cfg.MaxFailedCommands {
			return "failed"
		}
	}
	return ""
}

// tooMany ends the connection of a client past a command limit, with
// 421 4.7.0 in place of the reply to the command that passed it.
func (c *conn) tooMany(limit string) {
	n := c.srv.cfg.MaxJunkCommands
	if limit == "failed" {
		n = c.srv.cfg.MaxFailedCommands
	}
	c.log.Warn().Str("reason", limit+"_commands").Int("limit", n).Msg("too many " + limit + " commands, closing connection")
	c.srv.cfg.Metrics.cutOff(limit + "_commands")
	c.cutOff("421 4.7.0 " + c.srv.cfg.Hostname + " Too many " + limit + " commands, closing connection\r\n")
}

// messageReceived starts the command counts again: the client has sent a
// whole message.
func (c *conn) messageReceived() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.junk, c.failed = 0, 0
}

// allows reports whether a client at addr may connect. Allow applies to
// IP clients only: who may use a Unix socket is up to its file mode.
func (s *Server) allows(addr net.Addr) bool {
	if len(s.cfg.Allow) == 0 || addr == nil {
		return true
	}
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip = a.AddrPort().Addr()
	default:
		ap, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return true // not an IP client: a Unix socket
		}
		ip = ap.Addr()
	}
	return allowed(s.cfg.Allow, ip)
}

// allowed reports whether ip is in one of nets; an IPv4 client seen by
// an IPv6 socket (::ffff:a.b.c.d) is matched as IPv4 too.
func allowed(nets []netip.Prefix, ip netip.Addr) bool {
	v4 := ip.Unmap()
	for _, p := range nets {
		if p.Contains(ip) || p.Contains(v4) {
			return true
		}
	}
	return false
}

// checkAllow validates Allow and returns it masked, in a copy.
func checkAllow(nets []netip.Prefix) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(nets))
	for i, p := range nets {
		if !p.IsValid() {
			return nil, fmt.Errorf("lmtp: Allow[%d] is not a valid network", i)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
