package auth

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// maxSignatures bounds the signatures verified per message, each costing a
// key lookup and a pass over the body; later ones are not reported.
const maxSignatures = 10

// sigTags are the tags of one DKIM-Signature that the verifier does not
// report: the selector, and whether the signature covers only part of the
// body (l=).
type sigTags struct {
	domain, selector string
	length           bool
}

// signatures returns the tags of the DKIM-Signature fields, in header
// order, as the verifier reads them.
func signatures(fields []field) []sigTags {
	var sigs []sigTags
	for _, v := range values(fields, "DKIM-Signature") {
		var s sigTags
		for _, tag := range strings.Split(v, ";") {
			name, value, _ := strings.Cut(tag, "=")
			value = strings.Join(strings.Fields(value), "")
			switch strings.TrimSpace(name) {
			case "d":
				s.domain = strings.ToLower(value)
			case "s":
				s.selector = value
			case "l":
				s.length = true
			}
		}
		sigs = append(sigs, s)
	}
	return sigs
}

// dkim verifies every signature of msg (at most maxSignatures), one
// result each, [] when there are none.
func (c *Checker) dkim(ctx context.Context, msg []byte, fields []field) []wire.DKIMResult {
	sigs := signatures(fields)
	results := make([]wire.DKIMResult, 0, min(len(sigs), maxSignatures))
	if len(sigs) == 0 {
		return results
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return c.dns.LookupTXT(ctx, name) },
		MaxVerifications: maxSignatures,
	})
	if len(verifs) == 0 && err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		// The header could not be read at all: every signature is broken.
		return allSignatures(sigs, wire.AuthPermError, reason(err))
	}
	for i, v := range verifs {
		var s sigTags
		if i < len(sigs) {
			s = sigs[i]
		}
		r := wire.DKIMResult{Result: dkimResult(v.Err, s), Domain: strings.ToLower(v.Domain), Selector: s.selector}
		if r.Domain == "" {
			r.Domain = s.domain
		}
		if v.Err != nil {
			r.Reason = reason(v.Err)
		}
		results = append(results, r)
	}
	return results
}

// dkimResult maps a verification error to its RFC 8601 word: the library's
// permanent and temporary failures are permerror and temperror (RFC 6376
// section 3.9: a missing key is PERMFAIL, an unanswered lookup TEMPFAIL);
// a signature that does not verify is fail. The library refuses every
// signature with l=, which is a local policy, not a broken signature: policy.
func dkimResult(err error, s sigTags) wire.AuthResult {
	switch {
	case err == nil:
		return wire.AuthPass
	case dkim.IsTempFail(err):
		return wire.AuthTempError
	case dkim.IsPermFail(err):
		return wire.AuthPermError
	case s.length:
		return wire.AuthPolicy
	default:
		return wire.AuthFail
	}
}

// reason is err's text without the library's "dkim: " prefix.
func reason(err error) string {
	return strings.TrimPrefix(err.Error(), "dkim: ")
}

// dkimPanicked is the result when the verifier panicked: every signature
// temperror, since a fixed library may well verify it.
func dkimPanicked(fields []field) []wire.DKIMResult {
	return allSignatures(signatures(fields), wire.AuthTempError, "verifier failed")
}

// allSignatures gives each of sigs (at most maxSignatures) the same result.
func allSignatures(sigs []sigTags, result wire.AuthResult, why string) []wire.DKIMResult {
	results := make([]wire.DKIMResult, 0, min(len(sigs), maxSignatures))
	for _, s := range sigs[:min(len(sigs), maxSignatures)] {
		results = append(results, wire.DKIMResult{Result: result, Domain: s.domain, Selector: s.selector, Reason: why})
	}
	return results
}
