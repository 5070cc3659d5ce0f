package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

// The command itself: configuration errors, the admin endpoints, metrics
// that move with real deliveries, and the drain on SIGTERM.

func TestConfigurationErrorsExit2(t *testing.T) {
	bin := bridgeBinary(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		env  []string
		code int
		want string
	}{
		{nil, 2, "WEBHOOK_URL: required, not set"},
		{[]string{"WEBHOOK_URL=ftp://x/"}, 2, "WEBHOOK_URL:"},
		{[]string{"WEBHOOK_URL=http://x", "WEBHOOK_TIMEOUT=soon"}, 2, "WEBHOOK_TIMEOUT: invalid"},
		{[]string{"WEBHOOK_URL=http://x", "WEBHOOK_ATTACHMENTS=zip"}, 2, "WEBHOOK_ATTACHMENTS: must be inline or omit"},
		{[]string{"WEBHOOK_URL=http://x", "WEBHOOK_INCLUDE_RAW=maybe"}, 2, "WEBHOOK_INCLUDE_RAW: invalid"},
		{[]string{"WEBHOOK_URL=http://x", "WEBHOOK_ROUTES=nonsense"}, 2, "WEBHOOK_ROUTES:"},
		{[]string{"WEBHOOK_URL=http://x", "CHECK_URL=mailto:x"}, 2, "CHECK_URL:"},
		{[]string{"WEBHOOK_URL=http://x", "RETRY_MAX_ATTEMPTS=0"}, 2, "RETRY_MAX_ATTEMPTS: must be at least 1"},
		{[]string{"WEBHOOK_URL=http://x", "RETRY_MAX_INTERVAL=1ms"}, 2, "RETRY_MAX_INTERVAL:"},
		{[]string{"WEBHOOK_URL=http://x", "LMTP_MAX_MESSAGE_BYTES=-5"}, 2, "LMTP_MAX_MESSAGE_BYTES:"},
		{[]string{"WEBHOOK_URL=http://x", "LMTP_MAX_CONNECTIONS=lots"}, 2, "LMTP_MAX_CONNECTIONS: invalid"},
		{[]string{"WEBHOOK_URL=http://x", "LMTP_SOCKET_MODE=rw"}, 2, "LMTP_SOCKET_MODE:"},
		{[]string{"WEBHOOK_URL=http://x", "LOG_LEVEL=loud"}, 2, "LOG_LEVEL: unknown level"},
		{[]string{"WEBHOOK_URL=http://x", "LOG_FORMAT=xml"}, 2, "LOG_FORMAT:"},
		{[]string{"WEBHOOK_URL=http://x", "SHUTDOWN_TIMEOUT=0s"}, 2, "SHUTDOWN_TIMEOUT: must be a positive duration"},
		{[]string{"WEBHOOK_URL=http://x", "LMTP_LISTEN=garbage"}, 2, "LMTP_LISTEN: want host:port"},
		{[]string{"WEBHOOK_URL=http://x", "HTTP_LISTEN=garbage"}, 2, "HTTP_LISTEN: want host:port"},
		{[]string{"WEBHOOK_URL=http://x", "MEMORY_LIMIT=lots"}, 2, "MEMORY_LIMIT: want bytes"},
		{[]string{"WEBHOOK_URL=http://x", "MEMORY_LIMIT=1MiB"}, 2, "MEMORY_LIMIT: must be at least 32MiB"},
		{[]string{"WEBHOOK_URL=http://x", "PARSE_TIMEOUT=0s"}, 2, "PARSE_TIMEOUT: must be a positive duration"},
		// A port in use is not a configuration error but a start failure.
		{[]string{"WEBHOOK_URL=http://x", "LMTP_LISTEN=" + busy.Addr().String(), "HTTP_LISTEN="}, 1, "address already in use"},
	}
	for _, c := range cases {
		cmd := exec.Command(bin)
		cmd.Env = c.env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != c.code {
			t.Errorf("%v: exit %v, want %d (%s)", c.env, err, c.code, stderr.String())
			continue
		}
		out := strings.TrimSpace(stderr.String())
		if c.code == 2 && strings.Count(out, "\n") != 0 {
			t.Errorf("%v: want one line, got:\n%s", c.env, out)
		}
		if !strings.Contains(out, c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.env, out, c.want)
		}
	}
}

func TestHelpPrintsTheConfigurationTable(t *testing.T) {
	out, err := exec.Command(bridgeBinary(t), "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v\n%s", err, out)
	}
	for _, name := range []string{
		"WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_TIMEOUT", "WEBHOOK_HEADERS", "WEBHOOK_ATTACHMENTS",
		"WEBHOOK_INCLUDE_RAW", "RETRY_MAX_ATTEMPTS", "RETRY_INITIAL_INTERVAL", "RETRY_MAX_INTERVAL",
		"RETRY_MAX_ELAPSED", "WEBHOOK_ROUTES", "CHECK_URL", "CHECK_TIMEOUT", "LMTP_LISTEN", "LMTP_HOSTNAME",
		"LMTP_DOMAINS", "LMTP_MAX_MESSAGE_BYTES", "LMTP_MAX_RECIPIENTS", "LMTP_MAX_CONNECTIONS",
		"LMTP_READ_TIMEOUT", "LMTP_WRITE_TIMEOUT", "HTTP_LISTEN", "SHUTDOWN_TIMEOUT", "LOG_LEVEL", "LOG_FORMAT",
		"MEMORY_LIMIT", "PARSE_TIMEOUT",
	} {
		if !regexp.MustCompile(`(?m)^` + name + `\s`).Match(out) {
			t.Errorf("-h does not list %s", name)
		}
	}
	if !regexp.MustCompile(`(?m)^\s+lmtp-webhook -version\s`).Match(out) {
		t.Errorf("-h does not list -version:\n%s", out)
	}
	if !strings.Contains(string(out), "26214400") || !strings.Contains(string(out), "127.0.0.1:2424") {
		t.Errorf("-h lacks the defaults:\n%s", out)
	}
}

// metric returns the value of one sample line of the bridge's /metrics.
func (b *bridge) metric(t *testing.T, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + b.httpAddr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", sample, err)
			}
			return f
		}
	}
	return 0
}

func (b *bridge) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + b.httpAddr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestAdminEndpointsAndMetrics(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery) {
		if strings.HasPrefix(d.Payload.Envelope.To, "gone") {
			w.WriteHeader(http.StatusGone)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	b := startBridge(t, rc.url())

	if code, body := b.get(t, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, _ := b.get(t, "/readyz"); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
	spec, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := b.get(t, "/openapi.yaml"); code != 200 || body != string(spec) {
		t.Errorf("/openapi.yaml: %d, %d bytes (file has %d)", code, len(body), len(spec))
	}

	samples := []string{
		`lmtp_webhook_deliveries_total{class="2xx",code="250"}`,
		`lmtp_webhook_deliveries_total{class="5xx",code="550"}`,
		`lmtp_webhook_messages_received_total`,
		`lmtp_webhook_webhook_attempts_total{outcome="success"}`,
		`lmtp_webhook_webhook_attempts_total{outcome="reject"}`,
		`lmtp_webhook_lmtp_connections_total`,
		`lmtp_webhook_reply_duration_seconds_count`,
		`lmtp_webhook_webhook_request_duration_seconds_count`,
	}
	before := map[string]float64{}
	for _, s := range samples {
		before[s] = b.metric(t, s)
	}
	cl := lmtptest.LHLO(t, b.lmtpAddr)
	replies := cl.Send("a@example.org", []string{"one@example.com", "two@example.com", "gone@example.com"}, "Subject: metrics\n\nhi\n")
	if !strings.HasPrefix(replies[2], "550 5.1.1") {
		t.Fatalf("replies %q", replies)
	}
	cl.Expect("221 ", "QUIT")
	want := map[string]float64{
		samples[0]: 2, samples[1]: 1, samples[2]: 1, samples[3]: 2, samples[4]: 1, samples[5]: 1, samples[6]: 3, samples[7]: 3,
	}
	for s, d := range want {
		if got := b.metric(t, s) - before[s]; got != d {
			t.Errorf("%s moved by %v, want %v", s, got, d)
		}
	}
	if open := b.metric(t, "lmtp_webhook_lmtp_connections_open"); open != 0 {
		// The QUIT is answered before the server notices the close.
		if !poll(5*time.Second, 20*time.Millisecond, func() bool { return b.metric(t, "lmtp_webhook_lmtp_connections_open") == 0 }) {
			t.Errorf("connections open after QUIT: %v", open)
		}
	}
}

func TestSIGTERMLetsAnInFlightDeliveryFinish(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery) {
		close(arrived)
		<-release
		w.WriteHeader(http.StatusOK)
	})
	b := startBridge(t, rc.url(), "SHUTDOWN_TIMEOUT=10s", "WEBHOOK_TIMEOUT=15s")
	cl := lmtptest.LHLO(t, b.lmtpAddr)
	idle := lmtptest.LHLO(t, b.lmtpAddr)
	cl.Expect("250 ", "MAIL FROM:<a@example.org>")
	cl.Expect("250 ", "RCPT TO:<r@example.com>")
	cl.Expect("354 ", "DATA")
	cl.Write(lmtptest.Stuff("Subject: drain\n\nhi\n"))
	<-arrived

	b.stopped = true
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if r := idle.Reply(); !strings.HasPrefix(r, "421 4.3.2") {
		t.Errorf("idle client during drain: %q", r)
	}
	if !poll(5*time.Second, 20*time.Millisecond, func() bool {
		resp, err := http.Get("http://" + b.httpAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	}) {
		t.Errorf("/readyz did not report 503 while draining")
	}
	if c, err := net.DialTimeout("tcp", b.lmtpAddr, time.Second); err == nil {
		c.SetReadDeadline(time.Now().Add(time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.HasPrefix(line, "220") {
			t.Errorf("a new client was greeted while draining")
		}
	}
	close(release)
	if r := cl.Reply(); r != "250 2.0.0 <r@example.com> delivered" {
		t.Errorf("in-flight delivery: %q", r)
	}
	select {
	case <-b.done:
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after the drain")
	}
	if code := b.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d", code)
	}
}
