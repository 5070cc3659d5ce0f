package payload

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"
)

// rawParser reads the same tree as parser, without undoing transfer
// encodings or converting charsets, so that a text file attached to a
// message can be given as the sender attached it.
var rawParser = enmime.NewParser(append(parserOptions, enmime.RawContent(true))...)

// originals gives the bytes of text parts as attached: enmime converts
// every text/* part to UTF-8, which is right for the body and wrong for
// a file (a receiver comparing the file's sha256 with the sender's, or
// saving it, wants the sender's bytes).
type originals struct {
	data   []byte
	byID   map[string]*enmime.Part
	parsed bool
}

// content returns p's content with its transfer encoding undone and
// nothing else changed, for a text part, and for a base64 part enmime
// gave up on (it keeps nothing of base64 with a stray character, where
// a mail reader decodes what it can); enmime's content otherwise, or
// when the original cannot be found or decoded.
func (o *originals) content(p *enmime.Part) []byte {
	lostBase64 := len(p.Content) == 0 && strings.EqualFold(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")), "base64")
	if (!strings.HasPrefix(strings.ToLower(p.ContentType), "text/") || unconverted(p)) && !lostBase64 {
		return p.Content
	}
	out, err := o.decoded(p)
	if out == nil || (err != nil && !lostBase64) {
		return p.Content
	}
	return out
}

// bodyText is p's text: enmime's, except where its charset detection
// overrode a utf-8 declaration that the bytes bear out (it reads such
// text as ISO-8859-1 now and then, turning "ö" into "Ã¶").
func (o *originals) bodyText(p *enmime.Part) string {
	if strings.EqualFold(p.OrigCharset, "utf-8") && !strings.EqualFold(p.Charset, "utf-8") {
		if out, err := o.decoded(p); err == nil && out != nil && utf8.Valid(out) {
			return string(out)
		}
	}
	return toUTF8(string(p.Content))
}

// decoded returns p's bytes with only the transfer encoding undone, from
// the raw pass; nil when the part is not found there.
func (o *originals) decoded(p *enmime.Part) ([]byte, error) {
	if !o.parsed {
		o.parsed = true
		if root, err := readRaw(o.data); err == nil {
			o.byID = map[string]*enmime.Part{}
			var index func(*enmime.Part)
			index = func(q *enmime.Part) {
				o.byID[q.PartID] = q
				for c := q.FirstChild; c != nil; c = c.NextSibling {
					index(c)
				}
			}
			index(root)
		}
	}
	raw, ok := o.byID[p.PartID]
	if !ok || raw.ContentType != p.ContentType {
		return nil, nil
	}
	return undoTransferEncoding(raw.Content, p.Header.Get("Content-Transfer-Encoding"))
}

// unconverted reports whether enmime left p's bytes as they were: UTF-8,
// no charset, or ASCII that is ASCII. The second parse is then not needed.
func unconverted(p *enmime.Part) bool {
	switch strings.ToLower(p.Charset) {
	case "", "utf-8", "utf8":
		return true
	case "us-ascii", "ascii":
		for _, c := range p.Content {
			if c >= 0x80 {
				return false
			}
		}
		return true
	}
	return false
}

// readRaw parses data with rawParser, turning a panic into an error as
// readEnvelope does.
func readRaw(data []byte) (root *enmime.Part, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("enmime: panic: %v", r)
		}
	}()
	env, err := envelopeOf(rawParser, data)
	if err != nil {
		return nil, err
	}
	return env.Root, nil
}

// undoTransferEncoding decodes base64 leniently (characters outside the
// alphabet skipped, padding optional, as mail readers do) and
// quoted-printable; other encodings are identity.
func undoTransferEncoding(b []byte, cte string) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		clean := make([]byte, 0, len(b))
		for _, c := range b {
			if c == '=' {
				break
			}
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' {
				clean = append(clean, c)
			}
		}
		if len(clean)%4 == 1 {
			clean = clean[:len(clean)-1]
		}
		out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
		n, err := base64.RawStdEncoding.Decode(out, clean)
		return out[:n], err
	case "quoted-printable":
		return io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
	}
	return b, nil
}
