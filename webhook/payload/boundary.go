package payload

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jhillyerd/enmime/v2"
)

// enmime's boundary reader finds a delimiter anywhere in a line near a
// line start, and anywhere at all in the first read of a part, so text
// such as "see --b09 for details" or "  --b09" ended the part there and
// the rest of it was silently lost. RFC 2046 5.1.1: a delimiter is a line
// that starts with "--" and the boundary. The reader is unexported and
// has no option, and enmime is a module we do not patch, so this is a
// workaround in our code: a message where a boundary string stands
// inside a line (rare) has its multiparts split here, at delimiter lines
// only, and each part handed to enmime alone, which then has no outer
// boundary to misplace; every other message goes to enmime whole.

// enmime's reader also peeks the length of the boundary into a 4096-byte
// buffer: with a longer boundary (RFC 2046 allows 70 characters; mime4j's
// test mail has thousands) it finds no part at all, and said nothing.

// ownSplit reports whether data's multiparts must be split here: a
// multipart boundary appears in it other than at the start of a line, or
// is too long for enmime's reader.
func ownSplit(data []byte) bool {
	seen := map[string]bool{}
	// Bounded: a message may say "boundary" any number of times, and
	// each distinct value costs a scan of the message.
	for rest, n := data, 0; n < maxBoundaryMentions && len(seen) < maxBoundaries; n++ {
		i := indexFoldASCII(rest, "boundary")
		if i < 0 {
			return false
		}
		rest = rest[i+len("boundary"):]
		b := boundaryValue(rest)
		if b == "" || seen[b] {
			continue
		}
		seen[b] = true
		if len(b) > 1000 {
			return true
		}
		delim := []byte("--" + b)
		for at, from := 0, 0; ; from = at + len(delim) {
			j := bytes.Index(data[from:], delim)
			if j < 0 {
				break
			}
			at = from + j
			if at > 0 && data[at-1] != '\n' {
				return true
			}
		}
	}
	return false
}

// Bounds on ownSplit's work; real mail mentions a few boundaries.
const (
	maxBoundaryMentions = 1000
	maxBoundaries       = 64
)

// boundaryValue reads the value after a "boundary" parameter name:
// optional "*" forms are left to the strict path.
func boundaryValue(rest []byte) string {
	rest = bytes.TrimLeft(rest[:min(len(rest), 10000)], " \t")
	if len(rest) == 0 || rest[0] != '=' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t")
	if len(rest) > 0 && rest[0] == '"' {
		if end := bytes.IndexByte(rest[1:], '"'); end > 0 {
			return string(rest[1 : end+1])
		}
		return ""
	}
	if end := bytes.IndexAny(rest, "; \t\r\n"); end >= 0 {
		rest = rest[:end]
	}
	return string(rest)
}

// readSplit reads data as p.ReadParts does, except that every multipart
// is split here at its delimiter lines.
func readSplit(p *enmime.Parser, data []byte) (*enmime.Part, error) {
	root, err := splitTree(p, data, 0)
	if err != nil {
		return nil, err
	}
	root.PartID = "0"
	numberParts(root)
	return root, nil
}

func splitTree(p *enmime.Parser, data []byte, depth int) (*enmime.Part, error) {
	header, body, ok := cutHeader(data)
	boundary := ""
	if ok && depth < maxMIMEDepth {
		fields, _ := scanHeaders(header)
		for _, f := range fields {
			if strings.EqualFold(f.name, "Content-Type") {
				if mt, params, _, err := parseMediaType(f.value); err == nil && strings.HasPrefix(mt, "multipart/") {
					boundary = params["boundary"]
				}
				break
			}
		}
	}
	if boundary == "" {
		return p.ReadParts(bytes.NewReader(data))
	}
	// The multipart's own part, from its header and an empty body.
	root, err := p.ReadParts(bytes.NewReader(append(append([]byte{}, header...), "--"+boundary+"--\r\n"...)))
	if err != nil {
		return nil, err
	}
	var last *enmime.Part
	for _, seg := range splitBody(body, boundary) {
		child, err := splitTree(p, seg, depth+1)
		if err != nil {
			root.Errors = append(root.Errors, &enmime.Error{Name: enmime.ErrorMalformedChildPart, Detail: err.Error()})
			continue
		}
		child.Parent = root
		if last == nil {
			root.FirstChild = child
		} else {
			last.NextSibling = child
		}
		last = child
	}
	return root, nil
}

// cutHeader splits data at its first empty line.
func cutHeader(data []byte) (header, body []byte, ok bool) {
	if bytes.HasPrefix(data, []byte("\r\n")) || bytes.HasPrefix(data, []byte("\n")) {
		return nil, data, false
	}
	for _, sep := range []string{"\r\n\r\n", "\n\n"} {
		if i := bytes.Index(data, []byte(sep)); i >= 0 {
			return data[:i+len(sep)], data[i+len(sep):], true
		}
	}
	return nil, data, false
}

// splitBody returns the parts of a multipart body: what lies between
// lines that are "--boundary" (then optional white space), up to the line
// "--boundary--". The line end before a delimiter belongs to it.
func splitBody(body []byte, boundary string) [][]byte {
	delim := "--" + boundary
	var parts [][]byte
	start := -1
	for pos := 0; pos < len(body); {
		end := bytes.IndexByte(body[pos:], '\n')
		next := len(body)
		if end >= 0 {
			next = pos + end + 1
		}
		line := strings.TrimRight(string(body[pos:next]), "\r\n")
		rest, isDelim := strings.CutPrefix(line, delim)
		if rest = strings.TrimRight(rest, " \t"); isDelim && (rest == "" || rest == "--") {
			if start >= 0 {
				parts = append(parts, trimLineEnd(body[start:pos]))
			}
			if rest == "--" {
				return parts
			}
			start = next
		}
		pos = next
	}
	if start >= 0 && start < len(body) {
		parts = append(parts, body[start:]) // no closing delimiter
	}
	return parts
}

func trimLineEnd(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// numberParts gives the parts the ids enmime would: "1", "2" under the
// root, then "1.1" and so on.
func numberParts(parent *enmime.Part) {
	i := 0
	for c := parent.FirstChild; c != nil; c = c.NextSibling {
		i++
		if parent.Parent == nil {
			c.PartID = strconv.Itoa(i)
		} else {
			c.PartID = parent.PartID + "." + strconv.Itoa(i)
		}
		numberParts(c)
	}
}

// envelopeOf parses data with p, splitting the multiparts here when a
// boundary string stands inside a line.
func envelopeOf(p *enmime.Parser, data []byte) (*enmime.Envelope, error) {
	if !ownSplit(data) {
		return readEnvelopeOf(p, data)
	}
	root, err := readSplit(p, data)
	if err != nil {
		return nil, fmt.Errorf("read parts: %w", err)
	}
	return p.EnvelopeFromPart(root)
}

// readers are the buffered readers enmime reads a message through: it
// wraps what it is given in a new 4 KiB bufio.Reader unless that is one
// already, and it is done with it when ReadEnvelope returns.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// readEnvelopeOf is p.ReadEnvelope on data, through a pooled reader.
func readEnvelopeOf(p *enmime.Parser, data []byte) (*enmime.Envelope, error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(bytes.NewReader(data))
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	return p.ReadEnvelope(br)
}
