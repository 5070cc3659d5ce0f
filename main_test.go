package main

// Interoperability tests: the built binary, started as a subprocess the way
// an operator runs it, against LMTP clients we did not write (Python's
// smtplib, swaks, Postfix's smtp-source and Postfix itself) and a real HTTP
// receiver standing in for a user's webhook.
//
// Each test looks its peer up and skips when it is missing, unless
// LMTP_WEBHOOK_REQUIRE_PEERS=1 (as in CI), which makes a missing peer a
// failure. The Postfix test needs root, as `postfix start` does.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

// requirePeersEnv names the variable that turns a missing peer from a skip
// into a failure.
const requirePeersEnv = "LMTP_WEBHOOK_REQUIRE_PEERS"

// testVersion is stamped into the binary; requests must carry it in their
// User-Agent.
const testVersion = "interop-test"

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// bridgeBinary builds the program once per test run, the first time a test
// needs it, and returns its path.
func bridgeBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			binErr = fmt.Errorf("the go tool is not in PATH: %w", err)
			return
		}
		binDir, binErr = os.MkdirTemp("", "lmtp-webhook-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "lmtp-webhook")
		cmd := exec.Command(goTool, "build", "-ldflags", "-X main.version="+testVersion, "-o", binPath, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatalf("building the binary: %v", binErr)
	}
	return binPath
}

// peer returns the path of an external program, or skips the test (fails
// it when peers are required) when the program is not installed.
func peer(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	// Postfix's tools live in sbin, which is not in every user's PATH.
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	missingPeer(t, "%s is not installed (not in PATH nor in an sbin directory)", name)
	return ""
}

func missingPeer(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requirePeersEnv) == "1" {
		t.Fatalf("%s; %s=1 makes this a failure", msg, requirePeersEnv)
	}
	t.Skipf("%s; skipped (set %s=1 to make this a failure)", msg, requirePeersEnv)
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// poll calls cond every interval until it returns true or timeout has
// passed, and reports whether it did return true.
func poll(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
}

// errorLimit reports the first few of many failures alike, then how many
// more there were, so that one broken promise does not print a thousand
// lines.
type errorLimit struct {
	t      *testing.T
	n, max int
}

func (e *errorLimit) Errorf(format string, args ...any) {
	e.t.Helper()
	if e.n++; e.n <= e.max {
		e.t.Errorf(format, args...)
	}
}

// flush reports what was held back and starts a new group.
func (e *errorLimit) flush() {
	e.t.Helper()
	if e.n > e.max {
		e.t.Errorf("... and %d more failures like the above", e.n-e.max)
	}
	e.n = 0
}

// lockedBuffer collects a subprocess's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// bridge is the built binary running as a subprocess.
type bridge struct {
	cmd      *exec.Cmd
	lmtpAddr string
	httpAddr string
	output   *lockedBuffer
	done     chan struct{} // closed when the process has exited
	stopped  bool
}

// startBridge runs the binary with a clean environment: the given webhook
// URL, free loopback ports, short timeouts and retries, then env (later
// values win). It returns once /readyz answers 200, and stops the process
// when the test ends.
func startBridge(t *testing.T, webhookURL string, env ...string) *bridge {
	t.Helper()
	bin := bridgeBinary(t)
	b := &bridge{lmtpAddr: freeAddr(t), httpAddr: freeAddr(t), output: &lockedBuffer{}, done: make(chan struct{})}
	b.cmd = exec.Command(bin)
	b.cmd.Env = append([]string{
		"WEBHOOK_URL=" + webhookURL,
		"LMTP_LISTEN=" + b.lmtpAddr,
		"HTTP_LISTEN=" + b.httpAddr,
		"LMTP_HOSTNAME=bridge.example.test",
		"WEBHOOK_TIMEOUT=1s",
		"RETRY_MAX_ATTEMPTS=4",
		"RETRY_INITIAL_INTERVAL=50ms",
		"RETRY_MAX_INTERVAL=500ms",
		"RETRY_MAX_ELAPSED=3s",
		"SHUTDOWN_TIMEOUT=5s",
		"LOG_LEVEL=info",
		"LOG_FORMAT=json",
	}, env...)
	b.cmd.Stdout = b.output
	b.cmd.Stderr = b.output
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		_ = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		if !b.stopped {
			b.stop(t)
		}
		if t.Failed() {
			t.Logf("bridge output:\n%s", tail(b.output.String(), 60))
		}
	})

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get("http://" + b.httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bridge not ready within 15s (last: %v)\n%s", err, tail(b.output.String(), 40))
		}
		select {
		case <-b.done:
			t.Fatalf("bridge exited before it was ready: %v\n%s", b.cmd.ProcessState, tail(b.output.String(), 40))
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM and requires a clean exit, code 0, within the drain
// time.
func (b *bridge) stop(t *testing.T) {
	t.Helper()
	if b.stopped {
		return
	}
	b.stopped = true
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-b.done:
	case <-time.After(20 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
		t.Errorf("bridge did not exit within 20s of SIGTERM")
		return
	}
	if code := b.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("bridge exit code after SIGTERM = %d, want 0 (%v)", code, b.cmd.ProcessState)
	}
}

// wirePayload is the request body as DESIGN.md documents it, decoded by
// JSON name the way a receiver in any language reads it.
type wirePayload struct {
	ID       string `json:"id"`
	Envelope struct {
		From       string   `json:"from"`
		To         string   `json:"to"`
		Recipients []string `json:"recipients"`
		Helo       string   `json:"helo"`
		RemoteAddr string   `json:"remote_addr"`
		Size       int64    `json:"size"`
	} `json:"envelope"`
	MessageID string `json:"message_id"`
	Subject   string `json:"subject"`
	From      []struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"from"`
	Text        string `json:"text"`
	Attachments []struct {
		Filename    string `json:"filename"`
		ContentType string `json:"content_type"`
		Disposition string `json:"disposition"`
		Size        int    `json:"size"`
		SHA256      string `json:"sha256"`
		Content     []byte `json:"content"` // base64 on the wire
	} `json:"attachments"`
}

// delivery is one POST as the receiver saw it.
type delivery struct {
	WebhookID string
	Timestamp string
	UserAgent string
	Payload   wirePayload
}

// receiver is a real HTTP server standing in for a user's webhook: it
// records every request, then lets answer reply (200 when answer is nil).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	answer func(w http.ResponseWriter, r *http.Request, d *delivery)

	mu  sync.Mutex
	got []delivery
}

func newReceiver(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, d *delivery)) *receiver {
	t.Helper()
	rc := &receiver{t: t, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		// The bridge gave up while sending: nothing to record.
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("receiver: got %s with Content-Type %q, want POST application/json", r.Method, r.Header.Get("Content-Type"))
	}
	d := delivery{
		WebhookID: r.Header.Get("webhook-id"),
		Timestamp: r.Header.Get("webhook-timestamp"),
		UserAgent: r.Header.Get("User-Agent"),
	}
	if err := json.Unmarshal(body, &d.Payload); err != nil {
		rc.t.Errorf("receiver: body is not the documented JSON: %v\n%.500s", err, body)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if d.WebhookID == "" || d.WebhookID != d.Payload.ID {
		rc.t.Errorf("receiver: webhook-id header %q, body id %q: want the same, not empty", d.WebhookID, d.Payload.ID)
	}
	rc.mu.Lock()
	rc.got = append(rc.got, d)
	rc.mu.Unlock()
	if rc.answer == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	rc.answer(w, r, &d)
}

func (rc *receiver) url() string { return rc.srv.URL + "/hook" }

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// checkHeaders asserts what every request carries besides the body.
func checkHeaders(t *testing.T, d delivery) {
	t.Helper()
	if want := "lmtp-webhook/" + testVersion; d.UserAgent != want {
		t.Errorf("User-Agent = %q, want %q", d.UserAgent, want)
	}
	ts, err := strconv.ParseInt(d.Timestamp, 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		t.Errorf("webhook-timestamp = %q, want the current Unix time in seconds", d.Timestamp)
	}
}

// TestInteropPythonSmtplib sends one message to several recipients with
// Python's smtplib.LMTP and checks that each recipient gets, after DATA,
// the reply its own webhook answer earned, in RCPT order.
func TestInteropPythonSmtplib(t *testing.T) {
	python := peer(t, "python3")
	t.Parallel()

	const (
		ok1     = "ok1@example.test"
		ok2     = "ok2@example.test"
		missing = "missing@example.test"
		busy    = "busy@example.test"
		full    = "full@example.test"
		foreign = "stranger@other.test"
		sender  = "sender@example.test"
		subject = "Grüße from smtplib ✓"
	)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery) {
		switch d.Payload.Envelope.To {
		case ok1:
			w.WriteHeader(http.StatusOK)
		case ok2:
			w.WriteHeader(http.StatusCreated)
		case missing:
			w.WriteHeader(http.StatusNotFound)
		case busy:
			w.WriteHeader(http.StatusServiceUnavailable)
		case full:
			// An explicit answer wins over the status, which alone would
			// be retried.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInsufficientStorage)
			io.WriteString(w, `{"code": 452, "enhanced_code": "4.2.2", "message": "mailbox full"}`)
		default:
			t.Errorf("request for unexpected recipient %q", d.Payload.Envelope.To)
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	b := startBridge(t, rc.url(), "LMTP_DOMAINS=example.test", "RETRY_MAX_ATTEMPTS=3")

	host, port, _ := net.SplitHostPort(b.lmtpAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{filepath.Join("testdata", "interop", "lmtp_send.py"), host, port, sender, subject,
		ok1, missing, foreign, busy, full, ok2, ok1}
	cmd := exec.CommandContext(ctx, python, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lmtp_send.py: %v\n%s", err, stderr.String())
	}
	var res struct {
		Lhlo, Mail []any
		Rcpt, Data []struct {
			Rcpt string
			Code int
			Text string
		}
		MessageID string `json:"message_id"`
		Size      int64
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("lmtp_send.py output: %v\n%s", err, out)
	}

	// RCPT: the foreign domain is refused at once, the rest accepted.
	if len(res.Rcpt) != 7 {
		t.Fatalf("got %d RCPT replies, want 7: %+v", len(res.Rcpt), res.Rcpt)
	}
	for _, r := range res.Rcpt {
		want, prefix := 250, ""
		if r.Rcpt == foreign {
			want, prefix = 550, "5.1.2 "
		}
		if r.Code != want || !strings.HasPrefix(r.Text, prefix) {
			t.Errorf("RCPT %s: got %d %q, want %d %s...", r.Rcpt, r.Code, r.Text, want, prefix)
		}
	}

	// After DATA: one reply per accepted RCPT, in RCPT order; a recipient
	// given twice is answered twice.
	want := []struct {
		rcpt   string
		code   int
		prefix string
		reason string
	}{
		{ok1, 250, "2.0.0 ", ""},
		{missing, 550, "5.1.1 ", ""},
		{busy, 451, "4.", "503"},
		{full, 452, "4.2.2 ", "mailbox full"},
		{ok2, 250, "2.0.0 ", ""},
		{ok1, 250, "2.0.0 ", ""},
	}
	if len(res.Data) != len(want) {
		t.Fatalf("got %d replies after DATA, want %d: %+v", len(res.Data), len(want), res.Data)
	}
	for i, w := range want {
		got := res.Data[i]
		if got.Rcpt != w.rcpt || got.Code != w.code || !strings.HasPrefix(got.Text, w.prefix) || !strings.Contains(got.Text, w.reason) {
			t.Errorf("reply %d after DATA: got %s %d %q, want %s %d %s...%s", i+1, got.Rcpt, got.Code, got.Text, w.rcpt, w.code, w.prefix, w.reason)
		}
	}

	// The receiver: one request per distinct accepted recipient, three for
	// the one answering 503 (RETRY_MAX_ATTEMPTS), all with the same id.
	wantRcpts := []string{ok1, missing, busy, full, ok2}
	wantCount := map[string]int{ok1: 1, missing: 1, busy: 3, full: 1, ok2: 1}
	count := map[string]int{}
	idOf := map[string]string{}
	for _, d := range rc.deliveries() {
		p := d.Payload
		to := p.Envelope.To
		count[to]++
		checkHeaders(t, d)
		if id, ok := idOf[to]; ok && id != d.WebhookID {
			t.Errorf("%s: webhook-id changed between attempts: %q then %q", to, id, d.WebhookID)
		}
		idOf[to] = d.WebhookID
		if !slices.Equal(p.Envelope.Recipients, wantRcpts) {
			t.Errorf("%s: envelope.recipients = %q, want %q", to, p.Envelope.Recipients, wantRcpts)
		}
		if p.Envelope.From != sender || p.Envelope.Helo != "smtplib.example.test" {
			t.Errorf("%s: envelope from %q helo %q, want %q and smtplib.example.test", to, p.Envelope.From, p.Envelope.Helo, sender)
		}
		if p.Envelope.Size != res.Size || !strings.HasPrefix(p.Envelope.RemoteAddr, "127.0.0.1:") {
			t.Errorf("%s: envelope size %d remote_addr %q, want %d (bytes sent) and 127.0.0.1:port", to, p.Envelope.Size, p.Envelope.RemoteAddr, res.Size)
		}
		if p.Subject != subject {
			t.Errorf("%s: subject = %q, want %q", to, p.Subject, subject)
		}
		if wantID := strings.Trim(res.MessageID, "<>"); p.MessageID != wantID {
			t.Errorf("%s: message_id = %q, want %q", to, p.MessageID, wantID)
		}
		if len(p.From) != 1 || p.From[0].Address != sender || p.From[0].Name != "Interop Sender" {
			t.Errorf("%s: from = %+v, want Interop Sender <%s>", to, p.From, sender)
		}
		if !strings.Contains(p.Text, "\n.A line that starts with a dot") || !strings.Contains(p.Text, "café, über, 日本") {
			t.Errorf("%s: text lost its dot line or its UTF-8: %q", to, p.Text)
		}
	}
	for _, r := range wantRcpts {
		if count[r] != wantCount[r] {
			t.Errorf("receiver got %d requests for %s, want %d", count[r], r, wantCount[r])
		}
	}
	if count[foreign] != 0 {
		t.Errorf("receiver got %d requests for %s, refused at RCPT, want 0", count[foreign], foreign)
	}
	ids := map[string]bool{}
	for _, id := range idOf {
		ids[id] = true
	}
	if len(ids) != len(wantRcpts) {
		t.Errorf("got %d distinct webhook-ids for %d recipients: %v", len(ids), len(wantRcpts), idOf)
	}
	b.stop(t)
}

// TestInteropSwaksAttachment sends a message with a binary attachment to
// two recipients with swaks and checks that both are delivered and that
// the attachment arrives byte for byte.
func TestInteropSwaksAttachment(t *testing.T) {
	swaks := peer(t, "swaks")
	t.Parallel()

	rc := newReceiver(t, nil)
	b := startBridge(t, rc.url())

	// Every byte value, then a pattern, so that any re-encoding shows.
	content := make([]byte, 70_000)
	for i := range content {
		content[i] = byte(i*7 + i/251)
	}
	copy(content, func() []byte {
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		return all
	}())
	sum := sha256.Sum256(content)
	attachment := filepath.Join(t.TempDir(), "report.bin")
	if err := os.WriteFile(attachment, content, 0o644); err != nil {
		t.Fatal(err)
	}

	host, port, _ := net.SplitHostPort(b.lmtpAddr)
	const subject = "swaks attachment interop"
	rcpts := []string{"alice@example.test", "bob@example.test"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, swaks, "--protocol", "LMTP", "--server", host, "--port", port,
		"--helo", "swaks.example.test", "--from", "sender@example.test", "--to", strings.Join(rcpts, ","),
		"--header", "Subject: "+subject, "--body", "The report is attached.",
		"--attach-type", "application/octet-stream", "--attach", "@"+attachment,
		"--timeout", "30")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}

	// swaks prints " -> ." at the end of the data, then one "<-" line per
	// recipient; "<**" marks a reply it counts as an error.
	transcript := string(out)
	_, afterData, found := strings.Cut(transcript, " -> .\n")
	if !found {
		t.Fatalf("no end of data in the swaks transcript:\n%s", transcript)
	}
	var replies []string
	for _, line := range strings.Split(afterData, "\n") {
		if strings.HasPrefix(line, "<-") || strings.HasPrefix(line, "<**") {
			replies = append(replies, line)
		}
	}
	if len(replies) < len(rcpts) {
		t.Fatalf("swaks shows %d replies after the data, want %d:\n%s", len(replies), len(rcpts), transcript)
	}
	for i := range rcpts {
		if !strings.HasPrefix(replies[i], "<-  250 2.0.0 ") {
			t.Errorf("reply %d after the data: %q, want <-  250 2.0.0 ...", i+1, replies[i])
		}
	}

	got := rc.deliveries()
	if len(got) != len(rcpts) {
		t.Fatalf("receiver got %d requests, want %d", len(got), len(rcpts))
	}
	seen := map[string]bool{}
	for _, d := range got {
		p := d.Payload
		checkHeaders(t, d)
		seen[p.Envelope.To] = true
		if p.Subject != subject {
			t.Errorf("%s: subject = %q, want %q", p.Envelope.To, p.Subject, subject)
		}
		if !slices.Equal(p.Envelope.Recipients, rcpts) {
			t.Errorf("%s: envelope.recipients = %q, want %q", p.Envelope.To, p.Envelope.Recipients, rcpts)
		}
		if len(p.Attachments) != 1 {
			t.Errorf("%s: got %d attachments, want 1", p.Envelope.To, len(p.Attachments))
			continue
		}
		a := p.Attachments[0]
		if a.Filename != "report.bin" || a.ContentType != "application/octet-stream" {
			t.Errorf("%s: attachment %q %q, want report.bin application/octet-stream", p.Envelope.To, a.Filename, a.ContentType)
		}
		if !bytes.Equal(a.Content, content) {
			t.Errorf("%s: attachment content differs from the file (%d bytes, want %d)", p.Envelope.To, len(a.Content), len(content))
		}
		if a.SHA256 != hex.EncodeToString(sum[:]) || a.Size != len(content) {
			t.Errorf("%s: attachment sha256 %s size %d, want %x %d", p.Envelope.To, a.SHA256, a.Size, sum, len(content))
		}
	}
	for _, r := range rcpts {
		if !seen[r] {
			t.Errorf("no request for %s", r)
		}
	}
	b.stop(t)
}

// TestInteropSmtpSourceLoad drives the bridge with Postfix's LMTP load
// generator: many sessions, many messages, several recipients each, and
// every delivery must reach the receiver exactly once.
func TestInteropSmtpSourceLoad(t *testing.T) {
	smtpSource := peer(t, "smtp-source")
	t.Parallel()

	const (
		sessions = 10
		messages = 300
		perMsg   = 5
		subject  = "smtp-source load"
	)
	rc := newReceiver(t, nil)
	b := startBridge(t, rc.url())

	// -N numbers recipients 1rcpt@..., 2rcpt@..., once across the whole
	// run, so that each (message, recipient) is a distinct recipient even
	// though smtp-source's messages are otherwise nearly identical (their
	// Message-Id is not even unique).
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, smtpSource, "-L", "-s", strconv.Itoa(sessions), "-m", strconv.Itoa(messages),
		"-r", strconv.Itoa(perMsg), "-N", "-l", "2000", "-S", subject,
		"-M", "client.example.test", "-f", "sender@example.test", "-t", "rcpt@example.test", b.lmtpAddr)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("smtp-source (it stops at the first unexpected reply): %v\n%s", err, out)
	}
	elapsed := time.Since(start)

	// smtp-source has read every 250, and the bridge answers 250 only
	// after the webhook did: everything has arrived.
	got := rc.deliveries()
	total := messages * perMsg
	if len(got) != total {
		t.Errorf("receiver got %d requests, want %d (%d messages x %d recipients)", len(got), total, messages, perMsg)
	}
	perRcpt := map[string]int{}
	ids := map[string]string{}
	groups := map[string][]string{} // the transaction's recipients -> the recipients delivered
	errs := &errorLimit{t: t, max: 10}
	for _, d := range got {
		p := d.Payload
		to := p.Envelope.To
		perRcpt[to]++
		if other, dup := ids[d.WebhookID]; dup && other != to {
			errs.Errorf("webhook-id %s used for %s and %s", d.WebhookID, other, to)
		}
		ids[d.WebhookID] = to
		key := strings.Join(p.Envelope.Recipients, ",")
		groups[key] = append(groups[key], to)
		if p.Subject != subject || p.Envelope.Helo != "client.example.test" || p.Envelope.From != "sender@example.test" {
			errs.Errorf("%s: subject %q helo %q from %q", to, p.Subject, p.Envelope.Helo, p.Envelope.From)
		}
	}
	for i := 1; i <= total; i++ {
		r := fmt.Sprintf("%drcpt@example.test", i)
		if perRcpt[r] != 1 {
			errs.Errorf("%s: %d requests, want 1", r, perRcpt[r])
		}
	}
	errs.flush()
	for key, delivered := range groups {
		slices.Sort(delivered)
		want := strings.Split(key, ",")
		slices.Sort(want)
		if len(want) != perMsg || !slices.Equal(delivered, want) {
			errs.Errorf("message to %s: delivered to %q", key, delivered)
		}
	}
	errs.flush()
	if len(perRcpt) != total || len(ids) != total {
		t.Errorf("%d distinct recipients and %d distinct webhook-ids, want %d of each", len(perRcpt), len(ids), total)
	}
	if len(groups) != messages {
		t.Errorf("%d distinct recipient lists, want one per message: %d", len(groups), messages)
	}
	t.Logf("smtp-source: %d messages x %d recipients over %d sessions in %s (%.0f deliveries/s)",
		messages, perMsg, sessions, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	b.stop(t)
}

// Faults the receiver of the Postfix test injects.
type fault int

const (
	faultNone fault = iota
	// fault500 answers 500 without acting on the delivery.
	fault500
	// faultHang never answers; the bridge gives up at WEBHOOK_TIMEOUT.
	faultHang
	// faultDrop closes the connection in the middle of a 200 answer,
	// without acting on the delivery.
	faultDrop
	// faultLate acts on the delivery, then answers only after the bridge
	// has given up: the bridge must try again, which makes a duplicate.
	faultLate
	// faultDropAfter acts on the delivery, then closes the connection in
	// the middle of a 200 answer: also a duplicate to come.
	faultDropAfter
	numFaults
)

var faultNames = [numFaults]string{"none", "http500", "hang", "drop", "late", "drop_after"}

// pair is one recipient of one message: the unit of delivery.
type pair struct{ messageID, rcpt string }

// pairStats is what the receiver saw of one pair.
type pairStats struct {
	requests  int
	processed int // times the receiver acted on it
	acked     int // 2xx answers sent at once
	ids       map[string]bool
}

// chaos answers for a receiver that fails at random during a window, then
// recovers.
type chaos struct {
	rate    float64       // share of requests that fail during the window
	window  time.Duration // counted from the first request
	hangCap time.Duration // longest a hanging answer waits

	mu     sync.Mutex
	rng    *rand.Rand
	until  time.Time
	forced []fault // the first faults, so that each kind occurs
	faults [numFaults]int
	pairs  map[pair]*pairStats
}

func (c *chaos) pick() fault {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.until.IsZero() {
		c.until = now.Add(c.window)
	}
	if now.After(c.until) || c.rng.Float64() >= c.rate {
		return faultNone
	}
	f := faultNone
	if len(c.forced) > 0 {
		f, c.forced = c.forced[0], c.forced[1:]
	} else {
		switch x := c.rng.Float64(); {
		case x < 0.30:
			f = fault500
		case x < 0.45:
			f = faultHang
		case x < 0.65:
			f = faultDrop
		case x < 0.80:
			f = faultLate
		default:
			f = faultDropAfter
		}
	}
	c.faults[f]++
	return f
}

func (c *chaos) record(d *delivery, processed, acked bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := pair{d.Payload.MessageID, d.Payload.Envelope.To}
	s := c.pairs[k]
	if s == nil {
		s = &pairStats{ids: map[string]bool{}}
		c.pairs[k] = s
	}
	s.requests++
	s.ids[d.WebhookID] = true
	if processed {
		s.processed++
	}
	if acked {
		s.acked++
	}
}

func (c *chaos) answer(w http.ResponseWriter, r *http.Request, d *delivery) {
	f := c.pick()
	switch f {
	case faultNone:
		c.record(d, true, true)
		w.WriteHeader(http.StatusOK)
	case fault500:
		c.record(d, false, false)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "injected fault")
	case faultHang, faultLate:
		c.record(d, f == faultLate, false)
		select {
		case <-r.Context().Done(): // the bridge hung up
		case <-time.After(c.hangCap):
		}
		if f == faultHang {
			// Never let a 200 out for a delivery not acted on.
			panic(http.ErrAbortHandler)
		}
		w.WriteHeader(http.StatusOK) // too late: nobody is listening
	case faultDrop, faultDropAfter:
		c.record(d, f == faultDropAfter, false)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n{\"ok\":")
		buf.Flush()
		conn.Close()
	}
}

// postfixInstance is a private Postfix started from the system's packages
// with its own configuration, queue and log.
type postfixInstance struct {
	postfix, postqueue string
	dir, configDir     string
	smtpAddr           string
	mailLog            string
}

func (p *postfixInstance) run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

func (p *postfixInstance) log() string {
	b, _ := os.ReadFile(p.mailLog)
	return string(b)
}

// postfixPeers returns the paths of postfix and postqueue, or skips the
// test (fails it when peers are required) when they are missing or when
// the test does not run as root, which `postfix start` needs.
func postfixPeers(t *testing.T) (postfix, postqueue string) {
	t.Helper()
	postfix, postqueue = peer(t, "postfix"), peer(t, "postqueue")
	if os.Geteuid() != 0 {
		missingPeer(t, "starting Postfix needs root")
	}
	return postfix, postqueue
}

// startPostfix writes the configuration from testdata/interop/postfix,
// starts the instance and stops it, and removes everything, when the test
// ends.
func startPostfix(t *testing.T, postfix, postqueue, lmtpAddr string, concurrency int) *postfixInstance {
	t.Helper()
	p := &postfixInstance{postfix: postfix, postqueue: postqueue}
	dir, err := os.MkdirTemp("", "lwh-pf-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Postfix's daemons run as the postfix user and must reach the queue.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(dir); d != "/"; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 {
			t.Fatalf("%s is not searchable by the postfix user; point TMPDIR elsewhere", d)
		}
	}
	p.configDir = filepath.Join(dir, "etc")
	if err := os.Mkdir(p.configDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "queue"), 0o755); err != nil {
		t.Fatal(err)
	}
	p.smtpAddr = freeAddr(t)
	p.mailLog = filepath.Join("/var/log", "lmtp-webhook-interop-"+filepath.Base(dir)+".log")
	t.Cleanup(func() { os.Remove(p.mailLog) })

	vars := map[string]any{
		"ConfigDir":   p.configDir,
		"QueueDir":    filepath.Join(dir, "queue"),
		"DataDir":     filepath.Join(dir, "data"),
		"SMTPAddr":    p.smtpAddr,
		"LMTPAddr":    lmtpAddr,
		"MailLog":     p.mailLog,
		"Concurrency": concurrency,
	}
	for _, name := range []string{"main.cf", "master.cf"} {
		tmpl, err := template.ParseFiles(filepath.Join("testdata", "interop", "postfix", name+".tmpl"))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, vars); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p.configDir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Registered before start: a start that fails half-way is stopped too.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := p.run(ctx, p.postfix, "-c", p.configDir, "stop"); err != nil &&
			!strings.Contains(out, "not running") {
			t.Errorf("postfix stop: %v\n%s", err, out)
		}
		if t.Failed() {
			t.Logf("Postfix log %s:\n%s", p.mailLog, tail(p.log(), 60))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := p.run(ctx, p.postfix, "-c", p.configDir, "start"); err != nil {
		t.Fatalf("postfix start: %v\n%s\nlog:\n%s", err, out, tail(p.log(), 30))
	}
	// The master opens its listeners before start returns; make sure.
	var dialErr error
	if !poll(10*time.Second, 20*time.Millisecond, func() bool {
		c, err := net.DialTimeout("tcp", p.smtpAddr, time.Second)
		if err == nil {
			c.Close()
		}
		dialErr = err
		return err == nil
	}) {
		t.Fatalf("Postfix smtpd not listening on %s: %v", p.smtpAddr, dialErr)
	}
	return p
}

// waitEmpty polls the queue until Postfix reports it empty.
func (p *postfixInstance) waitEmpty(t *testing.T, timeout time.Duration) {
	t.Helper()
	var out string
	var err error
	if !poll(timeout, 200*time.Millisecond, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err = p.run(ctx, p.postqueue, "-c", p.configDir, "-p")
		return err == nil && strings.Contains(out, "Mail queue is empty")
	}) {
		t.Fatalf("Postfix queue not empty after %s (%v):\n%s", timeout, err, tail(out, 30))
	}
}

var logStatus = regexp.MustCompile(`: to=<([^>]*)>.* status=(\w+)`)

// statuses counts the maillog's delivery status lines, by status and, for
// status=sent, by recipient.
func (p *postfixInstance) statuses() (byStatus map[string]int, sent map[string]int) {
	byStatus, sent = map[string]int{}, map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(p.log()))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := logStatus.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		byStatus[m[2]]++
		if m[2] == "sent" {
			sent[m[1]]++
		}
	}
	return byStatus, sent
}

// TestInteropPostfixFaults runs Postfix, from the system's packages, in
// front of the bridge, with a webhook that fails in every way for a while
// and then recovers: once the queue drains, every recipient of every
// message must have been delivered, none bounced, and redeliveries must
// carry the id of the first attempt.
func TestInteropPostfixFaults(t *testing.T) {
	smtpSource := peer(t, "smtp-source")
	postfix, postqueue := postfixPeers(t)

	const (
		messages = 300
		perMsg   = 5
		sessions = 10
	)
	c := &chaos{
		rate:    0.35,
		window:  8 * time.Second,
		hangCap: 10 * time.Second,
		rng:     rand.New(rand.NewPCG(4, 5)),
		forced:  []fault{fault500, faultHang, faultDrop, faultLate, faultDropAfter},
		pairs:   map[pair]*pairStats{},
	}
	rc := newReceiver(t, c.answer)
	b := startBridge(t, rc.url(), "RETRY_MAX_ATTEMPTS=3")
	pf := startPostfix(t, postfix, postqueue, b.lmtpAddr, 10)

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	msgFile := filepath.Join("testdata", "interop", "postfix", "message.eml")
	inject := exec.CommandContext(ctx, smtpSource, "-s", strconv.Itoa(sessions), "-m", strconv.Itoa(messages),
		"-r", strconv.Itoa(perMsg), "-N", "-F", msgFile, "-M", "client.example.test",
		"-f", "sender@example.test", "-t", "rcpt@example.test", pf.smtpAddr)
	if out, err := inject.CombinedOutput(); err != nil {
		t.Fatalf("smtp-source into Postfix: %v\n%s", err, out)
	}
	injected := time.Since(start)
	pf.waitEmpty(t, 120*time.Second)
	drain := time.Since(start)

	// postlogd writes asynchronously: wait for every status=sent line.
	total := messages * perMsg
	var byStatus, sent map[string]int
	poll(10*time.Second, 100*time.Millisecond, func() bool {
		byStatus, sent = pf.statuses()
		return len(sent) >= total
	})
	// The queue is empty: nothing is in flight any more.
	b.stop(t)

	c.mu.Lock()
	defer c.mu.Unlock()
	msgs := map[string]int{} // Message-ID -> recipients seen
	rcpts := map[string]bool{}
	requests, deliveries, duplicates := 0, 0, 0
	for k, s := range c.pairs {
		msgs[k.messageID]++
		rcpts[k.rcpt] = true
		requests += s.requests
		deliveries += s.acked
		duplicates += max(s.processed-1, 0)
	}
	var faults []string
	for f := fault500; f < numFaults; f++ {
		faults = append(faults, fmt.Sprintf("%s:%d", faultNames[f], c.faults[f]))
	}
	summary := fmt.Sprintf("postfix-faults: messages=%d recipients=%d requests=%d deliveries=%d retries=%d duplicates=%d mta_deferrals=%d faults=%s inject=%s drain=%s",
		len(msgs), len(c.pairs), requests, deliveries, requests-len(c.pairs), duplicates, byStatus["deferred"],
		strings.Join(faults, ","), injected.Round(time.Millisecond), drain.Round(time.Millisecond))
	t.Log(summary)
	fmt.Println(summary)

	// Postfix: every recipient sent once, nothing bounced, and some
	// recipients deferred, so that its redelivery was exercised.
	if byStatus["bounced"] != 0 || byStatus["expired"] != 0 {
		t.Errorf("Postfix bounced %d and expired %d deliveries, want none", byStatus["bounced"], byStatus["expired"])
	}
	errs := &errorLimit{t: t, max: 10}
	for i := 1; i <= total; i++ {
		r := fmt.Sprintf("%drcpt@example.test", i)
		if sent[r] != 1 {
			errs.Errorf("Postfix logged status=sent %d times for %s, want once", sent[r], r)
		}
	}
	errs.flush()
	if byStatus["deferred"] == 0 {
		t.Errorf("Postfix deferred nothing: the faults never reached the MTA, so its redelivery went untested")
	}

	// The receiver: every (message, recipient) answered 2xx at least once,
	// and all its requests, in-process retries and Postfix's redeliveries
	// alike, carry one webhook-id that no other pair has.
	if len(msgs) != messages || len(c.pairs) != total || len(rcpts) != total {
		t.Errorf("receiver saw %d Message-IDs, %d (message, recipient) pairs and %d recipients, want %d, %d and %d",
			len(msgs), len(c.pairs), len(rcpts), messages, total, total)
	}
	idOwner := map[string]pair{}
	for k, s := range c.pairs {
		if s.acked == 0 {
			errs.Errorf("%s of %s: never answered 2xx (%d requests, %d processed), yet Postfix considers it delivered", k.rcpt, k.messageID, s.requests, s.processed)
		}
		if len(s.ids) != 1 {
			errs.Errorf("%s of %s: %d different webhook-ids over %d requests, want 1", k.rcpt, k.messageID, len(s.ids), s.requests)
		}
		for id := range s.ids {
			if other, dup := idOwner[id]; dup {
				errs.Errorf("webhook-id %s used for both %v and %v", id, other, k)
			}
			idOwner[id] = k
		}
	}
	errs.flush()
	for id, n := range msgs {
		if n != perMsg {
			errs.Errorf("message %s: %d recipients reached the receiver, want %d", id, n, perMsg)
		}
	}
	errs.flush()
	// What Postfix passed on: its LHLO name, the envelope sender, and the
	// body with its dot-stuffed line restored.
	for _, d := range rc.deliveries() {
		p := d.Payload
		if p.Envelope.Helo != "mta.example.test" || p.Envelope.From != "sender@example.test" ||
			p.Subject != "postfix fault interop" || !strings.Contains(p.Text, "\n.A line with a leading dot.") {
			errs.Errorf("%s: helo %q from %q subject %q text %q", p.Envelope.To, p.Envelope.Helo, p.Envelope.From, p.Subject, p.Text)
		}
	}
	errs.flush()

	// The faults: every kind happened, and each delivery acted on before
	// a failed answer was acted on again later: a duplicate.
	for f := fault500; f < numFaults; f++ {
		if c.faults[f] == 0 {
			t.Errorf("no %s fault was injected", faultNames[f])
		}
	}
	if processed := c.faults[faultLate] + c.faults[faultDropAfter]; duplicates < processed {
		t.Errorf("%d duplicates, want at least one per delivery processed before a failed answer (%d)", duplicates, processed)
	}
}

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
