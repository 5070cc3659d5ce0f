package webhook

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
)

// post sends one signed POST of b, as request id, to ep within timeout
// and maps its answer.
func (c *Client) post(ctx context.Context, ep *endpoint, timeout time.Duration, id string, b body) outcome {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, b.reader())
	if err != nil {
		return outcome{reply: lmtp.Reply(lmtp.C451LocalErr, lmtp.SeSys3Other0, "bad webhook request"), invalid: err.Error(), err: err}
	}
	req.ContentLength = b.len()
	req.GetBody = func() (io.ReadCloser, error) { return b.reader(), nil }
	h := req.Header
	for k, v := range c.cfg.Headers {
		h.Set(k, v)
	}
	// Keys in canonical form, assigned directly: Set would canonicalize
	// each one again on every request.
	h["Content-Type"] = []string{"application/json"}
	h["User-Agent"] = []string{c.userAgent}
	h["Webhook-Id"] = []string{id}
	ts := time.Now()
	h["Webhook-Timestamp"] = []string{strconv.FormatInt(ts.Unix(), 10)}
	if c.cfg.Secret != nil {
		h["Webhook-Signature"] = []string{signer{key: c.cfg.Secret}.sign(id, ts, b.prefix, b.shared)}
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

var errTooManyRedirects = fmt.Errorf("webhook: more than %d redirects", maxRedirects)

// maxRedirects is how many 307 or 308 redirects a request follows.
const maxRedirects = 3

// send makes a request, following 307 and 308 redirects (which keep the
// method and body) at most maxRedirects times, and only within the
// request's origin: the body, the signature and the configured headers
// are for the configured scheme, host and port, never for another. Other
// redirects are answers: 301, 302 and 303 would turn a POST into a GET.
// It uses the transport directly, as http.Client would for this policy,
// without the header copy and bookkeeping the client makes for every
// request.
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
		if from, to := origin(req.URL), origin(next); from != to {
			return nil, &crossOriginError{from: from, to: to}
		}
		if hops == maxRedirects {
			return nil, errTooManyRedirects
		}
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r := req.Clone(req.Context())
		r.URL, r.Host, r.Body = next, "", body
		req = r
	}
}
