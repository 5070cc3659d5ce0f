package webhook_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// Hostile mail costs bounded time and memory: parsing is linear in the
// message's size and has a time budget of its own, and a JSON document
// past a multiple of the message goes out raw.

// bigBridge is a bridge that takes messages of up to 8 MiB.
func bigBridge(t *testing.T, url string, parseTimeout time.Duration) string {
	t.Helper()
	return startBridge(t, url, func(c *webhook.Config, l *lmtp.Config) {
		l.MaxMessageBytes = 8 << 20
		c.Parse.ParseTimeout = parseTimeout
		// The test receiver decodes megabytes of JSON, slowly under the
		// race detector.
		c.Timeout = 30 * time.Second
		c.Retry.MaxElapsed = 60 * time.Second
	})
}

// sendTimed sends msg to one recipient and returns the reply and the
// time from the end of the data to it.
func sendTimed(t *testing.T, addr, msg string) (string, time.Duration) {
	t.Helper()
	cl := lhlo(t, addr)
	cl.Expect("250 ", "MAIL FROM:<a@x.test> SIZE=%d", len(msg))
	cl.Expect("250 ", "RCPT TO:<r@x.test>")
	cl.Expect("354 ", "DATA")
	cl.Write(msg + ".\r\n")
	start := time.Now()
	reply := cl.Reply()
	took := time.Since(start)
	t.Logf("%d bytes answered %s after the end of data", len(msg), took)
	return reply, took
}

// repeated is head, then unit repeated up to about size bytes.
func repeated(head, unit string, size int) string {
	var b strings.Builder
	b.Grow(size + len(unit))
	b.WriteString(head)
	for b.Len() < size {
		b.WriteString(unit)
	}
	return b.String()
}

// deliverOne sends msg to one recipient, requires a 250, and returns the
// one request the webhook got, checked against the schema.
func deliverOne(t *testing.T, k *contract, rc *receiver, addr, msg string) request {
	t.Helper()
	if reply, _ := sendTimed(t, addr, msg); reply != "250 2.0.0 <r@x.test> delivered" {
		t.Fatalf("reply %q", reply)
	}
	req := rc.Requests()[0]
	k.validate(t, payloadSchema, req.Body)
	return req
}

// foldedTo is a message whose To: field is size bytes of folded lines.
func foldedTo(size int) string {
	var b strings.Builder
	b.WriteString("Subject: folded\r\nTo: a0@x.test")
	for i := 1; b.Len() < size; i++ {
		fmt.Fprintf(&b, ",\r\n a%d@x.test", i)
	}
	b.WriteString("\r\n\r\nbody\r\n")
	return b.String()
}

func TestFoldedHeaderOfOneMiBIsAnsweredWithinASecond(t *testing.T) {
	rc := newReceiver(t, nil)
	addr := bigBridge(t, rc.URL, 0)
	msg := foldedTo(1 << 20)
	reply, took := sendTimed(t, addr, msg)
	if reply != "250 2.0.0 <r@x.test> delivered" {
		t.Fatalf("reply %q", reply)
	}
	if took > slowdown*time.Second {
		t.Errorf("answered %s after the end of data, want within %ds", took, slowdown)
	}
	p := rc.Requests()[0].Payload
	if p.Subject != "folded" || len(p.To) < 50000 {
		t.Errorf("subject %q, %d addresses in To", p.Subject, len(p.To))
	}
}

func TestHTMLOnlyMessageOfSixMiBIsDeliveredPromptly(t *testing.T) {
	rc := newReceiver(t, nil)
	addr := bigBridge(t, rc.URL, slowdown*10*time.Second)
	msg := repeated("Subject: runs\r\nContent-Type: text/html; charset=utf-8\r\n\r\n", strings.Repeat("a</x>", 200)+"\r\n", 6<<20)
	reply, took := sendTimed(t, addr, msg)
	if reply != "250 2.0.0 <r@x.test> delivered" {
		t.Fatalf("reply %q", reply)
	}
	// It took 182 s when the text was made with html.Parse; linear, it
	// takes well under one.
	if took > slowdown*5*time.Second {
		t.Errorf("delivered %s after the end of data", took)
	}
	p := rc.Requests()[0].Payload
	if !strings.HasPrefix(p.Text, "aaaa") || len(p.HTML) < 6<<20-100 || p.Raw != nil {
		t.Errorf("text %.20q (%d bytes), html of %d bytes, raw %v", p.Text, len(p.Text), len(p.HTML), p.Raw != nil)
	}
}

func TestParseOverItsTimeBudgetIsDeliveredRaw(t *testing.T) {
	k := openContract(t)
	rc := newReceiver(t, nil)
	// No parse of a 4 MiB message ends within a millisecond.
	addr := bigBridge(t, rc.URL, time.Millisecond)
	msg := repeated("Subject: slow\r\nContent-Type: text/html\r\n\r\n", strings.Repeat("<p><b>x", 100)+"\r\n", 4<<20)
	p := deliverOne(t, k, rc, addr, msg).Payload
	if !bytes.Equal(p.Raw, []byte(msg)) || len(p.Errors) != 1 || p.Errors[0].Name != wire.ErrorParseTimeout || !p.Errors[0].Severe {
		t.Errorf("raw %d bytes, errors %+v: want the message raw and a severe %q", len(p.Raw), p.Errors, wire.ErrorParseTimeout)
	}
}

func TestJSONPastFourTimesTheMessageIsSentRaw(t *testing.T) {
	k := openContract(t)
	rc := newReceiver(t, nil)
	addr := bigBridge(t, rc.URL, 0)
	msg := repeated("Subject: control\r\nMessage-ID: <ctl@x.test>\r\nContent-Type: text/plain\r\n\r\n",
		"\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\r\n", 1<<20)
	req := deliverOne(t, k, rc, addr, msg)
	p := req.Payload
	if limit := 4*len(msg) + 64<<10 + 1024; len(req.Body) > limit {
		t.Errorf("body of %d bytes for a message of %d", len(req.Body), len(msg))
	}
	if !bytes.Equal(p.Raw, []byte(msg)) || p.Text != "" || len(p.Headers) != 0 || !hasError(p, wire.ErrorPayloadTooLarge) {
		t.Errorf("raw %d bytes, text of %d, %d headers, errors %+v", len(p.Raw), len(p.Text), len(p.Headers), p.Errors)
	}
	if p.MessageID != "ctl@x.test" || p.Subject != "control" {
		t.Errorf("message id %q, subject %q: small fields are kept", p.MessageID, p.Subject)
	}
}
