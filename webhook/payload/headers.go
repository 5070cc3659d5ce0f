package payload

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Limits on the header list, like Postfix's header_size_limit: past them
// the rest of the header is still parsed by enmime but not listed.
const (
	maxHeaderFields = 1000
	maxHeaderBytes  = 1 << 20
)

type rawHeader struct {
	name, value string
}

// scanHeaders reads the header fields of data in order, unfolded, with
// values as written. It is lenient as MTAs are: a line without a colon
// continues the previous field, an mbox "From " line is skipped, and both
// CRLF and bare LF end lines. A field's lines are gathered in one buffer
// and made a string once, so its time is linear in the header's size
// however many continuation lines a field has.
func scanHeaders(data []byte) (fields []rawHeader, truncated bool) {
	size := 0
	var value []byte // the value of the last field, while it may go on
	open := false
	end := func() {
		if open {
			fields[len(fields)-1].value = string(value)
			open = false
		}
	}
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
			end()
			return fields, true
		}
		colon := bytes.IndexByte(line, ':')
		continued := line[0] == ' ' || line[0] == '\t' || (colon <= 0 && !bytes.HasPrefix(line, []byte("From ")))
		if continued {
			if open {
				value = append(append(value, ' '), bytes.TrimSpace(line)...)
			}
			continue
		}
		if colon <= 0 {
			continue // an mbox "From " line
		}
		end()
		name := string(bytes.TrimSpace(line[:colon]))
		fields = append(fields, rawHeader{name: toUTF8(name)})
		value, open = append(value[:0], bytes.TrimSpace(line[colon+1:])...), true
	}
	end()
	return fields, false
}

// decodeHeader decodes RFC 2047 encoded words; raw 8-bit text that is not
// UTF-8 is read as Latin-1, the most common legacy case.
func decodeHeader(v string) string {
	v = toUTF8(repairWords(v))
	d := decodeWords(v)
	if !strings.Contains(v, "=?") {
		return d
	}
	if strings.Contains(d, "=?") {
		// enmime leaves words in a charset with an RFC 2231 language
		// suffix ("=?iso-8859-2*sl?Q?...?=") undecoded.
		if ours, err := wordDecoder.DecodeHeader(v); err == nil {
			d = ours
		}
	}
	return toUTF8(d)
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

// truncate shortens s to n bytes for an error's detail.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// repairWords mends two common faults of encoded words that Go's decoder
// refuses, so that they would arrive with their =?...?= markers: raw
// 8-bit bytes inside a Q word (Eudora writes "=?iso-8859-1?Q?Fr\xf6sche?=")
// become =XX, which is what the sender meant; a B word's missing or
// surplus "=" padding is corrected.
func repairWords(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	var b strings.Builder
	for {
		start := strings.Index(v, "=?")
		if start < 0 {
			break
		}
		// =?charset?Q?text?=
		q1 := strings.IndexByte(v[start+2:], '?')
		if q1 < 0 || start+2+q1+3 > len(v) {
			break
		}
		encAt := start + 2 + q1 + 1
		end := strings.Index(v[encAt+2:], "?=")
		if v[encAt+1] != '?' || end < 0 || !strings.ContainsRune("QqBb", rune(v[encAt])) {
			b.WriteString(v[:start+2])
			v = v[start+2:]
			continue
		}
		textEnd := encAt + 2 + end
		b.WriteString(v[:encAt+2])
		if v[encAt] == 'B' || v[encAt] == 'b' {
			text := strings.TrimRight(v[encAt+2:textEnd], "=")
			b.WriteString(text + strings.Repeat("=", (4-len(text)%4)%4))
			b.WriteString("?=")
			v = v[textEnd+2:]
			continue
		}
		for i := encAt + 2; i < textEnd; i++ {
			if c := v[i]; c >= 0x80 {
				fmt.Fprintf(&b, "=%02X", c)
			} else {
				b.WriteByte(c)
			}
		}
		b.WriteString("?=")
		v = v[textEnd+2:]
	}
	b.WriteString(v)
	return b.String()
}
