package auth

import (
	"strings"

	"github.com/emersion/go-msgauth/authres"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

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
		// authres does not skip RFC 5322 comments, which OpenDKIM,
		// OpenDMARC and rspamd all write, so they go first.
		id, parsed, _ := authres.Parse(stripComments(v))
		if !strings.EqualFold(id, trusted) {
			continue
		}
		// A result that does not parse ends the field; those before it
		// are still the trusted server's.
		for _, r := range parsed {
			if len(results) == maxUpstream {
				return results
			}
			results = append(results, upstream(id, r))
		}
	}
	return results
}

// upstream turns one parsed result into its JSON form.
func upstream(id string, r authres.Result) wire.UpstreamResult {
	u := wire.UpstreamResult{AuthservID: id, Properties: map[string]string{}}
	var value authres.ResultValue
	props := map[string]string{}
	switch r := r.(type) {
	case *authres.SPFResult:
		u.Method, value, u.Reason = "spf", r.Value, r.Reason
		props["smtp.mailfrom"], props["smtp.helo"] = r.From, r.Helo
	case *authres.DKIMResult:
		u.Method, value, u.Reason = "dkim", r.Value, r.Reason
		props["header.d"], props["header.i"] = r.Domain, r.Identifier
	case *authres.DMARCResult:
		u.Method, value, u.Reason = "dmarc", r.Value, r.Reason
		props["header.from"] = r.From
	case *authres.AuthResult:
		u.Method, value, u.Reason = "auth", r.Value, r.Reason
		props["smtp.auth"] = r.Auth
	case *authres.IPRevResult:
		u.Method, value, u.Reason = "iprev", r.Value, r.Reason
		props["policy.iprev"] = r.IP
	case *authres.DomainKeysResult:
		u.Method, value, u.Reason = "domainkeys", r.Value, r.Reason
		props["header.d"], props["header.from"], props["header.sender"] = r.Domain, r.From, r.Sender
	case *authres.SenderIDResult:
		u.Method, value, u.Reason = "sender-id", r.Value, r.Reason
		if r.HeaderKey != "" {
			props["header."+strings.ToLower(r.HeaderKey)] = r.HeaderValue
		}
	case *authres.ARCResult:
		u.Method, value = "arc", r.Value
		props["smtp.remote-ip"] = r.RemoteIP
	case *authres.GenericResult:
		u.Method, value = r.Method, r.Value
		u.Reason = r.Params["reason"]
		for k, v := range r.Params {
			if k != "reason" {
				props[k] = v
			}
		}
	}
	u.Result = wire.AuthResult(strings.ToLower(string(value)))
	u.Reason = unquote(u.Reason)
	for k, v := range props {
		if v != "" {
			u.Properties[k] = unquote(v)
		}
	}
	return u
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
