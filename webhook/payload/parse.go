package payload

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// Options choose what goes into a payload.
type Options struct {
	// OmitAttachments keeps attachment metadata and drops the content.
	OmitAttachments bool
	// IncludeRaw adds the message as received.
	IncludeRaw bool
	// Stages analyse each parsed message, in order, before it is encoded.
	Stages []Stage
}

var parserOptions = []enmime.Option{
	enmime.SkipMalformedParts(true),
	enmime.SetReadPartErrorPolicy(enmime.AllowCorruptTextPartErrorPolicy),
	enmime.MaxStoredPartErrors(100),
}

// Parse builds the shared part of every payload from a received message.
// It never fails: what enmime cannot read becomes an entry in Errors, and
// the raw message is then included so that nothing is lost.
func Parse(data []byte, receivedAt time.Time, opts Options) *wire.Message {
	m := &wire.Message{
		ReceivedAt:  receivedAt.UTC(),
		Attachments: []wire.Attachment{},
		Inlines:     []wire.Attachment{},
		Errors:      []wire.ParseError{},
	}
	raw, truncated := scanHeaders(data)
	m.Headers = make([]wire.Header, len(raw))
	for i, h := range raw {
		m.Headers[i] = wire.Header{Name: h.name, Value: decodeHeader(h.value)}
	}
	if truncated {
		m.Errors = append(m.Errors, wire.ParseError{Name: wire.ErrorHeadersTooLarge,
			Detail: fmt.Sprintf("only the first %d header fields or %d bytes are listed", maxHeaderFields, maxHeaderBytes)})
	}
	fromHeaders(m, raw)

	if depth, parts := mimeShape(data); depth > maxMIMEDepth || parts > maxMIMEParts {
		m.Errors = append(m.Errors, wire.ParseError{Name: wire.ErrorTooComplex, Severe: true,
			Detail: fmt.Sprintf("MIME structure too complex to parse (more than %d levels or %d parts); the message is in raw", maxMIMEDepth, maxMIMEParts)})
		m.Raw = data
		return m
	}
	env, err := readEnvelope(data)
	if err != nil {
		m.Errors = append(m.Errors, wire.ParseError{Name: wire.ErrorUnparseable, Detail: err.Error(), Severe: true})
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
		m.Errors = append(m.Errors, wire.ParseError{Name: e.Name, Detail: e.Detail, Severe: e.Severe})
	}
	if opts.IncludeRaw {
		m.Raw = data
	}
	return m
}

// parseSafely is Parse, with a last line of defence: should parsing panic
// on some input, the message is still delivered, raw, rather than
// deferred again and again until the MTA bounces it.
func parseSafely(data []byte, receivedAt time.Time, opts Options) (m *wire.Message) {
	defer func() {
		if r := recover(); r != nil {
			m = &wire.Message{
				ReceivedAt: receivedAt.UTC(),
				Headers:    []wire.Header{}, From: []wire.Address{}, Sender: []wire.Address{}, ReplyTo: []wire.Address{},
				To: []wire.Address{}, Cc: []wire.Address{}, Bcc: []wire.Address{}, InReplyTo: []string{}, References: []string{},
				Attachments: []wire.Attachment{}, Inlines: []wire.Attachment{},
				Errors: []wire.ParseError{{Name: wire.ErrorUnparseable, Detail: fmt.Sprintf("internal error: %v", r), Severe: true}},
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
	return readTrusting(data)
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

func attachment(p *enmime.Part, opts Options) wire.Attachment {
	sum := sha256.Sum256(p.Content)
	a := wire.Attachment{
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
func fromHeaders(m *wire.Message, raw []rawHeader) {
	m.From, m.Sender, m.ReplyTo = []wire.Address{}, []wire.Address{}, []wire.Address{}
	m.To, m.Cc, m.Bcc = []wire.Address{}, []wire.Address{}, []wire.Address{}
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
				m.Errors = append(m.Errors, wire.ParseError{Name: wire.ErrorMalformedDate, Detail: fmt.Sprintf("Date %q: %v", truncate(h.value, 80), err)})
				continue
			}
			m.Date = &t
		case "from":
			m.From = addresses(m, h)
		case "sender":
			m.Sender = addresses(m, h)
		case "reply-to":
			m.ReplyTo = addresses(m, h)
		case "to":
			m.To = addresses(m, h)
		case "cc":
			m.Cc = addresses(m, h)
		case "bcc":
			m.Bcc = addresses(m, h)
		}
	}
}

func addresses(m *wire.Message, h rawHeader) []wire.Address {
	out := []wire.Address{}
	v := strings.TrimSpace(h.value)
	if v == "" {
		return out
	}
	if !utf8.ValidString(v) {
		v = latin1(v)
	}
	list, err := enmime.ParseAddressList(v)
	if err != nil {
		m.Errors = append(m.Errors, wire.ParseError{Name: wire.ErrorMalformedAddr, Detail: fmt.Sprintf("%s: %v", h.name, err)})
		return out
	}
	for _, a := range list {
		out = append(out, wire.Address{Name: a.Name, Address: a.Address})
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
