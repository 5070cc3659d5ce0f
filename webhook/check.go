package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strconv"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// Checker asks CHECK_URL about each sender and recipient before any data
// is sent. It implements lmtp.Checker.
type Checker struct {
	client  *Client
	ep      *endpoint
	timeout time.Duration
}

var _ lmtp.Checker = (*Checker)(nil)

// NewChecker builds a Checker for url, sharing c's HTTP connections and
// its secret and headers; a zero timeout means DefaultCheckTimeout.
func (c *Client) NewChecker(url string, timeout time.Duration) (*Checker, error) {
	ep, err := parseEndpoint(url)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	return &Checker{client: c, ep: ep, timeout: timeout}, nil
}

// Check makes one request, without retries: a fault gives a 4xx reply so
// that the MTA tries again, never a refusal.
func (k *Checker) Check(ctx context.Context, req lmtp.CheckRequest) *smtp.SMTPError {
	start := time.Now()
	body, _ := json.Marshal(wire.CheckPayload{Stage: req.Stage, From: req.From, To: req.To, RemoteAddr: req.RemoteAddr, Helo: req.Helo})
	o := k.ask(ctx, body)
	log := zerolog.Ctx(ctx)
	ev := log.Debug()
	if o.invalid != "" || o.err != nil {
		ev = log.Warn().Str("problem", o.invalid).AnErr("error", o.err)
	}
	ev.Str("stage", req.Stage).Str("from", req.From).Str("rcpt", req.To).Int("status", o.status).
		Int("code", o.reply.Code).Dur("duration", time.Since(start)).Msg("check")
	if o.reply.Code/100 == 2 {
		return nil
	}
	if o.reply.Code/100 == 5 && (o.retry || o.invalid != "") {
		// Defensive: a fault must never refuse for good.
		o.reply.Code, o.reply.EnhancedCode = lmtp.C451LocalErr, lmtp.SeSys3Other0.Enhanced(lmtp.C451LocalErr)
	}
	return o.reply
}

func (k *Checker) ask(ctx context.Context, body []byte) outcome {
	id := checkID(body, time.Now())
	return k.client.post(ctx, k.ep, k.timeout, id, newBody(body, nil))
}

// checkID names one check request; checks are not retried, so it only
// has to be unique.
func checkID(body []byte, ts time.Time) string {
	h := sha256.New()
	h.Write(body)
	h.Write([]byte(strconv.FormatInt(ts.UnixNano(), 10)))
	return payload.NewID("chk_", h.Sum(nil))
}
