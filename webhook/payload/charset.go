package payload

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"
	"golang.org/x/text/encoding/htmlindex"
)

// Charset guessing (enmime's chardet) was most of the time spent parsing
// real mail, and it ran on every text part, even those whose declared
// charset was right; it could then also override a right declaration.
// A message is now read trusting every declared charset, and a text part
// that declares none is read as UTF-8, as is. Only when some text part
// shows that it was misread (see misread) is the message read again with
// guessing, as every message used to be: the declaration is then missing
// or provably wrong. On the real-mail corpus this changes the text of one
// message of 1,052, for the better (its right UTF-8 declaration was
// overridden by a guess), and drops the guesses' mismatch warnings.
var (
	// trustingParser believes declared charsets and never guesses.
	trustingParser = enmime.NewParser(append(parserOptions,
		enmime.DisableCharacterDetection(true),
		enmime.SetCustomParseMediaType(utf8WhenUndeclared))...)
	// guessingParser guesses the charset of every text part, to read mail
	// that declares one charset and is written in another, or none.
	guessingParser = enmime.NewParser(parserOptions...)
)

// utf8WhenUndeclared is our media type parsing (parseMediaType), with charset=utf-8
// for a text type that declares no charset: enmime would otherwise
// guess one even with detection disabled. enmime reads UTF-8 as is, so
// such a part keeps its bytes, and decodeFailed sees any that are not
// ASCII or UTF-8. A declared US-ASCII (also the default of a message
// without Content-Type) is read as UTF-8 too: ASCII is UTF-8, and enmime
// would run it through a windows-1252 decoder, copying it twice; 8-bit
// bytes that are not UTF-8 still send the message to the guessing parser.
func utf8WhenUndeclared(ctype string) (string, map[string]string, []string, error) {
	mtype, params, invalid, err := parseMediaType(ctype)
	if err == nil && strings.HasPrefix(mtype, "text/") && (params["charset"] == "" || isASCIICharset(params["charset"])) {
		if params == nil {
			params = map[string]string{}
		}
		params["charset"] = "utf-8"
	}
	return mtype, params, invalid, err
}

// readTrusting parses data trusting declared charsets, and again with
// guessing when a text part did not decode.
func readTrusting(data []byte) (*enmime.Envelope, error) {
	if env := readPlainText(data); env != nil {
		return env, nil
	}
	env, err := envelopeOf(trustingParser, data)
	if err != nil || !decodeFailed(env.Root) {
		return env, err
	}
	return envelopeOf(guessingParser, data)
}

// decodeFailed reports whether a text part in the tree under p shows that
// its charset was missing or wrong (see misread). A message that carried
// such text itself is only read again for nothing, as every message used
// to be.
func decodeFailed(p *enmime.Part) bool {
	for ; p != nil; p = p.NextSibling {
		if strings.HasPrefix(p.ContentType, "text/") && misread(p.Content, p.Charset) {
			return true
		}
		if decodeFailed(p.FirstChild) {
			return true
		}
	}
	return false
}

// misread reports whether text, decoded from charset, proves the charset
// wrong: bytes that are not UTF-8 (none or an unknown charset was
// declared, and the part is not UTF-8); U+FFFD (a multibyte decoder met a
// sequence that is not in its charset); ESC or NUL (ISO-2022 or UTF-16
// read as something else); C1 controls, which no text uses (windows-1252
// read as ISO-8859-1, or mangled text); anything but ASCII in a part that
// declares ASCII; or text that the declared charset encodes back into
// UTF-8 beyond ASCII (UTF-8 declared as Latin-1, KOI8-R and the like).
func misread(text []byte, charset string) bool {
	// Each look is one vectorised pass: this runs on every text part.
	if !utf8.Valid(text) || bytes.IndexByte(text, 0) >= 0 || bytes.IndexByte(text, 0x1b) >= 0 {
		return true
	}
	for rest := text; ; {
		i := bytes.IndexByte(rest, 0xc2)
		if i < 0 {
			break
		}
		if i+1 < len(rest) && rest[i+1] < 0xa0 { // U+0080 to U+009F
			return true
		}
		rest = rest[i+1:]
	}
	if isASCII(text) {
		return false
	}
	if bytes.Contains(text, replacement) || isASCIICharset(charset) {
		return true
	}
	return utf8Underneath(text, charset)
}

var replacement = []byte(string(utf8.RuneError))

// isASCII reports whether text is all ASCII, eight bytes at a time.
func isASCII(text []byte) bool {
	i := 0
	for ; i+8 <= len(text); i += 8 {
		if binary.LittleEndian.Uint64(text[i:])&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(text); i++ {
		if text[i] >= 0x80 {
			return false
		}
	}
	return true
}

// isASCIICharset reports whether charset names US-ASCII.
func isASCIICharset(charset string) bool {
	switch strings.ToLower(charset) {
	case "us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso646-us", "iso-ir-6", "cp367", "ibm367":
		return true
	}
	return false
}

// utf8Underneath reports whether text, encoded back into charset, is
// UTF-8 with more than ASCII in it: the part was UTF-8 all along.
func utf8Underneath(text []byte, charset string) bool {
	if strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "utf8") {
		return false
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return false
	}
	raw, err := enc.NewEncoder().Bytes(text)
	if err != nil || !utf8.Valid(raw) {
		return false
	}
	for _, c := range raw {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// decodeWords is enmime.DecodeRFC2047 without its cost for the many
// header values that hold no encoded word: with no '?' there is none (nor
// a mangled one enmime would repair), and enmime would only turn CR and
// LF into spaces (strings.Map copies nothing when there are none),
// after upper-casing a copy of the value to look.
func decodeWords(v string) string {
	if strings.IndexByte(v, '?') >= 0 {
		return enmime.DecodeRFC2047(v)
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v)
}

// readPlainText reads the most common message there is, one text/plain
// part in UTF-8 or ASCII without a transfer encoding, with enmime reading
// only its header: enmime would copy the body twice, growing each copy,
// to return it unchanged. It returns nil for any other message, and for
// a body that misread would send to the guessing parser; the caller then
// parses the whole message. What enmime decides from the header (the
// media type, the charset, the transfer encoding, the warnings) is
// enmime's own, from the same header bytes. The envelope's Text is left
// empty: walkParts reads the part tree, not enmime's Text and HTML.
func readPlainText(data []byte) *enmime.Envelope {
	at := bodyStart(data)
	if at < 0 || !plainTextHeader(data[:at]) {
		return nil
	}
	env, err := readEnvelopeOf(trustingParser, data[:at])
	if err != nil {
		return nil
	}
	root := env.Root
	if root.FirstChild != nil || root.ContentType != "text/plain" || !strings.EqualFold(root.Charset, "utf-8") || len(root.Content) != 0 || len(env.Attachments)+len(env.Inlines)+len(env.OtherParts) != 0 {
		return nil
	}
	switch strings.ToLower(root.Header.Get("Content-Transfer-Encoding")) {
	case "", "7bit", "8bit", "binary":
	default:
		return nil
	}
	body := data[at:]
	if misread(body, root.Charset) {
		return nil
	}
	root.Content = body
	return env
}

// bodyStart is where the body of data starts, after the first empty line
// (CRLF or LF alone), as enmime's header reader finds it; -1 when there
// is none.
func bodyStart(data []byte) int {
	if len(data) > 0 && data[0] == '\n' {
		return 1
	}
	if len(data) > 1 && data[0] == '\r' && data[1] == '\n' {
		return 2
	}
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		switch {
		case i < len(data) && data[i] == '\n':
			return i + 1
		case i+1 < len(data) && data[i] == '\r' && data[i+1] == '\n':
			return i + 2
		}
	}
}

// plainTextHeader is a cheap look at a header for readPlainText, so that
// a multipart or an encoded part does not have its header read twice: no
// Content-Type but text/plain, and no transfer encoding but an identity.
// enmime's reading of the header decides; this only rules out.
func plainTextHeader(head []byte) bool {
	if v, ok := fieldStart(head, "\ncontent-type:"); ok && !hasPrefixFold(v, "text/plain") {
		return false
	}
	if v, ok := fieldStart(head, "\ncontent-transfer-encoding:"); ok &&
		!hasPrefixFold(v, "7bit") && !hasPrefixFold(v, "8bit") && !hasPrefixFold(v, "binary") {
		return false
	}
	return true
}

// fieldStart returns what follows the first "\nname:" in head (name in
// lower case), white space and folds skipped, and whether there is one.
func fieldStart(head []byte, name string) ([]byte, bool) {
	var rest []byte
	if hasPrefixFold(head, name[1:]) { // the first line
		rest = head[len(name)-1:]
	} else if i := indexFoldASCII(head, name); i >= 0 {
		rest = head[i+len(name):]
	} else {
		return nil, false
	}
	return bytes.TrimLeft(rest, " \t\r\n"), true
}
