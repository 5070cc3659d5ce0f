package auth

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/auth/authtest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// The test zones. example.com allows 127.0.0.2 only and rejects failing
// mail; example.net soft-fails everyone and has no DMARC record;
// example.org has no SPF record and p=none. relaxed.example and
// strict.example publish for their subdomains (news.*), with relaxed and
// strict alignment. mech.example allows its MX hosts, a relay named with
// a:, reverse-resolving hosts (ptr) and whom example.com allows. Every domain has the key at selectors sel1 and sel2;
// the selector "gone" has none.
func testZones(t testing.TB) []string {
	key := authtest.NewKey(t).Record
	zones := []string{
		txtRecord("example.com.", "v=spf1 ip4:127.0.0.2 -all"),
		txtRecord("_dmarc.example.com.", "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"),
		txtRecord("example.net.", "v=spf1 ip4:127.0.0.2 ~all"),
		txtRecord("example.org.", "a plain TXT record, not SPF"),
		txtRecord("_dmarc.example.org.", "v=DMARC1; p=none"),
		txtRecord("_dmarc.relaxed.example.", "v=DMARC1; p=reject; sp=quarantine"),
		txtRecord("_dmarc.strict.example.", "v=DMARC1; p=reject; adkim=s; aspf=s"),
		"news.relaxed.example. 300 IN A 127.0.0.9",
		txtRecord("xn--bcher-kva.example.", "v=spf1 ip4:127.0.0.2 -all"),
		txtRecord("_dmarc.xn--bcher-kva.example.", "v=DMARC1; p=reject"),
		txtRecord("mech.example.", "v=spf1 mx a:relay.mech.example ptr include:example.com -all"),
		"mech.example. 300 IN MX 20 backup.mech.example.",
		"mech.example. 300 IN MX 10 mail.mech.example.",
		"mail.mech.example. 300 IN A 127.0.0.4",
		"backup.mech.example. 300 IN AAAA ::4",
		"relay.mech.example. 300 IN A 127.0.0.5",
		"relay.mech.example. 300 IN AAAA ::5",
		"6.0.0.127.in-addr.arpa. 300 IN PTR host.mech.example.",
		"host.mech.example. 300 IN A 127.0.0.6",
		"news.strict.example. 300 IN A 127.0.0.9",
	}
	for _, d := range []string{"example.com", "example.net", "example.org", "relaxed.example", "strict.example"} {
		for _, sel := range []string{"sel1", "sel2"} {
			zones = append(zones, txtRecord(sel+"._domainkey."+d+".", key))
		}
	}
	return zones
}

// testChecker returns a Checker asking srv, with a budget of timeout.
func testChecker(t testing.TB, srv *testDNS, timeout time.Duration) *Checker {
	t.Helper()
	c, err := New(Config{Resolver: srv.Addr, Timeout: timeout, TrustedAuthservID: "mx.trusted.example"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// message builds a CRLF message from header lines and a body.
func message(from, body string, extra ...string) []byte {
	lines := append([]string{}, extra...)
	if from != "" {
		lines = append(lines, "From: "+from)
	}
	lines = append(lines,
		"To: Bob <bob@example.net>",
		"Subject: quarterly figures",
		"Date: Tue, 01 Dec 2026 10:00:00 +0000",
		"Message-ID: <figures-1@example.com>",
		"", body)
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

const body = "Hello Bob,\r\n\r\nthe figures are attached.\r\n\r\nAlice"

var (
	allowed   = netip.MustParseAddr("127.0.0.2")
	forbidden = netip.MustParseAddr("127.0.0.3")
)

// check runs c.Check and returns the result as the JSON a receiver gets,
// decoded again, so that the tests see nulls and empty lists as they are.
func check(t testing.TB, c *Checker, in Input) wire.Auth {
	t.Helper()
	got := c.Check(context.Background(), in)
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var back wire.Auth
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.DKIM == nil || back.Upstream == nil || back.SPF == nil || back.DMARC == nil {
		t.Fatalf("auth has a null member: %s", b)
	}
	return back
}
