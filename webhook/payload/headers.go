package payload

import (
	"bytes"
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
	return toUTF8(decodeWords(toUTF8(v)))
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
