package payload

import (
	"bytes"
)

// forParsing returns the message as the parsers should read it, mending
// two shapes that made it unreadable although no byte of it is
// ambiguous; the payload's raw stays the message as received.
//   - Old Mac software ends lines with a bare CR: with no LF to split on,
//     the whole message was one header line and had no fields at all.
//     When CR is the only line end, it becomes CRLF.
//   - Some software puts white space before the first header field, or a
//     line of spaces above it, and archives keep mbox's "From " line
//     above it; enmime then refused the message. Both are dropped when a
//     header field follows them.
//
// data is never modified; a new slice is returned when something changes.
func forParsing(data []byte) []byte {
	if lf := bytes.Count(data, []byte{'\n'}); lf <= 1 && bytes.Count(data, []byte{'\r'}) > lf+1 {
		data = bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\r")), []byte("\r"), []byte("\r\n"))
	}
	rest := data
	if bytes.HasPrefix(rest, []byte("From ")) {
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			rest = rest[i+1:]
		}
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if len(rest) == len(data) {
		return endHeaders(data)
	}
	line := rest
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		line = rest[:i]
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || bytes.ContainsAny(line[:colon], " \t") {
		return endHeaders(data)
	}
	return endHeaders(rest)
}

// endHeaders ends each part's header block at its first line that is
// neither a field nor a continuation, as Postfix's cleanup and Python's
// parser do, by putting an empty line before it. Without it, enmime read
// the rest of the part as header, or gave up on the part: its text was
// lost, as part headers are not listed anywhere. The message's own
// header keeps such a line as a continuation (it is listed in headers,
// see scanHeaders), except a delimiter line of the message's multipart:
// the header must have ended before it, and reading it as header lost
// every part. Parts are found by the boundaries of the Content-Type
// fields read on the way.
func endHeaders(data []byte) []byte {
	var out []byte // nil until something changes
	boundaries := map[string]bool{}
	inHeader, top := true, true
	var ctype []byte // the Content-Type field being read, unfolded
	inCtype := false
	endHeader := func() {
		if b := multipartBoundary(ctype); b != "" {
			boundaries[b] = true
		}
		ctype, inCtype, inHeader, top = ctype[:0], false, false, false
	}
	for pos := 0; pos < len(data); {
		next := len(data)
		if i := bytes.IndexByte(data[pos:], '\n'); i >= 0 {
			next = pos + i + 1
		}
		line := data[pos:next]
		content := bytes.TrimRight(line, "\r\n")
		if inHeader {
			switch {
			case len(content) == 0:
				endHeader()
			case content[0] == ' ' || content[0] == '\t':
				if inCtype {
					ctype = append(ctype, content...)
				}
			case isFieldLine(content):
				inCtype = hasPrefixFold(content, "content-type")
				if inCtype {
					ctype = append(ctype[:0], content[bytes.IndexByte(content, ':')+1:]...)
				}
			case top && !bytes.Equal(bytes.TrimRight(content, " \t"), []byte("--"+multipartBoundary(ctype))):
				// continues the field before it, as scanHeaders reads it
			default:
				endHeader()
				if out == nil {
					out = append([]byte{}, data[:pos]...)
				}
				out = append(out, line[len(content):]...)
				if len(line) == len(content) {
					out = append(out, '\r', '\n')
				}
			}
		}
		// A body line, or the line that ended a header without an empty
		// line: a delimiter starts a part's header.
		if !inHeader && bytes.HasPrefix(content, []byte("--")) && len(boundaries) > 0 {
			delim := string(bytes.TrimRight(content[2:], " \t"))
			inHeader = boundaries[delim]
		}
		if out != nil {
			out = append(out, line...)
		}
		pos = next
		if !inHeader && len(boundaries) == 0 {
			// The top header ended without a multipart boundary: no part
			// header follows, and the body is as it is.
			if out == nil {
				return data
			}
			return append(out, data[pos:]...)
		}
	}
	if out == nil {
		return data
	}
	return out
}

// isFieldLine reports whether line starts a header field: a name of
// printable ASCII without colon, white space allowed before the colon
// (RFC 5322's obsolete syntax).
func isFieldLine(line []byte) bool {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i < len(line) && line[i] == ':'
}
