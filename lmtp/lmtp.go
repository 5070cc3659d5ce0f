// Package lmtp receives mail over LMTP (RFC 2033) on top of
// github.com/emersion/go-smtp and hands each message to a Deliverer,
// answering every recipient with the reply the Deliverer gives it.
//
// The package knows nothing about HTTP: the seam is the Deliverer
// interface and, optionally, a Checker for decisions at MAIL and RCPT.
package lmtp

import (
	"context"
	"io/fs"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/memory"
)

// DefaultSocketMode is the permission of a Unix socket when Config gives
// none: the MTA's group can connect, other users cannot.
const DefaultSocketMode fs.FileMode = 0o660

// Envelope is what the MTA said about a message, apart from its content.
type Envelope struct {
	// From is the MAIL FROM address; empty for the null sender.
	From string
	// Recipients are the accepted RCPT TO addresses in order, each once.
	Recipients []string
	// Helo is the name the client gave with LHLO.
	Helo string
	// RemoteAddr is the client's address, "ip:port" or a socket path.
	RemoteAddr string
	// Client is the original client, as the MTA described it with
	// XFORWARD before this transaction; nil when it did not.
	Client *Client
}

// Message is one message as received, with its envelope.
type Message struct {
	Envelope
	// Data is the message as received, after dot-unstuffing.
	Data []byte
	// ReceivedAt is the end of DATA; delivery budgets count from it.
	ReceivedAt time.Time
	// Memory is the message's share of Config.Budget, nil without one.
	// The Deliverer may shrink it once it knows what the message really
	// costs, and share it with work that outlives Deliver; the server
	// releases its own share when the transaction ends.
	Memory *memory.Hold
}

// Deliverer hands a received message to its destination. It is the seam
// between the protocol and what is done with mail.
type Deliverer interface {
	// Deliver delivers msg to each of msg.Recipients and calls report
	// exactly once per recipient, with the recipient's index, as soon as
	// its reply is known: a 2xx reply for success, 4xx to make the MTA
	// try again later, 5xx to bounce. report may be called from several
	// goroutines at once. Deliver returns only after every recipient has
	// been reported; when ctx ends, deliveries still running are given up
	// with a 4xx reply.
	Deliver(ctx context.Context, msg *Message, report func(rcpt int, reply *smtp.SMTPError))
}

// MemoryCoster is a Deliverer that says how much memory delivering a
// message may cost it. With Config.Budget, the server reserves that
// along with the message's bytes as they arrive, so that a message never
// waits for memory once received.
type MemoryCoster interface {
	// MemoryCost returns the most memory that delivering a message of
	// size bytes holds at once, the bytes themselves aside.
	MemoryCost(size int64) int64
}

// CheckRequest describes one MAIL or RCPT command for a Checker.
type CheckRequest struct {
	// Stage is "mail" or "rcpt".
	Stage string
	From  string
	// To is the recipient being checked; empty at the mail stage.
	To         string
	Helo       string
	RemoteAddr string
}

// Checker decides about a sender or a recipient before any data is sent.
type Checker interface {
	// Check returns nil to accept, or the reply to refuse with. It must
	// never refuse permanently because of its own fault.
	Check(ctx context.Context, req CheckRequest) *smtp.SMTPError
}
