package payload

import (
	"mime"
	"strings"

	"github.com/jhillyerd/enmime/v2"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/classify"
	replytext "github.com/lmtp-webhook/lmtp-webhook/webhook/payload/reply"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// addMeaning fills m.Reply and m.Classification, once per message, from
// the finished document and enmime's envelope (nil when the message could
// not be parsed, or was too complex to try). It runs last in Parse, so
// that it reads the text and headers exactly as the payload carries them,
// and it changes neither them nor the parts.
//
// Without an envelope the payload has the raw message only: the reply is
// empty and the classification comes from the headers alone, so that an
// auto-reply, a list message or bulk mail is still marked; a message whose
// Content-Type says it is a delivery status notification then gets an
// empty bounce list (a bounce whose recipients could not be read) rather
// than null.
func addMeaning(m *wire.Message, env *enmime.Envelope, envelopeFrom string) {
	in := classify.Input{
		Header:       make([]classify.Header, len(m.Headers)),
		EnvelopeFrom: envelopeFrom,
		Text:         m.Text,
	}
	for i, h := range m.Headers {
		in.Header[i] = classify.Header{Name: h.Name, Value: h.Value}
	}
	text := m.Text
	if env != nil {
		if textFromHTML(env) {
			// The text is made from the HTML, which has lost its quote
			// containers: let reply read the HTML itself.
			text = ""
		}
		reportParts(&in, env.Root)
	}
	m.Reply = replytext.Parse(text, m.HTML)
	m.Classification = classify.Classify(in)
}

// textFromHTML reports whether the message has no text/plain body of its
// own, so that its text, if any, was converted from the HTML. enmime says
// so with a warning whether or not it converts the text itself.
func textFromHTML(env *enmime.Envelope) bool {
	for _, e := range env.Errors {
		if e.Name == enmime.ErrorPlainTextFromHTML {
			return true
		}
	}
	return false
}

// reportParts sets in.Parts to the children of the top-level multipart.
// A report one level deeper (a multipart/mixed whose child is the
// multipart/report, as some MTAs and gateways send bounces) is read as if
// it were the message: its children are the parts, and its Content-Type
// stands in for the message's, which is all Classify reads it for.
func reportParts(in *classify.Input, root *enmime.Part) {
	if root == nil || !strings.HasPrefix(root.ContentType, "multipart/") {
		return
	}
	if root.ContentType != "multipart/report" {
		for c := root.FirstChild; c != nil; c = c.NextSibling {
			if c.ContentType == "multipart/report" {
				setHeader(in.Header, "Content-Type", c.Header.Get("Content-Type"))
				root = c
				break
			}
		}
	}
	for c := root.FirstChild; c != nil; c = c.NextSibling {
		mt, params, err := mime.ParseMediaType(c.Header.Get("Content-Type"))
		if err != nil || mt == "" {
			mt = strings.ToLower(c.ContentType)
		}
		in.Parts = append(in.Parts, classify.Part{ContentType: mt, Params: params, Body: c.Content})
	}
}

// setHeader replaces the value of the first field called name in h, the
// one Classify reads.
func setHeader(h []classify.Header, name, value string) {
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			h[i].Value = value
			return
		}
	}
}
