package webhook_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// logTo sends the bridge's logs to buf as well as to the test log.
func logTo(t *testing.T, buf *webhooktest.Buffer) func(*webhook.Config, *lmtp.Config) {
	return func(_ *webhook.Config, c *lmtp.Config) {
		c.Logger = zerolog.New(io.MultiWriter(buf, zerolog.NewTestWriter(t)))
	}
}

// rawData sends DATA bytes exactly as given (line ends untouched), with
// leading dots doubled and the end marker added.
func rawData(t *testing.T, cl *lmtptest.Client, data string, n int) []string {
	t.Helper()
	cl.Expect("354 ", "DATA")
	var b strings.Builder
	for _, line := range strings.SplitAfter(data, "\n") {
		if strings.HasPrefix(line, ".") {
			b.WriteByte('.')
		}
		b.WriteString(line)
	}
	if !strings.HasSuffix(data, "\r\n") {
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	cl.Write(b.String())
	return cl.Replies(n)
}

func TestHostileMessagesAreDeliveredValid(t *testing.T) {
	k := openContract(t)
	var manyHeaders strings.Builder
	for i := range 1500 {
		fmt.Fprintf(&manyHeaders, "X-H%d: v\r\n", i)
	}
	var deep strings.Builder
	deep.WriteString("Subject: deep\r\n")
	for i := range 40 {
		fmt.Fprintf(&deep, "Content-Type: multipart/mixed; boundary=\"d%d\"\r\n\r\n--d%d\r\n", i, i)
	}
	deep.WriteString("\r\nbottom\r\n")

	cases := []struct {
		name string
		data string
		// check inspects the payload; raw says it must carry the message.
		check func(t *testing.T, p wire.Payload)
		raw   bool
		// problem is a log message expected for this input.
		problem string
	}{
		{name: "NUL bytes", data: "Subject: nul\x00here\r\n\r\nbody\x00with\x00nuls\r\n", check: func(t *testing.T, p wire.Payload) {
			if !strings.Contains(p.Text, "with\x00nuls") || p.Subject != "nul\x00here" {
				t.Errorf("text %q subject %q", p.Text, p.Subject)
			}
		}},
		{name: "invalid UTF-8", data: "Subject: caf\xc3\r\n\r\n\xff\xfe\xfd broken\r\n", check: func(t *testing.T, p wire.Payload) {
			if !strings.HasSuffix(strings.TrimSpace(p.Text), "broken") {
				t.Errorf("text %q", p.Text)
			}
		}},
		{name: "unknown charset", data: "Subject: x\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\nplain ascii survives\r\n", problem: "message has MIME problems", check: func(t *testing.T, p wire.Payload) {
			if !strings.HasPrefix(p.Text, "plain ascii survives") || len(p.Errors) == 0 {
				t.Errorf("text %q errors %+v", p.Text, p.Errors)
			}
		}},
		{name: "8-bit headers", data: "Subject: Caf\xe9 cr\xe8me\r\nFrom: Ren\xe9 <rene@x.test>\r\n\r\nbody\r\n", check: func(t *testing.T, p wire.Payload) {
			if p.Subject != "Café crème" || len(p.From) != 1 || p.From[0].Name != "René" {
				t.Errorf("subject %q from %+v", p.Subject, p.From)
			}
		}},
		{name: "bare LF", data: "Subject: lf\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nline one\nline two\n--b--\n", check: func(t *testing.T, p wire.Payload) {
			if p.Subject != "lf" || !strings.Contains(p.Text, "line one\nline two") {
				t.Errorf("subject %q text %q", p.Subject, p.Text)
			}
		}},
		{name: "huge header", data: "Subject: " + strings.Repeat("s", 300000) + "\r\n\r\nbody\r\n", check: func(t *testing.T, p wire.Payload) {
			if len(p.Subject) != 300000 {
				t.Errorf("subject of %d bytes", len(p.Subject))
			}
		}},
		{name: "too many headers", data: manyHeaders.String() + "\r\nbody\r\n", problem: "message has MIME problems", check: func(t *testing.T, p wire.Payload) {
			if len(p.Headers) > 1001 || !hasError(p, wire.ErrorHeadersTooLarge) {
				t.Errorf("%d headers, errors %+v", len(p.Headers), p.Errors)
			}
		}},
		{name: "deep nesting", data: deep.String(), raw: true, problem: "message has MIME problems", check: func(t *testing.T, p wire.Payload) {
			if !hasError(p, wire.ErrorTooComplex) {
				t.Errorf("errors %+v", p.Errors)
			}
		}},
		{name: "multipart without boundary", data: "Subject: nb\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhi\r\n", check: func(t *testing.T, p wire.Payload) {
			if p.Subject != "nb" {
				t.Errorf("subject %q", p.Subject)
			}
		}},
		{name: "missing end boundary", data: "Subject: mb\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\nunfinished\r\n", problem: "message has MIME problems", check: func(t *testing.T, p wire.Payload) {
			if !strings.HasPrefix(p.Text, "unfinished") || len(p.Errors) == 0 {
				t.Errorf("text %q errors %+v", p.Text, p.Errors)
			}
		}},
		{name: "corrupt base64", data: "Subject: b\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0x!!!!@@@@\r\n--q--\r\n", problem: "message has MIME problems", check: func(t *testing.T, p wire.Payload) {
			if len(p.Errors) == 0 {
				t.Errorf("no error for corrupt base64")
			}
		}},
		{name: "no header at all", data: "just a line of text\r\n", check: func(t *testing.T, p wire.Payload) {}},
		{name: "header only", data: "Subject: only\r\n", check: func(t *testing.T, p wire.Payload) {
			if p.Subject != "only" {
				t.Errorf("subject %q", p.Subject)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs webhooktest.Buffer
			rc := newReceiver(t, nil)
			addr := startBridge(t, rc.URL, logTo(t, &logs))
			cl := lhlo(t, addr)
			cl.Expect("250 ", "MAIL FROM:<>")
			cl.Expect("250 ", "RCPT TO:<r@x.test>")
			cl.Expect("250 ", "RCPT TO:<r@x.test>")
			replies := rawData(t, cl, c.data, 2)
			for _, r := range replies {
				if r != "250 2.0.0 <r@x.test> delivered" {
					t.Fatalf("reply %q", r)
				}
			}
			reqs := rc.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests for one (duplicated) recipient", len(reqs))
			}
			k.validate(t, payloadSchema, reqs[0].Body)
			p := reqs[0].Payload
			if p.Envelope.From != "" {
				t.Errorf("null sender became %q", p.Envelope.From)
			}
			if c.raw && p.Raw == nil {
				t.Errorf("raw missing")
			}
			c.check(t, p)
			if !strings.Contains(logs.String(), `"message":"delivery"`) {
				t.Errorf("no delivery log line")
			}
			if c.problem != "" && !strings.Contains(logs.String(), c.problem) {
				t.Errorf("no %q log line", c.problem)
			}
			lines := strings.Split(strings.TrimSpace(c.data), "\n")
			if last := strings.TrimSpace(lines[len(lines)-1]); len(last) >= 8 && strings.Contains(logs.String(), last) {
				t.Errorf("message content %q in the logs", last)
			}
		})
	}
}

func hasError(p wire.Payload, name string) bool {
	for _, e := range p.Errors {
		if e.Name == name {
			return true
		}
	}
	return false
}

func TestHugeAnswerBodyIsNotRead(t *testing.T) {
	var sent atomic.Int64
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		// Up to 1 GiB, stopping as soon as the bridge hangs up.
		for range 1 << 14 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			sent.Add(int64(len(chunk)))
		}
	})
	addr := startBridge(t, rc.URL, nil)
	cl := lhlo(t, addr)
	if r := cl.Send("a@x.test", []string{"r@x.test"}, simpleMessage); r[0] != "250 2.0.0 <r@x.test> delivered" {
		t.Errorf("reply %q", r[0])
	}
	if n := sent.Load(); n > 64<<20 {
		t.Errorf("the bridge let the webhook send %d MiB", n>>20)
	}
}
