package auth

import (
	"context"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// StageName names the stage in logs and metrics.
const StageName = "auth"

// Stage is the payload stage that fills "auth": it starts the checks
// before the MIME parse, so that DNS answers arrive while the message is
// parsed, and waits for them after it. It never defers: what DNS could
// not answer in time is temperror.
type Stage struct {
	// Checker computes the verdicts.
	Checker *Checker
	// RejectDMARC refuses a message whose DMARC result is fail for a
	// domain whose policy is reject (AUTH_REJECT_DMARC). A temperror, a
	// p=none or p=quarantine domain is delivered.
	RejectDMARC bool
}

// Start begins the checks of in on their own goroutine; the Finish it
// returns waits for them, which Checker.Check bounds by its Timeout.
func (s *Stage) Start(ctx context.Context, in *payload.Input) payload.Finish {
	ci := Input{Message: in.Data, MailFrom: in.From}
	if c := in.Client; c != nil {
		ci.ClientIP, ci.HELO = c.IP, c.Helo
	}
	done := make(chan wire.Auth, 1)
	go func() { done <- s.Checker.Check(ctx, ci) }()
	return func(_ context.Context, m *wire.Message) payload.Decision {
		a := <-done
		m.Auth = &a
		if d := a.DMARC; s.RejectDMARC && d != nil && d.Result == wire.AuthFail && d.Policy == "reject" {
			return payload.Decision{Action: payload.Refuse, Stage: StageName,
				Reason: "DMARC policy of " + d.Domain + " rejects this message (no aligned SPF or DKIM pass)"}
		}
		return payload.Decision{}
	}
}
