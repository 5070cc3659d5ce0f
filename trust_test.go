package main

// Trusting the sender, end to end: the built binary, a private Postfix
// that forwards the original client with XFORWARD, a real DNS server on
// loopback serving the senders' SPF, DKIM and DMARC records, messages
// signed by python3-dkim, a real rspamd, and a real HTTP receiver whose
// JSON is checked. No test here asks the machine's resolver: every bridge
// with checks on is given DNS_SERVER.

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/auth/authtest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/spam/spamtest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// The senders' zones. example.com lets 127.0.0.2 send and rejects what
// fails DMARC; example.org lets 127.0.0.2 send and only monitors (p=none).
// Both publish the test key at selector sel1.
func trustZones(t *testing.T) *authtest.DNS {
	t.Helper()
	key := authtest.NewKey(t).Record
	return authtest.StartDNS(t,
		authtest.TXT("example.com.", "v=spf1 ip4:127.0.0.2 -all"),
		authtest.TXT("_dmarc.example.com.", "v=DMARC1; p=reject"),
		authtest.TXT("sel1._domainkey.example.com.", key),
		authtest.TXT("example.org.", "v=spf1 ip4:127.0.0.2 -all"),
		authtest.TXT("_dmarc.example.org.", "v=DMARC1; p=none"),
		authtest.TXT("sel1._domainkey.example.org.", key),
	)
}

// trustReceiver is a real webhook that decodes bodies as the wire types a
// Go receiver imports.
func trustReceiver(t *testing.T) *webhooktest.Receiver[wire.Payload] {
	t.Helper()
	return webhooktest.NewReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ *webhooktest.Request[wire.Payload]) {
		w.WriteHeader(http.StatusOK)
	})
}

// awaitSubject waits for the delivery of the message with subject.
func awaitSubject(t *testing.T, rc *webhooktest.Receiver[wire.Payload], subject string) wire.Payload {
	t.Helper()
	var got wire.Payload
	if !poll(60*time.Second, 20*time.Millisecond, func() bool {
		for _, d := range rc.Requests() {
			if d.Payload.Subject == subject {
				got = d.Payload
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no delivery of %q within 60s; the receiver got %d others", subject, len(rc.Requests()))
	}
	return got
}

// trustMessage is a message from `from` with a unique Message-ID.
func trustMessage(from, subject string) []byte {
	return []byte(fmt.Sprintf("From: %s\r\nTo: bob@hooks.example.test\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.trust@example.test>\r\n\r\nAre you really who you say you are?\r\n",
		from, subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano()))
}

// sendSMTP sends msg over SMTP to addr from the loopback address local,
// as a client on the Internet would reach the MTA.
func sendSMTP(t *testing.T, addr string, local net.IP, mailFrom, rcpt string, msg []byte) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: local}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("connect to %s from %s: %v", addr, local, err)
	}
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.SendMail(mailFrom, []string{rcpt}, strings.NewReader(string(msg))); err != nil {
		t.Fatalf("send from %s: %v", local, err)
	}
}

// TestTrustThroughPostfix sends through a private Postfix with
// lmtp_send_xforward_command = yes from two client addresses: the
// payload names the original client, and SPF follows it; a message
// signed by python3-dkim passes DKIM and DMARC.
func TestTrustThroughPostfix(t *testing.T) {
	postfix, postqueue := postfixPeers(t)
	postconf := peer(t, "postconf")
	zones := trustZones(t)
	rc := trustReceiver(t)
	b := startBridge(t, rc.URL, "AUTH_CHECKS=true", "DNS_SERVER="+zones.Addr, "AUTH_TIMEOUT=3s")
	pf := startPostfix(t, postfix, postqueue, b.lmtpAddr, 2)
	pf.restart(t, func() {
		for _, line := range []string{"lmtp_send_xforward_command = yes", "smtpd_peername_lookup = no"} {
			if out, err := runTool(postconf, "-c", pf.configDir, "-e", line); err != nil {
				t.Fatalf("postconf -e %q: %v\n%s", line, err, out)
			}
		}
	})

	signed := authtest.Sign(t, trustMessage("Alice <alice@example.com>", "signed from the allowed address"), "sel1", "example.com", "relaxed", "simple")
	sendSMTP(t, pf.smtpAddr, net.IPv4(127, 0, 0, 2), "alice@example.com", "bob@hooks.example.test", signed)
	sendSMTP(t, pf.smtpAddr, net.IPv4(127, 0, 0, 3), "carol@example.org", "bob@hooks.example.test",
		trustMessage("carol@example.org", "unsigned from another address"))

	p := awaitSubject(t, rc, "signed from the allowed address")
	if c := p.Envelope.Client; c == nil || c.IP != "127.0.0.2" || c.Helo == "" || c.Port == 0 || !strings.Contains(c.Proto, "SMTP") {
		t.Errorf("envelope.client %+v, want 127.0.0.2 with its port, HELO and protocol", c)
	}
	a := p.Auth
	if a == nil {
		t.Fatal("auth is null with AUTH_CHECKS=true")
	}
	if a.SPF.Result != wire.AuthPass || a.SPF.Domain != "example.com" || a.SPF.ClientIP != "127.0.0.2" {
		t.Errorf("spf %+v, want pass for example.com from 127.0.0.2", a.SPF)
	}
	if len(a.DKIM) != 1 || a.DKIM[0].Result != wire.AuthPass || a.DKIM[0].Domain != "example.com" || a.DKIM[0].Selector != "sel1" {
		t.Errorf("dkim %+v, want one pass by example.com/sel1", a.DKIM)
	}
	if d := a.DMARC; d.Result != wire.AuthPass || !d.SPFAligned || !d.DKIMAligned || d.Policy != "reject" {
		t.Errorf("dmarc %+v, want pass, both aligned, policy reject", d)
	}

	p = awaitSubject(t, rc, "unsigned from another address")
	if c := p.Envelope.Client; c == nil || c.IP != "127.0.0.3" {
		t.Errorf("envelope.client %+v, want 127.0.0.3", c)
	}
	if a := p.Auth; a == nil || a.SPF.Result != wire.AuthFail || a.SPF.ClientIP != "127.0.0.3" || len(a.DKIM) != 0 ||
		a.DMARC.Result != wire.AuthFail || a.DMARC.Policy != "none" {
		t.Errorf("auth %+v, want spf fail from 127.0.0.3, no dkim, dmarc fail with policy none", a)
	}
	if n := len(rc.Requests()); n != 2 {
		t.Errorf("%d deliveries, want 2", n)
	}
}

// lmtpWithClient sends one message over LMTP to the bridge as Postfix
// does with XFORWARD, and returns the reply to the data.
func lmtpWithClient(t *testing.T, addr, clientIP, mailFrom string, msg []byte) string {
	t.Helper()
	cl := lmtptest.LHLO(t, addr)
	cl.Expect("250 2.0.0 Ok", "XFORWARD NAME=[UNAVAILABLE] ADDR=%s PORT=41000 PROTO=ESMTP HELO=client.example.test", clientIP)
	cl.Expect("250 ", "MAIL FROM:<%s>", mailFrom)
	cl.Expect("250 ", "RCPT TO:<bob@hooks.example.test>")
	return cl.Data(string(msg), 1)[0]
}

// TestRejectDMARC refuses a spoofed From of a p=reject domain with
// AUTH_REJECT_DMARC=true, before any POST, and delivers the same spoof of
// a p=none domain with its verdict.
func TestRejectDMARC(t *testing.T) {
	zones := trustZones(t)
	rc := trustReceiver(t)
	b := startBridge(t, rc.URL, "AUTH_CHECKS=true", "DNS_SERVER="+zones.Addr, "AUTH_REJECT_DMARC=true")

	r := lmtpWithClient(t, b.lmtpAddr, "127.0.0.3", "ceo@example.com", trustMessage("CEO <ceo@example.com>", "spoofed reject"))
	if !strings.HasPrefix(r, "550 5.7.1 <bob@hooks.example.test> DMARC policy of example.com rejects") {
		t.Errorf("spoof of a p=reject domain: %q, want 550 5.7.1 naming the DMARC policy", r)
	}
	r = lmtpWithClient(t, b.lmtpAddr, "127.0.0.3", "ceo@example.org", trustMessage("CEO <ceo@example.org>", "spoofed none"))
	if !strings.HasPrefix(r, "250 ") {
		t.Errorf("spoof of a p=none domain: %q, want 250", r)
	}
	p := awaitSubject(t, rc, "spoofed none")
	if a := p.Auth; a == nil || a.DMARC.Result != wire.AuthFail || a.DMARC.Policy != "none" {
		t.Errorf("auth %+v, want dmarc fail with policy none", p.Auth)
	}
	for _, d := range rc.Requests() {
		if d.Payload.Subject == "spoofed reject" {
			t.Errorf("the refused message was posted")
		}
	}
	if !poll(5*time.Second, 20*time.Millisecond, func() bool {
		return strings.Contains(b.output.String(), `"stage":"auth"`) && strings.Contains(b.output.String(), "message not posted")
	}) {
		t.Errorf("no log line for the refusal:\n%s", tail(b.output.String(), 20))
	}
	if b.metric(t, `lmtp_webhook_messages_not_posted_total{action="refuse",stage="auth"}`) != 1 {
		t.Errorf("the refusal is not counted")
	}
}

// TestDNSThatDropsQueries delivers within AUTH_TIMEOUT when the resolver
// answers nothing: the checks are temperror, the message is not held.
func TestDNSThatDropsQueries(t *testing.T) {
	zones := trustZones(t)
	zones.Drop.Store(true)
	rc := trustReceiver(t)
	b := startBridge(t, rc.URL, "AUTH_CHECKS=true", "DNS_SERVER="+zones.Addr, "AUTH_TIMEOUT=1s")
	start := time.Now()
	msg := authtest.Sign(t, trustMessage("alice@example.com", "dns drops"), "sel1", "example.com", "relaxed", "relaxed")
	if r := lmtpWithClient(t, b.lmtpAddr, "127.0.0.2", "alice@example.com", msg); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("reply %q, want 250", r)
	}
	// The budget, and a margin for a loaded machine: far from the time a
	// resolver that never answers would hold the message otherwise.
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("delivery took %s with AUTH_TIMEOUT=1s", took)
	}
	a := awaitSubject(t, rc, "dns drops").Auth
	if a == nil || a.SPF.Result != wire.AuthTempError || len(a.DKIM) != 1 || a.DKIM[0].Result != wire.AuthTempError ||
		a.DMARC.Result != wire.AuthTempError {
		t.Errorf("auth %+v, want temperror throughout", a)
	}
	if zones.Queries.Load() == 0 {
		t.Errorf("the DNS server got no query")
	}
}

// TestSpamVerdicts runs a real rspamd: GTUBE is refused at
// SPAM_REJECT_SCORE=15 before any POST, a plain message is delivered with
// its verdict, and once rspamd is gone mail goes on with spam null.
func TestSpamVerdicts(t *testing.T) {
	rs := spamtest.Start(t)
	rc := trustReceiver(t)
	b := startBridge(t, rc.URL, "SPAM_URL="+rs.URL, "SPAM_REJECT_SCORE=15", "SPAM_TIMEOUT=20s")
	gtube, err := os.ReadFile(filepath.Join("webhook", "payload", "spam", "testdata", "gtube.eml"))
	if err != nil {
		t.Fatal(err)
	}

	r := lmtpWithClient(t, b.lmtpAddr, "192.0.2.10", "spammer@example.net", gtube)
	if !strings.HasPrefix(r, "550 5.7.1 <bob@hooks.example.test> message refused as spam: score ") {
		t.Errorf("GTUBE: %q, want 550 5.7.1 with the score", r)
	}
	if n := len(rc.Requests()); n != 0 {
		t.Errorf("GTUBE was posted (%d requests)", n)
	}
	r = lmtpWithClient(t, b.lmtpAddr, "192.0.2.10", "alice@example.net", trustMessage("Alice <alice@example.net>", "plain"))
	if !strings.HasPrefix(r, "250 ") {
		t.Fatalf("plain message: %q, want 250", r)
	}
	p := awaitSubject(t, rc, "plain")
	if p.Spam == nil || p.Spam.Action != "no action" || p.Spam.Symbols == nil || p.Spam.Score >= p.Spam.RequiredScore {
		t.Errorf("spam %+v, want a clean verdict", p.Spam)
	}
	if p.Auth != nil {
		t.Errorf("auth %+v with AUTH_CHECKS=false, want null", p.Auth)
	}

	if err := rs.Stop(); err != nil {
		t.Fatal(err)
	}
	r = lmtpWithClient(t, b.lmtpAddr, "192.0.2.10", "alice@example.net", trustMessage("Alice <alice@example.net>", "scanner gone"))
	if !strings.HasPrefix(r, "250 ") {
		t.Fatalf("with rspamd stopped: %q, want 250", r)
	}
	p = awaitSubject(t, rc, "scanner gone")
	found := false
	for _, e := range p.Errors {
		found = found || (e.Name == wire.ErrorSpamScan && e.Detail == "unreachable" && !e.Severe)
	}
	if p.Spam != nil || !found {
		t.Errorf("spam %+v, errors %+v: want null and a Spam Scan Failed entry", p.Spam, p.Errors)
	}
	if b.metric(t, `lmtp_webhook_messages_not_posted_total{action="refuse",stage="spam"}`) != 1 {
		t.Errorf("the refusal is not counted")
	}
}
