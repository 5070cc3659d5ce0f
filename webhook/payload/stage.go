package payload

import (
	"context"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// Stage is one analysis of a parsed message: sender authentication, a
// spam verdict, reply and bounce classification, moving large parts to
// object storage. Each lands as a small file or sub-package implementing
// Stage, and is switched on by adding it to Options.Stages; Encode runs
// the stages in order, once per message, after Parse and before the
// document is encoded.
//
// Analyze adds what it finds to m, in fields of wire.Message that the
// stage's own change introduces (and openapi.yaml documents). It must:
//   - never fail the delivery: a problem becomes an entry in m.Errors, so
//     that the message is still delivered;
//   - bound its own time, and give up when ctx ends (the transaction is
//     being given up);
//   - keep neither in nor m after it returns, and change nothing of in;
//   - be safe for concurrent use: messages are encoded concurrently.
//
// A stage knows the message and its envelope only: nothing of sockets,
// LMTP replies or HTTP deliveries.
type Stage interface {
	Analyze(ctx context.Context, in *Input, m *wire.Message)
}
