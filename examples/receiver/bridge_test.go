package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
)

// deliver has the bridge's real webhook client deliver msg, signed, to rc
// and returns each recipient's reply.
func deliver(t *testing.T, rc *testReceiver, msg *lmtp.Message) []*smtp.SMTPError {
	t.Helper()
	key, err := parseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	client, err := webhook.New(webhook.Config{URL: rc.url + "/inbound", Secret: key, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	msg.ReceivedAt = time.Now()
	replies := make([]*smtp.SMTPError, len(msg.Recipients))
	client.Deliver(context.Background(), msg, func(i int, r *smtp.SMTPError) { replies[i] = r })
	return replies
}

func message(rcpts ...string) *lmtp.Message {
	return &lmtp.Message{
		Envelope: lmtp.Envelope{From: "alice@example.org", Recipients: rcpts, Helo: "mx.test", RemoteAddr: "127.0.0.1:2525"},
		Data:     []byte("From: alice@example.org\r\nSubject: Hello there\r\n\r\nHi.\r\n"),
	}
}

// TestAgainstTheBridge: one line per delivery, and the MTA's redelivery of
// the same message is acknowledged without a second line.
func TestAgainstTheBridge(t *testing.T) {
	rc := startReceiver(t, map[string]string{"WEBHOOK_SECRET": secret, "RECEIVER_PRINT_JSON": "true"}, nil)
	msg := message("bob@example.com", "carol@example.com")
	for range 2 {
		for i, r := range deliver(t, rc, msg) {
			if r == nil || r.Code != 250 {
				t.Fatalf("%s: reply %v", msg.Recipients[i], r)
			}
		}
	}
	lines := strings.Split(strings.TrimSpace(rc.out.String()), "\n")
	var deliveries, duplicates, payloads int
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "delivery id=msg_") && strings.Contains(l, ` from="alice@example.org" `) && strings.Contains(l, ` subject="Hello there" `):
			deliveries++
		case strings.HasPrefix(l, "duplicate id=msg_"):
			duplicates++
		case strings.HasPrefix(l, `{"id":"msg_`):
			payloads++
		default:
			t.Errorf("unexpected line %q", l)
		}
	}
	if deliveries != 2 || duplicates != 2 || payloads != 2 {
		t.Errorf("%d deliveries, %d duplicates, %d payloads printed, want 2 each:\n%s", deliveries, duplicates, payloads, rc.out.String())
	}
}

// TestAnswersThroughTheBridge: each recipient gets the reply
// RECEIVER_ANSWERS chose for it, as the MTA would see it.
func TestAnswersThroughTheBridge(t *testing.T) {
	rc := startReceiver(t, map[string]string{
		"WEBHOOK_SECRET":   secret,
		"RECEIVER_ANSWERS": "carol@example.com=550 5.1.1 no such user,*@slow.example=451 4.2.0 try later,fast@slow.example=250 2.0.0 ok",
	}, nil)
	msg := message("bob@example.com", "carol@example.com", "dave@slow.example", "fast@slow.example")
	want := []string{"250 2.0.0 delivered", "550 5.1.1 no such user", "451 4.2.0 try later", "250 2.0.0 ok"}
	for i, r := range deliver(t, rc, msg) {
		if got := replyLine(r); got != want[i] {
			t.Errorf("%s: %q, want %q", msg.Recipients[i], got, want[i])
		}
	}
}

// TestLargeMessageThroughTheBridge: a message whose JSON is over the cap
// is deferred with 452 4.3.1, never bounced.
func TestLargeMessageThroughTheBridge(t *testing.T) {
	rc := startReceiver(t, map[string]string{"WEBHOOK_SECRET": secret, "RECEIVER_MAX_BODY": "65536"}, nil)
	msg := message("bob@example.com")
	msg.Data = append(msg.Data, bytes.Repeat([]byte("a long line of text that goes on and on\r\n"), 8<<10)...)
	for _, r := range deliver(t, rc, msg) {
		if got := replyLine(r); !strings.HasPrefix(got, "452 4.3.1 ") {
			t.Errorf("reply %q, want 452 4.3.1", got)
		}
	}
}

func replyLine(r *smtp.SMTPError) string {
	if r == nil {
		return "no reply"
	}
	e := r.EnhancedCode
	return fmt.Sprintf("%d %d.%d.%d %s", r.Code, e[0], e[1], e[2], r.Message)
}
