package auth

import (
	"context"
	"net"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/miekg/dns"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// spfDomain is the identity SPF checks: the MAIL FROM domain, or the HELO
// name for the null sender (RFC 7208 section 2.4), in A-labels; a name
// that is not a domain (an address literal) is returned as it is.
func spfDomain(in Input) string {
	d := domainOf(in.MailFrom)
	if d == "" {
		d = in.HELO
	}
	if a := asciiDomain(d); a != "" {
		return a
	}
	return strings.ToLower(d)
}

// spf runs check_host() for the client address and spfDomain(in).
func (c *Checker) spf(ctx context.Context, in Input) *wire.SPFResult {
	res := &wire.SPFResult{Result: wire.AuthNone, Domain: spfDomain(in)}
	if !in.ClientIP.IsValid() {
		return res
	}
	ip := in.ClientIP.Unmap()
	res.ClientIP = ip.String()
	// RFC 7208 section 4.3: a domain that is not a multi-label DNS name
	// (an address literal, a bare host name) gives none without a lookup.
	if labels, ok := dns.IsDomainName(res.Domain); !ok || labels < 2 {
		return res
	}
	// RFC 7208 section 2.4: the null sender is postmaster@HELO.
	local := "postmaster"
	if i := strings.LastIndexByte(in.MailFrom, '@'); i >= 0 {
		local = in.MailFrom[:i]
	}
	sender := local + "@" + res.Domain
	result, _ := spf.CheckHostWithSender(net.IP(ip.AsSlice()), in.HELO, sender,
		spf.WithContext(ctx), spf.WithResolver(c.dns), spf.WithTraceFunc(func(string, ...any) {}))
	res.Result = wire.AuthResult(result)
	return res
}
