package webhook

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/retry"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
)

// Deliver parses msg once, then posts it to every recipient concurrently.
// It implements lmtp.Deliverer: each recipient is reported as soon as its
// webhook has answered or its budget is spent.
func (c *Client) Deliver(ctx context.Context, msg *lmtp.Message, report func(int, *smtp.SMTPError)) {
	log := zerolog.Ctx(ctx)
	start := time.Now()
	enc, err := payload.Encode(ctx, &payload.Input{
		From:       msg.From,
		Recipients: msg.Recipients,
		Helo:       msg.Helo,
		RemoteAddr: msg.RemoteAddr,
		Client:     payloadClient(msg.Client),
		Data:       msg.Data,
		ReceivedAt: msg.ReceivedAt,
		Memory:     msg.Memory,
	}, c.cfg.Parse)
	if err != nil {
		// Encoding plain Go values cannot fail; if it does, defer the
		// message rather than lose it.
		log.Error().Err(err).Msg("encode payload")
		for i := range msg.Recipients {
			report(i, lmtp.Reply(lmtp.C451LocalErr, lmtp.SeSys3Other0, "could not encode message"))
		}
		return
	}
	if n := len(enc.Errors); n > 0 {
		ev := log.Warn().Int("parse_errors", n).Str("first_error", enc.Errors[0].Name)
		ev.Bool("raw", enc.Raw).Str("message_id", enc.MessageID).Msg("message has MIME problems")
	}
	c.cfg.Metrics.parsed(time.Since(start))
	if d := enc.Decision; d.Action != payload.Deliver {
		decide(ctx, msg, d, c.cfg.Metrics, report)
		return
	}

	// The budget counts from the end of DATA, not from now.
	policy := c.cfg.Retry.From(msg.ReceivedAt)

	// The first recipient is delivered on this goroutine, the others on
	// their own: a message to one recipient starts no goroutine.
	var wg sync.WaitGroup
	for i, rcpt := range msg.Recipients[min(1, len(msg.Recipients)):] {
		wg.Add(1)
		c.workers.run(func() {
			defer wg.Done()
			report(i+1, c.deliverOne(ctx, policy, enc, rcpt))
		})
	}
	if len(msg.Recipients) > 0 {
		report(0, c.deliverOne(ctx, policy, enc, msg.Recipients[0]))
	}
	wg.Wait()
}

// MemoryCost implements lmtp.MemoryCoster: what the payload of a message
// of size bytes may hold. The request bodies are streamed from the one
// encoded document, whatever the number of recipients.
func (c *Client) MemoryCost(size int64) int64 { return c.cfg.Parse.MemoryCost(size) }

// decide answers every recipient with a stage's refusal or deferral; no
// webhook is called.
func decide(ctx context.Context, msg *lmtp.Message, d payload.Decision, m *Metrics, report func(int, *smtp.SMTPError)) {
	r := lmtp.Reply(lmtp.C451LocalErr, lmtp.SeSys3Other0, d.Reason)
	ev := zerolog.Ctx(ctx).Error()
	if d.Action == payload.Refuse {
		r = lmtp.Reply(lmtp.C550MailboxUnavail, lmtp.SeSec7DeliveryNotAuth1, d.Reason)
		ev = zerolog.Ctx(ctx).Warn()
	}
	ev.Str("stage", d.Stage).Int("code", r.Code).Str("enhanced_code", enhanced(r.EnhancedCode)).
		Str("reason", r.Message).Int("recipients", len(msg.Recipients)).Msg("message not posted")
	m.decided(d)
	for i := range msg.Recipients {
		report(i, r)
	}
}

// deliverOne posts one recipient's payload, retrying transient failures
// within the policy's budget, and returns its reply.
func (c *Client) deliverOne(ctx context.Context, policy retry.Policy, enc *payload.Encoded, rcpt string) *smtp.SMTPError {
	start := time.Now()
	ep := c.endpointFor(rcpt)
	id := enc.ID(rcpt)
	b := newBody(enc.Prefix(id, rcpt), enc.Shared())
	c.cfg.Metrics.inflight(1)
	defer c.cfg.Metrics.inflight(-1)

	// Do's error is the last outcome's own, which it carries.
	last, attempts, _ := retry.Do(ctx, policy, func(actx context.Context, _ int) (outcome, error) {
		o := c.attempt(actx, ep, id, b)
		c.cfg.Metrics.attempt(o)
		return o, o.again()
	})
	r := last.reply
	if last.retry && ctx.Err() != nil {
		// Shutting down: the MTA keeps the message and comes back.
		r = lmtp.Reply(lmtp.C451LocalErr, lmtp.SeSys3NotAccepting2, "service shutting down, try again later")
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

// again tells the retry policy whether another attempt may change o: a
// transient failure is a retry.Temporary error, after the delay the
// webhook asked for.
func (o outcome) again() error {
	if !o.retry {
		return nil
	}
	return retry.Temporary(errors.New(o.reply.Message), o.after)
}

// attempt makes one delivery POST and maps its answer.
func (c *Client) attempt(ctx context.Context, ep *endpoint, id string, b body) outcome {
	start := time.Now()
	o := c.post(ctx, ep, c.cfg.Timeout, id, b)
	c.cfg.Metrics.request(time.Since(start))
	return o
}

func enhanced(ec smtp.EnhancedCode) string {
	if ec == smtp.NoEnhancedCode || ec == smtp.EnhancedCodeNotSet {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
}

// payloadClient hands the payload what the MTA said about the original
// client, in the payload's own terms.
func payloadClient(c *lmtp.Client) *payload.Client {
	if c == nil {
		return nil
	}
	return &payload.Client{IP: c.IP, Port: c.Port, Name: c.Name, Helo: c.Helo, Proto: c.Proto, Ident: c.Ident}
}
