// Package spam asks an rspamd worker for a verdict on a received message,
// once per message, for the payload's "spam". It knows nothing about LMTP
// or the webhook: a scan that fails or runs out of time is an error for the
// caller to record, never a reason to defer or refuse mail.
package spam

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

const (
	// DefaultTimeout bounds one scan when Config.Timeout is zero. It is
	// longer than rspamd's own task_timeout (8s by default), so that
	// rspamd's answer for a slow scan arrives before the bridge gives up.
	DefaultTimeout = 10 * time.Second

	// MaxAnswerBytes bounds the answer read from rspamd. A verdict with
	// every symbol and its options is a few kilobytes; anything past this
	// is not an answer this package understands.
	MaxAnswerBytes = 1 << 20

	// checkPath is the normal worker's scan endpoint (rspamd protocol,
	// "Normal worker HTTP endpoints").
	checkPath = "checkv2"

	// defaultUserAgent names the client when Config.UserAgent is empty.
	// rspamd treats the value "rspamc" specially, so never use that.
	defaultUserAgent = "lmtp-webhook"
)

// Config is what a Client needs; zero values mean the defaults.
type Config struct {
	// URL is the base URL of an rspamd normal worker (SPAM_URL), such as
	// http://127.0.0.1:11333; scans go to its /checkv2. A path is kept as
	// a prefix, for an rspamd behind a reverse proxy.
	URL string
	// Timeout bounds one scan, from connecting to the end of the answer;
	// zero means DefaultTimeout.
	Timeout time.Duration
	// Password is sent as rspamd's Password header, which a controller
	// worker (port 11334) checks when it has a password set; a normal
	// worker ignores it. Empty: not sent.
	Password string
	// UserAgent is the User-Agent of scan requests; empty means
	// "lmtp-webhook".
	UserAgent string
	// MaxMessageBytes is the largest message sent for a scan; a larger
	// one gets no verdict (an *Error with ReasonTooLarge) without asking
	// rspamd. rspamd's time grows with the text it reads (about 0.8s for
	// 1 MiB of prose), so this bounds what a scan can cost. Zero: no
	// limit here (rspamd's own max_message, 50 MiB, still applies).
	MaxMessageBytes int64
	// HTTPClient makes the requests; nil means a client of this package's
	// own that uses no proxy from the environment and follows no redirect.
	HTTPClient *http.Client
	// Metrics records scans; nil records nothing.
	Metrics *Metrics
}

// Client scans messages with one rspamd. It is safe for concurrent use.
type Client struct {
	endpoint  string
	timeout   time.Duration
	maxBytes  int64
	password  string
	userAgent string
	http      *http.Client
	metrics   *Metrics
}

// New checks cfg and returns a Client for it. Its errors name the setting
// that is wrong, so they can be reported at start-up.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		return nil, errors.New("spam: URL is empty")
	case err != nil:
		return nil, fmt.Errorf("spam: URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("spam: URL %s: scheme must be http or https", u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("spam: URL %s: no host", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("spam: URL %s: a base URL has no query or fragment", u.Redacted())
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("spam: Timeout %s is negative", cfg.Timeout)
	case cfg.MaxMessageBytes < 0:
		return nil, fmt.Errorf("spam: MaxMessageBytes %d is negative", cfg.MaxMessageBytes)
	}
	c := &Client{
		endpoint:  u.JoinPath(checkPath).String(),
		timeout:   cmp.Or(cfg.Timeout, DefaultTimeout),
		maxBytes:  cfg.MaxMessageBytes,
		password:  cfg.Password,
		userAgent: cmp.Or(cfg.UserAgent, defaultUserAgent),
		http:      cfg.HTTPClient,
		metrics:   cfg.Metrics,
	}
	if c.http == nil {
		c.http = newHTTPClient()
	}
	return c, nil
}

// newHTTPClient is the client used when Config.HTTPClient is nil. The
// scanner is a local service: an HTTP_PROXY meant for the webhook must not
// catch it, and a redirect would resend the message elsewhere.
func newHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     60 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Input is one received message and what the MTA said about it. Only
// Message is required; what is unknown is left empty and not sent.
type Input struct {
	// Message is the message as received, headers and body.
	Message []byte
	// ClientIP is the original client's address (XFORWARD ADDR); the zero
	// Addr when the MTA did not say.
	ClientIP netip.Addr
	// Helo is the original client's HELO name (XFORWARD HELO).
	Helo string
	// Hostname is the original client's reverse name (XFORWARD NAME).
	// When it is empty and ClientIP is set, rspamd looks the name up
	// itself.
	Hostname string
	// QueueID is the MTA's queue id (XFORWARD IDENT); it appears in
	// rspamd's log, which helps to follow one message through both.
	QueueID string
	// From is MAIL FROM; empty for the null sender.
	From string
	// Recipients are the transaction's recipients.
	Recipients []string
}

// Check scans in's message once and returns rspamd's verdict. It returns
// within the Client's timeout, or sooner when ctx ends; on failure the
// error is an *Error, and there is no verdict. A nil Client (no SPAM_URL)
// scans nothing and returns nil, nil: the payload's spam is null.
func (c *Client) Check(ctx context.Context, in Input) (*wire.Spam, error) {
	if c == nil {
		return nil, nil
	}
	start := time.Now()
	v, reason, err := c.check(ctx, in)
	c.metrics.checked(v, reason, time.Since(start))
	if err != nil {
		return nil, &Error{Reason: reason, Err: err}
	}
	return v, nil
}

// Error is a scan that gave no verdict. Reason is a fixed word fit for the
// payload's errors entry and a metric label; Err is the cause, with
// addresses and details, for the log.
type Error struct {
	Reason string
	Err    error
}

// Error is the cause's message, which starts "spam: ".
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap gives the cause, for errors.Is (context.DeadlineExceeded).
func (e *Error) Unwrap() error { return e.Err }

// The reasons of an Error.
const (
	// ReasonTimeout: no answer within the timeout, or the caller's
	// context ended first.
	ReasonTimeout = "timeout"
	// ReasonUnreachable: no connection, or it broke.
	ReasonUnreachable = "unreachable"
	// ReasonAnswer: an answer that is not a verdict (an error status,
	// not JSON, no score or action, too long).
	ReasonAnswer = "answer"
	// ReasonTooLarge: the message is over Config.MaxMessageBytes and was
	// not sent.
	ReasonTooLarge = "too_large"
)

// check does Check's work and says, on failure, which kind it was.
func (c *Client) check(parent context.Context, in Input) (*wire.Spam, string, error) {
	if c.maxBytes > 0 && int64(len(in.Message)) > c.maxBytes {
		return nil, ReasonTooLarge, fmt.Errorf("spam: message of %d bytes is over the %d-byte limit: not scanned", len(in.Message), c.maxBytes)
	}
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(in.Message))
	if err != nil {
		return nil, ReasonUnreachable, fmt.Errorf("spam: build request: %w", err)
	}
	c.setHeaders(req.Header, in)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportReason(err), c.failed(parent, "scan", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		return nil, transportReason(err), c.failed(parent, "read answer", err)
	}
	if len(body) > MaxAnswerBytes {
		return nil, ReasonAnswer, fmt.Errorf("spam: answer longer than %d bytes", MaxAnswerBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, ReasonAnswer, fmt.Errorf("spam: rspamd answered %q%s", resp.Status, errorText(body))
	}
	v, err := decode(body)
	if err != nil {
		return nil, ReasonAnswer, err
	}
	return v, "", nil
}

// failed wraps a failure to get an answer, saying so plainly when it is
// the Client's own timeout that ran out rather than the caller's context.
func (c *Client) failed(parent context.Context, doing string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil {
		return fmt.Errorf("spam: %s: no answer within %s: %w", doing, c.timeout, err)
	}
	return fmt.Errorf("spam: %s: %w", doing, err)
}

// transportReason classes a failure to get an answer; the caller's context
// ending counts as a timeout.
func transportReason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ReasonTimeout
	}
	return ReasonUnreachable
}

// setHeaders adds rspamd's protocol headers for what in knows. A value an
// HTTP header cannot carry (a control byte in a HELO name) is left out
// rather than failing the scan.
func (c *Client) setHeaders(h http.Header, in Input) {
	if in.ClientIP.IsValid() {
		h.Set("IP", in.ClientIP.Unmap().WithZone("").String())
	}
	add(h, "Helo", in.Helo)
	add(h, "Hostname", in.Hostname)
	add(h, "Queue-Id", in.QueueID)
	from := in.From
	if from == "" {
		from = "<>" // the null sender, as rspamd reads SMTP addresses
	}
	add(h, "From", from)
	for _, rcpt := range in.Recipients {
		add(h, "Rcpt", rcpt)
	}
	add(h, "Password", c.password)
	h.Set("User-Agent", c.userAgent)
}

// add adds a header value when it is not empty and a header can carry it.
func add(h http.Header, name, value string) {
	if value == "" {
		return
	}
	for i := 0; i < len(value); i++ {
		if b := value[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return
		}
	}
	h.Add(name, value)
}

// answer is the part of rspamd's /checkv2 reply that the verdict uses
// (rspamd protocol, "Rspamd HTTP reply").
type answer struct {
	Score         *float64            `json:"score"`
	RequiredScore float64             `json:"required_score"`
	Action        string              `json:"action"`
	Symbols       map[string]struct{} `json:"symbols"`
}

// decode turns a /checkv2 reply into a verdict.
func decode(body []byte) (*wire.Spam, error) {
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("spam: decode answer: %w", err)
	}
	if a.Score == nil || a.Action == "" {
		return nil, errors.New("spam: answer has no score or action")
	}
	symbols := slices.Sorted(maps.Keys(a.Symbols))
	if symbols == nil {
		symbols = []string{}
	}
	return &wire.Spam{
		Score:         *a.Score,
		RequiredScore: a.RequiredScore,
		Action:        a.Action,
		Symbols:       symbols,
	}, nil
}

// maxErrorText bounds the reason quoted from an error answer.
const maxErrorText = 200

// errorText is ": reason" from rspamd's {"error": "reason"} answer, quoted
// and bounded, or "" when the body does not say.
func errorText(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return ""
	}
	if len(e.Error) > maxErrorText {
		e.Error = e.Error[:maxErrorText]
	}
	return fmt.Sprintf(": %q", e.Error)
}

// Reject reports whether verdict v refuses the message at threshold
// (SPAM_REJECT_SCORE): its score is at or above it. A nil verdict (no
// scanner, or a scan that failed) never refuses, so no mail bounces
// because the scanner misbehaved.
func Reject(v *wire.Spam, threshold float64) bool {
	return v != nil && v.Score >= threshold
}
