package auth

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/mail"
	"strings"

	"golang.org/x/net/idna"
)

// maxFields bounds the header fields looked at, so a hostile header
// section costs a bounded amount of work here.
const maxFields = 1000

// field is one header field, its value unfolded (line breaks removed) and
// otherwise as received.
type field struct {
	name, value string
}

// scanHeader returns the fields of msg's header section, which ends at
// the first empty line. Lines without a colon are skipped, as the DKIM
// verifier does not sign them either.
func scanHeader(msg []byte) []field {
	var fields []field
	for len(msg) > 0 && len(fields) < maxFields {
		line, rest := cutLine(msg)
		if len(line) == 0 {
			break
		}
		// A field goes on over the lines that start with white space;
		// unfolding removes only the line breaks (RFC 5322 section 2.2.3).
		var unfolded []byte
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			if unfolded == nil {
				unfolded = append(unfolded, line...)
			}
			var next []byte
			next, rest = cutLine(rest)
			unfolded = append(unfolded, next...)
		}
		if unfolded != nil {
			line = unfolded
		}
		msg = rest
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		fields = append(fields, field{
			name:  string(bytes.TrimSpace(name)),
			value: string(bytes.TrimSpace(value)),
		})
	}
	return fields
}

// cutLine splits off the first line of b, without its line break.
func cutLine(b []byte) (line, rest []byte) {
	line, rest, _ = bytes.Cut(b, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), rest
}

// values returns the values of the fields named name, in order.
func values(fields []field, name string) []string {
	var vs []string
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			vs = append(vs, f.value)
		}
	}
	return vs
}

var errFrom = errors.New("auth: no single RFC 5322 From domain")

// addressParser reads From as it is: encoded words in unknown charsets
// are left alone, since only the domain matters here.
var addressParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

// fromDomain returns the one domain of the From field(s), lower-cased.
// RFC 7489 section 6.6.1: a message without one author domain, or with
// several, cannot be evaluated.
func fromDomain(fields []field) (string, error) {
	domain := ""
	for _, v := range values(fields, "From") {
		addrs, err := addressParser.ParseList(v)
		if err != nil {
			return "", errFrom
		}
		for _, a := range addrs {
			d := asciiDomain(domainOf(a.Address))
			if d == "" || (domain != "" && d != domain) {
				return "", errFrom
			}
			domain = d
		}
	}
	if domain == "" {
		return "", errFrom
	}
	return domain, nil
}

// asciiDomain returns d as DNS knows it: lower-case A-labels (an
// internationalized name in its xn-- form), no final dot; "" when d is not
// a valid name.
func asciiDomain(d string) string {
	a, err := idna.Lookup.ToASCII(strings.TrimSuffix(d, "."))
	if err != nil {
		return ""
	}
	return strings.ToLower(a)
}

// domainOf returns the part of addr after its last @, or "".
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return addr[i+1:]
}
