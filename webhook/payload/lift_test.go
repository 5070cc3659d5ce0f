package payload

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/bench/largemsg"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// b64lines is data as base64 in lines of 76 characters and CRLF.
func b64lines(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	return b.String()
}

func blob(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed ^ byte(i>>9)
	}
	return b
}

// liftCases are large messages of the shapes that matter: which parts are
// lifted, and which are left to enmime.
func liftCases() map[string]struct {
	msg    []byte
	lifted int
} {
	big, other := blob(1, 1<<20+5), blob(2, 1<<20+300)
	nested := "From: a@example.org\r\nSubject: nested\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"out\"\r\n\r\n" +
		"--out\r\nContent-Type: multipart/related; boundary=\"in\"\r\n\r\n" +
		"--in\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>hi <img src=\"cid:logo\"></p>\r\n" +
		"--in\r\nContent-Type: image/png\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64lines(big) + "\r\n" +
		"--in--\r\n" +
		"--out\r\nContent-Type: application/zip; name=\"a.zip\"\r\nContent-Disposition: attachment; filename=\"a.zip\"\r\nContent-Transfer-Encoding: BASE64\r\n\r\n" + b64lines(other) + "\r\n" +
		"--out\r\nContent-Type: application/zip; name=\"b.zip\"\r\nContent-Disposition: attachment; filename=\"b.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64lines(other) + "\r\n" +
		"--out\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Disposition: attachment; filename=\"big.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64lines(bytes.Repeat([]byte("caf\xe9 "), 20_000)) + "\r\n" +
		"--out\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64lines(big) + "\r\n!!not base64!!\r\n" +
		"--out--\r\n"
	return map[string]struct {
		msg    []byte
		lifted int
	}{
		"bench message":        {largemsg.Build(3 << 19), 1},
		"one attachment":       {largemsg.WithAttachment(2 << 20), 1},
		"small":                {largemsg.WithAttachment(100 << 10), 0},
		"nested and text":      {[]byte(nested), 3},
		"LF line ends":         {bytes.ReplaceAll(largemsg.WithAttachment(2<<20), []byte("\r\n"), []byte("\n")), 1},
		"no closing delimiter": {bytes.TrimSuffix(largemsg.WithAttachment(2<<20), []byte("\r\n--=_bench_boundary_0--\r\n")), 0},
	}
}

// TestLiftedPartsParseAsEnmimeReadsThem holds the lifted parse to the
// parse that leaves every part to enmime: every part, in order, with the
// same name, type and bytes, and the same errors and bodies.
func TestLiftedPartsParseAsEnmimeReadsThem(t *testing.T) {
	for name, c := range liftCases() {
		t.Run(name, func(t *testing.T) {
			if _, parts := liftLargeParts(c.msg); len(parts) != c.lifted {
				t.Errorf("lifted %d parts, want %d", len(parts), c.lifted)
			}
			m := Parse(c.msg, time.Unix(0, 0), Options{})
			want := Parse(c.msg, time.Unix(0, 0), Options{enmimeOnly: true})
			if m.Text != want.Text || m.HTML != want.HTML {
				t.Errorf("text or html differ from enmime's")
			}
			describe := func(list []wire.Attachment) string {
				var b strings.Builder
				for _, a := range list {
					fmt.Fprintf(&b, "%q %s %s %d %s %x\n", a.Filename, a.ContentType, a.ContentID, a.Size, a.SHA256, sha256.Sum256(a.Content))
				}
				return b.String()
			}
			if got, w := describe(m.Attachments), describe(want.Attachments); got != w {
				t.Errorf("attachments:\n%s\nenmime alone:\n%s", got, w)
			}
			if got, w := describe(m.Inlines), describe(want.Inlines); got != w {
				t.Errorf("inlines:\n%s\nenmime alone:\n%s", got, w)
			}
			if fmt.Sprint(m.Errors) != fmt.Sprint(want.Errors) {
				t.Errorf("errors %v, enmime alone %v", m.Errors, want.Errors)
			}
		})
	}
}

// TestLiftable: text is converted from its charset by enmime and
// containers are parsed by it, so only other parts are lifted.
func TestLiftable(t *testing.T) {
	for ctype, want := range map[string]bool{
		"application/pdf": true, " Image/PNG ; name=x.png": true, "application/octet-stream": true,
		"text/plain; charset=iso-8859-1": false, "TEXT/HTML": false, "multipart/mixed; boundary=x": false,
		"message/rfc822": false, "": false,
	} {
		if got := liftable(ctype); got != want {
			t.Errorf("liftable(%q) = %v, want %v", ctype, got, want)
		}
	}
}

// TestLiftedParseMemory: a part of 6 MiB costs about its size once, not
// the two and a half times io.ReadAll's growing chunks take in enmime.
func TestLiftedParseMemory(t *testing.T) {
	const part = 6 << 20
	msg := largemsg.WithAttachment(part)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m := Parse(msg, time.Unix(0, 0), Options{})
	runtime.ReadMemStats(&after)
	if len(m.Attachments) != 1 || m.Attachments[0].Size != part {
		t.Fatalf("parsed %d attachments, want one of %d bytes", len(m.Attachments), part)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("Parse of a %d-byte message with a %d-byte part allocated %.1f MiB", len(msg), part, float64(allocated)/(1<<20))
	if limit := uint64(part + part/4); allocated > limit {
		t.Errorf("Parse allocated %d bytes, want at most %d (the part once, and a little)", allocated, limit)
	}
}
