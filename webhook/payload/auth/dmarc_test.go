package auth

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// TestDMARC evaluates the From domain's policy against the SPF and DKIM
// results, with the alignment each record asks for.
func TestDMARC(t *testing.T) {
	srv := startDNS(t, testZones(t)...)
	c := testChecker(t, srv, 5*time.Second)
	cases := []struct {
		name     string
		msg      func(t *testing.T) []byte
		mailFrom string
		ip       netip.Addr
		want     wire.DMARCResult
	}{
		{"aligned DKIM passes though SPF fails", func(t *testing.T) []byte {
			return sign(t, message("Alice <alice@example.com>", body), "sel1", "example.com", "relaxed", "relaxed")
		}, "alice@example.com", forbidden,
			wire.DMARCResult{Result: wire.AuthPass, Domain: "example.com", Policy: "reject", DKIMAligned: true}},
		{"aligned SPF passes unsigned", func(*testing.T) []byte {
			return message("Alice <alice@example.com>", body)
		}, "bounces@example.com", allowed,
			wire.DMARCResult{Result: wire.AuthPass, Domain: "example.com", Policy: "reject", SPFAligned: true}},
		{"spoofed From on p=reject", func(*testing.T) []byte {
			return message("The CEO <ceo@example.com>", body)
		}, "mallory@example.net", allowed,
			wire.DMARCResult{Result: wire.AuthFail, Domain: "example.com", Policy: "reject"}},
		{"signed by someone else", func(t *testing.T) []byte {
			return sign(t, message("The CEO <ceo@example.com>", body), "sel1", "example.org", "relaxed", "relaxed")
		}, "mallory@example.org", forbidden,
			wire.DMARCResult{Result: wire.AuthFail, Domain: "example.com", Policy: "reject"}},
		{"failing on p=none", func(*testing.T) []byte {
			return message("Dave <dave@example.org>", body)
		}, "mallory@example.net", forbidden,
			wire.DMARCResult{Result: wire.AuthFail, Domain: "example.org", Policy: "none"}},
		{"subdomain, relaxed: organizational domain's signature aligns", func(t *testing.T) []byte {
			return sign(t, message("News <news@news.relaxed.example>", body), "sel1", "relaxed.example", "relaxed", "relaxed")
		}, "bounces@news.relaxed.example", forbidden,
			wire.DMARCResult{Result: wire.AuthPass, Domain: "news.relaxed.example", Policy: "quarantine", DKIMAligned: true}},
		{"subdomain, relaxed, failing: sp= applies", func(*testing.T) []byte {
			return message("News <news@news.relaxed.example>", body)
		}, "bounces@news.relaxed.example", forbidden,
			wire.DMARCResult{Result: wire.AuthFail, Domain: "news.relaxed.example", Policy: "quarantine"}},
		{"subdomain, strict: organizational domain's signature does not align", func(t *testing.T) []byte {
			return sign(t, message("News <news@news.strict.example>", body), "sel1", "strict.example", "relaxed", "relaxed")
		}, "bounces@news.strict.example", forbidden,
			wire.DMARCResult{Result: wire.AuthFail, Domain: "news.strict.example", Policy: "reject"}},
		{"internationalized From domain", func(*testing.T) []byte {
			return message("Leser <leser@bücher.example>", body)
		}, "leser@bücher.example", allowed,
			wire.DMARCResult{Result: wire.AuthPass, Domain: "xn--bcher-kva.example", Policy: "reject", SPFAligned: true}},
		{"internationalized From domain, spoofed", func(*testing.T) []byte {
			return message("=?utf-8?q?Leser?= <leser@BÜCHER.example>", body)
		}, "mallory@example.net", allowed,
			wire.DMARCResult{Result: wire.AuthFail, Domain: "xn--bcher-kva.example", Policy: "reject"}},
		{"no record", func(*testing.T) []byte {
			return message("Carol <carol@example.net>", body)
		}, "carol@example.net", allowed,
			wire.DMARCResult{Result: wire.AuthNone, Domain: "example.net", SPFAligned: true}},
		{"no From", func(*testing.T) []byte {
			return message("", body)
		}, "alice@example.com", allowed,
			wire.DMARCResult{Result: wire.AuthPermError}},
		{"two From domains", func(*testing.T) []byte {
			return message("alice@example.com, ceo@example.org", body)
		}, "alice@example.com", allowed,
			wire.DMARCResult{Result: wire.AuthPermError}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := check(t, c, Input{Message: tc.msg(t), MailFrom: tc.mailFrom, HELO: "mail.example.net", ClientIP: tc.ip}).DMARC
			if *got != tc.want {
				t.Errorf("dmarc = %+v, want %+v", *got, tc.want)
			}
		})
	}
}
