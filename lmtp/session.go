package lmtp

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/memory"
)

var (
	errShuttingDown = Reply(C421ServiceUnavail, SeSys3NotAccepting2, "Service shutting down, try again later")
	errDomain       = Reply(C550MailboxUnavail, SeAddr1UnknownSystem2, "Recipient domain not served here")
	errReadData     = Reply(C451LocalErr, SeNet4BadConn2, "Error reading message data")
	errClosed       = Reply(C421ServiceUnavail, SeNet4BadConn2, "Connection closed")
)

// session is one client's LMTP session; go-smtp calls it from a single
// goroutine at a time.
type session struct {
	srv  *Server
	conn *conn
	helo string
	log  zerolog.Logger

	from     string
	sizeHint int64
	rcpts    []string       // unique, in order
	counts   map[string]int // RCPT commands per address

	// data is held while LMTPData runs: under BDAT, go-smtp runs it
	// beside the commands, and resets the session when a chunk fails or
	// the client sends RSET, while LMTPData may still be reading.
	data sync.Mutex
}

var _ smtp.LMTPSession = (*session)(nil)

// Reset ends the transaction: after the replies to a message, at RSET
// and at a new LHLO.
func (s *session) Reset() {
	s.data.Lock()
	defer s.data.Unlock()
	s.from, s.sizeHint = "", 0
	s.rcpts, s.counts = nil, nil
	s.conn.endData()
	s.conn.forgetClient()
	s.conn.busy.Store(false)
}

// Logout has nothing to free: the connection logs its own end.
func (s *session) Logout() error { return nil }

// Mail starts a transaction, unless draining, the SIZE declared is over
// the limit, or the check refuses the sender.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if s.conn.closed.Load() {
		return errClosed // a partial line go-smtp read after a timeout
	}
	if s.srv.isDraining() {
		return errShuttingDown
	}
	if opts != nil && s.srv.cfg.MaxMessageBytes > 0 && opts.Size > s.srv.cfg.MaxMessageBytes {
		return smtp.ErrDataTooLarge
	}
	if c := s.srv.cfg.Checker; c != nil {
		if r := c.Check(s.ctx(), CheckRequest{Stage: "mail", From: from, Helo: s.helo, RemoteAddr: s.conn.remote()}); r != nil {
			s.log.Info().Str("from", from).Int("code", r.Code).Msg("sender refused by check")
			return r
		}
	}
	s.conn.busy.Store(true)
	s.from = from
	if opts != nil {
		s.sizeHint = opts.Size
	}
	return nil
}

// Rcpt accepts a recipient of a served domain that the check does not
// refuse; a repeated one is delivered once and answered as often as it
// was given.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.conn.closed.Load() {
		return errClosed
	}
	if !s.srv.acceptsDomain(to) {
		s.log.Info().Str("rcpt", to).Msg("recipient refused: domain not served")
		return errDomain
	}
	if s.counts[to] > 0 {
		s.counts[to]++
		return nil
	}
	if c := s.srv.cfg.Checker; c != nil {
		req := CheckRequest{Stage: "rcpt", From: s.from, To: to, Helo: s.helo, RemoteAddr: s.conn.remote()}
		if r := c.Check(s.ctx(), req); r != nil {
			s.log.Info().Str("rcpt", to).Int("code", r.Code).Msg("recipient refused by check")
			return r
		}
	}
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	s.counts[to] = 1
	s.rcpts = append(s.rcpts, to)
	return nil
}

// Data is only used outside LMTP mode, which this server never runs in.
func (s *session) Data(r io.Reader) error {
	return Reply(C502CmdNotImpl, SeProto5BadCmdOrSeq1, "Use LMTP")
}

// LMTPData reads the message, hands it to the Deliverer and reports each
// recipient's reply as soon as it is known; go-smtp writes the replies in
// RCPT order.
func (s *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	s.data.Lock()
	defer s.data.Unlock()
	s.conn.inData.Store(true)
	if d := s.conn.openDot(s.srv.cfg.MaxMessageBytes); d != nil {
		r = d // go-smtp's own reader mistakes the end of data (see dotReader)
	}
	start := time.Now()
	hold := s.srv.cfg.Budget.Hold()
	defer hold.Release()
	data, err := s.readData(r, newMeter(s.ctx(), hold, s.srv.cfg.Deliverer))
	if errors.Is(err, memory.ErrNoRoom) {
		_, _ = io.Copy(io.Discard, r) // the whole message is read before the replies
		s.log.Warn().Str("from", s.from).Int("rcpts", len(s.rcpts)).Int64("memory_limit", s.srv.cfg.Budget.Limit()).
			Int64("memory_held", s.srv.cfg.Budget.Held()).Msg("message deferred: memory budget exhausted")
		s.srv.cfg.Metrics.noMemory()
		return errNoMemory
	}
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			s.log.Warn().Str("from", s.from).Int("rcpts", len(s.rcpts)).Int64("limit", s.srv.cfg.MaxMessageBytes).
				Msg("message refused: too large")
			return se
		}
		s.log.Warn().Err(err).Str("from", s.from).Msg("message data not received")
		return errReadData
	}
	receivedAt := time.Now()
	s.conn.messageReceived()
	s.conn.messages.Add(1)
	s.srv.cfg.Metrics.received(len(data))

	msg := &Message{
		Envelope: Envelope{
			From:       s.from,
			Recipients: s.rcpts,
			Helo:       s.helo,
			RemoteAddr: s.conn.remote(),
			Client:     s.conn.takeClient(),
		},
		Data:       data,
		ReceivedAt: receivedAt,
		Memory:     hold,
	}
	var tally [6]atomic.Int64 // replies by class; report runs concurrently
	ctx := s.ctx()
	s.srv.cfg.Deliverer.Deliver(ctx, msg, func(i int, reply *smtp.SMTPError) {
		s.srv.cfg.Metrics.replied(time.Since(receivedAt))
		rcpt := s.rcpts[i]
		var err error
		if reply != nil {
			err = reply
			if c := reply.Code / 100; c >= 0 && c < len(tally) {
				tally[c].Add(1)
			}
		} else {
			tally[2].Add(1)
		}
		s.conn.repliesReady.Add(int64(s.counts[rcpt]))
		for range s.counts[rcpt] {
			status.SetStatus(rcpt, err)
		}
	})
	ev := s.log.Info()
	if cl := msg.Client; cl != nil && cl.IP.IsValid() {
		ev = ev.Str("client_ip", cl.IP.String()) // the original client, from XFORWARD
	}
	ev.Str("from", s.from).Int("rcpts", len(s.rcpts)).Int("size", len(data)).
		Int64("delivered", tally[2].Load()).Int64("deferred", tally[4].Load()).Int64("rejected", tally[5].Load()).
		Dur("read_ms", receivedAt.Sub(start)).Dur("duration_ms", time.Since(receivedAt)).Msg("message")
	if len(data) >= memory.Large {
		// Nothing refers to the message or what was made from it any
		// more: hand the memory back rather than keep it until the heap
		// next doubles.
		memory.Release()
	}
	return nil
}

// readData reads the whole message: it is parsed and signed as a whole,
// and bounded by MaxMessageBytes. It is held once, in a slice of about
// its size (see readMessage), charged to the memory budget by m as it
// grows.
func (s *session) readData(r io.Reader, m *meter) ([]byte, error) {
	limit := s.srv.cfg.MaxMessageBytes
	hint := s.sizeHint
	if limit > 0 && hint > limit {
		hint = limit
	}
	data, err := readMessage(r, hint, limit, m.charge)
	if err == nil && limit > 0 && int64(len(data)) > limit {
		err = smtp.ErrDataTooLarge
	}
	if err == nil {
		m.settle(data)
	}
	return data, err
}

// ctx is the context of the session's work: it carries the connection's
// logger and ends only when a drain runs out of time.
func (s *session) ctx() context.Context {
	return s.log.WithContext(s.srv.deliverCtx)
}

func (c *conn) remote() string {
	return remoteAddr(c.Conn)
}

func domainOf(addr string) string {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		return strings.ToLower(addr[at+1:])
	}
	return ""
}
