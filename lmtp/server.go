package lmtp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/memory"
)

// Config holds the server's limits and collaborators. Zero limits mean no
// limit, except where a field says otherwise.
type Config struct {
	// Listen is "host:port" or "unix:/path/to.sock".
	Listen string
	// SocketMode is the permission of a Unix socket; zero means
	// DefaultSocketMode.
	SocketMode fs.FileMode
	// Hostname is announced in the greeting.
	Hostname string
	// Domains lists the recipient domains accepted; empty or "*" accepts
	// any. Others get 550 5.1.2 at RCPT.
	Domains []string
	// MaxMessageBytes is advertised with SIZE; larger messages get
	// 552 5.3.4, whatever SIZE the client declared.
	MaxMessageBytes int64
	// MaxRecipients per transaction; more get 452 4.5.3.
	MaxRecipients int
	// MaxConnections open at once; more get 421 4.4.5 at connect.
	MaxConnections int
	// MaxLineLength bounds a command line, CRLF excluded; a longer one
	// gets 500 5.4.0 and the connection is closed. Zero means 2000.
	// Message lines are bounded only by MaxMessageBytes.
	MaxLineLength int
	// ReadTimeout bounds each wait for the client, whatever the state of
	// the session: a command line must be whole within it (one trickled
	// in byte by byte is cut off like a silent client), and message data
	// may pause for no longer. Past it the client gets 421 4.4.2 and the
	// connection is closed. Zero means no timeout. WriteTimeout bounds
	// each reply.
	ReadTimeout, WriteTimeout time.Duration
	// MinDataRate, in bytes per second, is the slowest message data (DATA
	// or BDAT) may arrive at on average: n bytes are due ReadTimeout +
	// n/MinDataRate after the data began, or the client gets 421 4.4.2
	// and the connection is closed. Zero means DefaultMinDataRate (1 KiB
	// per second); negative means no floor. It applies only with a
	// ReadTimeout.
	MinDataRate int64
	// MaxJunkCommands bounds the NOOP, RSET, VRFY, HELP, EXPN, XFORWARD and
	// unknown commands a client may send, and MaxFailedCommands the commands
	// answered with 4xx or 5xx (replies to a message's recipients aside),
	// between two messages received in full. Past either, the command is
	// answered 421 4.7.0 and the connection is closed. Zero means
	// DefaultMaxJunkCommands and DefaultMaxFailedCommands; negative means
	// no limit.
	MaxJunkCommands, MaxFailedCommands int
	// Allow lists the client networks that may connect over TCP; others
	// get 554 5.7.1 at the greeting and are closed. Empty allows any. It
	// does not apply to a Unix socket, whose file mode decides.
	Allow []netip.Prefix
	// Budget, when set, bounds the memory messages in flight hold: a
	// message is charged for its bytes as they arrive and, when the
	// Deliverer is a MemoryCoster, for what delivering them costs. One
	// that does not fit within the budget's wait gets 451 4.3.1 for every
	// recipient; it is held until its transaction ends.
	Budget *memory.Budget

	// Deliverer receives every message.
	Deliverer Deliverer
	// Checker, when set, decides at MAIL and RCPT.
	Checker Checker
	// Logger receives one line per connection and per message.
	Logger zerolog.Logger
	// Metrics, when set, is updated as clients come and go.
	Metrics *Metrics
}

// Server is an LMTP server that hands messages to a Deliverer.
type Server struct {
	cfg     Config
	smtp    *smtp.Server
	domains map[string]bool // nil accepts any

	nextID atomic.Uint64

	rewrites []rewrite

	mu       sync.Mutex
	conns    map[*conn]struct{}
	draining bool

	// deliverCtx outlives clients that vanish and ends only when a drain
	// runs out of time.
	deliverCtx       context.Context
	cancelDeliveries context.CancelFunc
}

// New checks cfg and builds a Server; Listen and Serve start it.
func New(cfg Config) (*Server, error) {
	if cfg.Deliverer == nil {
		return nil, errors.New("lmtp: no Deliverer")
	}
	if cfg.MaxLineLength == 0 {
		cfg.MaxLineLength = 2000
	}
	if cfg.SocketMode == 0 {
		cfg.SocketMode = DefaultSocketMode
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	if cfg.MinDataRate == 0 {
		cfg.MinDataRate = DefaultMinDataRate
	}
	if cfg.MaxJunkCommands == 0 {
		cfg.MaxJunkCommands = DefaultMaxJunkCommands
	}
	if cfg.MaxFailedCommands == 0 {
		cfg.MaxFailedCommands = DefaultMaxFailedCommands
	}
	allow, err := checkAllow(cfg.Allow)
	if err != nil {
		return nil, err
	}
	cfg.Allow = allow
	s := &Server{cfg: cfg, conns: map[*conn]struct{}{}, rewrites: replyRewrites(cfg.Hostname, cfg.MaxMessageBytes)}
	for _, d := range cfg.Domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "*" {
			s.domains = nil
			break
		}
		if d == "" {
			continue
		}
		if s.domains == nil {
			s.domains = map[string]bool{}
		}
		s.domains[d] = true
	}
	s.deliverCtx, s.cancelDeliveries = context.WithCancel(context.Background())

	be := smtp.BackendFunc(s.newSession)
	srv := smtp.NewServer(be)
	srv.LMTP = true
	srv.Domain = cfg.Hostname
	if cfg.MaxMessageBytes > 0 {
		// go-smtp refuses a message of exactly its limit (it counts the
		// final dot before seeing it), so it gets one byte more and the
		// exact limit is kept by Mail, readData and the SIZE rewrite.
		srv.MaxMessageBytes = cfg.MaxMessageBytes + 1
	}
	srv.MaxRecipients = cfg.MaxRecipients
	srv.MaxLineLength = 0 // enforced by conn, which knows commands from data
	srv.ReadTimeout = 0   // enforced by conn, in every state (see readRaw)
	srv.WriteTimeout = cfg.WriteTimeout
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = smtpLogger{cfg.Logger}
	s.smtp = srv
	return s, nil
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	lc, ok := c.Conn().(*conn)
	if !ok {
		return nil, errors.New("lmtp: connection not admitted by this server")
	}
	lc.helo.Store(c.Hostname())
	return &session{srv: s, conn: lc, helo: c.Hostname(), log: lc.log}, nil
}

// Listen opens the configured address. A Unix socket gets SocketMode; a
// stale socket file left by a crash is removed, a live one is an error.
func (s *Server) Listen() (net.Listener, error) {
	path, unix := strings.CutPrefix(s.cfg.Listen, "unix:")
	if !unix {
		l, err := net.Listen("tcp", s.cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("lmtp: listen: %w", err)
		}
		return l, nil
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("lmtp: listen: %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("lmtp: listen: %s is in use by another process", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("lmtp: remove stale socket: %w", err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("lmtp: listen: %w", err)
	}
	if err := os.Chmod(path, s.cfg.SocketMode); err != nil {
		l.Close()
		return nil, fmt.Errorf("lmtp: chmod socket: %w", err)
	}
	return l, nil
}

// Serve accepts clients on l until Shutdown; it then returns nil.
func (s *Server) Serve(l net.Listener) error {
	s.cfg.Logger.Info().Str("addr", l.Addr().String()).Msg("lmtp listening")
	return s.smtp.Serve(&listener{Listener: l, srv: s})
}

// Shutdown drains the server: it stops accepting, closes idle clients,
// lets transactions under way finish until ctx ends, then gives up the
// deliveries still running (their recipients get 451 4.3.2, so the MTA
// keeps the message) and closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		_ = s.smtp.Shutdown(context.Background())
		close(done)
	}()
	defer s.cancelDeliveries()

	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.closeIdle()
		select {
		case <-done:
			return nil
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		break
	}

	// Out of time: deliveries still running answer 4xx; give them a moment
	// to write those replies, then hang up on everyone.
	s.cancelDeliveries()
	grace := time.NewTimer(2 * time.Second)
	defer grace.Stop()
	for {
		s.closeIdle()
		select {
		case <-done:
			return ctx.Err()
		case <-tick.C:
			continue
		case <-grace.C:
		}
		break
	}
	s.mu.Lock()
	for c := range s.conns {
		go c.Close()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

// Draining reports whether Shutdown has begun; readiness checks use it.
func (s *Server) Draining() bool { return s.isDraining() }

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

func (s *Server) closeIdle() {
	s.mu.Lock()
	var idle []*conn
	for c := range s.conns {
		if !c.busy.Load() {
			idle = append(idle, c)
		}
	}
	s.mu.Unlock()
	for _, c := range idle {
		c.hangUp("421 4.3.2 " + s.cfg.Hostname + " Service shutting down, try again later\r\n")
	}
}

func (s *Server) acceptsDomain(rcpt string) bool {
	return s.domains == nil || s.domains[domainOf(rcpt)]
}

// smtpLogger passes go-smtp's own reports (a client that reset the
// connection, a recovered panic) to zerolog.
type smtpLogger struct{ log zerolog.Logger }

// Printf logs one of go-smtp's reports as a warning.
func (l smtpLogger) Printf(format string, v ...any) {
	l.log.Warn().Str("component", "go-smtp").Msg(strings.TrimSpace(fmt.Sprintf(format, v...)))
}

// Println logs one of go-smtp's reports as a warning.
func (l smtpLogger) Println(v ...any) {
	l.log.Warn().Str("component", "go-smtp").Msg(strings.TrimSpace(fmt.Sprintln(v...)))
}
