package payload

import (
	"context"
	"fmt"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// parseWithin is parseSafely under opts.ParseTimeout: a message whose
// parse has not ended by then, or when ctx ends, is encoded raw with a
// severe error instead, so that no content can hold a delivery back.
//
// The parse runs on a goroutine of its own, which cannot be stopped: when
// it is given up on, it runs on to its end and its result is dropped.
// Parsing is linear in the message's size (see BenchmarkHostileParse), so
// that end is near; until then the goroutine keeps its share of the
// message's memory Hold, which therefore goes back to the budget only
// once both the transaction and the parse are over.
func parseWithin(ctx context.Context, in *Input, receivedAt time.Time, opts Options) *wire.Message {
	if opts.ParseTimeout <= 0 || len(in.Data) < inlineParse {
		return parseSafely(in.Data, receivedAt, opts)
	}
	done := make(chan *wire.Message, 1) // the parse never waits to hand over
	hold := in.Memory.Share()
	go func() {
		m := parseSafely(in.Data, receivedAt, opts)
		hold.Release() // before the hand-over, so that Encode may shrink the hold
		done <- m
	}()
	timer := time.NewTimer(opts.ParseTimeout)
	defer timer.Stop()
	select {
	case m := <-done:
		return m
	case <-timer.C:
	case <-ctx.Done():
	}
	return unparsed(in.Data, receivedAt, wire.ErrorParseTimeout,
		fmt.Sprintf("the message was not parsed within %s; it is in raw", opts.ParseTimeout))
}

// inlineParse is the size below which a message is parsed on the
// caller's goroutine, without a timer: at the slowest shape measured
// (about 300 ms per MiB, see BenchmarkHostileParse) it takes under 20 ms,
// far within any parse budget, and most mail is that small, so it is
// spared a goroutine and a timer.
const inlineParse = 64 << 10

// unparsed is the document of a message that could not be parsed: raw,
// with one severe error, and every list empty.
func unparsed(data []byte, receivedAt time.Time, name, detail string) *wire.Message {
	return &wire.Message{
		ReceivedAt: receivedAt.UTC(),
		Headers:    []wire.Header{}, From: []wire.Address{}, Sender: []wire.Address{}, ReplyTo: []wire.Address{},
		To: []wire.Address{}, Cc: []wire.Address{}, Bcc: []wire.Address{}, InReplyTo: []string{}, References: []string{},
		Attachments: []wire.Attachment{}, Inlines: []wire.Attachment{},
		Errors: []wire.ParseError{{Name: name, Detail: detail, Severe: true}},
		Raw:    data,
	}
}
