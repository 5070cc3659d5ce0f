package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
	"github.com/lmtp-webhook/lmtp-webhook/retry"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/auth"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/auth/authtest"
)

// BenchmarkDeliverAuth measures what AUTH_CHECKS costs: one-recipient
// messages over LMTP, with XFORWARD as Postfix sends it, to a real HTTP
// receiver, with the checks off and on, in the same run. With checks on,
// SPF, a 2048-bit DKIM signature and DMARC are computed against a
// loopback DNS server whose answers are already cached (a sender seen
// before), so what is measured is the checks' own work, not DNS latency.
func BenchmarkDeliverAuth(b *testing.B) {
	zones := authtest.StartDNS(b,
		authtest.TXT("example.com.", "v=spf1 ip4:127.0.0.2 -all"),
		authtest.TXT("_dmarc.example.com.", "v=DMARC1; p=reject"),
		authtest.TXT("sel1._domainkey.example.com.", authtest.NewKey(b).Record))
	unsigned := []byte("From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: figures\r\n" +
		"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <bench-1@example.com>\r\n\r\n" +
		strings.Repeat("The quarterly figures are attached, with the notes we discussed.\r\n", 40))
	signed := authtest.Sign(b, unsigned, "sel1", "example.com", "relaxed", "relaxed")

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	checker, err := auth.New(auth.Config{Resolver: zones.Addr})
	if err != nil {
		b.Fatal(err)
	}

	on := []payload.Stage{&auth.Stage{Checker: checker}}
	for _, bc := range []struct {
		name   string
		stages []payload.Stage
		data   []byte
	}{
		{"checks=off", nil, signed},
		{"checks=on", on, signed},
		// Without a signature: SPF and DMARC only, which shows what the
		// RSA verification and body hash of DKIM cost.
		{"checks=on/unsigned", on, unsigned},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := New(Config{URL: srv.URL, Retry: retry.Policy{MaxAttempts: 1}, Parse: payload.Options{Stages: bc.stages}})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			addr := benchLMTP(b, c)
			stuffed := lmtptest.Stuff(string(bc.data))
			cl := lmtptest.LHLO(b, addr)
			send := func() {
				cl.Write("XFORWARD NAME=mail.example.com ADDR=127.0.0.2 PORT=41000 PROTO=ESMTP HELO=mail.example.com\r\n" +
					"MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n")
				for i, r := range cl.Replies(4) {
					if want := []string{"250 ", "250 ", "250 ", "354 "}[i]; !strings.HasPrefix(r, want) {
						b.Fatalf("reply %d: %q", i, r)
					}
				}
				cl.Write(stuffed)
				if r := cl.Reply(); !strings.HasPrefix(r, "250 ") {
					b.Fatalf("data: %q", r)
				}
			}
			send() // the DNS answers are cached from here on
			cold := zones.Queries.Load()
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.data)))
			cpu := processCPU(b)
			for b.Loop() {
				_ = cl.Conn.SetDeadline(time.Now().Add(30 * time.Second))
				send()
			}
			// The machine may be shared: CPU time, of the whole process
			// (bridge and receiver), compares the two better than the
			// wall time does.
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
			if n := zones.Queries.Load() - cold; n != 0 {
				b.Errorf("warm checks sent %d DNS queries", n)
			}
		})
	}
}

// processCPU returns the CPU time this process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchLMTP serves LMTP on loopback, delivering to d, until b ends.
func benchLMTP(b *testing.B, d lmtp.Deliverer) string {
	b.Helper()
	s, err := lmtp.New(lmtp.Config{Listen: "127.0.0.1:0", Hostname: "bridge.test", Deliverer: d, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	l, err := s.Listen()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(l)
	}()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-done
	})
	return l.Addr().String()
}
