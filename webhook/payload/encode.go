package payload

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/memory"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// Input is one received message as the payload sees it: its bytes, when
// they arrived, and what the MTA said about them.
type Input struct {
	// From is MAIL FROM; empty for the null sender.
	From string
	// Recipients are all the transaction's accepted recipients, in order.
	Recipients []string
	Helo       string
	RemoteAddr string
	// Client is the original client (XFORWARD); nil when the MTA did not
	// say.
	Client *Client
	// Data is the message as received.
	Data []byte
	// ReceivedAt is the end of DATA.
	ReceivedAt time.Time
	// Memory is the message's share of the memory budget, nil without
	// one. Encode shrinks it to what the encoded message holds, and shares
	// it with a parse it gives up on (see parseWithin).
	Memory *memory.Hold
}

// Client is the original SMTP client as the MTA described it (Postfix's
// XFORWARD). It is the payload's own type, so that the payload knows
// nothing of the protocol it was told in.
type Client struct {
	// IP is the client's address; the zero Addr when unknown.
	IP netip.Addr
	// Port is the client's TCP port; 0 when unknown.
	Port int
	// Name is the client's verified reverse name; empty when unknown.
	Name string
	// Helo is the name the client gave with HELO or EHLO.
	Helo string
	// Proto is the protocol it spoke, such as SMTP or ESMTP.
	Proto string
	// Ident is the MTA's queue id, for the scanner and logs; not in the
	// payload.
	Ident string
}

// sharedEnvelope is the part of wire.Envelope every recipient shares; it
// is encoded once per message.
type sharedEnvelope struct {
	From       string       `json:"from"`
	Recipients []string     `json:"recipients"`
	Helo       string       `json:"helo"`
	RemoteAddr string       `json:"remote_addr"`
	Size       int64        `json:"size"`
	Client     *wire.Client `json:"client"`
}

// Encoded is a message ready to be posted: the shared JSON is built once
// and each recipient's body is a small prefix followed by those bytes.
type Encoded struct {
	sum    [sha256.Size]byte
	shared []byte
	// MessageID, Errors and Raw are what the caller logs about the parse;
	// the decoded content is not kept, so that it can be collected while
	// the POSTs run.
	MessageID string
	Errors    []wire.ParseError
	// Raw reports whether the payload carries the message as received.
	Raw bool
	// Decision is the strongest of the stages' decisions: when it is not
	// Deliver, no webhook is called.
	Decision Decision
}

// Encode parses in once, runs opts.Stages around the parse (see Stage),
// and encodes
// everything but the per-recipient fields, in a buffer of exactly the
// right size. Parsing never fails (see Parse); the error is an encoding
// failure, which plain values should never cause.
func Encode(ctx context.Context, in *Input, opts Options) (*Encoded, error) {
	finishes := make([]Finish, len(opts.Stages))
	for i, s := range opts.Stages {
		finishes[i] = s.Start(ctx, in)
	}
	opts.envelopeFrom = in.From
	m := parseWithin(ctx, in, in.ReceivedAt.Truncate(time.Millisecond), opts)
	var decision Decision
	fctx := ctx
	for _, finish := range finishes {
		if d := finish(fctx, m); d.stronger(decision) {
			decision = d
		}
		if decision.Action == Refuse && fctx == ctx {
			// Nothing will be posted: later stages end at once rather
			// than upload parts of a message that is refused.
			c, cancel := context.WithCancel(ctx)
			cancel()
			fctx = c
		}
	}
	env := sharedEnvelope{
		From:       in.From,
		Recipients: in.Recipients,
		Helo:       in.Helo,
		RemoteAddr: in.RemoteAddr,
		Size:       int64(len(in.Data)),
		Client:     wireClient(in.Client),
	}
	if env.Recipients == nil {
		env.Recipients = []string{}
	}
	if len(in.Data) >= memory.Large {
		// The parse's garbage goes back to the system before the JSON's
		// buffer, about as large as the message, is taken.
		memory.Release()
	}
	shared, err := encodeCapped(&env, m, in.Data)
	if err != nil {
		return nil, fmt.Errorf("payload: encode message: %w", err)
	}
	// From here the message holds its bytes and its JSON.
	in.Memory.Shrink(int64(cap(in.Data)) + int64(len(shared)))
	return &Encoded{
		sum:       sha256.Sum256(in.Data),
		shared:    shared,
		MessageID: m.MessageID,
		Errors:    m.Errors,
		Raw:       m.Raw != nil,
		Decision:  decision,
	}, nil
}

// Shared returns the bytes every recipient's body ends with. They belong
// to e: callers must not change them.
func (e *Encoded) Shared() []byte { return e.shared }

// ID returns rcpt's delivery id (see DeliveryID).
func (e *Encoded) ID(rcpt string) string { return deliveryID(e.sum, rcpt) }

// Prefix returns the start of one recipient's body, up to the shared
// bytes: its id, and the envelope's recipient fields.
func (e *Encoded) Prefix(id, rcpt string) []byte {
	b := make([]byte, 0, 64+2*len(rcpt)+len(id))
	b = append(b, `{"id":`...)
	b = appendJSONStr(b, id)
	b = append(b, `,"envelope":{"to":`...)
	b = appendJSONStr(b, rcpt)
	if tag := plusTag(rcpt); tag != "" {
		b = append(b, `,"tag":`...)
		b = appendJSONStr(b, tag)
	}
	return append(b, ',')
}

// plusTag returns the part of the local part after the first '+'.
func plusTag(addr string) string {
	local := addr
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local = addr[:at]
	}
	if i := strings.IndexByte(local, '+'); i >= 0 {
		return local[i+1:]
	}
	return ""
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID names a request: prefix, then lower-case base32 of the first
// 20 bytes of sum.
func NewID(prefix string, sum []byte) string {
	return prefix + idEncoding.EncodeToString(sum[:20])
}

// deliveryID derives the webhook-id from the message bytes and the
// recipient only, so that it survives retries, restarts and the MTA's
// redeliveries.
func deliveryID(sum [sha256.Size]byte, rcpt string) string {
	var scratch [sha256.Size + 1 + 64]byte
	in := append(append(append(scratch[:0], sum[:]...), 0), rcpt...)
	id := sha256.Sum256(in)
	return NewID("msg_", id[:])
}
