package lmtp

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/rs/zerolog"
)

// listener admits at most MaxConnections clients at once; the others are
// told 421 4.4.5 at connect, as Postfix's smtpd does when it is full.
type listener struct {
	net.Listener
	srv *Server
}

// Accept returns the next client admitted.
func (l *listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c, ok := l.srv.admit(nc)
		if ok {
			return c, nil
		}
	}
}

// conn is one client connection. It enforces the command line limit
// (go-smtp's own limit would also cut long lines inside DATA, which mail
// legitimately has), knows whether a transaction is under way so that a
// drain can close idle clients at once, and logs one line when it ends.
//
// Outside DATA it holds replies back until the server next reads, as
// Postfix's smtpd does: go-smtp flushes every line (eight for an LHLO
// reply), and a pipelining client's MAIL, RCPT and DATA are then answered
// in one write instead of one each. After the data, a recipient's reply
// is held only while the next one is already known, so that replies ready
// together leave together and none waits for a slower recipient.
type conn struct {
	net.Conn
	srv   *Server
	id    string
	start time.Time
	log   zerolog.Logger

	// inData is set while message data is read: lines are then bounded
	// only by the message size limit.
	inData  atomic.Bool
	lineLen int64

	// busy is set from MAIL to the end of the transaction.
	busy     atomic.Bool
	messages atomic.Int64
	helo     atomic.Value // string

	wmu  sync.Mutex
	wbuf []byte // replies not yet written
	// repliesReady counts the recipients' replies known after the data
	// (the session adds to it before go-smtp may write them);
	// repliesWritten counts those written since.
	repliesReady   atomic.Int64
	repliesWritten int64

	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool

	readLimits     // deadlines, and the counts of junk and failed commands
	dotFraming     // the message after DATA, read by dotReader
	commandFraming // XFORWARD, answered here
}

// Read flushes the replies held back, then reads (see readRaw and
// readCommands, which answers XFORWARD), failing
// a line longer than the limit of the current mode. After DATA's 354 the
// message is read by a dotReader instead; go-smtp is then given only the
// end-of-data line (see finishDot).
func (c *conn) Read(b []byte) (int, error) {
	if c.dot != nil {
		if err := c.finishDot(); err != nil {
			return 0, err
		}
	}
	n, err := c.readCommands(b)
	limit := int64(c.srv.cfg.MaxLineLength)
	if c.inData.Load() {
		limit = c.srv.cfg.MaxMessageBytes
	}
	if limit <= 0 {
		return n, err
	}
	for rest := b[:n]; ; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			c.lineLen += int64(len(rest))
			break
		}
		if c.lineLen+int64(i) > limit {
			c.lineLen += int64(i)
			break
		}
		c.lineLen, rest = 0, rest[i+1:]
	}
	if c.lineLen > limit {
		c.log.Warn().Int64("limit", limit).Msg("line too long, closing connection")
		return 0, smtp.ErrTooLongLine
	}
	return n, err
}

// Write takes a reply line, rewriting the few that go-smtp hard-codes
// differently from this server's contract (see replyRewrites), and holds
// it until the next read unless message data is being answered.
func (c *conn) Write(b []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	p := b
	for _, r := range c.srv.rewrites {
		if bytes.HasPrefix(b, r.from) && (r.prefix || len(b) == len(r.from)) {
			p = append(append(make([]byte, 0, len(b)+len(r.to)), r.to...), b[len(r.from):]...)
			break
		}
	}
	c.wmu.Lock()
	if limit := c.countReply(p); limit != "" {
		c.wmu.Unlock()
		c.tooMany(limit)
		return len(b), nil
	}
	defer c.wmu.Unlock()
	c.wbuf = append(c.wbuf, p...)
	if bytes.HasPrefix(p, []byte("354 ")) {
		c.dotOpen = true // go-smtp reads the message next
	}
	if !c.inData.Load() {
		return len(b), nil
	}
	if c.repliesWritten++; c.repliesWritten < c.repliesReady.Load() {
		return len(b), nil // the next reply is ready: it goes with this one
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return len(b), nil
}

// endData returns to command mode after the replies to a message.
func (c *conn) endData() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.inData.Store(false)
	c.lineLen = 0
	c.dataStart, c.dataBytes = time.Time{}, 0
	c.repliesReady.Store(0)
	c.repliesWritten = 0
}

// flush writes the replies held back.
func (c *conn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.flushLocked()
}

func (c *conn) flushLocked() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.wbuf)
	if cap(c.wbuf) > 4096 {
		c.wbuf = nil // an unusually long reply: do not keep its buffer
	} else {
		c.wbuf = c.wbuf[:0]
	}
	return err
}

// rewrite replaces a reply line go-smtp writes (in one Write call per
// line) that starts with, or when !prefix equals, from.
type rewrite struct {
	from, to []byte
	prefix   bool
}

// replyRewrites lists the replies go-smtp does not let a server choose:
// the LHLO reply names the client but not us, and lacks XFORWARD (which
// conn answers; it goes after PIPELINING); HELP is refused; a
// malformed command word gets 501 where unknown commands get 500; and
// SIZE shows the limit go-smtp was given, one byte over ours (see New).
func replyRewrites(hostname string, maxBytes int64) []rewrite {
	rs := []rewrite{
		{from: []byte("250-Hello "), to: []byte("250-" + hostname + " Hello "), prefix: true},
		{from: []byte("250-PIPELINING\r\n"), to: []byte("250-PIPELINING\r\n250-" + xforwardKeyword + "\r\n")},
		{from: []byte("502 5.5.1 HELP command not implemented\r\n"),
			to: []byte("214 2.0.0 " + hostname + " LMTP (RFC 2033): LHLO XFORWARD MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT\r\n")},
		{from: []byte("501 5.5.2 Bad command\r\n"), to: []byte("500 5.5.2 Syntax error, command unrecognized\r\n")},
	}
	if maxBytes > 0 {
		have, want := strconv.FormatInt(maxBytes+1, 10), strconv.FormatInt(maxBytes, 10)
		for _, sep := range []string{"-", " "} {
			rs = append(rs, rewrite{from: []byte("250" + sep + "SIZE " + have + "\r\n"), to: []byte("250" + sep + "SIZE " + want + "\r\n")})
		}
	}
	return rs
}

// Close closes the connection once, however many parts of go-smtp and of
// the drain ask for it, and logs the connection's summary.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		_ = c.flush() // a QUIT's 221, a last error
		c.closeErr = c.Conn.Close()
		c.srv.release(c)
		helo, _ := c.helo.Load().(string)
		c.log.Info().Str("helo", helo).Int64("messages", c.messages.Load()).
			Dur("duration_ms", time.Since(c.start)).Msg("connection closed")
	})
	return c.closeErr
}

// hangUp tells an idle client the service is going away and closes.
func (c *conn) hangUp(text string) {
	c.lastWords(text)
	_ = c.Close()
}

// lastWords queues the line that tells the client why it is let go,
// after any replies held back, for Close to write.
func (c *conn) lastWords(text string) {
	c.wmu.Lock()
	c.wbuf = append(c.wbuf, text...)
	c.wmu.Unlock()
	_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
}

func remoteAddr(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil && a.String() != "" && a.String() != "@" {
		return a.String()
	}
	if a := nc.LocalAddr(); a != nil && a.Network() == "unix" {
		return "unix:" + a.String()
	}
	return "unix"
}

// admit wraps a new client, or turns it away when the server is full or
// draining.
func (s *Server) admit(nc net.Conn) (*conn, bool) {
	id := strconv.FormatUint(s.nextID.Add(1), 36)
	log := s.cfg.Logger.With().Str("cid", id).Str("remote_addr", remoteAddr(nc)).Logger()
	if !s.allows(nc.RemoteAddr()) {
		s.cfg.Metrics.connDenied()
		log.Warn().Msg("connection refused: client address not allowed")
		turnAway(nc, "554 5.7.1 "+s.cfg.Hostname+" Access denied, closing connection\r\n")
		return nil, false
	}
	s.mu.Lock()
	full := s.cfg.MaxConnections > 0 && len(s.conns) >= s.cfg.MaxConnections
	draining := s.draining
	if !full && !draining {
		c := &conn{Conn: nc, srv: s, id: id, start: time.Now(), log: log}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.cfg.Metrics.connOpened()
		log.Debug().Msg("connection opened")
		return c, true
	}
	s.mu.Unlock()

	msg := "421 4.4.5 " + s.cfg.Hostname + " Too many connections, try again later\r\n"
	if draining {
		msg = "421 4.3.2 " + s.cfg.Hostname + " Service shutting down, try again later\r\n"
	} else {
		s.cfg.Metrics.connRejected()
		log.Warn().Int("max_connections", s.cfg.MaxConnections).Msg("connection refused: too many connections")
	}
	turnAway(nc, msg)
	return nil, false
}

// turnAway writes the one reply a client not admitted gets, and closes.
func turnAway(nc net.Conn, reply string) {
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write([]byte(reply))
	_ = nc.Close()
}

func (s *Server) release(c *conn) {
	s.mu.Lock()
	_, ok := s.conns[c]
	delete(s.conns, c)
	s.mu.Unlock()
	if ok {
		s.cfg.Metrics.connClosed()
	}
}
