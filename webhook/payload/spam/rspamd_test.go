package spam_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/spam"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/spam/spamtest"
)

// readFile is a testdata message.
func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// envelope is a plausible original client and envelope for msg.
func envelope(msg []byte) spam.Input {
	return spam.Input{
		Message:    msg,
		ClientIP:   netip.MustParseAddr("192.0.2.25"),
		Helo:       "mail.example.com",
		Hostname:   "mail.example.com",
		QueueID:    "4ABCDE12345",
		From:       "alice@example.com",
		Recipients: []string{"bob@example.org", "carol@example.org"},
	}
}

func newClient(t testing.TB, cfg spam.Config) *spam.Client {
	t.Helper()
	c, err := spam.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRspamd scans messages with a real rspamd: one start serves the
// subtests, since a start costs seconds.
func TestRspamd(t *testing.T) {
	srv := spamtest.Start(t)
	t.Logf("rspamd started in %s", srv.Startup.Round(time.Millisecond))
	c := newClient(t, spam.Config{URL: srv.URL})
	ctx := context.Background()

	t.Run("gtube is rejected", func(t *testing.T) {
		in := envelope(readFile(t, "gtube.eml"))
		in.From = "mallory@example.net"
		v, err := c.Check(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if v.Action != "reject" || v.RequiredScore <= 0 || v.Score < v.RequiredScore || !slices.Contains(v.Symbols, "GTUBE") {
			t.Fatalf("GTUBE verdict %+v, want action reject, score at or above required_score, symbol GTUBE", v)
		}
		if !spam.Reject(v, v.RequiredScore) {
			t.Errorf("Reject(%v, %v) = false", v.Score, v.RequiredScore)
		}
	})

	t.Run("plain message passes", func(t *testing.T) {
		v, err := c.Check(ctx, envelope(readFile(t, "plain.eml")))
		if err != nil {
			t.Fatal(err)
		}
		if v.Action != "no action" || v.Score >= 1 || v.RequiredScore != 15 {
			t.Fatalf("plain verdict %+v, want action \"no action\", score below 1 of required 15", v)
		}
		if spam.Reject(v, 5) {
			t.Errorf("Reject(%v, 5) = true", v.Score)
		}
		if !sort.StringsAreSorted(v.Symbols) {
			t.Errorf("symbols not sorted: %q", v.Symbols)
		}
		// The envelope reached rspamd: its From equals the header's, its
		// recipients match the To header's.
		for _, sym := range []string{"FROM_EQ_ENVFROM", "TO_MATCH_ENVRCPT_ALL"} {
			if !slices.Contains(v.Symbols, sym) {
				t.Errorf("symbols %q lack %s", v.Symbols, sym)
			}
		}
		// And the client, queue id and all of the envelope, as rspamd's
		// log line for the scan shows them.
		log := srv.Log()
		for _, want := range []string{
			"qid: <4ABCDE12345>, ip: 192.0.2.25, from: <alice@example.com>,",
			"rcpts: <bob@example.org,carol@example.org>,",
		} {
			if !strings.Contains(log, want) {
				t.Errorf("rspamd.log has no %q", want)
			}
		}
	})

	t.Run("json shape", func(t *testing.T) {
		msg := []byte("Subject: x\r\n\r\nx\r\n")
		v, err := c.Check(ctx, spam.Input{Message: msg})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"score", "required_score", "action", "symbols"} {
			if _, ok := doc[k]; !ok {
				t.Errorf("%s has no %q", b, k)
			}
		}
		if _, ok := doc["symbols"].([]any); !ok {
			t.Errorf("symbols is not a list in %s", b)
		}
	})

	t.Run("null sender and unusable header values", func(t *testing.T) {
		in := envelope(readFile(t, "plain.eml"))
		in.From = ""
		in.QueueID = "4NULLSENDER1"
		in.Helo = "evil\r\nRcpt: injected@example.net"
		v, err := c.Check(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(v.Symbols, "FROM_EQ_ENVFROM") || !slices.Contains(v.Symbols, "TO_MATCH_ENVRCPT_ALL") {
			t.Errorf("symbols %q: want no FROM_EQ_ENVFROM, and TO_MATCH_ENVRCPT_ALL", v.Symbols)
		}
		if log := srv.Log(); !strings.Contains(log, "qid: <4NULLSENDER1>") || strings.Contains(log, "injected@example.net") {
			t.Errorf("rspamd.log lacks the scan or shows the injected recipient")
		}
	})

	t.Run("reverse lookup stays on loopback", func(t *testing.T) {
		before := srv.DNSQueries()
		in := envelope(readFile(t, "plain.eml"))
		in.Hostname = "" // rspamd looks the client's name up itself
		start := time.Now()
		if _, err := c.Check(ctx, in); err != nil {
			t.Fatal(err)
		}
		if srv.DNSQueries() == before {
			t.Errorf("rspamd sent no DNS query to the loopback responder")
		}
		t.Logf("scan with a refused reverse lookup: %s", time.Since(start).Round(time.Microsecond))
	})

	t.Run("controller wants its password", func(t *testing.T) {
		in := envelope(readFile(t, "plain.eml"))
		with := newClient(t, spam.Config{URL: srv.ControllerURL, Password: spamtest.Password})
		if v, err := with.Check(ctx, in); err != nil || v.Action != "no action" {
			t.Fatalf("controller with password: %+v, %v", v, err)
		}
		without := newClient(t, spam.Config{URL: srv.ControllerURL})
		v, err := without.Check(ctx, in)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("controller without password: %+v, %v; want a 401 error", v, err)
		}
	})

	t.Run("latency", func(t *testing.T) {
		in := envelope(readFile(t, "plain.eml"))
		const n = 50
		d := make([]time.Duration, n)
		for i := range d {
			start := time.Now()
			if _, err := c.Check(ctx, in); err != nil {
				t.Fatal(err)
			}
			d[i] = time.Since(start)
		}
		slices.Sort(d)
		t.Logf("%d scans of a %d-byte message: median %s, p90 %s, max %s",
			n, len(in.Message), d[n/2].Round(time.Microsecond), d[n*9/10].Round(time.Microsecond), d[n-1].Round(time.Microsecond))
	})

	t.Run("concurrent scans", func(t *testing.T) {
		gtube, plain := envelope(readFile(t, "gtube.eml")), envelope(readFile(t, "plain.eml"))
		errs := make(chan error, 8)
		for i := range 8 {
			go func() {
				in, want := plain, "no action"
				if i%2 == 0 {
					in, want = gtube, "reject"
				}
				for range 5 {
					v, err := c.Check(ctx, in)
					if err == nil && v.Action != want {
						err = fmt.Errorf("action %q, want %q", v.Action, want)
					}
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		c := newClient(t, spam.Config{URL: srv.URL, Metrics: spam.NewMetrics(reg)})
		for _, name := range []string{"gtube.eml", "plain.eml", "plain.eml"} {
			if _, err := c.Check(ctx, envelope(readFile(t, name))); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]float64{
			"lmtp_webhook_spam_checks_total":                     3,
			"lmtp_webhook_spam_verdicts_total{action=no action}": 2,
			"lmtp_webhook_spam_verdicts_total{action=reject}":    1,
			"lmtp_webhook_spam_check_duration_seconds_count":     3,
		}
		if got := gather(t, reg); !maps.Equal(got, want) {
			t.Errorf("metrics %v, want %v", got, want)
		}
	})

	t.Run("stopped rspamd fails fast", func(t *testing.T) {
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		v, err := c.Check(ctx, envelope(readFile(t, "plain.eml")))
		if err == nil {
			t.Fatalf("scan after stop: %+v, want an error", v)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("error after %s, want within 1s", d)
		}
		if e := (*spam.Error)(nil); !errors.As(err, &e) || e.Reason != spam.ReasonUnreachable {
			t.Errorf("error %#v, want a *spam.Error with reason %q", err, spam.ReasonUnreachable)
		}
		t.Logf("stopped rspamd: %v after %s", err, time.Since(start).Round(time.Microsecond))
	})
}

// BenchmarkCheck is one scan by a real rspamd on loopback, through the
// package's own HTTP client: the small plain message, and text messages
// of larger sizes.
func BenchmarkCheck(b *testing.B) {
	srv := spamtest.Start(b)
	c := newClient(b, spam.Config{URL: srv.URL})
	ctx := context.Background()
	plain := readFile(b, "plain.eml")
	for _, size := range []int{len(plain), 64 << 10, 1 << 20} {
		msg := plain
		if size > len(msg) {
			msg = textMessage(size)
		}
		in := envelope(msg)
		b.Run(fmt.Sprintf("%dB", len(msg)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := c.Check(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// textMessage is a plain-text message of about size bytes: prose lines
// under the plain message's headers.
func textMessage(size int) []byte {
	var sb strings.Builder
	sb.WriteString("From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>, Carol <carol@example.org>\r\n" +
		"Subject: The minutes\r\nMessage-ID: <minutes-1@example.com>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	for i := 0; sb.Len() < size; i++ {
		fmt.Fprintf(&sb, "Item %d: the committee agreed to meet again next week and review the budget.\r\n", i)
	}
	return []byte(sb.String())
}
