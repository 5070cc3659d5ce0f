// Package webhook delivers a received message over HTTP: it implements
// lmtp.Deliverer by POSTing the payload once per recipient, concurrently,
// to the recipient's webhook, signing each request, retrying transient
// failures within the budget, and mapping each HTTP answer to that
// recipient's LMTP reply. It also answers lmtp.Checker with CHECK_URL.
//
// One delivery reads top to bottom: Deliver (deliver.go) has the message
// encoded once by package payload, then for each recipient deliverOne
// picks the endpoint (routes.go), builds the body (body.go) and runs the
// attempts under the retry policy; each attempt is post (post.go), signed
// (sign.go), whose answer mapResponse (answer.go) turns into the reply.
//
// It knows HTTP and the LMTP reply values only: how a message becomes the
// JSON document is package payload's business, the document's types are
// package wire's, and the protocol is package lmtp's.
package webhook

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/retry"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
)

// Defaults for the zero values of Config and NewChecker.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxConns     = 64
	DefaultCheckTimeout = 5 * time.Second
)

// Config says where and how deliveries are made.
type Config struct {
	// URL receives every delivery without a route of its own. User
	// information in it becomes Basic authentication.
	URL string
	// Routes send some recipients elsewhere; the most specific match wins.
	Routes Routes
	// Secret is the decoded Standard Webhooks key; nil sends unsigned
	// requests.
	Secret []byte
	// Timeout bounds one attempt, connection to last byte of the answer;
	// zero means DefaultTimeout.
	Timeout time.Duration
	// Headers are added to every request.
	Headers map[string]string
	// Parse chooses what goes into the payload.
	Parse payload.Options
	// Retry is the policy for transient failures; its MaxElapsed budget
	// counts from the end of DATA.
	Retry retry.Policy
	// MaxConns caps the connections open to each webhook host; requests
	// beyond it wait for a free one. Zero means DefaultMaxConns.
	MaxConns int
	// Transport replaces the HTTP transport, for tests.
	Transport http.RoundTripper
	// Dial, when set, opens the built-in transport's connections in place
	// of a net.Dialer, MaxConns and timeouts still applying: tests count
	// the sockets the client holds with it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Metrics, when set, is updated with every delivery.
	Metrics *Metrics
	// Version goes into the User-Agent header; empty means "dev".
	Version string
}

// Client delivers messages to webhooks. It implements lmtp.Deliverer.
type Client struct {
	cfg       Config
	rt        http.RoundTripper
	workers   workers
	transport *http.Transport
	def       *endpoint
	userAgent string
}

var (
	_ lmtp.Deliverer    = (*Client)(nil)
	_ lmtp.MemoryCoster = (*Client)(nil)
)

// New checks cfg and builds a Client.
func New(cfg Config) (*Client, error) {
	def, err := parseEndpoint(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	c := &Client{cfg: cfg, def: def, workers: workers{tasks: make(chan func())}, userAgent: "lmtp-webhook/" + cfg.Version}
	rt := cfg.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxConnsPerHost = cfg.MaxConns
		t.MaxIdleConnsPerHost = cfg.MaxConns
		t.MaxIdleConns = 4 * cfg.MaxConns
		t.IdleConnTimeout = 90 * time.Second
		// A request of up to 32 KiB, headers and body, leaves in one
		// write rather than in pieces of the default 4 KiB.
		t.WriteBufferSize = 32 << 10
		t.Proxy = http.ProxyFromEnvironment
		if cfg.Dial != nil {
			t.DialContext = cfg.Dial
		}
		c.transport = t
		rt = t
	}
	c.rt = rt
	return c, nil
}

// workers runs deliveries on goroutines that wait a little for the next
// one when they are done: a delivery grows a deep stack (the HTTP
// client's), which a fresh goroutine would grow again, copy by copy. A
// delivery never waits for a worker: without an idle one, it gets a new
// goroutine.
type workers struct {
	tasks chan func() // unbuffered: a send succeeds only to an idle worker
}

// workerIdle is how long a worker waits for more work before it exits.
const workerIdle = time.Second

func (w *workers) run(f func()) {
	select {
	case w.tasks <- f:
	default:
		go w.loop(f)
	}
}

func (w *workers) loop(f func()) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		f()
		t.Reset(workerIdle)
		select {
		case f = <-w.tasks:
		case <-t.C:
			return
		}
	}
}

// Close releases idle connections.
func (c *Client) Close() {
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
}
