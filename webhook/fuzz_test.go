package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
)

var fuzzSeeds = []string{
	"Subject: hi\r\n\r\nhello\r\n",
	"From: =?utf-8?B?w6k=?= <a@b>\nTo: x\nSubject: =?iso-8859-1?q?caf=E9?=\n\nbody\n",
	"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\n\xf0\xd2\xc9\r\n--x\r\nContent-Disposition: attachment; filename*=UTF-8''%E2%82%AC.txt\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--x--\r\n",
	"Content-Type: multipart/alternative; boundary=\"a\"\n\n--a\nContent-Type: text/html\n\n<b>x</b>\n",
	"Subject: \xff\xfe\x00\r\nDate: not a date\r\nMessage-ID: <a@b> <c@d>\r\nReferences: <1@x>\r\n <2@x>\r\n\r\n\x00\x01",
	"Content-Type: text/plain; charset=unknown-8bit\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n",
	":\r\n \r\nFrom \r\n\r\n",
	"",
}

// FuzzPayload checks that any message, however broken, becomes a valid
// JSON body that decodes back to a Payload, and that a message enmime
// could not read is sent raw.
func FuzzPayload(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), false, false)
	}
	f.Add(nested(20), true, true)
	f.Fuzz(func(t *testing.T, data []byte, omit, raw bool) {
		msg := &lmtp.Message{
			Envelope:   lmtp.Envelope{From: "a@x", Recipients: []string{"r+tag@x", "\xffbad@x"}},
			Data:       data,
			ReceivedAt: time.Unix(1700000000, 0),
		}
		enc, err := encode(msg, ParseOptions{OmitAttachments: omit, IncludeRaw: raw})
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		for _, rcpt := range msg.Recipients {
			id := deliveryID(enc.sum, rcpt)
			body := append(enc.prefix(id, rcpt), enc.shared...)
			if !json.Valid(body) {
				t.Fatalf("invalid JSON for %q", rcpt)
			}
			var p Payload
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if p.ID != id || p.Envelope.Size != int64(len(data)) {
				t.Fatalf("id %q size %d", p.ID, p.Envelope.Size)
			}
			for _, e := range p.Errors {
				if (e.Name == ErrorUnparseable || e.Name == ErrorTooComplex) && !bytes.Equal(p.Raw, data) {
					t.Fatalf("%s without raw", e.Name)
				}
			}
			if raw && !bytes.Equal(p.Raw, data) {
				t.Fatalf("raw asked for and missing")
			}
			for _, a := range append(p.Attachments, p.Inlines...) {
				if omit && a.Content != nil {
					t.Fatalf("content sent with attachments omitted")
				}
				if !omit && len(a.Content) != a.Size {
					t.Fatalf("attachment size %d, content %d", a.Size, len(a.Content))
				}
			}
		}
	})
}

// FuzzAnswer checks that no webhook answer can produce a reply that is
// not a valid SMTP reply, nor put anything but one printable line on the
// wire.
func FuzzAnswer(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"code":550,"enhanced_code":"5.1.1","message":"no"}`), "")
	f.Add(503, "text/plain", []byte("down\r\n250 ok"), "120")
	f.Add(404, "", []byte(`{"message":"x"}`), "")
	f.Add(302, "text/html", []byte("<a>"), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(200, "application/json", []byte(`{"code":299,"enhanced_code":"2.999.999"}`), "")
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte, after string) {
		h := http.Header{}
		h.Set("Content-Type", ctype)
		h.Set("Retry-After", after)
		o := mapResponse(status, h, body, time.Unix(1700000000, 0))
		r := o.reply
		if r == nil {
			t.Fatal("no reply")
		}
		class := r.Code / 100
		if r.Code < 200 || r.Code > 599 || class == 3 {
			t.Fatalf("reply code %d", r.Code)
		}
		if r.EnhancedCode[0] != class {
			t.Fatalf("enhanced code %v for %d", r.EnhancedCode, r.Code)
		}
		if len(r.Message) == 0 || len(r.Message) > maxReasonBytes || strings.ContainsFunc(r.Message, func(c rune) bool { return c < ' ' || c > '~' }) {
			t.Fatalf("reason %q", r.Message)
		}
		if (o.retry || o.invalid != "") && class == 5 {
			t.Fatalf("a fault gave a permanent reply %d", r.Code)
		}
		if o.after < 0 || o.after > 24*time.Hour {
			t.Fatalf("retry after %v", o.after)
		}
	})
}
