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
		return data
	}
	line := rest
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		line = rest[:i]
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || bytes.ContainsAny(line[:colon], " \t") {
		return data
	}
	return rest
}
