package main

import (
	"encoding/json"
	"fmt"
	"os"
	osuser "os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// TestPostfixBounceIsClassified has a private Postfix bounce a message to
// a local user that does not exist, and deliver the DSN it generates to
// the sender's domain, which it routes to the bridge over LMTP: the
// webhook must get it from the null sender, classified as a bounce of
// that recipient and that message, and not as an auto-reply.
func TestPostfixBounceIsClassified(t *testing.T) {
	postfix, postqueue := postfixPeers(t)
	postconf := peer(t, "postconf")

	rc := newReceiver(t, nil)
	b := startBridge(t, rc.url())
	pf := startPostfix(t, postfix, postqueue, b.lmtpAddr, 2)
	// lost.example.test is local to the instance: local_recipient_maps is
	// empty, so smtpd accepts every recipient and local(8) bounces those
	// that are no system user. Should one exist after all, its mail would
	// go to the instance's own spool. Every other domain, the sender's
	// included, still goes to the bridge.
	pf.restart(t, func() {
		for _, args := range [][]string{
			{"-e", "mydestination = lost.example.test"},
			{"-e", "mail_spool_directory = " + filepath.Join(pf.dir, "spool")},
			{"-M", "local/unix=local unix - n n - - local"},
		} {
			if out, err := runTool(postconf, append([]string{"-c", pf.configDir}, args...)...); err != nil {
				t.Fatalf("postconf %q: %v\n%s", args, err, out)
			}
		}
	})

	const sender = "alice@example.org"
	user := fmt.Sprintf("lwh-missing-%d", os.Getpid())
	if _, err := osuser.Lookup(user); err == nil {
		t.Fatalf("system user %s exists", user)
	}
	rcpt := user + "@lost.example.test"
	msgID := fmt.Sprintf("bounce-%d@example.org", time.Now().UnixNano())
	msg := fmt.Sprintf("From: Alice <%s>\r\nTo: <%s>\r\nSubject: Are you there?\r\nMessage-ID: <%s>\r\nDate: %s\r\n\r\nHello?\r\n",
		sender, rcpt, msgID, time.Now().Format(time.RFC1123Z))
	sendPlain(t, pf.smtpAddr, sender, rcpt, msg)

	var dsn *delivery
	if !poll(60*time.Second, 50*time.Millisecond, func() bool {
		for _, d := range rc.deliveries() {
			if d.Payload.Envelope.To == sender {
				dsn = &d
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no bounce reached the webhook within 60s; it got %d other deliveries", len(rc.deliveries()))
	}
	var p wire.Payload
	if err := json.Unmarshal(dsn.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Envelope.From != "" {
		t.Errorf("envelope.from %q, want the null sender", p.Envelope.From)
	}
	c := p.Classification
	if len(c.Bounce) != 1 {
		t.Fatalf("classification %+v: want one bounced recipient", c)
	}
	got := c.Bounce[0]
	if got.Action != "failed" || !regexp.MustCompile(`^5\.\d{1,3}\.\d{1,3}$`).MatchString(got.Status) ||
		got.FinalRecipient != rcpt || got.OriginalMessageID != msgID {
		t.Errorf("bounce %+v: want action failed, a 5.x.x status, final_recipient %s, original_message_id %s", got, rcpt, msgID)
	}
	if !strings.Contains(got.Diagnostic, "unknown user") {
		t.Errorf("diagnostic %q: want local(8)'s unknown user", got.Diagnostic)
	}
	if c.AutoReply || c.AutoSubmitted == nil || *c.AutoSubmitted != "auto-replied" || c.FeedbackReport != nil || c.Bulk {
		t.Errorf("classification %+v: a bounce, marked auto-replied by Postfix, is not a vacation answer", c)
	}
	t.Logf("Postfix's bounce: %+v", got)
	pf.waitEmpty(t, 30*time.Second)
}

// sendPlain sends one message over SMTP without TLS, which the test
// instance does not offer.
func sendPlain(t *testing.T, addr, from, rcpt, msg string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("connect to Postfix at %s: %v", addr, err)
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	if err := c.SendMail(from, []string{rcpt}, strings.NewReader(msg)); err != nil {
		t.Fatalf("send to %s through Postfix: %v", rcpt, err)
	}
	if err := c.Quit(); err != nil {
		t.Errorf("QUIT: %v", err)
	}
}
