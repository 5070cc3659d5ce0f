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
	var stack []string // open boundaries, outermost first
	inHeader := true
	var field, ctype []byte // the header field being read; the last Content-Type
	endField := func() {
		if len(field) > 0 && hasPrefixFold(field, "content-type:") {
			ctype = append(ctype[:0], field[len("content-type:"):]...)
		}
		field = field[:0]
	}
	for rest := data; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimRight(line, "\r")

		if inHeader {
			switch {
			case len(line) == 0:
				endField()
				inHeader = false
				if b := multipartBoundary(ctype); b != "" {
					stack = append(stack, b)
					depth = max(depth, len(stack))
					if depth > maxMIMEDepth {
						return depth, parts
					}
				}
				ctype = ctype[:0]
			case line[0] == ' ' || line[0] == '\t':
				field = append(field, line...)
			default:
				endField()
				field = append(field, line...)
			}
			continue
		}

		if len(line) < 3 || line[0] != '-' || line[1] != '-' || len(stack) == 0 {
			continue
		}
		delim := bytes.TrimRight(line[2:], " \t")
		for k := len(stack) - 1; k >= 0; k-- {
			b := stack[k]
			if string(delim) == b {
				stack = stack[:k+1]
				inHeader = true
				parts++
				if parts > maxMIMEParts {
					return depth, parts
				}
				break
			}
			if len(delim) == len(b)+2 && string(delim[:len(b)]) == b && string(delim[len(b):]) == "--" {
				stack = stack[:k]
				break
			}
		}
	}
	return depth, parts
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
// case; unlike lowering s first, it keeps byte offsets on any input.
func indexFoldASCII[T string | []byte](s T, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return i
		}
	}
	return -1
}
