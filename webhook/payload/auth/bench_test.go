package auth

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// BenchmarkCheck measures one message's checks with a warm cache against
// the loopback DNS server: SPF, one relaxed/relaxed 2048-bit RSA signature
// and DMARC, for a short reply and a 40 KiB multipart message. It is the
// per-message cost the bridge adds with AUTH_CHECKS=true once a sender's
// records are cached.
func BenchmarkCheck(b *testing.B) {
	srv := startDNS(b, testZones(b)...)
	c := testChecker(b, srv, 5*time.Second)
	for _, bc := range []struct {
		name string
		msg  []byte
	}{
		{"short", message("Alice <alice@example.com>", body)},
		{"multipart-40KiB", benchMessage()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			msg := sign(b, bc.msg, "sel1", "example.com", "relaxed", "relaxed")
			in := Input{Message: msg, MailFrom: "alice@example.com", HELO: "mail.example.com", ClientIP: allowed}
			ctx := context.Background()
			warm := c.Check(ctx, in)
			if warm.SPF.Result != wire.AuthPass || len(warm.DKIM) != 1 || warm.DKIM[0].Result != wire.AuthPass ||
				warm.DMARC.Result != wire.AuthPass {
				b.Fatalf("benchmark message does not pass: %+v %+v %+v", warm.SPF, warm.DKIM, warm.DMARC)
			}
			cold := srv.Queries.Load()
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				c.Check(ctx, in)
			}
			if n := srv.Queries.Load() - cold; n != 0 {
				b.Errorf("warm checks sent %d queries", n)
			}
		})
	}
}

// benchMessage is a typical business message: text and HTML alternatives
// and a 30 KiB attachment, CRLF lines, with the header of delivered mail.
func benchMessage() []byte {
	attachment := make([]byte, 30<<10)
	for i := range attachment {
		attachment[i] = byte(i * 7)
	}
	enc := base64.StdEncoding.EncodeToString(attachment)
	var lines []string
	for len(enc) > 76 {
		lines = append(lines, enc[:76])
		enc = enc[76:]
	}
	lines = append(lines, enc)
	text := strings.Repeat("Hello Bob, the quarterly figures are attached; see the summary below.\r\n", 40)
	return []byte(strings.Join([]string{
		"Received: from mail.example.com (mail.example.com [127.0.0.2])",
		"\tby mx.example.net (Postfix) with ESMTPS id 4Xyz1234Abd",
		"\tfor <bob@example.net>; Tue, 01 Dec 2026 10:00:01 +0000 (UTC)",
		"From: Alice Example <alice@example.com>",
		"To: Bob Example <bob@example.net>",
		"Subject: Quarterly figures",
		"Date: Tue, 01 Dec 2026 10:00:00 +0000",
		"Message-ID: <20261201100000.1@mail.example.com>",
		"MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="mixed-1"`,
		"",
		"--mixed-1",
		`Content-Type: multipart/alternative; boundary="alt-1"`,
		"",
		"--alt-1",
		"Content-Type: text/plain; charset=utf-8",
		"",
		text,
		"--alt-1",
		"Content-Type: text/html; charset=utf-8",
		"",
		"<html><body><p>" + text + "</p></body></html>",
		"--alt-1--",
		"--mixed-1",
		`Content-Type: application/octet-stream; name="figures.bin"`,
		"Content-Transfer-Encoding: base64",
		`Content-Disposition: attachment; filename="figures.bin"`,
		"",
		strings.Join(lines, "\r\n"),
		"--mixed-1--",
		"",
	}, "\r\n"))
}
