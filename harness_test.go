package main

// The harness the command's tests share: the program built once, peers
// looked up (or the test skipped, see lmtptest.MissingPeer), the bridge run as
// a subprocess on free loopback ports, and the receiver that stands in for
// a user's webhook.

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/store/storetest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
)

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
	storetest.StopShared()
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
	lmtptest.MissingPeer(t, "%s is not installed (not in PATH nor in an sbin directory)", name)
	return ""
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
	output   *webhooktest.Buffer
	done     chan struct{} // closed when the process has exited
	stopped  bool
}

// startBridge runs the binary with a clean environment: the given webhook
// URL, free loopback ports, short timeouts and retries, sender checks off
// (a test that turns them on gives DNS_SERVER too, so that no test asks
// the machine's resolver), then env (later values win). It returns once /readyz answers 200, and stops the process
// when the test ends.
func startBridge(t *testing.T, webhookURL string, env ...string) *bridge {
	t.Helper()
	bin := bridgeBinary(t)
	b := &bridge{lmtpAddr: freeAddr(t), httpAddr: freeAddr(t), output: &webhooktest.Buffer{}, done: make(chan struct{})}
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
		"AUTH_CHECKS=false",
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
type delivery = webhooktest.Request[wirePayload]

// receiver is a real HTTP server standing in for a user's webhook: the
// shared recording receiver, decoding bodies as wirePayload.
type receiver struct {
	*webhooktest.Receiver[wirePayload]
}

// newReceiver starts a receiver that checks the webhook-id of every
// request against its body, then lets answer reply (200 when answer is
// nil).
func newReceiver(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, d *delivery)) *receiver {
	t.Helper()
	return &receiver{webhooktest.NewReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery) {
		if d.ID() == "" || d.ID() != d.Payload.ID {
			t.Errorf("receiver: webhook-id header %q, body id %q: want the same, not empty", d.ID(), d.Payload.ID)
		}
		if answer == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		answer(w, r, d)
	})}
}

// url is where the bridge under test posts.
func (rc *receiver) url() string { return rc.URL + "/hook" }

// deliveries returns the requests received so far, in order.
func (rc *receiver) deliveries() []delivery { return rc.Requests() }

// checkHeaders asserts what every request carries besides the body.
func checkHeaders(t *testing.T, d delivery) {
	t.Helper()
	if want := "lmtp-webhook/" + testVersion; d.Header.Get("User-Agent") != want {
		t.Errorf("User-Agent = %q, want %q", d.Header.Get("User-Agent"), want)
	}
	stamp := d.Header.Get("webhook-timestamp")
	ts, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		t.Errorf("webhook-timestamp = %q, want the current Unix time in seconds", stamp)
	}
}
