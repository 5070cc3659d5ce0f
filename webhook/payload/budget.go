package payload

import (
	"fmt"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// The JSON of a message is at most jsonFactor times its size plus
// jsonSlack and its envelope: past that it is sent raw (see capJSON).
// Ordinary mail stays far below (a base64 attachment encodes to about
// 1x, text to 1x-2x); a body of control characters, each written
// \u00XX, would make 6x.
const (
	jsonFactor = 4
	jsonSlack  = 64 << 10
)

// parseFactor bounds, in multiples of the message's size, what a parse
// holds live besides the message itself: the decoded parts and the text
// and HTML made of them (measured at 1x-2x on the shapes of
// BenchmarkHostileParse; garbage aside, which the Go runtime's memory
// limit keeps collected).
const parseFactor = 2

// MemoryCost returns the most memory encoding a message of size bytes
// with these options holds at once, the message itself aside: the parse,
// and a JSON document of at most its cap. lmtp reserves it from the
// memory budget as the message arrives (see lmtp.MemoryCoster).
func (o Options) MemoryCost(size int64) int64 {
	return parseFactor*size + jsonLimit(size, 0)
}

// jsonLimit is the most bytes the shared JSON of a message of size bytes
// may take, envelope bytes its envelope fields take.
func jsonLimit(size int64, envelope int) int64 {
	return jsonFactor*size + jsonSlack + int64(envelope)
}

// envelopeLen is what env's variable fields take in the JSON.
func envelopeLen(env *sharedEnvelope) int {
	n := jsonStringLen(env.From) + jsonStringLen(env.Helo) + jsonStringLen(env.RemoteAddr)
	for _, r := range env.Recipients {
		n += jsonStringLen(r) + 1
	}
	return n
}

// encodeCapped encodes the shared JSON of env and m, unless it would be
// larger than its cap: the message is then sent raw, without the parsed
// content that made the JSON so large, and with a severe error saying so.
// A large message's length is counted before anything is built.
func encodeCapped(env *sharedEnvelope, m *wire.Message, data []byte) ([]byte, error) {
	limit := jsonLimit(int64(len(data)), envelopeLen(env))
	b, n, err := encodeWithin(env, m, limit)
	if err != nil || b != nil {
		return b, err
	}
	detail := fmt.Sprintf("the JSON document would have been %d bytes, more than %d times the message's %d bytes; it is in raw", n, jsonFactor, len(data))
	keep := *m
	*m = *unparsed(data, m.ReceivedAt, wire.ErrorPayloadTooLarge, detail)
	// What is small and useful stays: the ids, the date, the errors, and
	// what analysis stages added (their fields are not listed here).
	*m = keepSmall(*m, keep)
	n, err = sharedLen(env, m)
	if err != nil {
		return nil, err
	}
	if int64(n) > limit {
		// A stage's field is the large one: nothing but raw then.
		*m = *unparsed(data, keep.ReceivedAt, wire.ErrorPayloadTooLarge, detail)
		if n, err = sharedLen(env, m); err != nil {
			return nil, err
		}
	}
	return encodeSharedLen(env, m, n)
}

// maxKept bounds a header-derived string kept in a raw-only document.
const maxKept = 998

// keepSmall returns the raw-only document raw with what of the parsed
// document was is small enough to keep.
func keepSmall(raw, was wire.Message) wire.Message {
	out := was // the stages' fields, and any other this file does not know
	out.Headers, out.From, out.Sender, out.ReplyTo = raw.Headers, raw.From, raw.Sender, raw.ReplyTo
	out.To, out.Cc, out.Bcc = raw.To, raw.Cc, raw.Bcc
	out.InReplyTo, out.References = raw.InReplyTo, raw.References
	out.Text, out.HTML = "", ""
	// The reply is cut from the text: it goes with it, and the
	// classification, made of header fields, stays.
	out.Reply = wire.Reply{}
	out.Attachments, out.Inlines = raw.Attachments, raw.Inlines
	out.Raw = raw.Raw
	if len(out.MessageID) > maxKept {
		out.MessageID = ""
	}
	if len(out.Subject) > maxKept {
		out.Subject = ""
	}
	out.Errors = append(raw.Errors, keptErrors(was.Errors)...)
	return out
}

// keptErrors returns the first errors of a parse, their details cut
// short, for a raw-only document.
func keptErrors(errs []wire.ParseError) []wire.ParseError {
	out := make([]wire.ParseError, 0, min(len(errs), 100))
	for _, e := range errs[:min(len(errs), 100)] {
		e.Name, e.Detail = truncate(e.Name, 200), truncate(e.Detail, 200)
		out = append(out, e)
	}
	return out
}
