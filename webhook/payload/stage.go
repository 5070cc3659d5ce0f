package payload

import (
	"context"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// Stage is one analysis of a message: sender authentication, a spam
// verdict, reply and bounce classification, moving large parts to object
// storage. Each lands as a small file or sub-package implementing Stage,
// and is switched on by adding it to Options.Stages.
//
// A stage runs in two steps, so that work that waits on the network (DNS,
// a scanner) overlaps the MIME parse: Encode calls every stage's Start,
// in order, before it parses the message, then calls the Finish
// functions, in the same order, with the parsed document. A stage that
// needs only the document does all its work in Finish.
//
// Finish adds what the stage found to m, in fields of wire.Message that
// the stage's own change introduces (and openapi.yaml documents), and
// returns a Decision about the whole message. A stage must:
//   - never fail the delivery because of its own fault: a problem becomes
//     an entry in m.Errors and a zero Decision (a part that cannot be
//     stored, which would lose content, is the one reason to Defer);
//   - bound its own time, and give up when ctx ends (the transaction is
//     being given up);
//   - keep neither in nor m after Finish returns, and change nothing of in;
//   - be safe for concurrent use: messages are encoded concurrently.
//
// A stage knows the message and its envelope only: nothing of sockets,
// LMTP replies or HTTP deliveries.
type Stage interface {
	Start(ctx context.Context, in *Input) Finish
}

// Finish completes a stage on the parsed document. It is called exactly
// once for each Start, also when an earlier stage decided to refuse the
// message, so that work begun in Start always ends; its context is then
// already cancelled, since nothing will be posted.
type Finish func(ctx context.Context, m *wire.Message) Decision

// Action is what should happen to a message as a whole.
type Action int

const (
	// Deliver posts the message to its webhooks (the zero Decision).
	Deliver Action = iota
	// Defer gives every recipient a temporary failure, so the MTA keeps
	// the message and tries again later; no webhook is called.
	Defer
	// Refuse gives every recipient a permanent failure (policy: spam,
	// DMARC); no webhook is called.
	Refuse
)

// Decision is a stage's verdict on the whole message, with the reason the
// MTA (and the log) is given.
type Decision struct {
	Action Action
	// Reason is a short text for the reply and the log; never message
	// content beyond a score or a domain.
	Reason string
	// Stage names the stage that decided, for the log and metrics.
	Stage string
}

// stronger reports whether d should replace the decision already taken:
// a refusal wins over a deferral (nothing would be delivered anyway), and
// either over delivery.
func (d Decision) stronger(than Decision) bool { return d.Action > than.Action }

// StageFunc makes a Stage of a function that only needs the parsed
// document.
type StageFunc func(ctx context.Context, in *Input, m *wire.Message) Decision

// Start implements Stage: all the work is done in Finish.
func (f StageFunc) Start(_ context.Context, in *Input) Finish {
	return func(ctx context.Context, m *wire.Message) Decision { return f(ctx, in, m) }
}
