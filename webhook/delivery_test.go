package webhook_test

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// statusFromAddress answers with the HTTP status written in the
// recipient's local part ("s404@x" gets 404), so that one message tests
// many mappings at once.
func statusFromAddress(w http.ResponseWriter, r *http.Request, p wire.Payload, attempt int) {
	local, _, _ := strings.Cut(p.Envelope.To, "@")
	code, err := strconv.Atoi(strings.TrimPrefix(local, "s"))
	if err != nil {
		code = 200
	}
	w.WriteHeader(code)
}

func TestStatusMappingOverTheWire(t *testing.T) {
	rc := newReceiver(t, statusFromAddress)
	addr := startBridge(t, rc.URL, func(c *webhook.Config, _ *lmtp.Config) {
		c.Retry.MaxAttempts = 2
	})
	cases := []struct {
		rcpt     string
		reply    string
		attempts int
	}{
		{"s200@example.com", "250 2.0.0 <s200@example.com> delivered", 1},
		{"s201@example.com", "250 2.0.0 <s201@example.com> delivered", 1},
		{"s204@example.com", "250 2.0.0 <s204@example.com> delivered", 1},
		{"s404@example.com", "550 5.1.1 <s404@example.com> no such recipient: webhook answered 404 Not Found", 1},
		{"s410@example.com", "550 5.1.1 <s410@example.com> no such recipient: webhook answered 410 Gone", 1},
		{"s413@example.com", "552 5.3.4 <s413@example.com> message too large for webhook: 413 Request Entity Too Large", 1},
		{"s401@example.com", "451 4.7.0 <s401@example.com> webhook refused our credentials: 401 Unauthorized", 1},
		{"s403@example.com", "451 4.7.0 <s403@example.com> webhook refused our credentials: 403 Forbidden", 1},
		{"s407@example.com", "451 4.7.0 <s407@example.com> webhook refused our credentials: 407 Proxy Authentication Required", 1},
		{"s400@example.com", "550 5.0.0 <s400@example.com> rejected by webhook: 400 Bad Request", 1},
		{"s422@example.com", "550 5.0.0 <s422@example.com> rejected by webhook: 422 Unprocessable Entity", 1},
		{"s408@example.com", "451 4.3.0 <s408@example.com> webhook temporarily failed: 408 Request Timeout", 2},
		{"s425@example.com", "451 4.3.0 <s425@example.com> webhook temporarily failed: 425 Too Early", 2},
		{"s429@example.com", "451 4.3.0 <s429@example.com> webhook temporarily failed: 429 Too Many Requests", 2},
		{"s500@example.com", "451 4.3.0 <s500@example.com> webhook temporarily failed: 500 Internal Server Error", 2},
		{"s503@example.com", "451 4.3.0 <s503@example.com> webhook temporarily failed: 503 Service Unavailable", 2},
		{"s302@example.com", "451 4.3.0 <s302@example.com> webhook answered with a redirect: 302 Found", 1},
		{"s300@example.com", "451 4.3.0 <s300@example.com> webhook answered with a redirect: 300 Multiple Choices", 1},
	}
	var rcpts []string
	for _, c := range cases {
		rcpts = append(rcpts, c.rcpt)
	}
	cl := lhlo(t, addr)
	replies := cl.Send("sender@example.org", rcpts, simpleMessage)
	for i, c := range cases {
		if replies[i] != c.reply {
			t.Errorf("%s: reply %q, want %q", c.rcpt, replies[i], c.reply)
		}
		if n := len(forRcpt(rc, c.rcpt)); n != c.attempts {
			t.Errorf("%s: %d attempts, want %d", c.rcpt, n, c.attempts)
		}
	}
	// The connection is still usable after the replies.
	cl.Expect("250 ", "NOOP")
}

func TestExplicitAnswerWins(t *testing.T) {
	answers := map[string]struct {
		status int
		ctype  string
		body   string
	}{
		"json550@x.test":   {200, "application/json", `{"code":550,"enhanced_code":"5.1.1","message":"no such user here"}`},
		"json451@x.test":   {500, "application/json", `{"code":451,"enhanced_code":"4.2.1","message":"mailbox busy"}`},
		"json250@x.test":   {202, "application/json; charset=utf-8", `{"code":250,"message":"queued as 12345"}`},
		"jsonmsg@x.test":   {404, "application/json", `{"message":"unknown list"}`},
		"jsonbad@x.test":   {200, "application/json", `{"code":354,"message":"go ahead"}`},
		"jsonclass@x.test": {200, "application/json", `{"code":550,"enhanced_code":"4.1.1"}`},
		"jsonstr@x.test":   {200, "application/json", `{"code":"550"}`},
		"json221@x.test":   {200, "application/json", `{"code":221,"message":"bye"}`},
		"json421@x.test":   {200, "application/json", `{"code":421,"enhanced_code":"4.3.2","message":"closing"}`},
		"plain@x.test":     {403, "text/plain", "mailbox disabled\r\n250 injected"},
		"inject@x.test":    {200, "application/json", `{"code":550,"message":"bad\r\n250 2.0.0 fake\r\nRCPT"}`},
		"okjunk@x.test":    {200, "application/json", `{"ok": true}`},
		"garbage@x.test":   {200, "application/json", `{{{{not json`},
		"utf8@x.test":      {410, "text/plain; charset=utf-8", "Postfach gelöscht"},
	}
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, _ int) {
		a := answers[p.Envelope.To]
		w.Header().Set("Content-Type", a.ctype)
		w.WriteHeader(a.status)
		fmt.Fprint(w, a.body)
	})
	log := &webhooktest.Buffer{}
	addr := startBridge(t, rc.URL, logTo(t, log))
	want := []struct{ rcpt, reply string }{
		{"json550@x.test", "550 5.1.1 <json550@x.test> no such user here"},
		{"json451@x.test", "451 4.2.1 <json451@x.test> mailbox busy"},
		{"json250@x.test", "250 2.0.0 <json250@x.test> queued as 12345"},
		{"jsonmsg@x.test", "550 5.1.1 <jsonmsg@x.test> unknown list"},
		{"jsonbad@x.test", "451 4.3.0 <jsonbad@x.test> webhook gave an invalid answer"},
		{"jsonclass@x.test", "451 4.3.0 <jsonclass@x.test> webhook gave an invalid answer"},
		{"jsonstr@x.test", "451 4.3.0 <jsonstr@x.test> webhook gave an invalid answer"},
		{"json221@x.test", "451 4.3.0 <json221@x.test> webhook gave an invalid answer"},
		{"json421@x.test", "451 4.3.0 <json421@x.test> webhook gave an invalid answer"},
		{"plain@x.test", "451 4.7.0 <plain@x.test> mailbox disabled 250 injected"},
		{"inject@x.test", "550 5.0.0 <inject@x.test> bad 250 2.0.0 fake RCPT"},
		{"okjunk@x.test", "250 2.0.0 <okjunk@x.test> delivered"},
		{"garbage@x.test", "250 2.0.0 <garbage@x.test> delivered"},
		{"utf8@x.test", "550 5.1.1 <utf8@x.test> Postfach gel?scht"},
	}
	var rcpts []string
	for _, w := range want {
		rcpts = append(rcpts, w.rcpt)
	}
	cl := lhlo(t, addr)
	replies := cl.Send("", rcpts, simpleMessage)
	for i, w := range want {
		if replies[i] != w.reply {
			t.Errorf("%s: reply %q, want %q", w.rcpt, replies[i], w.reply)
		}
	}
	// Nothing was injected into the protocol stream.
	cl.Expect("250 ", "NOOP")
	cl.Expect("221 ", "QUIT")
	for _, rcpt := range []string{"json221@x.test", "json421@x.test"} {
		if p := errorDelivery(t, log.String(), rcpt); !strings.Contains(p, "is a connection reply") {
			t.Errorf("%s: no error log saying why the answer is invalid (problem %q)", rcpt, p)
		}
	}
}

func TestPayloadArrives(t *testing.T) {
	rc := newReceiver(t, nil)
	addr := startBridge(t, rc.URL, nil)
	cl := lhlo(t, addr)
	rcpts := []string{"bob@example.com", "carol+orders@example.com"}
	replies := cl.Send("alice@example.org", rcpts, simpleMessage)
	for i, r := range replies {
		if want := "250 2.0.0 <" + rcpts[i] + "> delivered"; r != want {
			t.Errorf("reply %d: %q, want %q", i, r, want)
		}
	}
	got := rc.Requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	for _, rcpt := range rcpts {
		reqs := forRcpt(rc, rcpt)
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests", rcpt, len(reqs))
		}
		r := reqs[0]
		p := r.Payload
		if r.Header.Get("webhook-id") != p.ID || !strings.HasPrefix(p.ID, "msg_") {
			t.Errorf("webhook-id %q, payload id %q", r.Header.Get("webhook-id"), p.ID)
		}
		if ts, err := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64); err != nil || time.Since(time.Unix(ts, 0)) > time.Minute {
			t.Errorf("webhook-timestamp %q", r.Header.Get("webhook-timestamp"))
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "lmtp-webhook/") {
			t.Errorf("User-Agent %q", ua)
		}
		e := p.Envelope
		if e.From != "alice@example.org" || e.Helo != "client.test" || strings.Join(e.Recipients, ",") != strings.Join(rcpts, ",") {
			t.Errorf("envelope %+v", e)
		}
		if host, _, err := net.SplitHostPort(e.RemoteAddr); err != nil || host != "127.0.0.1" {
			t.Errorf("remote_addr %q", e.RemoteAddr)
		}
		wantData := strings.ReplaceAll(simpleMessage, "\n", "\r\n")
		if e.Size != int64(len(wantData)) {
			t.Errorf("size %d, want %d", e.Size, len(wantData))
		}
		if p.Subject != "Hello" || p.MessageID != "hello-1@example.org" {
			t.Errorf("subject %q message_id %q", p.Subject, p.MessageID)
		}
		if p.Text != "Hi Bob.\r\n.A line that starts with a dot.\r\n" {
			t.Errorf("text %q", p.Text)
		}
		if p.Date == nil || !p.Date.Equal(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) {
			t.Errorf("date %v", p.Date)
		}
		if len(p.From) != 1 || p.From[0] != (wire.Address{Name: "Alice", Address: "alice@example.org"}) {
			t.Errorf("from %+v", p.From)
		}
		names := []string{}
		for _, h := range p.Headers {
			names = append(names, h.Name)
		}
		if strings.Join(names, ",") != "From,To,Subject,Date,Message-ID" {
			t.Errorf("header order %v", names)
		}
		if p.Raw != nil {
			t.Errorf("raw sent without being asked for")
		}
	}
	a, b := forRcpt(rc, rcpts[0])[0].Payload, forRcpt(rc, rcpts[1])[0].Payload
	if a.ID == b.ID {
		t.Errorf("two recipients share id %s", a.ID)
	}
	if b.Envelope.Tag != "orders" || a.Envelope.Tag != "" {
		t.Errorf("tags %q %q", a.Envelope.Tag, b.Envelope.Tag)
	}

	// The same bytes delivered again (the MTA's redelivery) carry the same ids.
	replies = cl.Send("alice@example.org", rcpts, simpleMessage)
	if replies[0][:3] != "250" {
		t.Fatalf("second delivery: %v", replies)
	}
	again := forRcpt(rc, rcpts[0])
	if len(again) != 2 || again[1].Payload.ID != a.ID {
		t.Errorf("redelivery id %q, first %q", again[len(again)-1].Payload.ID, a.ID)
	}
	// Other bytes, other id.
	cl.Send("alice@example.org", rcpts[:1], simpleMessage+"P.S.\n")
	if last := forRcpt(rc, rcpts[0]); last[len(last)-1].Payload.ID == a.ID {
		t.Errorf("a different message reused id %s", a.ID)
	}
}

func TestRetriesKeepIDAndRefreshTimestamp(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, attempt int) {
		if attempt < 3 {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	})
	addr := startBridge(t, rc.URL, func(c *webhook.Config, _ *lmtp.Config) {
		c.Retry.MaxAttempts = 3
		c.Secret = []byte("0123456789abcdef0123456789abcdef")
	})
	cl := lhlo(t, addr)
	replies := cl.Send("a@example.org", []string{"r@example.com"}, simpleMessage)
	if replies[0] != "250 2.0.0 <r@example.com> delivered" {
		t.Fatalf("reply %q", replies[0])
	}
	reqs := rc.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d attempts, want 3", len(reqs))
	}
	for _, r := range reqs[1:] {
		if r.Header.Get("webhook-id") != reqs[0].Header.Get("webhook-id") {
			t.Errorf("id changed between attempts")
		}
		if string(r.Body) != string(reqs[0].Body) {
			t.Errorf("body changed between attempts")
		}
		if r.Header.Get("webhook-signature") == "" {
			t.Errorf("attempt not signed")
		}
	}
}

func TestRetryBudgetSpentGives451(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, attempt int) {
		w.WriteHeader(502)
	})
	addr := startBridge(t, rc.URL, func(c *webhook.Config, _ *lmtp.Config) {
		c.Retry.MaxAttempts = 4
	})
	cl := lhlo(t, addr)
	replies := cl.Send("a@example.org", []string{"r@example.com"}, simpleMessage)
	if replies[0] != "451 4.3.0 <r@example.com> webhook temporarily failed: 502 Bad Gateway" {
		t.Fatalf("reply %q", replies[0])
	}
	if n := len(rc.Requests()); n != 4 {
		t.Errorf("%d attempts, want 4", n)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, attempt int) {
		if attempt == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return
		}
		w.WriteHeader(200)
	})
	addr := startBridge(t, rc.URL, nil)
	cl := lhlo(t, addr)
	if r := cl.Send("a@example.org", []string{"r@example.com"}, simpleMessage); r[0][:3] != "250" {
		t.Fatalf("reply %q", r[0])
	}
	reqs := rc.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d attempts", len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 900*time.Millisecond {
		t.Errorf("retried after %v, Retry-After asked for 1s", gap)
	}
}

func TestRetryAfterBeyondBudgetIsNotWaited(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, attempt int) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(503)
	})
	addr := startBridge(t, rc.URL, nil)
	cl := lhlo(t, addr)
	start := time.Now()
	r := cl.Send("a@example.org", []string{"r@example.com"}, simpleMessage)
	if r[0] != "451 4.3.0 <r@example.com> webhook temporarily failed: 503 Service Unavailable" {
		t.Fatalf("reply %q", r[0])
	}
	if n := len(rc.Requests()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("waited %v for a retry that could not fit the budget", d)
	}
}

func TestSlowRecipientDoesNotHoldBackOthers(t *testing.T) {
	fastArrived := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, _ int) {
		switch p.Envelope.To {
		case "fast@example.com":
			close(fastArrived)
		case "slow@example.com":
			// The slow recipient answers only once the fast one was
			// posted: with sequential delivery this would time out.
			select {
			case <-fastArrived:
			case <-time.After(3 * time.Second):
				w.WriteHeader(504)
				return
			}
		}
		w.WriteHeader(200)
	})
	addr := startBridge(t, rc.URL, func(c *webhook.Config, _ *lmtp.Config) {
		c.Retry.MaxAttempts = 1
		c.Timeout = 10 * time.Second
	})
	cl := lhlo(t, addr)
	replies := cl.Send("a@example.org", []string{"slow@example.com", "fast@example.com"}, simpleMessage)
	want := []string{"250 2.0.0 <slow@example.com> delivered", "250 2.0.0 <fast@example.com> delivered"}
	for i := range want {
		if replies[i] != want[i] {
			t.Errorf("reply %d: %q, want %q", i, replies[i], want[i])
		}
	}
}

func TestUnreachableAndHangingWebhooks(t *testing.T) {
	// A port with nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/hook"
	l.Close()

	t.Run("refused", func(t *testing.T) {
		addr := startBridge(t, dead, nil)
		cl := lhlo(t, addr)
		r := cl.Send("a@example.org", []string{"r@example.com"}, simpleMessage)
		if r[0] != "451 4.4.1 <r@example.com> webhook unreachable" {
			t.Errorf("reply %q", r[0])
		}
	})
	t.Run("hangs", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, _ int) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		addr := startBridge(t, rc.URL, func(c *webhook.Config, _ *lmtp.Config) {
			c.Timeout = 200 * time.Millisecond
			c.Retry.MaxAttempts = 2
		})
		cl := lhlo(t, addr)
		r := cl.Send("a@example.org", []string{"r@example.com"}, simpleMessage)
		if r[0] != "451 4.4.1 <r@example.com> webhook timed out" {
			t.Errorf("reply %q", r[0])
		}
		if n := len(rc.Requests()); n != 2 {
			t.Errorf("%d attempts, want 2", n)
		}
	})
}

func TestBasicAuthAndExtraHeaders(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, _ int) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "hook" || pass != "s3cret" {
			w.WriteHeader(401)
			return
		}
		if r.Header.Get("X-Tenant") != "acme" {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(200)
	})
	u := strings.Replace(rc.URL, "http://", "http://hook:s3cret@", 1) + "/inbound"
	addr := startBridge(t, u, func(c *webhook.Config, _ *lmtp.Config) {
		c.Headers = map[string]string{"X-Tenant": "acme"}
	})
	cl := lhlo(t, addr)
	if r := cl.Send("a@example.org", []string{"r@example.com"}, simpleMessage); r[0] != "250 2.0.0 <r@example.com> delivered" {
		t.Errorf("reply %q", r[0])
	}
}

func TestAttachmentsAndCharsets(t *testing.T) {
	rc := newReceiver(t, nil)
	addr := startBridge(t, rc.URL, nil)
	png := []byte("\x89PNG\r\n\x1a\n fake image bytes \x00\x01\x02")
	msg := "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\n" +
		"To: team@example.com\n" +
		"Subject: =?UTF-8?B?w5xiZXIgZGFzIFdldHRlcg==?=\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\n\n" +
		"--b1\n" +
		"Content-Type: text/plain; charset=iso-8859-1\n" +
		"Content-Transfer-Encoding: quoted-printable\n\n" +
		"Gr=FC=DFe aus K=F6ln\n" +
		"--b1\n" +
		"Content-Type: image/png\n" +
		"Content-Disposition: attachment; filename=\"chart.png\"\n" +
		"Content-Transfer-Encoding: base64\n\n" +
		base64.StdEncoding.EncodeToString(png) + "\n" +
		"--b1--\n"
	cl := lhlo(t, addr)
	if r := cl.Send("andre@example.org", []string{"team@example.com"}, msg); r[0][:3] != "250" {
		t.Fatalf("reply %q", r[0])
	}
	p := rc.Requests()[0].Payload
	if p.Subject != "Über das Wetter" {
		t.Errorf("subject %q", p.Subject)
	}
	if len(p.From) != 1 || p.From[0].Name != "André" {
		t.Errorf("from %+v", p.From)
	}
	if !strings.HasPrefix(p.Text, "Grüße aus Köln") {
		t.Errorf("text %q", p.Text)
	}
	if len(p.Attachments) != 1 {
		t.Fatalf("attachments %+v", p.Attachments)
	}
	a := p.Attachments[0]
	if a.Filename != "chart.png" || a.ContentType != "image/png" || a.Disposition != "attachment" || string(a.Content) != string(png) || a.Size != len(png) {
		t.Errorf("attachment %+v", a)
	}
}
