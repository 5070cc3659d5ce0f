package webhook_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the payloads the bridge makes now")

// enmimeTestdata finds the testdata folder of the enmime module in the
// module cache, or skips the test.
func enmimeTestdata(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to locate enmime's module")
	}
	out, err := exec.Command(goTool, "list", "-m", "-f", "{{.Dir}}", "github.com/jhillyerd/enmime/v2").Output()
	dir := filepath.Join(strings.TrimSpace(string(out)), "testdata")
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Skipf("enmime's module is not in the module cache: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("enmime's testdata is not available: %v", err)
	}
	return dir
}

// TestEnmimeCorpus runs every message of enmime's own test corpus, good
// and broken, through the bridge: each must be delivered with 250, in a
// payload that matches the schema, with raw equal to the bytes sent and
// every part's size and sha256 true to its content.
func TestEnmimeCorpus(t *testing.T) {
	dir := enmimeTestdata(t)
	k := openContract(t)
	rc := newReceiver(t, nil)
	addr := startBridge(t, rc.URL, func(c *webhook.Config, _ *lmtp.Config) { c.Parse.IncludeRaw = true })
	total := 0
	for _, sub := range []string{"mail", "low-quality", "parts"} {
		files, _ := filepath.Glob(filepath.Join(dir, sub, "*.raw"))
		if len(files) == 0 {
			t.Errorf("no messages in %s", filepath.Join(dir, sub))
		}
		for _, f := range files {
			total++
			t.Run(sub+"/"+filepath.Base(f), func(t *testing.T) {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				before := len(rc.Requests())
				r := lhlo(t, addr).Send("corpus@example.org", []string{"rcpt@example.com"}, string(data))
				if r[0] != "250 2.0.0 <rcpt@example.com> delivered" {
					t.Fatalf("reply %q", r[0])
				}
				reqs := rc.Requests()[before:]
				if len(reqs) != 1 {
					t.Fatalf("%d requests", len(reqs))
				}
				k.validate(t, payloadSchema, reqs[0].Body)
				checkInvariants(t, reqs[0].Payload, crlf(string(data)))
			})
		}
	}
	t.Logf("%d messages from %s", total, dir)
}

// checkInvariants asserts what holds for every payload of a message sent
// with IncludeRaw, whatever its shape.
func checkInvariants(t *testing.T, p wire.Payload, sent string) {
	t.Helper()
	if string(p.Raw) != sent {
		t.Errorf("raw is not the message as sent (%d bytes, sent %d)", len(p.Raw), len(sent))
	}
	if p.Envelope.Size != int64(len(sent)) {
		t.Errorf("size %d, sent %d bytes", p.Envelope.Size, len(sent))
	}
	for _, a := range slices.Concat(p.Attachments, p.Inlines) {
		if a.Size != len(a.Content) || a.SHA256 != sha256Hex(a.Content) {
			t.Errorf("part %q (%s): size %d sha256 %s do not describe its %d bytes of content", a.Filename, a.ContentType, a.Size, a.SHA256, len(a.Content))
		}
	}
	for _, e := range p.Errors {
		if e.Name == wire.ErrorUnparseable && !e.Severe {
			t.Errorf("%s is not marked severe", e.Name)
		}
	}
}

// volatile matches the members that change from run to run: when the
// message arrived and the client's port.
var volatile = regexp.MustCompile(`(?m)^(  "received_at"|    "remote_addr"): "[^"]*"`)

// goldenJSON is a payload as stored in testdata: indented, in the order
// the bridge wrote it, with the volatile members replaced.
func goldenJSON(t *testing.T, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatalf("indent: %v", err)
	}
	return append(volatile.ReplaceAll(buf.Bytes(), []byte(`$1: "(varies)"`)), '\n')
}

// firstDiff describes where two texts part.
func firstDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n want %s\n  got %s", i+1, wl, gl)
		}
	}
	return "(same lines)"
}

// TestGoldenPayloads sends each testdata/*.eml through the bridge and
// compares the whole payload with testdata/*.json (go test -update
// rewrites them), then checks by hand what each message is there for.
func TestGoldenPayloads(t *testing.T) {
	k := openContract(t)
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.eml: %v", err)
	}
	rc := newReceiver(t, nil)
	addr := startBridge(t, rc.URL, nil)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			from := "sender@example.org"
			if name == "dsn-bounce" {
				from = "" // bounces come from the null sender
			}
			before := len(rc.Requests())
			r := lhlo(t, addr).Send(from, []string{"rcpt+golden@example.com"}, string(data))
			if r[0] != "250 2.0.0 <rcpt+golden@example.com> delivered" {
				t.Fatalf("reply %q", r[0])
			}
			req := rc.Requests()[before]
			k.validate(t, payloadSchema, req.Body)

			got := goldenJSON(t, req.Body)
			path := strings.TrimSuffix(f, ".eml") + ".json"
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("payload differs from %s (go test -update accepts it):\n%s", path, firstDiff(want, got))
			}

			check, ok := goldenChecks[name]
			if !ok {
				t.Fatalf("no checks for %s in goldenChecks", name)
			}
			check(t, req.Payload)
		})
	}
	// Every golden file still has its message.
	jsons, _ := filepath.Glob("testdata/*.json")
	for _, j := range jsons {
		if _, err := os.Stat(strings.TrimSuffix(j, ".json") + ".eml"); err != nil {
			t.Errorf("%s has no .eml", j)
		}
	}
}

// part finds the part of the given content type.
func part(t *testing.T, list []wire.Attachment, contentType string) wire.Attachment {
	t.Helper()
	for _, a := range list {
		if a.ContentType == contentType {
			return a
		}
	}
	t.Fatalf("no %s part in %+v", contentType, list)
	return wire.Attachment{}
}

func errorNames(p wire.Payload) []string {
	var names []string
	for _, e := range p.Errors {
		names = append(names, e.Name)
	}
	return names
}

func names(list []wire.Address) []string {
	var out []string
	for _, a := range list {
		out = append(out, a.Name+" <"+a.Address+">")
	}
	return out
}

// goldenChecks say, for each testdata message, what it is there to
// prove, independently of its golden file.
var goldenChecks = map[string]func(t *testing.T, p wire.Payload){
	"nested-multipart": func(t *testing.T, p wire.Payload) {
		if want := "The report is attached. Café at 10, 2+2=4, and a soft line break.\r\n"; p.Text != want {
			t.Errorf("text %q, want %q", p.Text, want)
		}
		if !strings.Contains(p.HTML, `<img src="cid:chart@example.org">`) {
			t.Errorf("html %q lacks the image, joined across a soft line break", p.HTML)
		}
		pdf := part(t, p.Attachments, "application/pdf")
		if pdf.Filename != "Résumé — Q1.pdf" || pdf.Disposition != "attachment" {
			t.Errorf("RFC 2231 filename with continuations: %q (%s)", pdf.Filename, pdf.Disposition)
		}
		if !bytes.Equal(pdf.Content, reportPDF) || pdf.SHA256 != sha256Hex(reportPDF) || pdf.Size != len(reportPDF) {
			t.Errorf("pdf content %q sha256 %s size %d", pdf.Content, pdf.SHA256, pdf.Size)
		}
		png := part(t, p.Inlines, "image/png")
		if png.ContentID != "chart@example.org" || png.Disposition != "" || !bytes.Equal(png.Content, chartPNG) || png.SHA256 != sha256Hex(chartPNG) {
			t.Errorf("cid image without disposition: %+v", png)
		}
		// A text attachment keeps the sender's bytes (Latin-1 here): its
		// sha256 is the file's.
		txt := part(t, p.Attachments, "text/plain")
		if string(txt.Content) != "na\xefve caf\xe9" {
			t.Errorf("latin-1 text attachment %q", txt.Content)
		}
		got := strings.Join(slices.Concat(names(p.From), names(p.To), names(p.Cc)), ", ")
		if want := "Zoë Example <zoe@example.org>,  <team@example.com>, Bob, the builder <bob@example.com>, Jürgen Müller <juergen@example.de>"; got != want {
			t.Errorf("addresses %q, want %q", got, want)
		}
	},
	"dsn-bounce": func(t *testing.T, p wire.Payload) {
		if p.Envelope.From != "" {
			t.Errorf("envelope.from %q, want the null sender", p.Envelope.From)
		}
		if !strings.Contains(p.Text, "550 5.1.1 no such user") {
			t.Errorf("text %q", p.Text)
		}
		status := part(t, p.Attachments, "message/delivery-status")
		if !bytes.Contains(status.Content, []byte("Final-Recipient: rfc822; nobody@example.com")) {
			t.Errorf("delivery-status %q", status.Content)
		}
		if b := p.Classification.Bounce; len(b) != 1 || b[0].FinalRecipient != "nobody@example.com" || b[0].Status != "5.1.1" ||
			b[0].OriginalMessageID != "lunch-1@example.org" || p.Classification.AutoReply {
			t.Errorf("classification %+v: want a bounce of nobody@example.com, lunch-1@example.org", p.Classification)
		}
		orig := part(t, p.Attachments, "message/rfc822")
		if !bytes.Contains(orig.Content, []byte("Subject: Lunch?")) || !bytes.HasSuffix(orig.Content, []byte("Shall we?\r\n")) {
			t.Errorf("returned message %q", orig.Content)
		}
	},
	"encoded-words": func(t *testing.T, p wire.Payload) {
		if want := "Café☕テストПривет plain words"; p.Subject != want {
			t.Errorf("subject %q, want %q", p.Subject, want)
		}
		got := strings.Join(slices.Concat(names(p.From), names(p.To), names(p.ReplyTo)), ", ")
		if want := "François “Frank” <francois@example.fr>, 佐藤 <sato@example.jp>, Иван <ivan@example.ru>, 张伟 <zhang@example.cn>"; got != want {
			t.Errorf("addresses %q, want %q", got, want)
		}
		if want := "佐藤さん、\r\n会議は明日の十時です。\r\n"; p.Text != want {
			t.Errorf("iso-2022-jp text %q, want %q", p.Text, want)
		}
		if !slices.Equal(p.InReplyTo, []string{"orig-1@example.org"}) || !slices.Equal(p.References, []string{"root-1@example.org", "orig-1@example.org"}) {
			t.Errorf("in_reply_to %q references %q", p.InReplyTo, p.References)
		}
	},
	"raw-8bit-headers": func(t *testing.T, p wire.Payload) {
		if p.Subject != "Grüße aus Köln" {
			t.Errorf("latin-1 subject %q", p.Subject)
		}
		if got := strings.Join(slices.Concat(names(p.From), names(p.To)), ", "); got != "André Müller <andre@example.de>, Jürgen <juergen@example.de>" {
			t.Errorf("addresses %q", got)
		}
		i := slices.IndexFunc(p.Headers, func(h wire.Header) bool { return h.Name == "X-Note" })
		if i < 0 || p.Headers[i].Value != "raw UTF-8 ✓ in a header" {
			t.Errorf("headers %+v", p.Headers)
		}
		if want := "“Grüße” – it costs 5 €.\r\n"; p.Text != want {
			t.Errorf("windows-1252 text %q, want %q", p.Text, want)
		}
	},
	"related-cid": func(t *testing.T, p wire.Payload) {
		if want := `<html><body><h1>News</h1><p>Hello, reader.</p><img src="cid:logo.1@example.com" alt="logo"></body></html>`; p.HTML != want {
			t.Errorf("html %q", p.HTML)
		}
		if !strings.Contains(p.Text, "Hello, reader.") || !slices.Contains(errorNames(p), "Plain Text from HTML") {
			t.Errorf("text %q errors %q: want text made from the HTML, and said so", p.Text, errorNames(p))
		}
		if p.Subject != "This week’s news" {
			t.Errorf("subject %q", p.Subject)
		}
		if len(p.Inlines) != 1 || p.Inlines[0].ContentID != "logo.1@example.com" || !bytes.Equal(p.Inlines[0].Content, logoGIF) {
			t.Errorf("inlines %+v", p.Inlines)
		}
		// The image nothing can reference is kept, as an attachment.
		if len(p.Attachments) != 1 || p.Attachments[0].ContentID != "" || p.Attachments[0].SHA256 != sha256Hex(logoGIF) {
			t.Errorf("attachments %+v", p.Attachments)
		}
	},
	"hostile-headers": func(t *testing.T, p wire.Payload) {
		if p.Date != nil || !slices.Contains(errorNames(p), wire.ErrorMalformedDate) {
			t.Errorf("date %v errors %q: a +2400 offset must give null and an error", p.Date, errorNames(p))
		}
		if !slices.Contains(errorNames(p), wire.ErrorMalformedAddr) || len(p.Cc) != 0 || len(p.To) != 0 {
			t.Errorf("cc %+v to %+v errors %q", p.Cc, p.To, errorNames(p))
		}
		if p.Subject != "first folded with a tab" {
			t.Errorf("subject %q: the first one, unfolded", p.Subject)
		}
		if p.MessageID != "bare-id@example.net" || !slices.Equal(p.InReplyTo, []string{"unterminated@example.net"}) ||
			!slices.Equal(p.References, []string{"a@example.net", "c@example.net"}) {
			t.Errorf("message_id %q in_reply_to %q references %q: ids without angle brackets", p.MessageID, p.InReplyTo, p.References)
		}
		if p.Text != "No MIME-Version, no Content-Type.\r\n" {
			t.Errorf("text %q", p.Text)
		}
	},
	"sample": func(t *testing.T, p wire.Payload) {
		// The README's example.
		if p.Subject != "Order № 42" || p.Text != "Please find the order attached." {
			t.Errorf("subject %q text %q", p.Subject, p.Text)
		}
		csv := part(t, p.Attachments, "text/csv")
		if want := []byte("item,qty\r\ntea,2"); csv.Filename != "order.csv" || !bytes.Equal(csv.Content, want) || csv.SHA256 != sha256Hex(want) {
			t.Errorf("attachment %+v", csv)
		}
	},
	"encoded-bodies": func(t *testing.T, p wire.Payload) {
		if want := "Base64 text: naïve café, 日本語, emoji 🎉.\nSecond line.\n"; p.Text != want {
			t.Errorf("base64 text %q, want %q", p.Text, want)
		}
		if want := "<p>Quoted-printable HTML: naïve café, a very long line that goes on and on past seventy-six characters so that it needs a soft line break.</p>"; p.HTML != want {
			t.Errorf("quoted-printable html %q, want %q", p.HTML, want)
		}
	},
}
