package auth

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// TestDKIM verifies messages signed by python3-dkim, one result per
// signature in header order, with the reason a signature did not pass.
func TestDKIM(t *testing.T) {
	srv := startDNS(t, testZones(t)...)
	c := testChecker(t, srv, 5*time.Second)
	plain := message("Alice <alice@example.com>", body)

	pass := func(domain, selector string) wire.DKIMResult {
		return wire.DKIMResult{Result: wire.AuthPass, Domain: domain, Selector: selector}
	}
	cases := []struct {
		name   string
		msg    func(t *testing.T) []byte
		want   []wire.DKIMResult
		reason string // a part of the first result's reason
	}{
		{"unsigned", func(*testing.T) []byte { return plain }, []wire.DKIMResult{}, ""},
		{"relaxed/relaxed", func(t *testing.T) []byte {
			return sign(t, plain, "sel1", "example.com", "relaxed", "relaxed")
		}, []wire.DKIMResult{pass("example.com", "sel1")}, ""},
		{"simple/simple", func(t *testing.T) []byte {
			return sign(t, plain, "sel2", "example.com", "simple", "simple")
		}, []wire.DKIMResult{pass("example.com", "sel2")}, ""},
		{"relaxed header survives refolding", func(t *testing.T) []byte {
			signed := sign(t, plain, "sel1", "example.com", "relaxed", "relaxed")
			return bytes.Replace(signed, []byte("Subject: quarterly figures"), []byte("Subject:  quarterly\r\n\tfigures"), 1)
		}, []wire.DKIMResult{pass("example.com", "sel1")}, ""},
		{"simple header breaks on refolding", func(t *testing.T) []byte {
			signed := sign(t, plain, "sel1", "example.com", "simple", "simple")
			return bytes.Replace(signed, []byte("Subject: quarterly figures"), []byte("Subject:  quarterly figures"), 1)
		}, []wire.DKIMResult{{Result: wire.AuthFail, Domain: "example.com", Selector: "sel1"}}, "signature did not verify"},
		{"body altered after signing", func(t *testing.T) []byte {
			signed := sign(t, plain, "sel1", "example.com", "relaxed", "relaxed")
			return bytes.Replace(signed, []byte("figures are attached"), []byte("figures are wrong"), 1)
		}, []wire.DKIMResult{{Result: wire.AuthFail, Domain: "example.com", Selector: "sel1"}}, "body hash did not verify"},
		{"l= is refused by policy", func(t *testing.T) []byte {
			signed := signWith(t, plain, "sel1", "example.com", true, false)
			return append(signed, "\r\nP.S. added on the way\r\n"...)
		}, []wire.DKIMResult{{Result: wire.AuthPolicy, Domain: "example.com", Selector: "sel1"}}, "body length"},
		{"two signatures, newest first", func(t *testing.T) []byte {
			once := sign(t, plain, "sel1", "example.com", "relaxed", "relaxed")
			return sign(t, once, "sel2", "example.org", "relaxed", "simple")
		}, []wire.DKIMResult{pass("example.org", "sel2"), pass("example.com", "sel1")}, ""},
		{"expired signature", func(t *testing.T) []byte {
			return signWith(t, plain, "sel1", "example.com", false, true)
		}, []wire.DKIMResult{{Result: wire.AuthPermError, Domain: "example.com", Selector: "sel1"}}, "expired"},
		{"no key record", func(t *testing.T) []byte {
			return sign(t, plain, "gone", "example.com", "relaxed", "relaxed")
		}, []wire.DKIMResult{{Result: wire.AuthPermError, Domain: "example.com", Selector: "gone"}}, "no key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := check(t, c, Input{Message: tc.msg(t), MailFrom: "alice@example.com", HELO: "mail.example.com", ClientIP: allowed}).DKIM
			if len(got) != len(tc.want) {
				t.Fatalf("dkim = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				reason := got[i].Reason
				got[i].Reason = ""
				if got[i] != tc.want[i] {
					t.Errorf("dkim[%d] = %+v, want %+v", i, got[i], tc.want[i])
				}
				if tc.want[i].Result == wire.AuthPass && reason != "" {
					t.Errorf("dkim[%d] passed with reason %q", i, reason)
				}
				if i == 0 && tc.reason != "" && !strings.Contains(reason, tc.reason) {
					t.Errorf("dkim[0].reason = %q, want it to mention %q", reason, tc.reason)
				}
			}
		})
	}
}
