package payload

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
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
	// issue 15's shapes: a boundary inside a line, a part header without
	// an empty line, uuencode, bare CR, RFC 2231 in another charset.
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nsee --b here\r\n  --b\r\n--b\r\nContent-Type: text/plain\r\nbar\r\n--b--\r\n",
	"Subject: u\r\n\r\nbegin 644 a.txt\r\n%86)C\r\n`\r\nend\r\n",
	"From x\rSubject: cr\r\rbody\r",
	"Content-Type: multipart/mixed; boundary*=iso-8859-1''b%E9\r\n\r\n--b\xe9\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 600 f\r\n!80``\r\nend\r\n--b\xe9--\r\n",
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
		msg := &Input{
			From: "a@x", Recipients: []string{"r+tag@x", "\xffbad@x"},
			Data:       data,
			ReceivedAt: time.Unix(1700000000, 0),
		}
		enc, err := Encode(context.Background(), msg, Options{OmitAttachments: omit, IncludeRaw: raw})
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		for _, rcpt := range msg.Recipients {
			id := enc.ID(rcpt)
			body := append(enc.Prefix(id, rcpt), enc.Shared()...)
			if !json.Valid(body) {
				t.Fatalf("invalid JSON for %q", rcpt)
			}
			var p wire.Payload
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if p.ID != id || p.Envelope.Size != int64(len(data)) {
				t.Fatalf("id %q size %d", p.ID, p.Envelope.Size)
			}
			for _, e := range p.Errors {
				if (e.Name == wire.ErrorUnparseable || e.Name == wire.ErrorTooComplex) && !bytes.Equal(p.Raw, data) {
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
