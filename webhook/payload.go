package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/memory"
)

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
}

// sharedEnvelope is the part of Envelope every recipient shares; it is
// encoded once per message.
type sharedEnvelope struct {
	From       string   `json:"from"`
	Recipients []string `json:"recipients"`
	Helo       string   `json:"helo"`
	RemoteAddr string   `json:"remote_addr"`
	Size       int64    `json:"size"`
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
	// Raw is the message as received, when asked for or when it could
	// not be parsed.
	Raw []byte `json:"raw,omitempty"`
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
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Disposition string `json:"disposition"`
	ContentID   string `json:"content_id"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`
	// Content is absent when WEBHOOK_ATTACHMENTS=omit.
	Content []byte `json:"content,omitempty"`
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
)

// ParseOptions choose what goes into a payload.
type ParseOptions struct {
	// OmitAttachments keeps attachment metadata and drops the content.
	OmitAttachments bool
	// IncludeRaw adds the message as received.
	IncludeRaw bool
}

// Limits on the header list, like Postfix's header_size_limit: past them
// the rest of the header is still parsed by enmime but not listed.
const (
	maxHeaderFields = 1000
	maxHeaderBytes  = 1 << 20
)

var parserOptions = []enmime.Option{
	enmime.SkipMalformedParts(true),
	enmime.SetReadPartErrorPolicy(enmime.AllowCorruptTextPartErrorPolicy),
	enmime.MaxStoredPartErrors(100),
}

var (
	// parser guesses the charset of every text part, to read mail that
	// declares one charset and is written in another.
	parser = enmime.NewParser(parserOptions...)
	// asciiParser trusts declared charsets. It is used for messages whose
	// text can only be ASCII (see asciiOnly): guessing could then change
	// no character, only add warnings, and it is most of the time spent
	// parsing a small message.
	asciiParser = enmime.NewParser(append(parserOptions, enmime.DisableCharacterDetection(true))...)
)

// asciiOnly reports whether every text part of data decodes to ASCII
// whatever its declared charset says: no 8-bit byte, no NUL (UTF-16), no
// ESC (ISO-2022), and no base64 or quoted-printable that could decode to
// any of those.
func asciiOnly(data []byte) bool {
	for _, c := range data {
		if c >= 0x80 || c == 0 || c == 0x1b {
			return false
		}
	}
	return indexFoldASCII(data, "base64") < 0 && indexFoldASCII(data, "quoted-printable") < 0
}

// Parse builds the shared part of every payload from a received message.
// It never fails: what enmime cannot read becomes an entry in Errors, and
// the raw message is then included so that nothing is lost.
func Parse(data []byte, receivedAt time.Time, opts ParseOptions) *Message {
	m := &Message{
		ReceivedAt:  receivedAt.UTC(),
		Attachments: []Attachment{},
		Inlines:     []Attachment{},
		Errors:      []ParseError{},
	}
	raw, truncated := scanHeaders(data)
	m.Headers = make([]Header, len(raw))
	for i, h := range raw {
		m.Headers[i] = Header{Name: h.name, Value: decodeHeader(h.value)}
	}
	if truncated {
		m.Errors = append(m.Errors, ParseError{Name: ErrorHeadersTooLarge,
			Detail: fmt.Sprintf("only the first %d header fields or %d bytes are listed", maxHeaderFields, maxHeaderBytes)})
	}
	m.fromHeaders(raw)

	if depth, parts := mimeShape(data); depth > maxMIMEDepth || parts > maxMIMEParts {
		m.Errors = append(m.Errors, ParseError{Name: ErrorTooComplex, Severe: true,
			Detail: fmt.Sprintf("MIME structure too complex to parse (more than %d levels or %d parts); the message is in raw", maxMIMEDepth, maxMIMEParts)})
		m.Raw = data
		return m
	}
	env, err := readEnvelope(data)
	if err != nil {
		m.Errors = append(m.Errors, ParseError{Name: ErrorUnparseable, Detail: err.Error(), Severe: true})
		m.Raw = data
		return m
	}
	m.Text = env.Text
	m.HTML = env.HTML
	for _, p := range env.Attachments {
		m.Attachments = append(m.Attachments, attachment(p, opts))
	}
	for _, p := range env.Inlines {
		m.Inlines = append(m.Inlines, attachment(p, opts))
	}
	// Parts with neither disposition nor a text type (an image in a
	// multipart/related without Content-Disposition) are inlines when they
	// can be referenced, attachments otherwise: none is dropped.
	for _, p := range env.OtherParts {
		if p.ContentID != "" {
			m.Inlines = append(m.Inlines, attachment(p, opts))
		} else {
			m.Attachments = append(m.Attachments, attachment(p, opts))
		}
	}
	for _, e := range env.Errors {
		m.Errors = append(m.Errors, ParseError{Name: e.Name, Detail: e.Detail, Severe: e.Severe})
	}
	if opts.IncludeRaw {
		m.Raw = data
	}
	return m
}

// parseSafely is Parse, with a last line of defence: should parsing panic
// on some input, the message is still delivered, raw, rather than
// deferred again and again until the MTA bounces it.
func parseSafely(data []byte, receivedAt time.Time, opts ParseOptions) (m *Message) {
	defer func() {
		if r := recover(); r != nil {
			m = &Message{
				ReceivedAt: receivedAt.UTC(),
				Headers:    []Header{}, From: []Address{}, Sender: []Address{}, ReplyTo: []Address{},
				To: []Address{}, Cc: []Address{}, Bcc: []Address{}, InReplyTo: []string{}, References: []string{},
				Attachments: []Attachment{}, Inlines: []Attachment{},
				Errors: []ParseError{{Name: ErrorUnparseable, Detail: fmt.Sprintf("internal error: %v", r), Severe: true}},
				Raw:    data,
			}
		}
	}()
	return Parse(data, receivedAt, opts)
}

// readEnvelope runs enmime, turning a panic on hostile input into an
// error so that the message is still delivered, raw.
func readEnvelope(data []byte) (env *enmime.Envelope, err error) {
	defer func() {
		if r := recover(); r != nil {
			env, err = nil, fmt.Errorf("enmime: panic: %v", r)
		}
	}()
	p := parser
	if asciiOnly(data) {
		p = asciiParser
	}
	return p.ReadEnvelope(bytes.NewReader(data))
}

// filename prefers our RFC 2231 decoding, which knows every charset, to
// Go's, which knows only UTF-8 and ASCII and mangles continuations in
// other charsets.
func filename(p *enmime.Part) string {
	if name := legacyFilename(p.Header); name != "" {
		return name
	}
	return p.FileName
}

func attachment(p *enmime.Part, opts ParseOptions) Attachment {
	sum := sha256.Sum256(p.Content)
	a := Attachment{
		Filename:    filename(p),
		ContentType: p.ContentType,
		Disposition: p.Disposition,
		ContentID:   p.ContentID,
		Size:        len(p.Content),
		SHA256:      hex.EncodeToString(sum[:]),
	}
	if !opts.OmitAttachments {
		a.Content = p.Content
	}
	return a
}

// fromHeaders fills the fields taken from well-known headers; the first
// occurrence of each counts.
func (m *Message) fromHeaders(raw []rawHeader) {
	m.From, m.Sender, m.ReplyTo = []Address{}, []Address{}, []Address{}
	m.To, m.Cc, m.Bcc = []Address{}, []Address{}, []Address{}
	m.InReplyTo, m.References = []string{}, []string{}
	seen := map[string]bool{}
	for _, h := range raw {
		key := strings.ToLower(h.name)
		if seen[key] {
			continue
		}
		seen[key] = true
		switch key {
		case "subject":
			m.Subject = decodeHeader(h.value)
		case "message-id":
			if ids := msgIDs(h.value); len(ids) > 0 {
				m.MessageID = ids[0]
			}
		case "in-reply-to":
			m.InReplyTo = msgIDs(h.value)
		case "references":
			m.References = msgIDs(h.value)
		case "date":
			t, err := mail.ParseDate(strings.TrimSpace(h.value))
			if err == nil {
				// ParseDate accepts offsets RFC 3339 cannot write (+2400),
				// which would fail the whole payload's encoding.
				_, err = t.MarshalText()
			}
			if err != nil {
				m.Errors = append(m.Errors, ParseError{Name: ErrorMalformedDate, Detail: fmt.Sprintf("Date %q: %v", truncate(h.value, 80), err)})
				continue
			}
			m.Date = &t
		case "from":
			m.From = m.addresses(h)
		case "sender":
			m.Sender = m.addresses(h)
		case "reply-to":
			m.ReplyTo = m.addresses(h)
		case "to":
			m.To = m.addresses(h)
		case "cc":
			m.Cc = m.addresses(h)
		case "bcc":
			m.Bcc = m.addresses(h)
		}
	}
}

func (m *Message) addresses(h rawHeader) []Address {
	out := []Address{}
	v := strings.TrimSpace(h.value)
	if v == "" {
		return out
	}
	if !utf8.ValidString(v) {
		v = latin1(v)
	}
	list, err := enmime.ParseAddressList(v)
	if err != nil {
		m.Errors = append(m.Errors, ParseError{Name: ErrorMalformedAddr, Detail: fmt.Sprintf("%s: %v", h.name, err)})
		return out
	}
	for _, a := range list {
		out = append(out, Address{Name: a.Name, Address: a.Address})
	}
	return out
}

// msgIDs returns the message ids of a Message-ID, In-Reply-To or
// References field, without angle brackets.
func msgIDs(v string) []string {
	ids := []string{}
	for {
		start := strings.IndexByte(v, '<')
		if start < 0 {
			break
		}
		end := strings.IndexByte(v[start:], '>')
		if end < 0 {
			break
		}
		id := v[start+1 : start+end]
		if id = strings.TrimSpace(id[strings.LastIndexByte(id, '<')+1:]); id != "" {
			ids = append(ids, toUTF8(id))
		}
		v = v[start+end+1:]
	}
	if len(ids) == 0 {
		// Some software writes ids without brackets, or with one missing.
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(" \t\r\n<>", r) }) {
			ids = append(ids, toUTF8(f))
		}
	}
	return ids
}

type rawHeader struct {
	name, value string
}

// scanHeaders reads the header fields of data in order, unfolded, with
// values as written. It is lenient as MTAs are: a line without a colon
// continues the previous field, an mbox "From " line is skipped, and both
// CRLF and bare LF end lines.
func scanHeaders(data []byte) (fields []rawHeader, truncated bool) {
	size := 0
	rest := data
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break
		}
		size += len(line)
		if size > maxHeaderBytes || len(fields) > maxHeaderFields {
			return fields, true
		}
		if line[0] == ' ' || line[0] == '\t' {
			if n := len(fields); n > 0 {
				fields[n-1].value += " " + string(bytes.TrimSpace(line))
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			if n := len(fields); n > 0 && !bytes.HasPrefix(line, []byte("From ")) {
				fields[n-1].value += " " + string(bytes.TrimSpace(line))
			}
			continue
		}
		name := string(bytes.TrimSpace(line[:colon]))
		fields = append(fields, rawHeader{name: toUTF8(name), value: string(bytes.TrimSpace(line[colon+1:]))})
	}
	return fields, false
}

// decodeHeader decodes RFC 2047 encoded words; raw 8-bit text that is not
// UTF-8 is read as Latin-1, the most common legacy case.
func decodeHeader(v string) string {
	return toUTF8(enmime.DecodeRFC2047(toUTF8(v)))
}

func toUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return latin1(s)
}

func latin1(s string) string {
	out, err := charmap.Windows1252.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return out
}

// encoded is a message ready to be posted: the shared JSON is built once
// and each recipient's body is a small prefix followed by those bytes.
type encoded struct {
	sum    [sha256.Size]byte
	shared []byte
	// msg keeps what Deliver logs about the parse (Errors, MessageID,
	// Raw); the decoded content is not kept, so that it can be collected
	// while the POSTs run.
	msg *Message
}

// encode parses msg once and encodes everything but the per-recipient
// fields, in a buffer of exactly the right size.
func encode(msg *lmtp.Message, opts ParseOptions) (*encoded, error) {
	m := parseSafely(msg.Data, msg.ReceivedAt.Truncate(time.Millisecond), opts)
	env := sharedEnvelope{
		From:       msg.From,
		Recipients: msg.Recipients,
		Helo:       msg.Helo,
		RemoteAddr: msg.RemoteAddr,
		Size:       int64(len(msg.Data)),
	}
	if env.Recipients == nil {
		env.Recipients = []string{}
	}
	if len(msg.Data) >= memory.Large {
		// The parse's garbage goes back to the system before the JSON's
		// buffer, about as large as the message, is taken.
		memory.Release()
	}
	shared, err := encodeShared(&env, m)
	if err != nil {
		return nil, fmt.Errorf("webhook: encode message: %w", err)
	}
	return &encoded{
		sum:    sha256.Sum256(msg.Data),
		shared: shared,
		msg:    &Message{MessageID: m.MessageID, Errors: m.Errors, Raw: m.Raw},
	}, nil
}

// prefix is the start of one recipient's body, up to the shared bytes.
func (e *encoded) prefix(id, rcpt string) []byte {
	b := make([]byte, 0, 64+2*len(rcpt)+len(id))
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"envelope":{"to":`...)
	b = appendJSONString(b, rcpt)
	if tag := plusTag(rcpt); tag != "" {
		b = append(b, `,"tag":`...)
		b = appendJSONString(b, tag)
	}
	return append(b, ',')
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
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

// deliveryID derives the webhook-id from the message bytes and the
// recipient only, so that it survives retries, restarts and the MTA's
// redeliveries.
func deliveryID(sum [sha256.Size]byte, rcpt string) string {
	var scratch [sha256.Size + 1 + 64]byte
	in := append(append(append(scratch[:0], sum[:]...), 0), rcpt...)
	id := sha256.Sum256(in)
	return "msg_" + idEncoding.EncodeToString(id[:20])
}
