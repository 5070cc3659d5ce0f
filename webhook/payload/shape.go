package payload

import (
	"bytes"
	"strings"
)

// Bounds on the MIME structure handed to enmime. Its cost grows with the
// product of message size and nesting depth, and with the square of the
// number of parts, so a small hostile message could pin a core for
// minutes; real mail stays far below both. A message past them is still
// delivered, raw, with an error entry.
const (
	maxMIMEDepth = 12
	maxMIMEParts = 2000
)

// mimeShape measures how deeply multiparts nest and how many parts there
// are, by following Content-Type boundaries and delimiter lines without
// decoding anything. It stops counting once a bound is passed.
func mimeShape(data []byte) (depth, parts int) {
	walkMIME(data, mimeVisitor{
		open: func(d int) bool {
			depth = max(depth, d)
			return depth <= maxMIMEDepth
		},
		part: func() bool {
			parts++
			return parts <= maxMIMEParts
		},
	})
	return depth, parts
}

// mimeVisitor is what walkMIME reports; any function may be nil.
type mimeVisitor struct {
	// open sees a multipart open, at its nesting depth; false stops.
	open func(depth int) bool
	// part sees each part's opening delimiter; false stops.
	part func() bool
	// body sees the body of each leaf part inside a multipart that a
	// delimiter ends, with the part's Content-Type and
	// Content-Transfer-Encoding values (only valid during the call) and
	// its span in the message; the line break before the delimiter
	// belongs to the delimiter.
	body func(ctype, cte []byte, start, end int)
}

// walkMIME follows a message's MIME structure by its Content-Type
// boundaries and delimiter lines, without decoding anything, in one pass.
func walkMIME(data []byte, v mimeVisitor) {
	var stack []string // open boundaries, outermost first
	inHeader := true
	var field, ctype, cte []byte // the header field being read; the last Content-Type and -Transfer-Encoding
	var leaf struct {
		start      int // -1: not in a leaf body
		ctype, cte []byte
	}
	leaf.start = -1
	endField := func() {
		switch {
		case len(field) == 0:
		case hasPrefixFold(field, "content-type:"):
			ctype = append(ctype[:0], field[len("content-type:"):]...)
		case v.body != nil && hasPrefixFold(field, "content-transfer-encoding:"):
			cte = append(cte[:0], field[len("content-transfer-encoding:"):]...)
		}
		field = field[:0]
	}
	for pos := 0; pos < len(data); {
		lineStart := pos
		line := data[pos:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, pos = line[:i], pos+i+1
		} else {
			pos = len(data)
		}
		line = bytes.TrimRight(line, "\r")

		if inHeader {
			switch {
			case len(line) == 0:
				endField()
				inHeader = false
				if b := multipartBoundary(ctype); b != "" {
					stack = append(stack, b)
					if v.open != nil && !v.open(len(stack)) {
						return
					}
				} else if len(stack) > 0 && v.body != nil {
					leaf.start = pos
					leaf.ctype, ctype = ctype, leaf.ctype
					leaf.cte, cte = cte, leaf.cte
				}
				ctype, cte = ctype[:0], cte[:0]
			case line[0] == ' ' || line[0] == '\t':
				field = append(field, line...)
			default:
				endField()
				field = append(field, line...)
			}
			continue
		}

		if len(stack) == 0 {
			return // a body outside any multipart: nothing more to find
		}
		if len(line) < 3 || line[0] != '-' || line[1] != '-' {
			continue
		}
		delim := bytes.TrimRight(line[2:], " \t")
		for k := len(stack) - 1; k >= 0; k-- {
			b := stack[k]
			open := string(delim) == b
			if !open && (len(delim) != len(b)+2 || string(delim[:len(b)]) != b || string(delim[len(b):]) != "--") {
				continue
			}
			if leaf.start >= 0 {
				end := lineStart
				if end > leaf.start && data[end-1] == '\n' {
					end--
				}
				if end > leaf.start && data[end-1] == '\r' {
					end--
				}
				v.body(leaf.ctype, leaf.cte, leaf.start, end)
				leaf.start = -1
			}
			if !open {
				stack = stack[:k]
				break
			}
			stack, inHeader = stack[:k+1], true
			if v.part != nil && !v.part() {
				return
			}
			break
		}
	}
}

// multipartBoundary returns the boundary of a multipart Content-Type
// value, leniently, or "".
func multipartBoundary(ctype []byte) string {
	v := strings.TrimSpace(string(ctype))
	if !hasPrefixFold([]byte(v), "multipart/") {
		return ""
	}
	i := indexFoldASCII(v, "boundary=")
	if i < 0 {
		return ""
	}
	b := v[i+len("boundary="):]
	if strings.HasPrefix(b, `"`) {
		if end := strings.IndexByte(b[1:], '"'); end >= 0 {
			return b[1 : end+1]
		}
		return strings.TrimSpace(b[1:])
	}
	if end := strings.IndexAny(b, "; \t"); end >= 0 {
		b = b[:end]
	}
	return b
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

// indexFoldASCII is strings.Index ignoring ASCII case, with sub in lower
// case; unlike lowering s first, it keeps byte offsets on any input. It
// jumps between the places where sub's first byte stands, in either
// case, with IndexByte: it runs over every message, mostly finding none.
func indexFoldASCII[T string | []byte](s T, sub string) int {
	if sub == "" {
		return 0
	}
	lower, upper := sub[0], sub[0]
	if 'a' <= lower && lower <= 'z' {
		upper -= 'a' - 'A'
	}
	nextLower, nextUpper := -1, -1 // where each case of sub[0] stands from i on; -2: nowhere
	for i := 0; i+len(sub) <= len(s); {
		if nextLower != -2 && nextLower < i {
			nextLower = indexByteFrom(s, i, lower)
		}
		if nextUpper != -2 && nextUpper < i {
			nextUpper = indexByteFrom(s, i, upper)
		}
		at := nextLower
		if at == -2 || (nextUpper != -2 && nextUpper < at) {
			at = nextUpper
		}
		if at == -2 || at+len(sub) > len(s) {
			return -1
		}
		j := 1
		for ; j < len(sub); j++ {
			c := s[at+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return at
		}
		i = at + 1
	}
	return -1
}

// indexByteFrom is the index of the first c in s at or after from, or -2.
func indexByteFrom[T string | []byte](s T, from int, c byte) int {
	var i int
	switch v := any(s[from:]).(type) {
	case string:
		i = strings.IndexByte(v, c)
	case []byte:
		i = bytes.IndexByte(v, c)
	}
	if i < 0 {
		return -2
	}
	return from + i
}
