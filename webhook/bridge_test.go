package webhook_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
	"github.com/lmtp-webhook/lmtp-webhook/retry"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// request is one POST as the receiver saw it.
type request = webhooktest.Request[wire.Payload]

// receiver is the shared test webhook, decoding payloads.
type receiver = webhooktest.Receiver[wire.Payload]

// newReceiver starts a receiver whose answer function decides each reply
// from the payload and the attempt number; nil answers 200.
func newReceiver(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, p wire.Payload, attempt int)) *receiver {
	t.Helper()
	if answer == nil {
		return webhooktest.NewReceiver[wire.Payload](t, nil)
	}
	return webhooktest.NewReceiver(t, func(w http.ResponseWriter, r *http.Request, req *request) {
		answer(w, r, req.Payload, req.Attempt)
	})
}

// forRcpt returns the requests rc got for one recipient, in order.
func forRcpt(rc *receiver, rcpt string) []request {
	var out []request
	for _, r := range rc.Requests() {
		if r.Payload.Envelope.To == rcpt {
			out = append(out, r)
		}
	}
	return out
}

// fastRetry retries quickly so that tests of the schedule run in
// milliseconds.
var fastRetry = retry.Policy{
	MaxAttempts:     3,
	InitialInterval: 5 * time.Millisecond,
	MaxInterval:     20 * time.Millisecond,
	MaxElapsed:      5 * time.Second,
}

// startBridge runs the real LMTP server in front of a webhook.Client
// posting to url and returns the LMTP address.
func startBridge(t *testing.T, url string, tweak func(*webhook.Config, *lmtp.Config)) string {
	t.Helper()
	return startBridgeCheck(t, url, "", tweak)
}

// startBridgeCheck is startBridge with a CHECK_URL.
func startBridgeCheck(t *testing.T, url, checkURL string, tweak func(*webhook.Config, *lmtp.Config)) string {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
	wc := webhook.Config{URL: url, Timeout: 2 * time.Second, Retry: fastRetry}
	lc := lmtp.Config{
		Listen:          "127.0.0.1:0",
		Hostname:        "bridge.test",
		MaxMessageBytes: 1 << 20,
		MaxRecipients:   50,
		MaxConnections:  20,
		ReadTimeout:     10 * time.Second,
		WriteTimeout:    10 * time.Second,
		Logger:          log,
	}
	if tweak != nil {
		tweak(&wc, &lc)
	}
	client, err := webhook.New(wc)
	if err != nil {
		t.Fatalf("webhook.New: %v", err)
	}
	lc.Deliverer = client
	if checkURL != "" {
		checker, err := client.NewChecker(checkURL, 300*time.Millisecond)
		if err != nil {
			t.Fatalf("NewChecker: %v", err)
		}
		lc.Checker = checker
	}
	srv, err := lmtp.New(lc)
	if err != nil {
		t.Fatalf("lmtp.New: %v", err)
	}
	l, err := srv.Listen()
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		// A plain close: tests of the drain call Shutdown themselves.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
		client.Close()
	})
	return l.Addr().String()
}

// dial connects an LMTP client to the bridge and checks its greeting.
func dial(t *testing.T, addr string) *lmtptest.Client {
	t.Helper()
	cl := lmtptest.Dial(t, addr)
	if !strings.HasPrefix(cl.Greeting, "220 ") {
		t.Fatalf("greeting: %q", cl.Greeting)
	}
	return cl
}

// lhlo dials and introduces itself.
func lhlo(t *testing.T, addr string) *lmtptest.Client {
	t.Helper()
	return lmtptest.LHLO(t, addr)
}

const simpleMessage = `From: Alice <alice@example.org>
To: Bob <bob@example.com>
Subject: Hello
Date: Mon, 23 Nov 2026 10:00:00 +0100
Message-ID: <hello-1@example.org>

Hi Bob.
.A line that starts with a dot.
`
