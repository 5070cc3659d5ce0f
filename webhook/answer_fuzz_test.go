package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

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
