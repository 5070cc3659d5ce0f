// Package webhook turns a received message into JSON and POSTs it, once
// per recipient and concurrently, to the operator's webhook, mapping each
// HTTP answer to that recipient's LMTP reply.
//
// The message is parsed and encoded once; each recipient's body is a small
// prefix (its id and address) followed by the shared bytes, streamed
// without copying them (a small body is sent from one copy, in one write).
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/retry"
)

// Version goes into the User-Agent header.
var Version = "dev"

func userAgent() string { return "lmtp-webhook/" + Version }

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
	// Timeout bounds one attempt, connection to last byte of the answer.
	Timeout time.Duration
	// Headers are added to every request.
	Headers map[string]string
	// Parse chooses what goes into the payload.
	Parse ParseOptions
	// Retry is the policy for transient failures; its MaxElapsed budget
	// counts from the end of DATA.
	Retry retry.Policy
	// MaxConns caps the connections open to each webhook host; requests
	// beyond it wait for a free one. Zero means 64.
	MaxConns int
	// Transport replaces the HTTP transport, for tests.
	Transport http.RoundTripper
	// Metrics, when set, is updated with every delivery.
	Metrics *Metrics
}

// Client delivers messages to webhooks. It implements lmtp.Deliverer.
type Client struct {
	cfg       Config
	rt        http.RoundTripper
	workers   workers
	transport *http.Transport
	def       *endpoint
}

// endpoint is one destination URL, parsed once.
type endpoint struct {
	url        string // without user information
	redacted   string // safe for logs
	user, pass string
	basic      bool
}

var _ lmtp.Deliverer = (*Client)(nil)

var errTooManyRedirects = fmt.Errorf("webhook: more than %d redirects", maxRedirects)

// New checks cfg and builds a Client.
func New(cfg Config) (*Client, error) {
	def, err := parseEndpoint(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 64
	}
	c := &Client{cfg: cfg, def: def, workers: workers{tasks: make(chan func())}}
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

// maxRedirects is how many 307 or 308 redirects a request follows.
const maxRedirects = 3

// send makes a request, following 307 and 308 redirects (which keep the
// method and body) at most maxRedirects times. Other redirects are
// answers: 301, 302 and 303 would turn a POST into a GET. It uses the
// transport directly, as http.Client would for this policy, without the
// header copy and bookkeeping the client makes for every request.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	for hops := 0; ; hops++ {
		resp, err := c.rt.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusTemporaryRedirect && resp.StatusCode != http.StatusPermanentRedirect {
			return resp, nil
		}
		next, err := req.URL.Parse(resp.Header.Get("Location"))
		if err != nil || resp.Header.Get("Location") == "" || (next.Scheme != "http" && next.Scheme != "https") || req.GetBody == nil {
			return resp, nil // answered as a redirect that cannot be followed
		}
		_, _ = io.CopyN(io.Discard, resp.Body, maxAnswerBytes)
		resp.Body.Close()
		if hops == maxRedirects {
			return nil, errTooManyRedirects
		}
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r := req.Clone(req.Context())
		r.URL, r.Host, r.Body = next, "", body
		if next.Host != req.URL.Host {
			// Credentials are for the configured host only.
			r.Header.Del("Authorization")
		}
		req = r
	}
}

func parseEndpoint(raw string) (*endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q: no host", u.Redacted())
	}
	e := &endpoint{redacted: u.Redacted()}
	if u.User != nil {
		e.basic = true
		e.user = u.User.Username()
		e.pass, _ = u.User.Password()
		u.User = nil
	}
	e.url = u.String()
	if e.basic {
		e.redacted = u.String()
	}
	return e, nil
}

// Close releases idle connections.
func (c *Client) Close() {
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
}

// Deliver parses msg once, then posts it to every recipient concurrently.
// It implements lmtp.Deliverer: each recipient is reported as soon as its
// webhook has answered or its budget is spent.
func (c *Client) Deliver(ctx context.Context, msg *lmtp.Message, report func(int, *smtp.SMTPError)) {
	log := zerolog.Ctx(ctx)
	start := time.Now()
	enc, err := encode(msg, c.cfg.Parse)
	if err != nil {
		// Encoding plain Go values cannot fail; if it does, defer the
		// message rather than lose it.
		log.Error().Err(err).Msg("encode payload")
		for i := range msg.Recipients {
			report(i, reply(451, 4, 3, 0, "could not encode message"))
		}
		return
	}
	if n := len(enc.msg.Errors); n > 0 {
		ev := log.Warn().Int("parse_errors", n).Str("first_error", enc.msg.Errors[0].Name)
		ev.Bool("raw", enc.msg.Raw != nil).Str("message_id", enc.msg.MessageID).Msg("message has MIME problems")
	}
	c.cfg.Metrics.parsed(time.Since(start))

	budget := ctx
	if c.cfg.Retry.MaxElapsed > 0 {
		var cancel context.CancelFunc
		budget, cancel = context.WithDeadline(ctx, msg.ReceivedAt.Add(c.cfg.Retry.MaxElapsed))
		defer cancel()
	}
	policy := c.cfg.Retry
	policy.MaxElapsed = 0 // the deadline above already counts from end of DATA

	// The first recipient is delivered on this goroutine, the others on
	// their own: a message to one recipient starts no goroutine.
	var wg sync.WaitGroup
	for i, rcpt := range msg.Recipients[min(1, len(msg.Recipients)):] {
		wg.Add(1)
		c.workers.run(func() {
			defer wg.Done()
			report(i+1, c.deliverOne(ctx, budget, policy, enc, rcpt))
		})
	}
	if len(msg.Recipients) > 0 {
		report(0, c.deliverOne(ctx, budget, policy, enc, msg.Recipients[0]))
	}
	wg.Wait()
}

// deliverOne posts one recipient's payload, retrying transient failures
// within the budget, and returns its reply.
func (c *Client) deliverOne(ctx, budget context.Context, policy retry.Policy, enc *encoded, rcpt string) *smtp.SMTPError {
	start := time.Now()
	ep := c.endpointFor(rcpt)
	id := deliveryID(enc.sum, rcpt)
	prefix := enc.prefix(id, rcpt)
	body := newBody(prefix, enc.shared)
	c.cfg.Metrics.inflight(1)
	defer c.cfg.Metrics.inflight(-1)

	var last outcome
	attempts, _ := policy.Do(budget, func(actx context.Context, attempt int) error {
		last = c.attempt(actx, ep, id, body, prefix, enc.shared)
		c.cfg.Metrics.attempt(last)
		if last.retry {
			return retry.Temporary(errors.New(last.reply.Message), last.after)
		}
		return nil
	})
	r := last.reply
	if last.retry && ctx.Err() != nil {
		// Shutting down: the MTA keeps the message and comes back.
		r = reply(451, 4, 3, 2, "service shutting down, try again later")
	}

	log := zerolog.Ctx(ctx)
	ev := log.Info()
	switch {
	case last.invalid != "":
		ev = log.Error().Str("problem", last.invalid)
	case r.Code/100 != 2:
		ev = log.Warn()
	}
	if last.err != nil {
		ev = ev.AnErr("error", last.err)
	}
	ev.Str("rcpt", rcpt).Str("id", id).Str("url", ep.redacted).
		Int("status", last.status).Int("attempts", attempts).
		Dur("duration_ms", time.Since(start)).
		Int("code", r.Code).Str("enhanced_code", enhanced(r.EnhancedCode)).
		Str("reason", r.Message).Msg("delivery")
	c.cfg.Metrics.delivered(r.Code, attempts)
	return r
}

// smallBody is the largest body sent from one contiguous copy. net/http
// writes the headers and a body it knows to be in memory (a
// *bytes.Reader) in one write, where any other reader costs a second
// one; with a 32 KiB write buffer a body up to this size leaves in a
// single packet train. Larger bodies are streamed, without a copy.
const smallBody = 28 << 10

// newBody returns a maker of one recipient's request body, the prefix
// followed by the shared bytes, for each attempt and redirect.
func newBody(prefix, shared []byte) func() io.ReadCloser {
	if n := len(prefix) + len(shared); n <= smallBody {
		whole := append(append(make([]byte, 0, n), prefix...), shared...)
		return func() io.ReadCloser { return io.NopCloser(bytes.NewReader(whole)) }
	}
	return func() io.ReadCloser { return &bodyReader{prefix: prefix, shared: shared} }
}

// attempt makes one delivery POST and maps its answer.
func (c *Client) attempt(ctx context.Context, ep *endpoint, id string, body func() io.ReadCloser, prefix, shared []byte) outcome {
	start := time.Now()
	o := c.post(ctx, ep, c.cfg.Timeout, id, body, prefix, shared)
	c.cfg.Metrics.request(time.Since(start))
	return o
}

// post sends one signed POST to ep within timeout and maps its answer.
// The body is made by body, for each redirect too; pieces are its bytes,
// in order, for the signature.
func (c *Client) post(ctx context.Context, ep *endpoint, timeout time.Duration, id string, body func() io.ReadCloser, pieces ...[]byte) outcome {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, body())
	if err != nil {
		return outcome{reply: reply(451, 4, 3, 0, "bad webhook request"), invalid: err.Error(), err: err}
	}
	n := 0
	for _, p := range pieces {
		n += len(p)
	}
	req.ContentLength = int64(n)
	req.GetBody = func() (io.ReadCloser, error) { return body(), nil }
	h := req.Header
	for k, v := range c.cfg.Headers {
		h.Set(k, v)
	}
	// Keys in canonical form, assigned directly: Set would canonicalize
	// each one again on every request.
	h["Content-Type"] = []string{"application/json"}
	h["User-Agent"] = []string{userAgent()}
	h["Webhook-Id"] = []string{id}
	ts := time.Now()
	h["Webhook-Timestamp"] = []string{strconv.FormatInt(ts.Unix(), 10)}
	if c.cfg.Secret != nil {
		h["Webhook-Signature"] = []string{signer{key: c.cfg.Secret}.sign(id, ts, pieces...)}
	}
	if ep.basic {
		req.SetBasicAuth(ep.user, ep.pass)
	}

	resp, err := c.send(req)
	if err != nil {
		o := mapError(err)
		o.err = fmt.Errorf("webhook: post %s: %w", ep.redacted, err)
		return o
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err == nil {
		// Read a little past the limit so that a small overrun still lets
		// the connection be reused; a flood is cut off by Close.
		_, _ = io.CopyN(io.Discard, resp.Body, 4*maxAnswerBytes)
	}
	resp.Body.Close()
	if err != nil {
		// The answer broke off: whatever the status said, the outcome is
		// uncertain, so try again.
		o := mapError(err)
		o.status, o.err = resp.StatusCode, fmt.Errorf("webhook: read answer from %s: %w", ep.redacted, err)
		return o
	}
	o := mapResponse(resp.StatusCode, resp.Header, answer, time.Now())
	o.status = resp.StatusCode
	return o
}

// bodyReader streams one recipient's body, its prefix then the shared
// bytes, without copying either.
type bodyReader struct {
	prefix, shared []byte
}

// Read copies from the prefix, then from the shared bytes.
func (b *bodyReader) Read(p []byte) (int, error) {
	n := copy(p, b.prefix)
	b.prefix = b.prefix[n:]
	m := copy(p[n:], b.shared)
	b.shared = b.shared[m:]
	if n+m == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n + m, nil
}

// Close does nothing: the bytes belong to the message.
func (b *bodyReader) Close() error { return nil }

func (c *Client) endpointFor(rcpt string) *endpoint {
	if ep := c.cfg.Routes.match(rcpt); ep != nil {
		return ep
	}
	return c.def
}

func enhanced(ec smtp.EnhancedCode) string {
	if ec == smtp.NoEnhancedCode || ec == smtp.EnhancedCodeNotSet {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
}
