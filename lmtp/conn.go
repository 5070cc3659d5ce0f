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

	// sizeFix holds the SIZE capability as go-smtp writes it and as it
	// should read.
	sizeFix [2][]byte

	closeOnce sync.Once
	closeErr  error
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	limit := int64(c.srv.cfg.MaxLineLength)
	if c.inData.Load() {
		limit = c.srv.cfg.MaxMessageBytes
	}
	if limit <= 0 {
		return n, err
	}
	for _, ch := range b[:n] {
		if ch == '\n' {
			c.lineLen = 0
			continue
		}
		c.lineLen++
		if c.lineLen > limit {
			c.log.Warn().Int64("limit", limit).Msg("line too long, closing connection")
			return 0, smtp.ErrTooLongLine
		}
	}
	return n, err
}

// Write passes replies through, correcting the SIZE capability of the
// LHLO reply to the configured limit (see New).
func (c *conn) Write(b []byte) (int, error) {
	if c.sizeFix[0] != nil && bytes.HasPrefix(b, []byte("250")) {
		if i := bytes.Index(b, c.sizeFix[0]); i >= 0 {
			fixed := make([]byte, 0, len(b))
			fixed = append(append(append(fixed, b[:i]...), c.sizeFix[1]...), b[i+len(c.sizeFix[0]):]...)
			if _, err := c.Conn.Write(fixed); err != nil {
				return 0, err
			}
			return len(b), nil
		}
	}
	return c.Conn.Write(b)
}

// Close closes the connection once, however many parts of go-smtp and of
// the drain ask for it, and logs the connection's summary.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
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
	_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Conn.Write([]byte(text))
	_ = c.Close()
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
	s.mu.Lock()
	full := s.cfg.MaxConnections > 0 && len(s.conns) >= s.cfg.MaxConnections
	draining := s.draining
	if !full && !draining {
		c := &conn{Conn: nc, srv: s, id: id, start: time.Now(), log: log}
		if max := s.cfg.MaxMessageBytes; max > 0 {
			c.sizeFix = [2][]byte{
				[]byte("SIZE " + strconv.FormatInt(max+1, 10) + "\r\n"),
				[]byte("SIZE " + strconv.FormatInt(max, 10) + "\r\n"),
			}
		}
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
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write([]byte(msg))
	_ = nc.Close()
	return nil, false
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
