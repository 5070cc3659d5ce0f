package spam_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/spam"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// hangingListener accepts connections and never answers, as a wedged
// scanner does. The connections close when the test ends.
func hangingListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String()
}

func TestHangingScannerTimesOut(t *testing.T) {
	const timeout = 300 * time.Millisecond
	reg := prometheus.NewRegistry()
	c := newClient(t, spam.Config{URL: hangingListener(t), Timeout: timeout, Metrics: spam.NewMetrics(reg)})
	start := time.Now()
	v, err := c.Check(context.Background(), spam.Input{Message: []byte("Subject: x\r\n\r\nx\r\n")})
	elapsed := time.Since(start)
	if err == nil {
		t.Fatalf("verdict %+v from a scanner that never answers", v)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Errorf("error %q does not say the scan's time ran out", err)
	}
	var e *spam.Error
	if !errors.As(err, &e) || e.Reason != spam.ReasonTimeout {
		t.Errorf("error %#v, want a *spam.Error with reason %q", err, spam.ReasonTimeout)
	}
	if elapsed < timeout || elapsed > timeout+time.Second {
		t.Errorf("error after %s, want within [%s, %s]", elapsed, timeout, timeout+time.Second)
	}
	want := map[string]float64{
		"lmtp_webhook_spam_checks_total":                         1,
		"lmtp_webhook_spam_check_failures_total{reason=timeout}": 1,
		"lmtp_webhook_spam_check_duration_seconds_count":         1,
	}
	if got := gather(t, reg); !maps.Equal(got, want) {
		t.Errorf("metrics %v, want %v", got, want)
	}
}

func TestEndedContextStopsScan(t *testing.T) {
	c := newClient(t, spam.Config{URL: hangingListener(t), Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Check(ctx, spam.Input{Message: []byte("\r\n")})
	if err == nil {
		t.Fatal("no error when the caller's context ended")
	}
	if strings.Contains(err.Error(), "no answer within") {
		t.Errorf("error %q blames the scan's own timeout for the caller's deadline", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %s; the caller's deadline was 100ms", d)
	}
}

// TestRequest checks what goes on the wire, against a recording server:
// the real rspamd tests show rspamd understands it.
func TestRequest(t *testing.T) {
	type seen struct {
		method, path string
		header       http.Header
		body         string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.Header.Clone(), string(b)}
		io.WriteString(w, `{"score":1.5,"required_score":15,"action":"no action","symbols":{"B":{},"A":{}}}`)
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, spam.Config{URL: srv.URL + "/rspamd/", Password: "pw"})
	in := spam.Input{
		Message:    []byte("Subject: hi\r\n\r\nbody\r\n"),
		ClientIP:   netip.MustParseAddr("::ffff:192.0.2.7"),
		Helo:       "client.example",
		Hostname:   "client.example.net",
		QueueID:    "QID1",
		From:       "a@example.com",
		Recipients: []string{"b@example.org", "c@example.org"},
	}
	v, err := c.Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if v.Score != 1.5 || v.RequiredScore != 15 || v.Action != "no action" || !slices.Equal(v.Symbols, []string{"A", "B"}) {
		t.Errorf("verdict %+v", v)
	}
	r := <-got
	if r.method != http.MethodPost || r.path != "/rspamd/checkv2" || r.body != string(in.Message) {
		t.Errorf("request %s %s with body %q", r.method, r.path, r.body)
	}
	want := map[string][]string{
		"Ip": {"192.0.2.7"}, "Helo": {"client.example"}, "Hostname": {"client.example.net"},
		"Queue-Id": {"QID1"}, "From": {"a@example.com"}, "Rcpt": {"b@example.org", "c@example.org"},
		"Password": {"pw"}, "User-Agent": {"lmtp-webhook"},
	}
	for name, values := range want {
		if !slices.Equal(r.header[name], values) {
			t.Errorf("header %s = %q, want %q", name, r.header[name], values)
		}
	}

	// Nothing known, nothing sent but the null sender.
	if _, err := c.Check(context.Background(), spam.Input{Message: []byte("\r\n")}); err != nil {
		t.Fatal(err)
	}
	r = <-got
	for _, name := range []string{"Ip", "Helo", "Hostname", "Queue-Id", "Rcpt"} {
		if v, ok := r.header[name]; ok {
			t.Errorf("header %s = %q sent for an empty input", name, v)
		}
	}
	if from := r.header.Get("From"); from != "<>" {
		t.Errorf("From = %q for the null sender, want <>", from)
	}
}

func TestBadAnswers(t *testing.T) {
	redirected := make(chan struct{}, 1)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		redirected <- struct{}{}
	}))
	t.Cleanup(elsewhere.Close)
	cases := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   string
	}{
		{"error status", 500, nil, `{"error":"Message is too big"}`, `"500 Internal Server Error": "Message is too big"`},
		{"error status without json", 502, nil, `<html>bad gateway</html>`, `"502 Bad Gateway"`},
		{"not json", 200, nil, `pong`, "decode answer"},
		{"no verdict", 200, nil, `{"is_skipped":false}`, "no score or action"},
		{"too long", 200, nil, `{"action":"` + strings.Repeat("x", spam.MaxAnswerBytes) + `"}`, "longer than"},
		{"redirect", 307, map[string]string{"Location": elsewhere.URL + "/checkv2"}, "", `"307 Temporary Redirect"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			reg := prometheus.NewRegistry()
			c := newClient(t, spam.Config{URL: srv.URL, Metrics: spam.NewMetrics(reg)})
			v, err := c.Check(context.Background(), spam.Input{Message: []byte("\r\n")})
			if err == nil || v != nil {
				t.Fatalf("Check = %+v, %v; want only an error", v, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			var e *spam.Error
			if !errors.As(err, &e) || e.Reason != spam.ReasonAnswer {
				t.Errorf("error %#v, want a *spam.Error with reason %q", err, spam.ReasonAnswer)
			}
			if n := gather(t, reg)["lmtp_webhook_spam_check_failures_total{reason=answer}"]; n != 1 {
				t.Errorf("answer failures = %v, want 1", n)
			}
		})
	}
	select {
	case <-redirected:
		t.Error("the redirect was followed: the message went elsewhere")
	default:
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  spam.Config
		want string
	}{
		{"empty URL", spam.Config{}, "URL is empty"},
		{"not a URL", spam.Config{URL: "http://[::1"}, "URL"},
		{"other scheme", spam.Config{URL: "ftp://user:secret@127.0.0.1:11333"}, "scheme must be http or https"},
		{"no host", spam.Config{URL: "http:///checkv2"}, "no host"},
		{"query", spam.Config{URL: "http://127.0.0.1:11333/?x=1"}, "no query or fragment"},
		{"negative timeout", spam.Config{URL: "http://127.0.0.1:11333", Timeout: -time.Second}, "Timeout -1s is negative"},
		{"negative size limit", spam.Config{URL: "http://127.0.0.1:11333", MaxMessageBytes: -1}, "MaxMessageBytes -1 is negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := spam.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%+v) error %v, want one containing %q", tc.cfg, err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the URL's password", err)
			}
		})
	}
}

func TestMessageSizeLimit(t *testing.T) {
	scans := make(chan int, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		scans <- len(b)
		io.WriteString(w, `{"score":0,"required_score":15,"action":"no action","symbols":{}}`)
	}))
	t.Cleanup(srv.Close)
	const limit = 100
	reg := prometheus.NewRegistry()
	c := newClient(t, spam.Config{URL: srv.URL, MaxMessageBytes: limit, Metrics: spam.NewMetrics(reg)})
	if _, err := c.Check(context.Background(), spam.Input{Message: make([]byte, limit)}); err != nil {
		t.Fatalf("message at the limit: %v", err)
	}
	v, err := c.Check(context.Background(), spam.Input{Message: make([]byte, limit+1)})
	var e *spam.Error
	if v != nil || !errors.As(err, &e) || e.Reason != spam.ReasonTooLarge {
		t.Fatalf("message one past the limit: %+v, %#v; want a *spam.Error with reason %q", v, err, spam.ReasonTooLarge)
	}
	close(scans)
	var sent []int
	for n := range scans {
		sent = append(sent, n)
	}
	if !slices.Equal(sent, []int{limit}) {
		t.Errorf("rspamd received messages of %v bytes, want only [%d]", sent, limit)
	}
	if n := gather(t, reg)["lmtp_webhook_spam_check_failures_total{reason=too_large}"]; n != 1 {
		t.Errorf("too_large failures = %v, want 1", n)
	}
}

func TestNilClientScansNothing(t *testing.T) {
	var c *spam.Client
	if v, err := c.Check(context.Background(), spam.Input{Message: []byte("\r\n")}); v != nil || err != nil {
		t.Errorf("nil Client: %+v, %v; want nil, nil", v, err)
	}
}

func TestReject(t *testing.T) {
	cases := []struct {
		name      string
		score     float64
		threshold float64
		want      bool
	}{
		{"below", 14.99, 15, false},
		{"at", 15, 15, true},
		{"above", 1000, 15, true},
		{"negative score", -2, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := spam.Reject(&wire.Spam{Score: tc.score}, tc.threshold); got != tc.want {
				t.Errorf("Reject(%v, %v) = %v", tc.score, tc.threshold, got)
			}
		})
	}
	if spam.Reject(nil, 0) {
		t.Error("a failed scan (nil verdict) refuses mail")
	}
}
