// Package wire holds the JSON documents that cross between lmtp-webhook
// and a webhook: the delivery payload, the check request, the answer a
// webhook may give, and the Standard Webhooks secret format. openapi.yaml
// describes the same shapes.
//
// It is what a receiver written in Go imports, so it uses the standard
// library only and must not know about LMTP, MIME parsing, HTTP clients,
// metrics or logging.
package wire

import "time"

// Payload is the JSON body of one delivery. Receivers written in Go can
// decode a request into it; openapi.yaml describes the same shape.
type Payload struct {
	// ID is stable for the same message bytes and recipient, across
	// retries and redeliveries: the receiver's idempotency key.
	ID       string   `json:"id"`
	Envelope Envelope `json:"envelope"`
	Message
}

// Envelope is the SMTP envelope as one delivery sees it.
type Envelope struct {
	// To is this delivery's recipient.
	To string `json:"to"`
	// Tag is the +tag of To's local part, when it has one.
	Tag string `json:"tag,omitempty"`
	// From is MAIL FROM; empty for the null sender.
	From string `json:"from"`
	// Recipients are all the transaction's accepted recipients.
	Recipients []string `json:"recipients"`
	Helo       string   `json:"helo"`
	RemoteAddr string   `json:"remote_addr"`
	// Size is the message's size in bytes, as received.
	Size int64 `json:"size"`
	// Client is the original client, as the MTA described it with
	// XFORWARD; null when it did not.
	Client *Client `json:"client"`
}

// Client is the SMTP client the MTA received the message from (XFORWARD).
// What the MTA did not know is empty (0 for Port).
type Client struct {
	IP   string `json:"ip"`
	Port int    `json:"port"`
	// Name is the client's verified reverse DNS name.
	Name string `json:"name"`
	// Helo is the name the client gave with HELO or EHLO.
	Helo string `json:"helo"`
	// Proto is the protocol it spoke, such as SMTP or ESMTP.
	Proto string `json:"proto"`
}

// Message is the parsed message: the part of every payload that does not
// depend on the recipient.
type Message struct {
	ReceivedAt  time.Time    `json:"received_at"`
	Headers     []Header     `json:"headers"`
	MessageID   string       `json:"message_id"`
	Subject     string       `json:"subject"`
	Date        *time.Time   `json:"date"`
	From        []Address    `json:"from"`
	Sender      []Address    `json:"sender"`
	ReplyTo     []Address    `json:"reply_to"`
	To          []Address    `json:"to"`
	Cc          []Address    `json:"cc"`
	Bcc         []Address    `json:"bcc"`
	InReplyTo   []string     `json:"in_reply_to"`
	References  []string     `json:"references"`
	Text        string       `json:"text"`
	HTML        string       `json:"html"`
	Attachments []Attachment `json:"attachments"`
	Inlines     []Attachment `json:"inlines"`
	Errors      []ParseError `json:"errors"`
	// Reply is the new text of the message without quoted history and
	// signature; Text and HTML stay whole beside it.
	Reply Reply `json:"reply"`
	// Classification says whether the message comes from a robot
	// (auto-reply, bounce, report, list or bulk mail).
	Classification Classification `json:"classification"`
	// Auth is the sender authentication (SPF, DKIM, DMARC, trusted
	// upstream results); null when AUTH_CHECKS=false.
	Auth *Auth `json:"auth"`
	// Spam is the scanner's verdict; null without SPAM_URL or when the
	// scan failed (an entry in Errors then says so).
	Spam *Spam `json:"spam"`
	// Raw is the message as received, when asked for or when it could
	// not be parsed.
	Raw []byte `json:"raw,omitempty"`
	// RawURL downloads the message as received from object storage
	// (STORAGE_RAW), without credentials, until RawURLExpiresAt.
	RawURL          string    `json:"raw_url,omitempty"`
	RawURLExpiresAt time.Time `json:"raw_url_expires_at,omitzero"`
}

// Header is one header field, in message order, unfolded, with encoded
// words decoded to UTF-8.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Address is one mailbox of an address header.
type Address struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Attachment is one attached or inline part, decoded from its transfer
// encoding.
type Attachment struct {
	// Filename is the name as sent: untrusted, never to be used as a
	// path.
	Filename string `json:"filename"`
	// SafeFilename is Filename made safe to create in a directory on
	// Linux, macOS and Windows: the base name only, without control
	// characters or leading dots, no reserved device name, at most 255
	// bytes. It is empty only when Filename is.
	SafeFilename string `json:"safe_filename"`
	ContentType  string `json:"content_type"`
	Disposition  string `json:"disposition"`
	ContentID    string `json:"content_id"`
	Size         int    `json:"size"`
	SHA256       string `json:"sha256"`
	// Content is absent when WEBHOOK_ATTACHMENTS=omit, and when the part
	// is in object storage (URL is set).
	Content []byte `json:"content,omitempty"`
	// URL downloads a part kept in object storage (one larger than
	// STORAGE_THRESHOLD), without credentials, until URLExpiresAt.
	URL          string    `json:"url,omitempty"`
	URLExpiresAt time.Time `json:"url_expires_at,omitzero"`
}

// ParseError is a MIME problem found while parsing. Severe means part of
// the message could not be represented.
type ParseError struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
	Severe bool   `json:"severe"`
}

// Error names the bridge adds to those of enmime.
const (
	ErrorUnparseable     = "Unparseable Message"
	ErrorMalformedDate   = "Malformed Date"
	ErrorMalformedAddr   = "Malformed Address"
	ErrorHeadersTooLarge = "Headers Truncated"
	ErrorTooComplex      = "MIME Too Complex"
	// ErrorSpamScan: the scanner gave no verdict; the detail is the reason
	// (timeout, unreachable, answer, too_large).
	ErrorSpamScan = "Spam Scan Failed"
	// ErrorParseTimeout: the parse did not end within PARSE_TIMEOUT; the
	// message is in raw.
	ErrorParseTimeout = "Parse Timeout"
	// ErrorPayloadTooLarge: the JSON would have been larger than a fixed
	// multiple of the message; the message is in raw instead.
	ErrorPayloadTooLarge = "Payload Too Large"
)
