package auth

import (
	"strings"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// The parsing is ours rather than go-msgauth/authres's: that one splits
// values at white space (so OpenDKIM's reason="signature verification
// failed" comes out broken), does not skip comments, which every common
// milter writes, and keeps only a few properties of the methods it knows
// (no header.s, header.b).

// maxUpstream bounds the upstream results reported for one message.
const maxUpstream = 50

// upstreamResults parses the Authentication-Results fields whose
// authserv-id is trusted (compared case-insensitively, RFC 8601 section
// 2.5). Any other field is ignored: anyone on the path, the sender
// included, can write one. Results are [] when there are none.
func upstreamResults(fields []field, trusted string) []wire.UpstreamResult {
	results := []wire.UpstreamResult{}
	if trusted == "" {
		return results
	}
	for _, v := range values(fields, "Authentication-Results") {
		parts := splitUnquoted(stripComments(v), func(c byte) bool { return c == ';' })
		if len(parts) == 0 {
			continue
		}
		// authserv-id [version]; only version 1 exists (section 2.2).
		head := splitUnquoted(parts[0], isSpace)
		if len(head) == 0 || !strings.EqualFold(head[0], trusted) || (len(head) > 1 && head[1] != "1") {
			continue
		}
		for _, resinfo := range parts[1:] {
			r, ok := parseResinfo(head[0], resinfo)
			if !ok {
				// What follows a malformed result cannot be trusted
				// to be read right.
				break
			}
			if r.Method == "" {
				continue
			}
			if len(results) == maxUpstream {
				return results
			}
			results = append(results, r)
		}
	}
	return results
}

// parseResinfo reads one "method=result reason=... ptype.property=value"
// (RFC 8601 section 2.2). ok is false when it is malformed; "none" (no
// results) gives an empty Method.
func parseResinfo(id, s string) (r wire.UpstreamResult, ok bool) {
	toks := splitUnquoted(s, isSpace)
	if len(toks) == 0 || (len(toks) == 1 && strings.EqualFold(toks[0], "none")) {
		return r, true
	}
	method, result, found := strings.Cut(toks[0], "=")
	if !found || method == "" || result == "" {
		return r, false
	}
	method, _, _ = strings.Cut(method, "/") // method-version
	r = wire.UpstreamResult{
		AuthservID: id,
		Method:     strings.ToLower(method),
		Result:     wire.AuthResult(strings.ToLower(result)),
		Properties: map[string]string{},
	}
	for _, tok := range toks[1:] {
		k, v, found := strings.Cut(tok, "=")
		switch k = strings.ToLower(k); {
		case !found:
		case k == "reason":
			r.Reason = unquote(v)
		case strings.Contains(k, "."):
			r.Properties[k] = unquote(v)
		}
	}
	return r, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// splitUnquoted splits s at the bytes for which sep is true, except
// inside quoted strings, dropping empty pieces.
func splitUnquoted(s string, sep func(byte) bool) []string {
	var parts []string
	start, quoted, escaped := 0, false, false
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			switch {
			case escaped:
				escaped = false
				continue
			case quoted && c == '\\':
				escaped = true
				continue
			case c == '"':
				quoted = !quoted
				continue
			case quoted || !sep(c):
				continue
			}
		}
		if p := strings.TrimSpace(s[start:i]); p != "" {
			parts = append(parts, p)
		}
		start = i + 1
	}
	return parts
}

// unquote removes the quotes of an RFC 2045 quoted-string value.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	escaped := false
	for _, c := range []byte(s[1 : len(s)-1]) {
		if c == '\\' && !escaped {
			escaped = true
			continue
		}
		escaped = false
		b.WriteByte(c)
	}
	return b.String()
}

// stripComments removes RFC 5322 comments, "(...)" with nesting and
// backslash escapes, outside quoted strings, replacing each by a space.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth, quoted, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case depth == 0 && c == '"':
			quoted = !quoted
		case !quoted && c == '(':
			depth++
			continue
		case depth > 0 && c == ')':
			depth--
			if depth == 0 {
				b.WriteByte(' ')
			}
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}
