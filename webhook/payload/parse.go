package payload

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

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
	// envelopeFrom is the message's MAIL FROM, which Encode sets for the
	// classification; "" (the null sender) when Parse is called alone.
	envelopeFrom string
	// ParseTimeout bounds the parse: past it the message is encoded raw,
	// with a severe error (see parseWithin). Zero means no bound.
	ParseTimeout time.Duration
	// enmimeOnly leaves every part to enmime, large ones included (see
	// lift.go); tests compare the two readings.
	enmimeOnly bool
}

var parserOptions = []enmime.Option{
	enmime.SkipMalformedParts(true),
	enmime.SetReadPartErrorPolicy(enmime.AllowCorruptTextPartErrorPolicy),
	enmime.MaxStoredPartErrors(100),
	// enmime's HTML-to-text goes through html.Parse, which is not linear
	// in its input; htmlToText replaces it.
	enmime.DisableTextConversion(true),
	enmime.SetCustomParseMediaType(parseMediaType),
}

// Parse builds the shared part of every payload from a received message.
// It never fails: what enmime cannot read becomes an entry in Errors, and
// the raw message is then included so that nothing is lost.
func Parse(data []byte, receivedAt time.Time, opts Options) *wire.Message {
	raw := data
	data = forParsing(data)
	m := &wire.Message{
		ReceivedAt:  receivedAt.UTC(),
		Attachments: []wire.Attachment{},
		Inlines:     []wire.Attachment{},
		Errors:      []wire.ParseError{},
	}
	var env *enmime.Envelope // set by readEnvelope below, nil when the message is not parsed
	defer func() { addMeaning(m, env, opts.envelopeFrom) }()
	fields, truncated := scanHeaders(data)
	m.Headers = make([]wire.Header, len(fields))
	for i, h := range fields {
		m.Headers[i] = wire.Header{Name: h.name, Value: decodeHeader(h.value)}
	}
	if truncated {
		m.Errors = append(m.Errors, wire.ParseError{Name: wire.ErrorHeadersTooLarge,
			Detail: fmt.Sprintf("only the first %d header fields or %d bytes are listed", maxHeaderFields, maxHeaderBytes)})
	}
	fromHeaders(m, fields)

	if depth, parts := mimeShape(data); depth > maxMIMEDepth || parts > maxMIMEParts {
		m.Errors = append(m.Errors, wire.ParseError{Name: wire.ErrorTooComplex, Severe: true,
			Detail: fmt.Sprintf("MIME structure too complex to parse (more than %d levels or %d parts); the message is in raw", maxMIMEDepth, maxMIMEParts)})
		m.Raw = raw
		return m
	}
	forEnmime, large := data, []lifted(nil)
	if !opts.enmimeOnly {
		forEnmime, large = liftLargeParts(data)
	}
	env, err := readEnvelope(forEnmime)
	restoreLifted(env, large)
	if err != nil {
		m.Errors = append(m.Errors, wire.ParseError{Name: wire.ErrorUnparseable, Detail: err.Error(), Severe: true})
		m.Raw = raw
		return m
	}
	b := walkParts(data, env.Root, opts)
	m.Text, m.HTML = joinParts(b.text), joinParts(b.html)
	// Text from HTML when there is no text part: the one call site.
	if m.Text == "" && m.HTML != "" {
		m.Text = htmlToText(m.HTML)
	}
	m.Attachments = append(m.Attachments, b.attachments...)
	m.Inlines = append(m.Inlines, b.inlines...)
	for _, e := range env.Errors {
		m.Errors = append(m.Errors, wire.ParseError{Name: e.Name, Detail: e.Detail, Severe: e.Severe})
	}
	if opts.IncludeRaw {
		m.Raw = raw
	}
	return m
}

// parseSafely is Parse, with a last line of defence: should parsing panic
// on some input, the message is still delivered, raw, rather than
// deferred again and again until the MTA bounces it.
func parseSafely(data []byte, receivedAt time.Time, opts Options) (m *wire.Message) {
	defer func() {
		if r := recover(); r != nil {
			m = unparsed(data, receivedAt, wire.ErrorUnparseable, fmt.Sprintf("internal error: %v", r))
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

// attachment lists p with content, its bytes as attached.
func attachment(p *enmime.Part, content []byte, opts Options) wire.Attachment {
	sum := sha256.Sum256(content)
	name := filename(p)
	a := wire.Attachment{
		Filename:     name,
		SafeFilename: safeFilename(name),
		ContentType:  contentType(p),
		Disposition:  p.Disposition,
		ContentID:    p.ContentID,
		Size:         len(content),
		SHA256:       hex.EncodeToString(sum[:]),
	}
	if !opts.OmitAttachments {
		a.Content = content
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
			t, err := parseDate(h.value)
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
	list, err := parseAddresses(h.value)
	if err != nil {
		m.Errors = append(m.Errors, wire.ParseError{Name: wire.ErrorMalformedAddr, Detail: fmt.Sprintf("%s: %v", h.name, err)})
	}
	return list
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
