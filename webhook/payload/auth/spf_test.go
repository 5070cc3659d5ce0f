package auth

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// TestSPF checks the client address against the MAIL FROM domain (the
// HELO name for the null sender) through the loopback DNS server.
func TestSPF(t *testing.T) {
	srv := startDNS(t, testZones(t)...)
	c := testChecker(t, srv, 5*time.Second)
	cases := []struct {
		name     string
		mailFrom string
		helo     string
		ip       netip.Addr
		want     wire.SPFResult
	}{
		{"allowed client", "alice@example.com", "mail.example.com", allowed,
			wire.SPFResult{Result: wire.AuthPass, Domain: "example.com", ClientIP: "127.0.0.2"}},
		{"other client", "alice@example.com", "mail.example.com", forbidden,
			wire.SPFResult{Result: wire.AuthFail, Domain: "example.com", ClientIP: "127.0.0.3"}},
		{"IPv4-mapped client", "alice@Example.COM", "mail.example.com", netip.MustParseAddr("::ffff:127.0.0.2"),
			wire.SPFResult{Result: wire.AuthPass, Domain: "example.com", ClientIP: "127.0.0.2"}},
		{"softfail", "carol@example.net", "mail.example.net", forbidden,
			wire.SPFResult{Result: wire.AuthSoftFail, Domain: "example.net", ClientIP: "127.0.0.3"}},
		{"no SPF record", "dave@example.org", "mail.example.org", forbidden,
			wire.SPFResult{Result: wire.AuthNone, Domain: "example.org", ClientIP: "127.0.0.3"}},
		{"no such domain", "eve@nowhere.example", "mail.nowhere.example", forbidden,
			wire.SPFResult{Result: wire.AuthNone, Domain: "nowhere.example", ClientIP: "127.0.0.3"}},
		{"mx mechanism", "x@mech.example", "h", netip.MustParseAddr("127.0.0.4"),
			wire.SPFResult{Result: wire.AuthPass, Domain: "mech.example", ClientIP: "127.0.0.4"}},
		{"mx mechanism, IPv6 backup", "x@mech.example", "h", netip.MustParseAddr("::4"),
			wire.SPFResult{Result: wire.AuthPass, Domain: "mech.example", ClientIP: "::4"}},
		{"a mechanism", "x@mech.example", "h", netip.MustParseAddr("127.0.0.5"),
			wire.SPFResult{Result: wire.AuthPass, Domain: "mech.example", ClientIP: "127.0.0.5"}},
		{"ptr mechanism", "x@mech.example", "h", netip.MustParseAddr("127.0.0.6"),
			wire.SPFResult{Result: wire.AuthPass, Domain: "mech.example", ClientIP: "127.0.0.6"}},
		{"include mechanism", "x@mech.example", "h", allowed,
			wire.SPFResult{Result: wire.AuthPass, Domain: "mech.example", ClientIP: "127.0.0.2"}},
		{"none of the mechanisms", "x@mech.example", "h", forbidden,
			wire.SPFResult{Result: wire.AuthFail, Domain: "mech.example", ClientIP: "127.0.0.3"}},
		{"internationalized domain", "leser@Bücher.example", "h", allowed,
			wire.SPFResult{Result: wire.AuthPass, Domain: "xn--bcher-kva.example", ClientIP: "127.0.0.2"}},
		{"unknown client", "alice@example.com", "mail.example.com", netip.Addr{},
			wire.SPFResult{Result: wire.AuthNone, Domain: "example.com"}},
		{"null sender uses HELO", "", "example.com", allowed,
			wire.SPFResult{Result: wire.AuthPass, Domain: "example.com", ClientIP: "127.0.0.2"}},
		{"null sender, HELO not allowed", "", "example.com", forbidden,
			wire.SPFResult{Result: wire.AuthFail, Domain: "example.com", ClientIP: "127.0.0.3"}},
		{"null sender, address literal HELO", "", "[127.0.0.3]", forbidden,
			wire.SPFResult{Result: wire.AuthNone, Domain: "[127.0.0.3]", ClientIP: "127.0.0.3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := message("Alice <alice@example.com>", body)
			got := check(t, c, Input{Message: msg, MailFrom: tc.mailFrom, HELO: tc.helo, ClientIP: tc.ip}).SPF
			if *got != tc.want {
				t.Errorf("spf = %+v, want %+v", *got, tc.want)
			}
		})
	}
}
