package wire

// AuthResult is an RFC 8601 result word (section 2.7). The bridge computes
// SPF, DKIM and DMARC itself and uses only these; upstream results carry
// whatever word the trusted server wrote, lower-cased.
type AuthResult string

// The RFC 8601 result words.
const (
	AuthPass      AuthResult = "pass"
	AuthFail      AuthResult = "fail"
	AuthSoftFail  AuthResult = "softfail"
	AuthNeutral   AuthResult = "neutral"
	AuthNone      AuthResult = "none"
	AuthTempError AuthResult = "temperror"
	AuthPermError AuthResult = "permerror"
	AuthPolicy    AuthResult = "policy"
)

// Auth is the payload's "auth": whether to believe who the message says it
// is from. What depends on DNS and could not be learned in time is
// temperror, never a missing field.
type Auth struct {
	// SPF is the check of the client address against the MAIL FROM domain
	// (the HELO name for the null sender).
	SPF *SPFResult `json:"spf"`
	// DKIM has one entry per DKIM-Signature, in header order; [] for an
	// unsigned message, never null.
	DKIM []DKIMResult `json:"dkim"`
	// DMARC is the RFC 7489 evaluation for the RFC 5322 From domain.
	DMARC *DMARCResult `json:"dmarc"`
	// Upstream holds the Authentication-Results of the trusted front
	// server (AUTH_TRUSTED_AUTHSERV_ID), one entry per method result;
	// [] when none, never null.
	Upstream []UpstreamResult `json:"upstream"`
}

// SPFResult is an RFC 7208 check_host() result.
type SPFResult struct {
	Result AuthResult `json:"result"`
	// Domain is the domain checked: MAIL FROM's, or the HELO name.
	Domain string `json:"domain"`
	// ClientIP is the address checked, empty when the MTA did not say
	// (then Result is none).
	ClientIP string `json:"client_ip"`
}

// DKIMResult is the RFC 6376 verification of one signature.
type DKIMResult struct {
	Result AuthResult `json:"result"`
	// Domain and Selector are the signature's d= and s= tags.
	Domain   string `json:"domain"`
	Selector string `json:"selector"`
	// Reason says why a signature did not pass; empty on pass.
	Reason string `json:"reason"`
}

// DMARCResult is the RFC 7489 evaluation of the From domain.
type DMARCResult struct {
	// Result is pass when SPF or DKIM passed aligned, fail when neither
	// did and the domain publishes a record, none without a record.
	Result AuthResult `json:"result"`
	// Domain is the RFC 5322 From domain.
	Domain string `json:"domain"`
	// Policy is what the domain asks for a failing message (p=, or sp=
	// for a subdomain): none, quarantine or reject; empty without a record.
	Policy string `json:"policy"`
	// SPFAligned (DKIMAligned) is true when SPF (a DKIM signature) passed
	// for a domain aligned with Domain, relaxed or strict per the record.
	SPFAligned  bool `json:"spf_aligned"`
	DKIMAligned bool `json:"dkim_aligned"`
}

// UpstreamResult is one method's result from a trusted
// Authentication-Results header (RFC 8601).
type UpstreamResult struct {
	AuthservID string     `json:"authserv_id"`
	Method     string     `json:"method"`
	Result     AuthResult `json:"result"`
	Reason     string     `json:"reason"`
	// Properties maps ptype.property to value, e.g. "smtp.mailfrom",
	// "header.d", "header.from"; {} when there are none, never null.
	Properties map[string]string `json:"properties"`
}
