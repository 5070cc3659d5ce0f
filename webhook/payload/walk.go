package payload

import (
	"strings"

	"github.com/jhillyerd/enmime/v2"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// body is what a walk of the part tree finds: every text/plain and
// text/html part the sender wrote as the message's body, in order, and
// every other leaf as a part.
type body struct {
	text, html  []string
	attachments []wire.Attachment
	inlines     []wire.Attachment
	orig        originals
}

// walkParts walks the MIME tree depth first, in document order, instead
// of trusting enmime's Text and HTML, which keep only the first part of
// each type and drop later fragments (Apple Mail's html, image, html).
// A multipart is entered; a message/* part is a leaf, not entered: what
// an enclosed message says is not this message's text. A leaf is body
// when it is text/plain or text/html, not an attachment and has no file
// name; every other leaf is an attachment or an inline part, so nothing
// the sender wrote is lost.
func walkParts(data []byte, root *enmime.Part, opts Options) *body {
	b := &body{orig: originals{data: data}}
	var walk func(p *enmime.Part)
	walk = func(p *enmime.Part) {
		if p.FirstChild != nil && !strings.HasPrefix(contentType(p), "message/") {
			for c := p.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
			return
		}
		if p.FirstChild == nil && strings.HasPrefix(contentType(p), "multipart/") && len(p.Content) == 0 {
			return // an empty multipart: nothing was written in it
		}
		b.leaf(p, opts)
	}
	walk(root)
	return b
}

func (b *body) leaf(p *enmime.Part, opts Options) {
	ct := contentType(p)
	if isUUEncoding(p.Header.Get("Content-Transfer-Encoding")) {
		if files, rest := uudecodeBlocks(p.Content); len(files) > 0 && strings.TrimSpace(string(rest)) == "" {
			for _, f := range files {
				b.attachments = append(b.attachments, uuAttachment(f, p, opts))
			}
			return
		}
	}
	isBody := (ct == "text/plain" || ct == "text/html") &&
		!strings.EqualFold(p.Disposition, "attachment") && filename(p) == ""
	if !isBody {
		a := attachment(p, b.orig.content(p), opts)
		if strings.EqualFold(p.Disposition, "inline") || (p.Disposition == "" && p.ContentID != "") {
			b.inlines = append(b.inlines, a)
		} else {
			b.attachments = append(b.attachments, a)
		}
		return
	}
	content := b.orig.bodyText(p)
	if ct == "text/html" {
		b.html = append(b.html, content)
		return
	}
	if !strings.Contains(content, "begin ") {
		b.text = append(b.text, content) // no uuencoded block: no copy to look
		return
	}
	if files, rest := uudecodeBlocks([]byte(content)); len(files) > 0 {
		for _, f := range files {
			b.attachments = append(b.attachments, uuAttachment(f, p, opts))
		}
		content = string(rest)
	}
	b.text = append(b.text, content)
}

// contentType is the part's media type, with RFC 2045's and 2046's
// defaults for a part without one: text/plain, or message/rfc822 in a
// multipart/digest; a type that is not type/subtype is text/plain too
// (RFC 2045 5.2).
func contentType(p *enmime.Part) string {
	if ct := strings.ToLower(p.ContentType); ct != "" {
		if !strings.Contains(ct, "/") {
			return "text/plain"
		}
		return ct
	}
	if p.Parent != nil && strings.EqualFold(p.Parent.ContentType, "multipart/digest") {
		return "message/rfc822"
	}
	return "text/plain"
}

// joinParts joins the body parts of one type in order. Each part's last
// line end belongs to the boundary after it, so a line end separates
// them: no part runs into the next, and nothing is added that the
// sender did not write.
func joinParts(parts []string) string {
	return strings.Join(parts, "\r\n")
}
