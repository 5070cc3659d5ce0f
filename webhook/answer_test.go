package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMapResponse(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	json := http.Header{"Content-Type": {"application/json"}}
	plain := http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	cases := []struct {
		name   string
		status int
		header http.Header
		body   string
		// want is the reply line as go-smtp writes it, without the recipient.
		want    string
		retry   bool
		after   time.Duration
		invalid bool
	}{
		{"200", 200, nil, "", "250 2.0.0 delivered", false, 0, false},
		{"204", 204, nil, "", "250 2.0.0 delivered", false, 0, false},
		{"299", 299, nil, "", "250 2.0.0 delivered", false, 0, false},
		{"200 with text", 200, plain, "thanks", "250 2.0.0 delivered", false, 0, false},
		{"404", 404, nil, "", "550 5.1.1 no such recipient: webhook answered 404 Not Found", false, 0, false},
		{"410", 410, nil, "", "550 5.1.1 no such recipient: webhook answered 410 Gone", false, 0, false},
		{"413", 413, nil, "", "552 5.3.4 message too large for webhook: 413 Request Entity Too Large", false, 0, false},
		{"401", 401, nil, "", "451 4.7.0 webhook refused our credentials: 401 Unauthorized", false, 0, true},
		{"403", 403, nil, "", "451 4.7.0 webhook refused our credentials: 403 Forbidden", false, 0, true},
		{"407", 407, nil, "", "451 4.7.0 webhook refused our credentials: 407 Proxy Authentication Required", false, 0, true},
		{"400", 400, nil, "", "550 5.0.0 rejected by webhook: 400 Bad Request", false, 0, false},
		{"418", 418, nil, "", "550 5.0.0 rejected by webhook: 418 I'm a teapot", false, 0, false},
		{"499", 499, nil, "", "550 5.0.0 rejected by webhook: 499", false, 0, false},
		{"408", 408, nil, "", "451 4.3.0 webhook temporarily failed: 408 Request Timeout", true, 0, false},
		{"425", 425, nil, "", "451 4.3.0 webhook temporarily failed: 425 Too Early", true, 0, false},
		{"429 retry-after seconds", 429, http.Header{"Retry-After": {"7"}}, "", "451 4.3.0 webhook temporarily failed: 429 Too Many Requests", true, 7 * time.Second, false},
		{"503 retry-after date", 503, http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, "", "451 4.3.0 webhook temporarily failed: 503 Service Unavailable", true, 90 * time.Second, false},
		{"503 retry-after garbage", 503, http.Header{"Retry-After": {"soon"}}, "", "451 4.3.0 webhook temporarily failed: 503 Service Unavailable", true, 0, false},
		{"500", 500, nil, "", "451 4.3.0 webhook temporarily failed: 500 Internal Server Error", true, 0, false},
		{"599", 599, nil, "", "451 4.3.0 webhook temporarily failed: 599", true, 0, false},
		{"301", 301, nil, "", "451 4.3.0 webhook answered with a redirect: 301 Moved Permanently", false, 0, true},
		{"304", 304, nil, "", "451 4.3.0 webhook answered with a redirect: 304 Not Modified", false, 0, true},
		{"600", 600, nil, "", "451 4.3.0 webhook answered with an unexpected status", false, 0, true},
		{"104", 104, nil, "", "451 4.3.0 webhook answered with an unexpected status", false, 0, true},

		{"plain reason on 404", 404, plain, "no such mailbox", "550 5.1.1 no such mailbox", false, 0, false},
		{"plain reason on 503 keeps retry", 503, plain, "db down", "451 4.3.0 db down", true, 0, false},
		{"plain reason multi-line", 550 - 100, plain, "line one\r\nline two\n", "550 5.0.0 line one line two", false, 0, false},
		{"html error page is not a reason", 404, http.Header{"Content-Type": {"text/html"}}, "<h1>nope</h1>", "550 5.1.1 no such recipient: webhook answered 404 Not Found", false, 0, false},

		{"explicit 550 on 200", 200, json, `{"code":550,"enhanced_code":"5.1.1","message":"no such user"}`, "550 5.1.1 no such user", false, 0, false},
		{"explicit 250 on 500", 500, json, `{"code":250,"message":"ok after all"}`, "250 2.0.0 ok after all", false, 0, false},
		{"explicit 451 on 200 is not retried", 200, json, `{"code":451,"enhanced_code":"4.2.2","message":"over quota"}`, "451 4.2.2 over quota", false, 0, false},
		{"explicit code without text", 200, json, `{"code":554}`, "554 5.0.0 rejected by webhook", false, 0, false},
		{"explicit without content type", 200, nil, `{"code":550}`, "550 5.0.0 rejected by webhook", false, 0, false},
		{"problem+json", 422, http.Header{"Content-Type": {"application/problem+json"}}, `{"code":553,"enhanced_code":"5.1.3","message":"bad address"}`, "553 5.1.3 bad address", false, 0, false},
		{"message only keeps status mapping", 503, json, `{"message":"maintenance"}`, "451 4.3.0 maintenance", true, 0, false},
		{"null fields", 200, json, `{"code":null,"message":null}`, "250 2.0.0 delivered", false, 0, false},
		{"unrelated json", 200, json, `{"status":"ok","id":42}`, "250 2.0.0 delivered", false, 0, false},
		{"json array", 404, json, `[1,2]`, "550 5.1.1 no such recipient: webhook answered 404 Not Found", false, 0, false},
		{"truncated json", 200, json, `{"code":55`, "250 2.0.0 delivered", false, 0, false},
		{"json declared as text", 200, plain, `{"code":550}`, "250 2.0.0 delivered", false, 0, false},

		{"code 354", 200, json, `{"code":354}`, "451 4.3.0 webhook gave an invalid answer", false, 0, true},
		{"code 199", 200, json, `{"code":199}`, "451 4.3.0 webhook gave an invalid answer", false, 0, true},
		{"code 600", 200, json, `{"code":600}`, "451 4.3.0 webhook gave an invalid answer", false, 0, true},
		{"code 221 closes the connection", 200, json, `{"code":221,"message":"bye"}`, "451 4.3.0 webhook gave an invalid answer", false, 0, true},
		{"code 421 closes the connection", 503, json, `{"code":421,"enhanced_code":"4.3.2","message":"shutting down"}`, "451 4.3.0 webhook gave an invalid answer", false, 0, true},
		{"code 422", 200, json, `{"code":422}`, "422 4.0.0 deferred by webhook", false, 0, false},
		{"code 521", 200, json, `{"code":521}`, "521 5.0.0 rejected by webhook", false, 0, false},
		{"code as string", 200, json, `{"code":"550"}`, "451 4.3.0 webhook gave an invalid answer", false, 0, true},
		{"code as float", 200, json, `{"code":550.5}`, "451 4.3.0 webhook gave an invalid answer", false, 0, true},
		{"enhanced of another class", 200, json, `{"code":550,"enhanced_code":"4.1.1"}`, "451 4.3.0 webhook gave an invalid answer", false, 0, true},
		{"enhanced malformed", 200, json, `{"code":550,"enhanced_code":"5.1"}`, "451 4.3.0 webhook gave an invalid answer", false, 0, true},
		{"enhanced class 3", 200, json, `{"code":550,"enhanced_code":"3.1.1"}`, "451 4.3.0 webhook gave an invalid answer", false, 0, true},
		{"enhanced without code", 200, json, `{"enhanced_code":"5.1.1"}`, "451 4.3.0 webhook gave an invalid answer", false, 0, true},
		{"enhanced too long", 200, json, `{"code":550,"enhanced_code":"5.1000.1"}`, "451 4.3.0 webhook gave an invalid answer", false, 0, true},

		{"injection", 200, json, `{"code":550,"message":"x\r\n250 2.0.0 ok\r\nQUIT"}`, "550 5.0.0 x 250 2.0.0 ok QUIT", false, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.header
			if h == nil {
				h = http.Header{}
			}
			o := mapResponse(c.status, h, []byte(c.body), now)
			got := fmt.Sprintf("%d %s %s", o.reply.Code, enhanced(o.reply.EnhancedCode), o.reply.Message)
			if got != c.want {
				t.Errorf("reply %q, want %q", got, c.want)
			}
			if o.retry != c.retry || o.after != c.after || (o.invalid != "") != c.invalid {
				t.Errorf("retry %v after %v invalid %q; want %v %v %v", o.retry, o.after, o.invalid, c.retry, c.after, c.invalid)
			}
		})
	}
}

func TestMapError(t *testing.T) {
	timeout := &url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded}
	refused := &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
	redirects := &url.Error{Op: "Post", URL: "http://x", Err: errTooManyRedirects}
	cases := []struct {
		err     error
		want    string
		retry   bool
		invalid bool
	}{
		{timeout, "451 4.4.1 webhook timed out", true, false},
		{refused, "451 4.4.1 webhook unreachable", true, false},
		{errors.New("unexpected EOF"), "451 4.4.1 webhook unreachable", true, false},
		{redirects, "451 4.3.0 webhook redirected too many times", false, true},
	}
	for _, c := range cases {
		o := mapError(c.err)
		got := fmt.Sprintf("%d %s %s", o.reply.Code, enhanced(o.reply.EnhancedCode), o.reply.Message)
		if got != c.want || o.retry != c.retry || (o.invalid != "") != c.invalid {
			t.Errorf("%v: %q retry %v invalid %q; want %q %v %v", c.err, got, o.retry, o.invalid, c.want, c.retry, c.invalid)
		}
	}
}

func TestSanitize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"  padded\t", "padded"},
		{"a\r\nb", "a b"},
		{"a\r\n\r\n  b", "a b"},
		{"nul\x00byte", "nul?byte"},
		{"esc\x1b[31m", "esc?[31m"},
		{"del\x7f", "del?"},
		{"über", "?ber"},
		{"\xff\xfe", "??"},
		{"", ""},
		{strings.Repeat("x", 1000), strings.Repeat("x", 400)},
		{strings.Repeat("ab ", 300), strings.TrimSpace(strings.Repeat("ab ", 134))[:400]},
	}
	for _, c := range cases {
		got := sanitize(c.in)
		if got != c.want {
			t.Errorf("sanitize(%q) = %q, want %q", c.in, got, c.want)
		}
		if len(got) > maxReasonBytes {
			t.Errorf("sanitize(%q) is %d bytes", c.in, len(got))
		}
		for _, r := range got {
			if r < ' ' || r > '~' {
				t.Errorf("sanitize(%q) kept %q", c.in, r)
			}
		}
	}
}
