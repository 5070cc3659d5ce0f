package auth

import (
	"testing"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/auth/authtest"
)

// testTTL is the TTL of every test record.
const testTTL = authtest.TTL

// testDNS is the loopback DNS server the tests ask (see authtest.DNS).
type testDNS = authtest.DNS

// startDNS serves records, given in zone-file syntax, until the test ends.
func startDNS(t testing.TB, records ...string) *testDNS {
	t.Helper()
	return authtest.StartDNS(t, records...)
}

// txtRecord returns a TXT record for name holding value.
func txtRecord(name, value string) string { return authtest.TXT(name, value) }
