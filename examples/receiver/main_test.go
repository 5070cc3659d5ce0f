package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestMain lets a test run the real main in a child process, to see its
// exit code and what it writes.
func TestMain(m *testing.M) {
	if os.Getenv("RECEIVER_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

var body = []byte(`{"id":"msg_test","envelope":{"to":"bob@example.com","from":"alice@example.org","recipients":["bob@example.com"],"helo":"mx","remote_addr":"127.0.0.1:1","size":10},"subject":"Hi"}`)

// bodyTo is body addressed to rcpt.
func bodyTo(rcpt string) []byte {
	return bytes.ReplaceAll(body, []byte("bob@example.com"), []byte(rcpt))
}

// signed returns the headers of a request signed at ts by the Standard
// Webhooks reference library.
func signed(t *testing.T, id string, ts time.Time, b []byte) http.Header {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign(id, ts, b)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", sig)
	return h
}

// testReceiver is the receiver's real HTTP server on a loopback port,
// counting the bytes it reads from its connections.
type testReceiver struct {
	url, addr string
	out       *syncBuffer
	read      atomic.Int64
	clock     atomic.Int64 // unix seconds the handler sees as now
}

// startReceiver serves the configuration env gives, changed by adjust
// when it is not nil, until the test ends.
func startReceiver(t *testing.T, env map[string]string, adjust func(*config)) *testReceiver {
	t.Helper()
	cfg, err := loadConfig(func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(&cfg)
	}
	rc := &testReceiver{out: &syncBuffer{}}
	rc.clock.Store(time.Now().Unix())
	h := newHandler(cfg, rc.out)
	h.now = func() time.Time { return time.Unix(rc.clock.Load(), 0) }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(cfg, h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(countingListener{ln, &rc.read})
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	rc.addr = ln.Addr().String()
	rc.url = "http://" + rc.addr
	return rc
}

// now is the receiver's clock.
func (rc *testReceiver) now() time.Time { return time.Unix(rc.clock.Load(), 0) }

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   string
}

// post sends one POST to /inbound over a fresh connection.
func (rc *testReceiver) post(t *testing.T, header http.Header, b []byte) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, rc.url+"/inbound", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	req.Close = true
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(got)}
}

// postRaw writes a POST by hand: its headers, then body while reading the
// answer, so that an answer given before the body is complete is seen.
// A negative length sends the body chunked. It returns the answer and the
// bytes the client managed to send.
func (rc *testReceiver) postRaw(t *testing.T, header http.Header, length int64, body io.Reader) (response, int64) {
	t.Helper()
	conn, err := net.Dial("tcp", rc.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST /inbound HTTP/1.1\r\nHost: %s\r\n", rc.addr)
	if length >= 0 {
		fmt.Fprintf(&head, "Content-Length: %d\r\n", length)
	} else {
		head.WriteString("Transfer-Encoding: chunked\r\n")
	}
	header.Write(&head)
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		w := io.Writer(countingWriter{conn, &sent})
		if length < 0 {
			cw := httputil.NewChunkedWriter(w)
			defer cw.Close()
			w = cw
		}
		io.Copy(w, body) // fails once the server closes: that is expected
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	conn.Close()
	<-wrote
	return response{resp.StatusCode, resp.Header, string(got)}, sent.Load()
}

// countingListener counts what its connections read.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// filler is an endless stream of 'x'.
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the
// test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestConfig(t *testing.T) {
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.listen != "127.0.0.1:9000" || cfg.tolerance != 5*time.Minute || cfg.maxBody != 128<<20 ||
		cfg.fallback.status != 200 || cfg.fallback.body != nil || cfg.key != nil || cfg.printJSON ||
		len(cfg.answers.byAddress)+len(cfg.answers.byDomain) != 0 {
		t.Errorf("defaults %+v", cfg)
	}
	srv := newServer(cfg, newHandler(cfg, io.Discard))
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout < srv.ReadTimeout || srv.IdleTimeout <= 90*time.Second {
		t.Errorf("timeouts: header %v, read %v, write %v, idle %v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	env := map[string]string{
		"RECEIVER_LISTEN":     "0.0.0.0:9100",
		"WEBHOOK_SECRET":      secret,
		"RECEIVER_TOLERANCE":  "30s",
		"RECEIVER_MAX_BODY":   "1048576",
		"RECEIVER_PRINT_JSON": "true",
		"RECEIVER_ANSWERS":    "Carol@Example.com=550 5.1.1 no such user, *@slow.example=451",
	}
	cfg, err = loadConfig(func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.listen != "0.0.0.0:9100" || cfg.tolerance != 30*time.Second || cfg.maxBody != 1<<20 || len(cfg.key) != 24 || !cfg.printJSON ||
		len(cfg.answers.byAddress) != 1 || len(cfg.answers.byDomain) != 1 {
		t.Errorf("config %+v", cfg)
	}
	for name, bad := range map[string]string{
		"WEBHOOK_SECRET":     "not-a-secret",
		"RECEIVER_TOLERANCE": "-1s",
		"RECEIVER_MAX_BODY":  "0",
		"RECEIVER_REPLY":     "ok",
		"RECEIVER_ANSWERS":   "bob@example.com=250 4.0.0 mixed classes",
	} {
		_, err := loadConfig(func(n string) string {
			if n == name {
				return bad
			}
			return ""
		})
		if err == nil || !strings.HasPrefix(err.Error(), name+":") {
			t.Errorf("%s=%s: error %v, want one naming %s", name, bad, err, name)
		}
	}
}

func TestDefaultListenIsLoopback(t *testing.T) {
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(cfg.listen)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() || port != "9000" {
		t.Errorf("listens on %q by default, want a loopback address, port 9000", cfg.listen)
	}
}

// TestBadValueStopsAtStart runs main with each bad value: exit code 2 and
// one line on stderr that names the variable.
func TestBadValueStopsAtStart(t *testing.T) {
	for name, bad := range map[string]string{
		"RECEIVER_ANSWERS":  "carol@example.com=no such user",
		"RECEIVER_REPLY":    "700",
		"RECEIVER_MAX_BODY": "lots",
		"WEBHOOK_SECRET":    "hunter2",
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			// The listen address is a loopback one, should main get that far.
			cmd.Env = append(os.Environ(), "RECEIVER_TEST_RUN_MAIN=1", "RECEIVER_LISTEN=127.0.0.1:0", name+"="+bad)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = io.Discard, &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 2 {
				t.Fatalf("exit code %d (%v), want 2; stderr:\n%s", code, err, &stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], name+":") {
				t.Errorf("stderr %q, want one line naming %s", &stderr, name)
			}
		})
	}
}

func TestSeenIDsIsBounded(t *testing.T) {
	s := newSeenIDs(3)
	for i := range 10 {
		if !s.add(fmt.Sprintf("msg_%d", i)) {
			t.Fatalf("msg_%d reported as seen", i)
		}
		if n := s.len(); n > 3 {
			t.Fatalf("holds %d ids, capacity 3", n)
		}
	}
	// The three newest are remembered; the oldest were forgotten.
	for _, id := range []string{"msg_7", "msg_8", "msg_9"} {
		if s.add(id) {
			t.Errorf("%s forgotten", id)
		}
	}
	if !s.add("msg_0") {
		t.Errorf("msg_0 still remembered")
	}
}
