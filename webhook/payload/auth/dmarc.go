package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// dmarcPolicy is the outcome of policy discovery (RFC 7489 section 6.6.3):
// a record, or the result word that ends the evaluation early (none
// without a record, temperror, permerror).
type dmarcPolicy struct {
	record *dmarc.Record
	// subdomain is true when the record came from the organizational
	// domain of a From subdomain, so sp= applies.
	subdomain bool
	result    wire.AuthResult
}

// orgDomain returns the organizational domain of d (RFC 7489 section 3.2):
// one label below its public suffix, or d itself when it is a suffix.
func orgDomain(d string) string {
	org, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return org
}

// dmarcPolicy finds the record for the From domain, or failing that for
// its organizational domain.
func (c *Checker) dmarcPolicy(ctx context.Context, from string) dmarcPolicy {
	p := c.lookupDMARC(ctx, from)
	if p.result != wire.AuthNone {
		return p
	}
	if org := orgDomain(from); org != from {
		p = c.lookupDMARC(ctx, org)
		p.subdomain = p.record != nil
	}
	return p
}

func (c *Checker) lookupDMARC(ctx context.Context, domain string) dmarcPolicy {
	rec, err := dmarc.LookupWithOptions(domain, &dmarc.LookupOptions{
		LookupTXT: func(name string) ([]string, error) { return c.dns.LookupTXT(ctx, name) },
	})
	switch {
	case err == nil:
		return dmarcPolicy{record: rec}
	case errors.Is(err, dmarc.ErrNoPolicy):
		return dmarcPolicy{result: wire.AuthNone}
	case dmarc.IsTempFail(err):
		return dmarcPolicy{result: wire.AuthTempError}
	default:
		// A record that does not parse (or a lookup error that is
		// neither "not found" nor temporary).
		return dmarcPolicy{result: wire.AuthPermError}
	}
}

// aligned reports whether domain a is aligned with the From domain under
// mode: the same name (strict), or the same organizational domain
// (relaxed) (RFC 7489 section 3.1).
func aligned(a, from string, mode dmarc.AlignmentMode) bool {
	a = strings.ToLower(strings.TrimSuffix(a, "."))
	if a == "" {
		return false
	}
	if a == from {
		return true
	}
	return mode != dmarc.AlignmentStrict && orgDomain(a) == orgDomain(from)
}

// evaluate combines the policy with the SPF and DKIM results (RFC 7489
// section 6.6.2). Without a passing aligned identifier it is fail, unless
// an aligned identifier could not be checked (temperror), which might
// have passed: that is temperror, so a DNS failure never reads as a
// spoofed message.
func evaluate(from string, p dmarcPolicy, spf *wire.SPFResult, dkim []wire.DKIMResult) *wire.DMARCResult {
	res := &wire.DMARCResult{Domain: from}
	aspf, adkim := dmarc.AlignmentMode(dmarc.AlignmentRelaxed), dmarc.AlignmentMode(dmarc.AlignmentRelaxed)
	if p.record != nil {
		aspf, adkim = p.record.SPFAlignment, p.record.DKIMAlignment
		res.Policy = string(p.record.Policy)
		if p.subdomain && p.record.SubdomainPolicy != "" {
			res.Policy = string(p.record.SubdomainPolicy)
		}
	}
	unknown := false
	if spf != nil && aligned(spf.Domain, from, aspf) {
		res.SPFAligned = spf.Result == wire.AuthPass
		unknown = spf.Result == wire.AuthTempError
	}
	for _, d := range dkim {
		if aligned(d.Domain, from, adkim) {
			res.DKIMAligned = res.DKIMAligned || d.Result == wire.AuthPass
			unknown = unknown || d.Result == wire.AuthTempError
		}
	}
	switch {
	case p.record == nil:
		res.Result = p.result
	case res.SPFAligned || res.DKIMAligned:
		res.Result = wire.AuthPass
	case unknown:
		res.Result = wire.AuthTempError
	default:
		res.Result = wire.AuthFail
	}
	return res
}
