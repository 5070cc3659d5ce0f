package webhook_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// attachmentsMessage has a text and an HTML body, an inline image with a
// disposition, one referenced by Content-ID without any, and an
// attachment.
var attachmentsMessage = `From: Alice <alice@example.org>
To: Bob <bob@example.com>
Subject: Report with pictures
Date: Mon, 02 Mar 2026 10:00:00 +0000
Message-ID: <pictures-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed"

--mixed
Content-Type: multipart/related; boundary="related"

--related
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

See the chart.
--alt
Content-Type: text/html; charset=utf-8

<p>See the chart: <img src="cid:chart@example.org"> <img src="cid:logo@example.org"></p>
--alt--
--related
Content-Type: image/png
Content-Disposition: inline; filename="chart.png"
Content-Transfer-Encoding: base64
Content-ID: <chart@example.org>

` + b64(chartPNG) + `
--related
Content-Type: image/gif
Content-Transfer-Encoding: base64
Content-ID: <logo@example.org>

` + b64(logoGIF) + `
--related--
--mixed
Content-Type: application/pdf
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

` + b64(reportPDF) + `
--mixed--
`

// checkAttachments asserts the parts of attachmentsMessage, content
// included unless omitted.
func checkAttachments(t *testing.T, p wire.Payload, omitted bool) {
	t.Helper()
	type part struct {
		list        []wire.Attachment
		filename    string
		contentType string
		disposition string
		contentID   string
		content     []byte
	}
	want := []part{
		{p.Attachments, "report.pdf", "application/pdf", "attachment", "", reportPDF},
		{p.Inlines, "chart.png", "image/png", "inline", "chart@example.org", chartPNG},
		{p.Inlines, "", "image/gif", "", "logo@example.org", logoGIF},
	}
	if len(p.Attachments) != 1 || len(p.Inlines) != 2 {
		t.Fatalf("%d attachments and %d inlines, want 1 and 2: %+v %+v", len(p.Attachments), len(p.Inlines), p.Attachments, p.Inlines)
	}
	for _, w := range want {
		i := slices.IndexFunc(w.list, func(a wire.Attachment) bool { return a.ContentType == w.contentType })
		if i < 0 {
			t.Errorf("no %s part", w.contentType)
			continue
		}
		a := w.list[i]
		if a.Filename != w.filename || a.Disposition != w.disposition || a.ContentID != w.contentID {
			t.Errorf("%s: filename %q disposition %q content_id %q, want %q %q %q",
				w.contentType, a.Filename, a.Disposition, a.ContentID, w.filename, w.disposition, w.contentID)
		}
		if a.Size != len(w.content) || a.SHA256 != sha256Hex(w.content) {
			t.Errorf("%s: size %d sha256 %s, want %d %s", w.contentType, a.Size, a.SHA256, len(w.content), sha256Hex(w.content))
		}
		switch {
		case omitted && a.Content != nil:
			t.Errorf("%s: content sent with WEBHOOK_ATTACHMENTS=omit", w.contentType)
		case !omitted && !bytes.Equal(a.Content, w.content):
			t.Errorf("%s: content %q, want %q", w.contentType, a.Content, w.content)
		}
	}
}

// noBoundaryMessage is enmime's testdata/mail/multipart-wo-boundary.raw,
// shortened: ReadEnvelope fails on it ("unable to locate boundary param
// in Content-Type header").
const noBoundaryMessage = `Delivered-To: test@example.com
From: Mailer-Daemon@example.com
Subject: Delivery Status Notification (Failure)
To: user@example.com
Content-Type: multipart/report;
Message-Id: <444A6F676F-A9A1C1F7@YSHSERVER>

I'm  multipart message without boundary
`

// legacyMessage mixes the legacy charsets mail still arrives in.
var legacyMessage = "From: =?iso-8859-1?Q?Ren=E9e?= <renee@example.fr>\n" +
	"To: =?ISO-2022-JP?B?GyRCOjRGIxsoQg==?= <sato@example.jp>\n" +
	"Subject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= =?windows-1252?Q?=93quoted=94?=\n" +
	"Date: Tue, 03 Mar 2026 09:00:00 +0900\n" +
	"MIME-Version: 1.0\n" +
	"Content-Type: multipart/alternative; boundary=b\n" +
	"\n" +
	"--b\n" +
	"Content-Type: text/plain; charset=windows-1252\n" +
	"Content-Transfer-Encoding: 8bit\n" +
	"\n" +
	"\x93Gr\xfc\xdfe\x94 \x96 5 \x80\n" +
	"--b\n" +
	"Content-Type: text/html; charset=iso-8859-1\n" +
	"Content-Transfer-Encoding: quoted-printable\n" +
	"\n" +
	"<p>Gr=FC=DFe aus K=F6ln</p>\n" +
	"--b--\n"

// TestDeliveriesMatchSchema validates the bodies and headers of real
// deliveries, made by the running bridge for messages over LMTP, against
// openapi.yaml.
func TestDeliveriesMatchSchema(t *testing.T) {
	k := openContract(t)
	key, err := wire.ParseSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	signed := func(c *webhook.Config, _ *lmtp.Config) { c.Secret = key }
	valid := func(t *testing.T, reqs []request) {
		t.Helper()
		for _, r := range reqs {
			k.validate(t, payloadSchema, r.Body)
			k.checkHeaders(t, deliveryOp, r.Header)
		}
	}

	t.Run("plain", func(t *testing.T) {
		rcpts := []string{"bob@example.com", "carol+orders@example.com"}
		reqs := deliverAll(t, signed, "alice@example.org", rcpts, simpleMessage)
		valid(t, reqs)
		for _, r := range reqs {
			if r.Header.Get("webhook-signature") == "" {
				t.Errorf("%s: not signed although a secret is set", r.Payload.Envelope.To)
			}
		}
		if tag := findRcpt(t, reqs, rcpts[1]).Payload.Envelope.Tag; tag != "orders" {
			t.Errorf("tag %q, want orders", tag)
		}
	})

	t.Run("unsigned", func(t *testing.T) {
		reqs := deliverAll(t, nil, "alice@example.org", []string{"bob@example.com"}, simpleMessage)
		valid(t, reqs)
		if s := reqs[0].Header.Get("webhook-signature"); s != "" {
			t.Errorf("signature %q sent without a secret", s)
		}
	})

	t.Run("attachments and inline images", func(t *testing.T) {
		rcpts := []string{"bob@example.com", "dave@example.com"}
		reqs := deliverAll(t, nil, "alice@example.org", rcpts, attachmentsMessage)
		valid(t, reqs)
		for _, r := range reqs {
			checkAttachments(t, r.Payload, false)
			if r.Payload.Text != "See the chart." {
				t.Errorf("text %q", r.Payload.Text)
			}
			if !strings.Contains(r.Payload.HTML, `<img src="cid:chart@example.org">`) {
				t.Errorf("html %q", r.Payload.HTML)
			}
		}
	})

	t.Run("legacy charsets", func(t *testing.T) {
		reqs := deliverAll(t, nil, "renee@example.fr", []string{"sato@example.jp"}, legacyMessage)
		valid(t, reqs)
		p := reqs[0].Payload
		if p.Subject != "テスト“quoted”" {
			t.Errorf("subject %q", p.Subject)
		}
		if len(p.From) != 1 || p.From[0].Name != "Renée" || len(p.To) != 1 || p.To[0].Name != "佐藤" {
			t.Errorf("from %+v to %+v", p.From, p.To)
		}
		if p.Text != "“Grüße” – 5 €" {
			t.Errorf("text %q", p.Text)
		}
		if p.HTML != "<p>Grüße aus Köln</p>" {
			t.Errorf("html %q", p.HTML)
		}
	})

	t.Run("unparseable", func(t *testing.T) {
		reqs := deliverAll(t, nil, "mailer-daemon@example.com", []string{"user@example.com"}, noBoundaryMessage)
		valid(t, reqs)
		p := reqs[0].Payload
		if string(p.Raw) != crlf(noBoundaryMessage) {
			t.Errorf("raw %q, want the message as sent", p.Raw)
		}
		i := slices.IndexFunc(p.Errors, func(e wire.ParseError) bool { return e.Name == "Unparseable Message" })
		if i < 0 || !p.Errors[i].Severe || p.Errors[i].Detail == "" {
			t.Errorf("errors %+v, want a severe Unparseable Message", p.Errors)
		}
		// What the bridge reads itself is still there.
		if p.Subject != "Delivery Status Notification (Failure)" || p.MessageID != "444A6F676F-A9A1C1F7@YSHSERVER" {
			t.Errorf("subject %q message_id %q", p.Subject, p.MessageID)
		}
	})

	t.Run("null sender", func(t *testing.T) {
		reqs := deliverAll(t, nil, "", []string{"bob@example.com"}, simpleMessage)
		valid(t, reqs)
		var raw struct {
			Envelope map[string]json.RawMessage `json:"envelope"`
		}
		if err := json.Unmarshal(reqs[0].Body, &raw); err != nil {
			t.Fatal(err)
		}
		if from, ok := raw.Envelope["from"]; !ok || string(from) != `""` {
			t.Errorf("envelope.from is %s, want \"\"", from)
		}
	})

	t.Run("attachments omitted", func(t *testing.T) {
		reqs := deliverAll(t, func(c *webhook.Config, _ *lmtp.Config) { c.Parse.OmitAttachments = true },
			"alice@example.org", []string{"bob@example.com"}, attachmentsMessage)
		valid(t, reqs)
		checkAttachments(t, reqs[0].Payload, true)
		if n := bytes.Count(reqs[0].Body, []byte(`"content"`)); n != 0 {
			t.Errorf(`"content" appears %d times with WEBHOOK_ATTACHMENTS=omit`, n)
		}
	})

	t.Run("raw included", func(t *testing.T) {
		msg := legacyMessage + "..a line that was dot-stuffed\n.\ttab after a dot\ntrailing space \n"
		reqs := deliverAll(t, func(c *webhook.Config, _ *lmtp.Config) { c.Parse.IncludeRaw = true },
			"alice@example.org", []string{"bob@example.com"}, msg)
		valid(t, reqs)
		p := reqs[0].Payload
		if string(p.Raw) != crlf(msg) {
			t.Errorf("raw is not the message as sent:\n got %q\nwant %q", p.Raw, crlf(msg))
		}
		if p.Envelope.Size != int64(len(p.Raw)) {
			t.Errorf("size %d, raw is %d bytes", p.Envelope.Size, len(p.Raw))
		}
		if !strings.HasPrefix(p.Text, "“Grüße”") {
			t.Errorf("text %q: raw must not replace the parsed fields", p.Text)
		}
	})
}

func findRcpt(t *testing.T, reqs []request, rcpt string) request {
	t.Helper()
	for _, r := range reqs {
		if r.Payload.Envelope.To == rcpt {
			return r
		}
	}
	t.Fatalf("no request for %s", rcpt)
	return request{}
}

// newCheckRecorder is a CHECK_URL endpoint: it records each request and
// answers with the status written in the checked address ("s404@x" gets
// 404), 200 otherwise.
func newCheckRecorder(t *testing.T) *webhooktest.Receiver[wire.CheckPayload] {
	t.Helper()
	return webhooktest.NewReceiver(t, func(w http.ResponseWriter, _ *http.Request, req *webhooktest.Request[wire.CheckPayload]) {
		addr := req.Payload.To
		if req.Payload.Stage == "mail" {
			addr = req.Payload.From
		}
		local, _, _ := strings.Cut(addr, "@")
		code, err := strconv.Atoi(strings.TrimPrefix(local, "s"))
		if err != nil {
			code = 200
		}
		w.WriteHeader(code)
	})
}

// withChecker returns a tweak that makes the bridge ask url at MAIL and
// RCPT, signing with key when it is set.
func withChecker(t *testing.T, url string, key []byte) func(*webhook.Config, *lmtp.Config) {
	t.Helper()
	return func(wc *webhook.Config, lc *lmtp.Config) {
		cc, err := webhook.New(webhook.Config{URL: url, Secret: key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cc.Close)
		ch, err := cc.NewChecker(url, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		lc.Checker = ch
	}
}

// TestCheckRequestsMatchSchema validates real CHECK_URL requests, at both
// stages and for the null sender, against openapi.yaml.
func TestCheckRequestsMatchSchema(t *testing.T) {
	k := openContract(t)
	key, err := wire.ParseSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	cr := newCheckRecorder(t)
	rc := newReceiver(t, nil)
	addr := startBridge(t, rc.URL, withChecker(t, cr.URL, key))
	cl := lhlo(t, addr)
	cl.Send("alice@example.org", []string{"bob@example.com", "carol@example.com"}, simpleMessage)
	cl.Send("", []string{"bob@example.com"}, simpleMessage)

	reqs := cr.Requests()
	var got []string
	for _, r := range reqs {
		k.validate(t, checkSchema, r.Body)
		k.checkHeaders(t, checkOp, r.Header)
		var p wire.CheckPayload
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Stage+" "+p.From+" "+p.To)
		if p.Helo != "client.test" || !strings.HasPrefix(p.RemoteAddr, "127.0.0.1:") {
			t.Errorf("helo %q remote_addr %q", p.Helo, p.RemoteAddr)
		}
	}
	want := []string{
		"mail alice@example.org ",
		"rcpt alice@example.org bob@example.com",
		"rcpt alice@example.org carol@example.com",
		"mail  ",
		"rcpt  bob@example.com",
	}
	if !slices.Equal(got, want) {
		t.Errorf("check requests:\n got %q\nwant %q", got, want)
	}
}
