package main

// README's MTA wiring, applied as written. Each test reads the snippets
// that README.md marks with <!-- test:NAME -->, configures a real MTA with
// exactly those lines (only the bridge's port and the files' directory are
// put in), sends mail over SMTP from a client outside the MTA's trusted
// networks, and checks what reached a real HTTP receiver through the
// bridge. Each also leaves out the line that makes the MTA accept the
// domain and checks that the mail is then refused, so README cannot lose
// that line unnoticed.
//
// Postfix runs here, from the system's packages. Exim and OpenSMTPD conflict
// with it as packages, so they run in containers (readme_mta_docker_test.go).

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// readmeLMTPAddr is where README's snippets point the MTA: the bridge's
// default LMTP address.
const readmeLMTPAddr = "127.0.0.1:2424"

const (
	// readmeRcpt is the recipient of README's domain that the webhook
	// takes.
	readmeRcpt = "bob@hooks.example.com"
	// readmeUnknownRcpt is one of the same domain that the webhook refuses
	// (404, so the bridge answers 550 5.1.1).
	readmeUnknownRcpt = "nobody@hooks.example.com"
	readmeSender      = "alice@example.org"
	readmeBody        = "Sent through the wiring in README.md."
)

// outsideClient is the address the tests send from: loopback, but outside
// every MTA's trusted networks (Postfix's mynetworks is set to 127.0.0.1/32
// here; Debian's Exim and OpenSMTPD trust 127.0.0.1 only), so the mail is
// taken the way mail from the Internet is.
var outsideClient = net.IPv4(127, 0, 0, 2)

// readmeSnippet returns the fenced block that follows the marker
// <!-- test:NAME --> in README.md, without its fences and without the
// indentation of a block inside a list item.
func readmeSnippet(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatalf("read README.md: %v", err)
	}
	marker := "<!-- test:" + name + " -->"
	lines := strings.Split(string(b), "\n")
	var snippet string
	found := 0
	for i, line := range lines {
		if strings.TrimSpace(line) != marker {
			continue
		}
		found++
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		if j == len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[j]), "```") {
			t.Fatalf("README.md: %s is not followed by a fenced block", marker)
		}
		indent := lines[j][:len(lines[j])-len(strings.TrimLeft(lines[j], " "))]
		var body []string
		for j++; ; j++ {
			if j == len(lines) {
				t.Fatalf("README.md: the block after %s is never closed", marker)
			}
			if strings.TrimSpace(lines[j]) == "```" {
				break
			}
			body = append(body, strings.TrimPrefix(lines[j], indent))
		}
		snippet = strings.Join(body, "\n") + "\n"
	}
	if found != 1 {
		t.Fatalf("README.md has %d markers %s, want 1", found, marker)
	}
	return snippet
}

// replaceIn returns s with every old replaced by new, and fails the test
// when s has no old: a snippet that changed shape is reported as such, not
// applied half-adapted.
func replaceIn(t *testing.T, what, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("README.md's %s no longer contains %q, which the test replaces:\n%s", what, old, s)
	}
	return strings.ReplaceAll(s, old, new)
}

// withoutLine returns s without the line line, and fails the test when s
// has no such line.
func withoutLine(t *testing.T, what, s, line string) string {
	t.Helper()
	return replaceIn(t, what, s, line+"\n", "")
}

// mailResult is what an MTA answered to one message.
type mailResult struct {
	rcpt map[string]error // each recipient's RCPT reply; nil when accepted
	data error            // the reply after the data; nil when accepted or not sent
	sent bool             // whether the data was sent (some recipient was accepted)
}

// sendFromOutside sends one message with the given subject over SMTP to
// addr, from outsideClient, and returns the MTA's replies.
func sendFromOutside(t *testing.T, addr string, rcpts []string, subject string) mailResult {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: outsideClient}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("connect to the MTA at %s from %s: %v", addr, outsideClient, err)
	}
	if err := conn.SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	if err := c.Mail(readmeSender, nil); err != nil {
		t.Fatalf("MAIL FROM:<%s>: %v", readmeSender, err)
	}
	res := mailResult{rcpt: map[string]error{}}
	for _, r := range rcpts {
		res.rcpt[r] = c.Rcpt(r, nil)
		res.sent = res.sent || res.rcpt[r] == nil
	}
	if res.sent {
		w, err := c.Data()
		if err != nil {
			t.Fatalf("DATA: %v", err)
		}
		fmt.Fprintf(w, "From: Alice <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.readme@client.example.org>\r\n\r\n%s\r\n",
			readmeSender, strings.Join(rcpts, ", "), subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), readmeBody)
		res.data = w.Close()
	}
	if err := c.Quit(); err != nil {
		t.Errorf("QUIT: %v", err)
	}
	return res
}

// requireRefused fails the test unless rcpt was refused at RCPT with code
// and a reply text containing text.
func (res mailResult) requireRefused(t *testing.T, rcpt string, code int, text string) {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(res.rcpt[rcpt], &se) || se.Code != code || !strings.Contains(se.Message, text) {
		t.Fatalf("RCPT TO:<%s>: got %v, want %d ... %s", rcpt, res.rcpt[rcpt], code, text)
	}
}

// requireAccepted fails the test unless every recipient and the data were
// accepted.
func (res mailResult) requireAccepted(t *testing.T) {
	t.Helper()
	for r, err := range res.rcpt {
		if err != nil {
			t.Fatalf("RCPT TO:<%s>: %v, want 250", r, err)
		}
	}
	if !res.sent || res.data != nil {
		t.Fatalf("end of data: %v, want 250", res.data)
	}
}

// refuseUnknown answers the webhook for readmeUnknownRcpt with 404, which
// the bridge turns into 550 5.1.1, and takes every other delivery.
func refuseUnknown(w http.ResponseWriter, _ *http.Request, d *delivery) {
	if d.Payload.Envelope.To == readmeUnknownRcpt {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// awaitDelivery waits for the receiver's delivery of the message with the
// given subject to readmeRcpt, and checks what the bridge sent.
func awaitDelivery(t *testing.T, rc *receiver, subject string) {
	t.Helper()
	var got *delivery
	if !poll(60*time.Second, 50*time.Millisecond, func() bool {
		for _, d := range rc.deliveries() {
			if d.Payload.Subject == subject && d.Payload.Envelope.To == readmeRcpt {
				got = &d
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no delivery of %q to %s reached the receiver within 60s; it got %d others", subject, readmeRcpt, len(rc.deliveries()))
	}
	p := got.Payload
	checkHeaders(t, *got)
	if p.Envelope.From != readmeSender || strings.TrimSpace(p.Text) != readmeBody ||
		len(p.From) != 1 || p.From[0].Address != readmeSender {
		t.Errorf("delivery to %s: envelope from %q, From %+v, text %q; want %s and %q", readmeRcpt, p.Envelope.From, p.From, p.Text, readmeSender, readmeBody)
	}
	if !strings.HasPrefix(p.ID, "msg_") {
		t.Errorf("delivery id %q, want msg_...", p.ID)
	}
}

// restart stops the instance, lets configure change its configuration,
// and starts it again.
func (p *postfixInstance) restart(t *testing.T, configure func()) {
	t.Helper()
	if out, err := runTool(p.postfix, "-c", p.configDir, "stop"); err != nil {
		t.Fatalf("postfix stop: %v\n%s", err, out)
	}
	configure()
	if out, err := runTool(p.postfix, "-c", p.configDir, "start"); err != nil {
		t.Fatalf("postfix start: %v\n%s\nlog:\n%s", err, out, tail(p.log(), 30))
	}
	if !poll(10*time.Second, 20*time.Millisecond, func() bool {
		c, err := net.DialTimeout("tcp", p.smtpAddr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("Postfix smtpd not listening on %s after restart", p.smtpAddr)
	}
}

// runTool runs a command, within a minute, and returns its output.
func runTool(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// TestReadmePostfix applies README's two Postfix setups, a relay domain
// routed by a transport map and virtual domains, to a private Postfix
// with Postfix's defaults for relaying, and sends from outside mynetworks.
func TestReadmePostfix(t *testing.T) {
	postfix, postqueue := postfixPeers(t)
	postconf, postmap := peer(t, "postconf"), peer(t, "postmap")

	cases := []struct {
		name      string
		mainCf    string // snippet of main.cf lines
		transport string // snippet of the transport map, or empty
		accepts   string // the main.cf line without which the domain is refused
	}{
		{"relay domain", "postfix-relay", "postfix-relay-transport", "relay_domains = hooks.example.com"},
		{"virtual domains", "postfix-virtual", "", "virtual_mailbox_domains = hooks.example.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mainCf := readmeSnippet(t, tc.mainCf)
			transport := ""
			if tc.transport != "" {
				transport = readmeSnippet(t, tc.transport)
			}
			if !strings.Contains(mainCf+transport, "lmtp:inet:"+readmeLMTPAddr) {
				t.Fatalf("README.md's %s snippets do not route to lmtp:inet:%s", tc.mainCf, readmeLMTPAddr)
			}
			mainCf = withoutLine(t, tc.mainCf, mainCf, tc.accepts)

			rc := newReceiver(t, nil)
			b := startBridge(t, rc.url())
			pf := startPostfix(t, postfix, postqueue, b.lmtpAddr, 2)
			etc := pf.configDir + string(filepath.Separator)
			adapt := strings.NewReplacer(readmeLMTPAddr, b.lmtpAddr, "/etc/postfix/", etc)
			postconfE := func(lines string) {
				t.Helper()
				for _, line := range strings.Split(lines, "\n") {
					if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
						continue
					}
					if out, err := runTool(postconf, "-c", pf.configDir, "-e", adapt.Replace(line)); err != nil {
						t.Fatalf("postconf -e %q: %v\n%s", line, err, out)
					}
				}
			}

			// The test instance relays everything to the bridge: undo that,
			// back to Postfix's defaults (nothing relayed, unauthorized
			// destinations deferred), then trust only 127.0.0.1.
			pf.restart(t, func() {
				if out, err := runTool(postconf, "-c", pf.configDir, "-X", "relay_domains", "relay_transport",
					"default_transport", "smtpd_relay_restrictions"); err != nil {
					t.Fatalf("postconf -X: %v\n%s", err, out)
				}
				postconfE("mynetworks = 127.0.0.1/32\nsmtpd_peername_lookup = no\n")
				postconfE(mainCf)
				if transport != "" {
					path := filepath.Join(pf.configDir, "transport")
					if err := os.WriteFile(path, []byte(adapt.Replace(transport)), 0o644); err != nil {
						t.Fatal(err)
					}
					if out, err := runTool(postmap, "-c", pf.configDir, path); err != nil {
						t.Fatalf("postmap %s: %v\n%s", path, err, out)
					}
				}
			})
			res := sendFromOutside(t, pf.smtpAddr, []string{readmeRcpt}, "refused "+tc.name)
			res.requireRefused(t, readmeRcpt, 454, "Relay access denied")

			pf.restart(t, func() { postconfE(tc.accepts) })
			subject := "README Postfix " + tc.name
			sendFromOutside(t, pf.smtpAddr, []string{readmeRcpt}, subject).requireAccepted(t)
			awaitDelivery(t, rc, subject)
			if !poll(10*time.Second, 50*time.Millisecond, func() bool {
				_, sent := pf.statuses()
				return sent[readmeRcpt] == 1
			}) {
				t.Errorf("Postfix logged no status=sent for %s", readmeRcpt)
			}
			if n := len(rc.deliveries()); n != 1 {
				t.Errorf("the receiver got %d deliveries, want 1", n)
			}
		})
	}
}
