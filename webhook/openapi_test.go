package webhook_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// The contract lives at the repository's root; these tests hold the
// running bridge to it.
const (
	specPath = "../openapi.yaml"
	specURL  = "file:///openapi.yaml"

	deliveryOp    = "#/webhooks/delivery/post"
	checkOp       = "#/webhooks/check/post"
	payloadSchema = "#/components/schemas/Payload"
	checkSchema   = "#/components/schemas/CheckPayload"
	answerSchema  = "#/components/schemas/Answer"
)

// contract is openapi.yaml as JSON values, with a JSON Schema 2020-12
// compiler for the schemas in it.
type contract struct {
	doc map[string]any

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	y, err := os.ReadFile(specPath)
	if err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", specPath, err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s is not representable as JSON: %w", specPath, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return nil, err
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not a mapping", specPath)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()  // date-time is checked, not only annotated
	c.AssertContent() // so is base64
	if err := c.AddResource(specURL, doc); err != nil {
		return nil, err
	}
	return &contract{doc: m, compiler: c, compiled: map[string]*jsonschema.Schema{}}, nil
})

func openContract(t *testing.T) *contract {
	t.Helper()
	k, err := loadContract()
	if err != nil {
		t.Fatalf("load the contract: %v", err)
	}
	return k
}

// schema compiles the schema at ptr, a JSON pointer fragment into the
// contract such as "#/components/schemas/Payload".
func (k *contract) schema(t *testing.T, ptr string) *jsonschema.Schema {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.compiled[ptr]; ok {
		return s
	}
	s, err := k.compiler.Compile(specURL + ptr)
	if err != nil {
		t.Fatalf("compile %s: %v", ptr, err)
	}
	k.compiled[ptr] = s
	return s
}

// validate checks a JSON document against the schema at ptr.
func (k *contract) validate(t *testing.T, ptr string, body []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Errorf("not JSON: %v\n%s", err, clip(body))
		return
	}
	if err := k.schema(t, ptr).Validate(v); err != nil {
		t.Errorf("does not match %s:\n%v\nbody: %s", ptr, err, clip(body))
	}
}

// valid reports whether a JSON document matches the schema at ptr.
func (k *contract) valid(t *testing.T, ptr string, body []byte) bool {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	return err == nil && k.schema(t, ptr).Validate(v) == nil
}

// resolve returns the value at ptr, following local $refs, and the
// pointer it was finally found at.
func (k *contract) resolve(t *testing.T, ptr string) (string, any) {
	t.Helper()
	for range 10 {
		v, ok := k.lookup(ptr)
		if !ok {
			t.Fatalf("%s does not resolve in %s", ptr, specPath)
		}
		m, isMap := v.(map[string]any)
		ref, isRef := m["$ref"].(string)
		if !isMap || !isRef {
			return ptr, v
		}
		ptr = ref
	}
	t.Fatalf("%s: $ref loop", ptr)
	return "", nil
}

// lookup walks a JSON pointer fragment ("#/a/b~1c").
func (k *contract) lookup(ptr string) (any, bool) {
	rest, ok := strings.CutPrefix(ptr, "#")
	if !ok {
		return nil, false
	}
	var v any = k.doc
	if rest == "" {
		return v, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(rest, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := v.(type) {
		case map[string]any:
			if v, ok = c[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// checkHeaders holds a request's headers to the header parameters of the
// webhook operation op: required ones are there, and every one sent
// matches its schema.
func (k *contract) checkHeaders(t *testing.T, op string, h http.Header) {
	t.Helper()
	_, params := k.resolve(t, op+"/parameters")
	for i := range params.([]any) {
		at, p := k.resolve(t, fmt.Sprintf("%s/parameters/%d", op, i))
		param := p.(map[string]any)
		if param["in"] != "header" {
			continue
		}
		name := param["name"].(string)
		vals := h.Values(name)
		switch {
		case len(vals) == 0:
			if param["required"] == true {
				t.Errorf("request lacks the required header %s", name)
			}
			continue
		case len(vals) > 1:
			t.Errorf("header %s sent %d times", name, len(vals))
		}
		if err := k.schema(t, at+"/schema").Validate(vals[0]); err != nil {
			t.Errorf("header %s: %q does not match %s/schema: %v", name, vals[0], at, err)
		}
	}
}

// clip shortens a body for a failure message.
func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}

// crlf is msg as the bridge receives it from client.send: every line
// ended with CRLF.
func crlf(msg string) string {
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	return strings.ReplaceAll(strings.TrimSuffix(msg, "\n"), "\n", "\r\n") + "\r\n"
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// deliverAll sends msg through a fresh bridge to a fresh receiver, checks
// that every recipient got 250 and returns the requests made.
func deliverAll(t *testing.T, tweak func(*webhook.Config, *lmtp.Config), from string, rcpts []string, msg string) []request {
	t.Helper()
	rc := newReceiver(t, nil)
	addr := startBridge(t, rc.URL, tweak)
	replies := lhlo(t, addr).Send(from, rcpts, msg)
	for i, r := range replies {
		if want := "250 2.0.0 <" + rcpts[i] + "> delivered"; r != want {
			t.Fatalf("reply %q, want %q", r, want)
		}
	}
	reqs := rc.Requests()
	if len(reqs) != len(rcpts) {
		t.Fatalf("%d requests for %d recipients", len(reqs), len(rcpts))
	}
	return reqs
}

// Known parts, so that decoded bytes can be compared whole.
var (
	reportPDF = []byte("%PDF-1.4\n% a fake report, for tests\n%%EOF\n")
	chartPNG  = mustBase64("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC")
	logoGIF   = mustBase64("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
)

func mustBase64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// b64 wraps base64 at 76 columns, as mail does.
func b64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	return out.String() + s
}

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

// representative gives the statuses tried for a response key of the
// contract: the status itself, or two of a range.
func representative(key string) []int {
	switch key {
	case "2XX":
		return []int{200, 204}
	case "4XX":
		return []int{400, 422}
	case "5XX":
		return []int{500, 503}
	case "default":
		return []int{300, 302}
	}
	n, err := strconv.Atoi(key)
	if err != nil {
		return nil
	}
	return []int{n}
}

// specReplies reads the x-lmtp-reply of each response of op: the status
// tried, the LMTP reply expected (with <rcpt> for the recipient), and
// whether the status is retried.
func specReplies(t *testing.T, k *contract, op string) map[int]struct {
	reply   string
	retried bool
} {
	t.Helper()
	out := map[int]struct {
		reply   string
		retried bool
	}{}
	_, responses := k.resolve(t, op+"/responses")
	for key := range responses.(map[string]any) {
		_, v := k.resolve(t, op+"/responses/"+key)
		resp := v.(map[string]any)
		tmpl, ok := resp["x-lmtp-reply"].(string)
		if !ok {
			continue
		}
		code, rest, _ := strings.Cut(tmpl, " ")
		enh, text, _ := strings.Cut(rest, " ")
		statuses := representative(key)
		if len(statuses) == 0 {
			t.Fatalf("response %s: no status to try", key)
		}
		for _, s := range statuses {
			status := strconv.Itoa(s) + " " + http.StatusText(s)
			out[s] = struct {
				reply   string
				retried bool
			}{code + " " + enh + " <rcpt> " + strings.ReplaceAll(text, "{status}", status), resp["x-retried"] == true}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no response has an x-lmtp-reply", op)
	}
	return out
}

// TestSpecRepliesOverTheWire holds the bridge to the x-lmtp-reply and
// x-retried of every response openapi.yaml lists for a delivery.
func TestSpecRepliesOverTheWire(t *testing.T) {
	k := openContract(t)
	want := specReplies(t, k, deliveryOp)
	rc := newReceiver(t, statusFromAddress)
	addr := startBridge(t, rc.URL, func(c *webhook.Config, _ *lmtp.Config) { c.Retry.MaxAttempts = 2 })
	var statuses []int
	for s := range want {
		statuses = append(statuses, s)
	}
	slices.Sort(statuses)
	var rcpts []string
	for _, s := range statuses {
		rcpts = append(rcpts, fmt.Sprintf("s%d@example.com", s))
	}
	replies := lhlo(t, addr).Send("alice@example.org", rcpts, simpleMessage)
	for i, s := range statuses {
		w := want[s]
		if exp := strings.Replace(w.reply, "<rcpt>", "<"+rcpts[i]+">", 1); replies[i] != exp {
			t.Errorf("HTTP %d: reply %q, openapi.yaml says %q", s, replies[i], exp)
		}
		attempts := 1
		if w.retried {
			attempts = 2
		}
		if n := len(forRcpt(rc, rcpts[i])); n != attempts {
			t.Errorf("HTTP %d: %d attempts, want %d (x-retried: %v)", s, n, attempts, w.retried)
		}
	}
}

// TestSpecCheckRepliesOverTheWire does the same for CHECK_URL, whose
// answers are never retried.
func TestSpecCheckRepliesOverTheWire(t *testing.T) {
	k := openContract(t)
	want := specReplies(t, k, checkOp)
	cr := newCheckRecorder(t)
	rc := newReceiver(t, nil)
	addr := startBridge(t, rc.URL, withChecker(t, cr.URL, nil))
	cl := lhlo(t, addr)
	cl.Expect("250 ", "MAIL FROM:<alice@example.org>")
	for s, w := range want {
		rcpt := fmt.Sprintf("s%d@example.com", s)
		before := len(cr.Requests())
		exp := strings.Replace(w.reply, "<rcpt> ", "", 1)
		if got := cl.Cmd("RCPT TO:<%s>", rcpt); got != exp {
			t.Errorf("HTTP %d at RCPT: reply %q, openapi.yaml says %q", s, got, exp)
		}
		if n := len(cr.Requests()) - before; n != 1 {
			t.Errorf("HTTP %d: %d check requests, want 1", s, n)
		}
	}
	// 2xx accepts.
	cl.Expect("250 ", "RCPT TO:<s204@example.com>")
}

// TestAnswerSchemaAgreesWithBridge sends answer bodies both to the Answer
// schema and to the running bridge: what the schema calls valid is obeyed,
// what it refuses is not, and the leniencies its description promises
// hold.
func TestAnswerSchemaAgreesWithBridge(t *testing.T) {
	k := openContract(t)
	cases := []struct {
		name   string
		status int
		ctype  string
		body   string
		valid  bool   // against the Answer schema
		reply  string // for recipient <r>
	}{
		{"refusal", 200, "application/json", `{"code":550,"enhanced_code":"5.1.1","message":"no such user"}`, true, "550 5.1.1 <r> no such user"},
		{"deferral on 500", 500, "application/json", `{"code":451,"enhanced_code":"4.2.1","message":"busy"}`, true, "451 4.2.1 <r> busy"},
		{"success text", 202, "application/json; charset=utf-8", `{"code":250,"message":"queued as 1"}`, true, "250 2.0.0 <r> queued as 1"},
		{"code alone", 200, "application/json", `{"code":554}`, true, "554 5.0.0 <r> rejected by webhook"},
		{"message alone", 404, "application/json", `{"message":"unknown list"}`, true, "550 5.1.1 <r> unknown list"},
		{"own members", 200, "application/problem+json", `{"code":550,"trace":"abc"}`, true, "550 5.0.0 <r> rejected by webhook"},
		{"class 3", 200, "application/json", `{"code":354}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"above 599", 200, "application/json", `{"code":600}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"below 200", 200, "application/json", `{"code":199}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"string code", 200, "application/json", `{"code":"550"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"fraction", 200, "application/json", `{"code":550.5}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"class mismatch", 200, "application/json", `{"code":550,"enhanced_code":"4.1.1"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"short enhanced", 200, "application/json", `{"code":550,"enhanced_code":"5.1"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"class 6 enhanced", 200, "application/json", `{"code":550,"enhanced_code":"6.1.1"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"long enhanced", 200, "application/json", `{"code":550,"enhanced_code":"5.1000.1"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"enhanced without code", 200, "application/json", `{"enhanced_code":"5.1.1","message":"x"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		// Not an answer: the status decides.
		{"no code nor message", 200, "application/json", `{"ok":true}`, false, "250 2.0.0 <r> delivered"},
		{"declared as text", 200, "text/html", `{"code":550}`, false, "250 2.0.0 <r> delivered"},
		// Leniencies the description promises.
		{"empty enhanced", 200, "application/json", `{"code":550,"enhanced_code":""}`, false, "550 5.0.0 <r> rejected by webhook"},
		{"null code", 404, "application/json", `{"code":null,"message":"gone"}`, false, "550 5.1.1 <r> gone"},
		// A text/plain reason on a non-2xx status.
		{"plain reason", 403, "text/plain", "mailbox disabled\r\n", false, "451 4.7.0 <r> mailbox disabled"},
	}
	byRcpt := map[string]int{}
	var rcpts []string
	for i := range cases {
		rcpt := fmt.Sprintf("a%d@example.com", i)
		byRcpt[rcpt] = i
		rcpts = append(rcpts, rcpt)
	}
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, _ int) {
		c := cases[byRcpt[p.Envelope.To]]
		w.Header().Set("Content-Type", c.ctype)
		w.WriteHeader(c.status)
		io.WriteString(w, c.body)
	})
	addr := startBridge(t, rc.URL, func(c *webhook.Config, _ *lmtp.Config) { c.Retry.MaxAttempts = 1 })
	replies := lhlo(t, addr).Send("alice@example.org", rcpts, simpleMessage)
	for i, c := range cases {
		if c.ctype == "application/json" || strings.HasSuffix(c.ctype, "+json") {
			if got := k.valid(t, answerSchema, []byte(c.body)); got != c.valid {
				t.Errorf("%s: %s is valid against Answer: %v, want %v", c.name, c.body, got, c.valid)
			}
		}
		if want := strings.Replace(c.reply, "<r>", "<"+rcpts[i]+">", 1); replies[i] != want {
			t.Errorf("%s: reply %q, want %q", c.name, replies[i], want)
		}
	}
}

// jsonFields lists the JSON members a Go struct encodes to, flattening
// embedded structs, with whether each is omitted when empty.
func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		if f.Anonymous && !hasTag {
			for name, omit := range jsonFields(f.Type) {
				out[name] = omit
			}
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out[name] = strings.Contains(","+opts+",", ",omitempty,")
	}
	return out
}

// TestSchemasMatchGoTypes compares every object schema with the Go type
// that is encoded to it, member by member: a field renamed, added or
// dropped on one side only fails here, even one no test message sets.
// Members that are always sent must be required, and omitted ones must
// not.
func TestSchemasMatchGoTypes(t *testing.T) {
	k := openContract(t)
	types := map[string]reflect.Type{
		"Payload":      reflect.TypeFor[wire.Payload](),
		"Envelope":     reflect.TypeFor[wire.Envelope](),
		"Header":       reflect.TypeFor[wire.Header](),
		"Address":      reflect.TypeFor[wire.Address](),
		"Attachment":   reflect.TypeFor[wire.Attachment](),
		"ParseError":   reflect.TypeFor[wire.ParseError](),
		"CheckPayload": reflect.TypeFor[wire.CheckPayload](),
		"Answer":       reflect.TypeFor[wire.Answer](),
	}
	for name, typ := range types {
		t.Run(name, func(t *testing.T) {
			_, v := k.resolve(t, "#/components/schemas/"+name)
			s := v.(map[string]any)
			props, _ := s["properties"].(map[string]any)
			required := map[string]bool{}
			if req, ok := s["required"].([]any); ok {
				for _, r := range req {
					required[r.(string)] = true
				}
			}
			fields := jsonFields(typ)
			for f, omit := range fields {
				if _, ok := props[f]; !ok {
					t.Errorf("%s encodes %q, which the schema does not list", typ, f)
					continue
				}
				// Answer is written by the webhook: nothing in it is required.
				if name != "Answer" && required[f] == omit {
					t.Errorf("%q: required is %v, but the Go field omitempty is %v", f, required[f], omit)
				}
			}
			for p := range props {
				if _, ok := fields[p]; !ok {
					t.Errorf("the schema lists %q, which %s does not encode", p, typ)
				}
			}
			for r := range required {
				if _, ok := props[r]; !ok {
					t.Errorf("%q is required but not described", r)
				}
			}
			// Objects the bridge writes are closed; the answer is open.
			if closed := s["additionalProperties"] == false; closed != (name != "Answer") {
				t.Errorf("additionalProperties: false is %v", closed)
			}
			if d, _ := s["description"].(string); d == "" {
				t.Errorf("no description")
			}
		})
	}
}

// TestSpecIsWellFormed checks the document itself: an OpenAPI 3.1
// document whose references all resolve, whose responses have valid keys
// and descriptions, and whose examples match their schemas.
func TestSpecIsWellFormed(t *testing.T) {
	k := openContract(t)
	if v, _ := k.doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi: %q, want 3.1.x", v)
	}
	for _, p := range []string{deliveryOp, checkOp, "#/paths/~1healthz/get", "#/paths/~1readyz/get", "#/paths/~1metrics/get", "#/paths/~1openapi.yaml/get"} {
		if _, ok := k.lookup(p); !ok {
			t.Errorf("%s is missing", p)
		}
	}
	responseKey := regexp.MustCompile(`^([1-5]([0-9]{2}|XX)|default)$`)
	var walk func(ptr string, v any)
	walk = func(ptr string, v any) {
		switch c := v.(type) {
		case map[string]any:
			if ref, ok := c["$ref"].(string); ok {
				if _, ok := k.lookup(ref); !ok {
					t.Errorf("%s: $ref %s does not resolve", ptr, ref)
				}
			}
			if strings.HasSuffix(ptr, "/responses") && !strings.HasPrefix(ptr, "#/components") {
				for key, r := range c {
					if !responseKey.MatchString(key) {
						t.Errorf("%s: response key %q", ptr, key)
					}
					if m, ok := r.(map[string]any); ok && m["$ref"] == nil && m["description"] == nil {
						t.Errorf("%s/%s has no description", ptr, key)
					}
				}
			}
			for key, child := range c {
				walk(ptr+"/"+strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1"), child)
			}
		case []any:
			for i, child := range c {
				walk(fmt.Sprintf("%s/%d", ptr, i), child)
			}
		}
	}
	walk("#", k.doc)

	_, schemas := k.resolve(t, "#/components/schemas")
	for name, v := range schemas.(map[string]any) {
		ptr := "#/components/schemas/" + name
		k.schema(t, ptr) // every schema compiles
		examples, _ := v.(map[string]any)["examples"].([]any)
		for i, ex := range examples {
			b, _ := json.Marshal(ex)
			if !k.valid(t, ptr, b) {
				t.Errorf("%s: example %d does not match: %s", name, i, b)
			}
		}
	}
}
