package main

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	payloadpkg "github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/auth"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/auth/authtest"
)

// TestVerdictsInTheSummary delivers through the bridge's webhook client
// with its real sender checks, asking a loopback DNS server: the summary
// line shows the client and the verdicts.
func TestVerdictsInTheSummary(t *testing.T) {
	zones := authtest.StartDNS(t,
		authtest.TXT("example.org.", "v=spf1 ip4:192.0.2.25 -all"),
		authtest.TXT("_dmarc.example.org.", "v=DMARC1; p=quarantine"))
	checker, err := auth.New(auth.Config{Resolver: zones.Addr, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rc := startReceiver(t, map[string]string{"WEBHOOK_SECRET": secret}, nil)
	key, err := parseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	client, err := webhook.New(webhook.Config{URL: rc.url + "/inbound", Secret: key, Timeout: 5 * time.Second,
		Parse: payloadpkg.Options{Stages: []payloadpkg.Stage{&auth.Stage{Checker: checker}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	msg := message("bob@example.com")
	msg.Client = &lmtp.Client{IP: netip.MustParseAddr("192.0.2.25"), Helo: "mail.example.org"}
	msg.ReceivedAt = time.Now()
	client.Deliver(context.Background(), msg, func(_ int, r *smtp.SMTPError) {
		if r != nil && r.Code != 250 {
			t.Errorf("reply %v", r)
		}
	})
	if out := rc.out.String(); !strings.Contains(out, ` errors=0 flags="" client=192.0.2.25 spf=pass dkim=none dmarc=pass answer="200"`) {
		t.Errorf("summary:\n%s", out)
	}
}
