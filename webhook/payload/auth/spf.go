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
// name for the null sender (RFC 7208 section 2.4).
func spfDomain(in Input) string {
	if d := domainOf(in.MailFrom); d != "" {
		return strings.ToLower(strings.TrimSuffix(d, "."))
	}
	return strings.ToLower(strings.TrimSuffix(in.HELO, "."))
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
	sender := in.MailFrom
	if domainOf(sender) == "" {
		// RFC 7208 section 2.4: the null sender is postmaster@HELO.
		sender = "postmaster@" + res.Domain
	}
	result, _ := spf.CheckHostWithSender(net.IP(ip.AsSlice()), in.HELO, sender,
		spf.WithContext(ctx), spf.WithResolver(c.dns), spf.WithTraceFunc(func(string, ...any) {}))
	res.Result = wire.AuthResult(result)
	return res
}
