package auth

import (
	"reflect"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// TestUpstream reads the Authentication-Results of the trusted server, as
// OpenDKIM, OpenDMARC and rspamd write them (comments, quoted values,
// folding), and ignores every other one.
func TestUpstream(t *testing.T) {
	srv := startDNS(t, testZones(t)...)
	c := testChecker(t, srv, 5*time.Second)
	msg := message("Alice <alice@example.com>", body,
		"Authentication-Results: mx.trusted.example; dkim=pass (2048-bit key; unprotected)",
		"\theader.d=example.com header.i=@example.com header.s=sel1 header.b=\"AbCd+/12\";",
		"\tspf=pass (mx.trusted.example: domain of alice@example.com designates 127.0.0.2 as permitted sender) smtp.mailfrom=alice@example.com;",
		"\tdmarc=pass (p=reject dis=none) header.from=example.com",
		"Authentication-Results: evil.example; dkim=pass header.d=bank.example; dmarc=pass header.from=bank.example",
		"Authentication-Results: mx.trusted.example.evil.example; spf=pass smtp.mailfrom=ceo@example.com",
		"Authentication-Results: MX.Trusted.Example 1; dkim=FAIL reason=\"signature verification failed; body changed\" header.d=example.org; none",
		"Authentication-Results: mx.trusted.example 2; spf=pass smtp.mailfrom=future@example.com",
		"Authentication-Results: mx.trusted.example; none",
	)
	got := check(t, c, Input{Message: msg, MailFrom: "alice@example.com", HELO: "mail.example.com", ClientIP: allowed}).Upstream
	want := []wire.UpstreamResult{
		{AuthservID: "mx.trusted.example", Method: "dkim", Result: wire.AuthPass, Properties: map[string]string{
			"header.d": "example.com", "header.i": "@example.com", "header.s": "sel1", "header.b": "AbCd+/12"}},
		{AuthservID: "mx.trusted.example", Method: "spf", Result: wire.AuthPass, Properties: map[string]string{
			"smtp.mailfrom": "alice@example.com"}},
		{AuthservID: "mx.trusted.example", Method: "dmarc", Result: wire.AuthPass, Properties: map[string]string{
			"header.from": "example.com"}},
		{AuthservID: "MX.Trusted.Example", Method: "dkim", Result: wire.AuthFail,
			Reason: "signature verification failed; body changed", Properties: map[string]string{"header.d": "example.org"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("upstream =\n%+v\nwant\n%+v", got, want)
	}
}

// TestUpstreamUntrusted: without a trusted authserv-id, no header counts.
func TestUpstreamUntrusted(t *testing.T) {
	srv := startDNS(t, testZones(t)...)
	c, err := New(Config{Resolver: srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	msg := message("Alice <alice@example.com>", body, "Authentication-Results: mx.trusted.example; dkim=pass header.d=example.com")
	if got := check(t, c, Input{Message: msg}).Upstream; len(got) != 0 {
		t.Errorf("upstream = %+v, want []", got)
	}
}
