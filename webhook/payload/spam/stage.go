package spam

import (
	"context"
	"errors"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// StageName names the stage in logs and metrics.
const StageName = "spam"

// Stage is the payload stage that fills "spam": it sends the message to
// rspamd before the MIME parse, once whatever the number of recipients,
// and waits for the verdict after it. A scan that fails leaves spam null
// and adds an entry to the payload's errors; it never defers or refuses.
type Stage struct {
	// Client scans; a nil Client scans nothing (spam stays null).
	Client *Client
	// RejectScore, when Reject is set, refuses a message whose score is
	// at or above it (SPAM_REJECT_SCORE).
	RejectScore float64
	Reject      bool
}

type scan struct {
	v   *wire.Spam
	err error
}

// Start begins the scan of in on its own goroutine; the Finish it
// returns waits for it, which the Client's timeout bounds.
func (s *Stage) Start(ctx context.Context, in *payload.Input) payload.Finish {
	si := Input{Message: in.Data, From: in.From, Recipients: in.Recipients}
	if c := in.Client; c != nil {
		si.ClientIP, si.Helo, si.Hostname, si.QueueID = c.IP, c.Helo, c.Name, c.Ident
	}
	done := make(chan scan, 1)
	go func() {
		v, err := s.Client.Check(ctx, si)
		done <- scan{v, err}
	}()
	return func(ctx context.Context, m *wire.Message) payload.Decision {
		r := <-done
		if r.err != nil {
			reason := ReasonAnswer
			if e, ok := errors.AsType[*Error](r.err); ok {
				reason = e.Reason
			}
			zerolog.Ctx(ctx).Warn().Err(r.err).Str("stage", StageName).Str("reason", reason).
				Msg("spam scan failed, message goes on without a verdict")
			m.Errors = append(m.Errors, wire.ParseError{Name: wire.ErrorSpamScan, Detail: reason})
			return payload.Decision{}
		}
		m.Spam = r.v
		if s.Reject && Reject(r.v, s.RejectScore) {
			return payload.Decision{Action: payload.Refuse, Stage: StageName,
				Reason: "message refused as spam: score " + strconv.FormatFloat(r.v.Score, 'f', 2, 64) +
					" is at or above " + strconv.FormatFloat(s.RejectScore, 'f', 2, 64)}
		}
		return payload.Decision{}
	}
}
