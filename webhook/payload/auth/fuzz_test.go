package auth

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzHeader feeds hostile header sections to the parsing that runs
// before any DNS: it must not panic, must leave the message unchanged, and
// must report only results of the trusted authserv-id.
func FuzzHeader(f *testing.F) {
	f.Add([]byte("From: a@example.com\r\nAuthentication-Results: mx.trusted.example; dkim=pass (c; d) header.d=example.com\r\n\r\nbody"))
	f.Add([]byte("Authentication-Results: mx.trusted.example 1; spf=fail reason=\"a \\\" b; c\" smtp.mailfrom=x\r\n"))
	f.Add([]byte("From: =?x-unknown?q?A?= <a@Example.COM.>, b@example.com\nDKIM-Signature: v=1; d=example.com;\n s=sel; l=10\n\nbody"))
	f.Add([]byte("Authentication-Results: mx.trusted.example; ((((nested) x=y\r\n From: \r\n"))
	const trusted = "mx.trusted.example"
	f.Fuzz(func(t *testing.T, msg []byte) {
		orig := bytes.Clone(msg)
		fields := scanHeader(msg)
		if len(fields) > maxFields {
			t.Fatalf("%d fields, more than %d", len(fields), maxFields)
		}
		_, _ = fromDomain(fields)
		_ = signatures(fields)
		results := upstreamResults(fields, trusted)
		if results == nil || len(results) > maxUpstream {
			t.Fatalf("upstream = %v", results)
		}
		for _, r := range results {
			if !strings.EqualFold(r.AuthservID, trusted) || r.Method == "" || r.Properties == nil {
				t.Fatalf("upstream result %+v", r)
			}
		}
		if !bytes.Equal(msg, orig) {
			t.Fatal("parsing changed the message")
		}
	})
}
