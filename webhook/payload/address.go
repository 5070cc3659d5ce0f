package payload

import (
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// wordDecoder decodes encoded words in every charset x/text knows, with
// an RFC 2231 language suffix ("iso-8859-1*sv") ignored.
var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	charset, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(charset)), "*")
	if charset == "utf-8" || charset == "us-ascii" {
		return input, nil
	}
	enc, err := ianaindex.MIME.Encoding(charset)
	if err != nil || enc == nil {
		if enc, err = htmlindex.Get(charset); err != nil {
			return nil, fmt.Errorf("charset %q: %w", charset, err)
		}
	}
	return enc.NewDecoder().Reader(input), nil
}

// parseAddresses reads an address field (From, To, ...). It is lenient
// where mail software is sloppy and strict where a reader could be
// deceived: a display name is never taken as an address, whatever it
// looks like ("billing@bank.example <noreply@attacker.example>" is one
// mailbox, at attacker.example); an entry that cannot be read is
// dropped and reported, and the valid entries around it are kept; a
// group ("team: a@x, b@y;") gives its members.
func parseAddresses(value string) ([]wire.Address, error) {
	v := strings.TrimSpace(repairWords(value))
	if !utf8.ValidString(v) {
		v = latin1(v)
	}
	out := []wire.Address{}
	if v == "" {
		return out, nil
	}
	p := mail.AddressParser{WordDecoder: wordDecoder}
	if list, err := p.ParseList(v); err == nil {
		for _, a := range list {
			out = append(out, wire.Address{Name: decodeHeader(a.Name), Address: a.Address})
		}
		return out, nil
	}
	var bad []string
	for _, entry := range splitTop(v, ',') {
		entry = strings.TrimSpace(entry)
		// A group's name ends at a colon outside quotes and brackets;
		// its list ends with a semicolon.
		if parts := splitTop(entry, ':'); len(parts) > 1 {
			entry = strings.TrimSpace(strings.Join(parts[1:], ":"))
		}
		entry = strings.TrimSpace(strings.TrimSuffix(entry, ";"))
		if entry == "" {
			continue
		}
		if a, err := p.Parse(entry); err == nil {
			out = append(out, wire.Address{Name: decodeHeader(a.Name), Address: a.Address})
			continue
		}
		found := lenientEntry(entry)
		if len(found) == 0 {
			bad = append(bad, entry)
		}
		out = append(out, found...)
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("unreadable entries dropped: %q", truncate(strings.Join(bad, ", "), 80))
	}
	return out, nil
}

// lenientEntry reads one entry that net/mail refused. Each <addr> in it
// is a mailbox, named by the text before it (so a missing comma between
// "A <a@x> B <b@y>" gives two); without angle brackets, the entry's
// words are addresses when every one of them has one "@" with text on
// both sides ("a@x b@y"). Anything else gives nothing.
func lenientEntry(entry string) []wire.Address {
	var out []wire.Address
	name := strings.Builder{}
	angles := false
	quoted, depth := false, 0
	for i := 0; i < len(entry); i++ {
		c := entry[i]
		switch {
		case quoted:
			if c == '\\' && i+1 < len(entry) {
				i++
				name.WriteByte(entry[i])
			} else if c == '"' {
				quoted = false
			} else {
				name.WriteByte(c)
			}
		case depth > 0:
			if c == '\\' {
				i++
			} else if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case c == '<':
			end := closingAngle(entry[i:])
			if end < 0 {
				return out
			}
			angles = true
			addr := strings.Join(strings.Fields(removeComments(entry[i+1:i+end])), "")
			if j := strings.LastIndexByte(addr, ':'); j >= 0 && strings.HasPrefix(addr, "@") {
				addr = addr[j+1:] // an obsolete source route
			}
			if plausibleAddr(addr) {
				out = append(out, wire.Address{Name: decodeHeader(collapse(name.String())), Address: addr})
			}
			name.Reset()
			i += end
		default:
			name.WriteByte(c)
		}
	}
	if angles {
		return out
	}
	for _, w := range strings.Fields(removeComments(entry)) {
		if !plausibleAddr(w) {
			return nil
		}
		out = append(out, wire.Address{Address: w})
	}
	return out
}

// plausibleAddr reports whether s is local@domain with one "@", text on
// both sides and no character that cannot be in an address.
func plausibleAddr(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1 && !strings.ContainsAny(s, " \t<>()[],;\"\\")
}

// removeComments drops (comments), which may nest, outside quotes.
func removeComments(s string) string {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (quoted || depth > 0):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
			continue
		case depth == 0 && c == '"':
			quoted = !quoted
		case !quoted && c == '(':
			depth++
			continue
		case !quoted && c == ')' && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// splitTop splits s at sep where it stands outside "quotes", <angle
// brackets> and (comments).
func splitTop(s string, sep byte) []string {
	var out []string
	start, depth, angle, quoted := 0, 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (quoted || depth > 0):
			i++
		case quoted:
			quoted = c != '"'
		case c == '"' && depth == 0:
			quoted = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == sep && !angle:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// collapse makes every run of white space one space, and trims.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// closingAngle is the index in s, which starts with "<", of the ">" that
// closes it, skipping comments (which may hold a ">"), or -1.
func closingAngle(s string) int {
	depth := 0
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '>' && depth == 0:
			return i
		}
	}
	return -1
}
