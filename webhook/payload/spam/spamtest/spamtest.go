// Package spamtest starts a private rspamd for tests: the installed rspamd
// (Debian's package) with its stock rules, as a normal and a controller
// worker on loopback, with every module that needs redis, DNS or the
// Internet turned off and its resolver pointed at a loopback responder that
// refuses every query, so a test never reaches the machine's resolver.
//
// Any package's tests can use it:
//
//	srv := spamtest.Start(t)
//	c, err := spam.New(spam.Config{URL: srv.URL})
package spamtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

// Password is the controller worker's password.
const Password = "spamtest-password"

const (
	// readyTimeout bounds rspamd's start: about 3s on a cold cache on an
	// idle machine (its rules and language models load), more on a busy one.
	readyTimeout = 60 * time.Second
	// stopTimeout is how long rspamd gets to exit on SIGTERM before the
	// whole process group is killed.
	stopTimeout = 10 * time.Second
	// attempts bounds the starts tried: a free port picked here can be
	// taken by another process before rspamd binds it.
	attempts = 3
)

// Server is a running rspamd.
type Server struct {
	// URL is the normal worker's base URL, for spam.Config.URL.
	URL string
	// ControllerURL is the controller worker's base URL; it scans too, and
	// wants Password.
	ControllerURL string
	// Startup is how long rspamd took from its start to answering /ping.
	Startup time.Duration
	// Dir holds the configuration (local/override.d) and rspamd.log.
	Dir string

	dns      *refuser
	logPath  string
	stopOnce sync.Once
	stopErr  error
	stopFn   func() error
}

// Stop stops rspamd, as a crash or an operator would; later scans fail.
// Start's cleanup calls it too; a second call does nothing.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stopFn() })
	return s.stopErr
}

// Log is rspamd's log so far.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// DNSQueries is how many DNS queries rspamd has sent so far (all refused).
func (s *Server) DNSQueries() int64 { return s.dns.queries.Load() }

// Start starts rspamd and stops it when tb ends. It skips tb when rspamd is
// not installed, unless lmtptest.RequirePeersEnv is 1.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := exec.LookPath("rspamd")
	if err != nil {
		lmtptest.MissingPeer(tb, "rspamd is not installed (apt-get install rspamd)")
	}
	dns := startRefuser(tb)
	var last error
	for range attempts {
		srv, err := start(tb, bin, dns)
		if err == nil {
			return srv
		}
		last = err
	}
	tb.Fatalf("spamtest: %v", last)
	return nil
}

// start makes one attempt in a fresh directory.
func start(tb testing.TB, bin string, dns *refuser) (*Server, error) {
	tb.Helper()
	dir := tb.TempDir()
	normal, controller := freePort(tb), freePort(tb)
	if err := writeConfig(dir, normal, controller, dns.port()); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "rspamd.log")
	out, err := os.Create(filepath.Join(dir, "rspamd.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(bin, "-f", "-i",
		"--var", "LOCAL_CONFDIR="+filepath.Join(dir, "local"),
		"--var", "DBDIR="+filepath.Join(dir, "db"),
		"--var", "RUNDIR="+filepath.Join(dir, "run"),
		"--var", "LOGDIR="+dir)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start rspamd: %w", err)
	}
	// exited is closed when rspamd's main process has exited; waitErr is
	// then its exit status.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	srv := &Server{
		URL:           fmt.Sprintf("http://127.0.0.1:%d", normal),
		ControllerURL: fmt.Sprintf("http://127.0.0.1:%d", controller),
		Dir:           dir,
		dns:           dns,
		logPath:       logPath,
		stopFn:        func() error { return stop(cmd, exited) },
	}
	if err := waitReady(srv.URL, exited, &waitErr); err != nil {
		stop(cmd, exited)
		return nil, fmt.Errorf("%w; its output:\n%s\nrspamd.log ends:\n%s", err, tail(out.Name()), tail(logPath))
	}
	srv.Startup = time.Since(begin)
	tb.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			tb.Errorf("spamtest: stop rspamd: %v", err)
		}
		if tb.Failed() {
			tb.Logf("rspamd.log ends:\n%s", tail(logPath))
		}
	})
	return srv, nil
}

// waitReady polls base's /ping until it answers, rspamd exits, or
// readyTimeout passes.
func waitReady(base string, exited <-chan struct{}, waitErr *error) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if resp, err := client.Get(base + "/ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("rspamd exited before it was ready: %v", *waitErr)
		case <-tick.C:
		}
	}
	return fmt.Errorf("rspamd not ready within %s", readyTimeout)
}

// stop ends rspamd: SIGTERM to its main process, which stops its workers,
// then SIGKILL to the whole group if it has not exited in time.
func stop(cmd *exec.Cmd, exited <-chan struct{}) error {
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-exited:
	case <-timer.C:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		return fmt.Errorf("rspamd did not exit within %s of SIGTERM", stopTimeout)
	}
	// Workers that outlived the main process die with their group.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("spamtest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tail is the end of the file at path, for a failure message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// refuser is a DNS server on loopback that answers every query REFUSED at
// once, so rspamd's lookups fail fast and never leave the machine.
type refuser struct {
	conn    net.PacketConn
	queries atomic.Int64
}

func startRefuser(tb testing.TB) *refuser {
	tb.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("spamtest: dns listener: %v", err)
	}
	r := &refuser{conn: conn}
	done := make(chan struct{})
	go r.serve(done)
	tb.Cleanup(func() {
		conn.Close()
		<-done
	})
	return r
}

func (r *refuser) port() int { return r.conn.LocalAddr().(*net.UDPAddr).Port }

// serve answers until the connection is closed. The answer is the query
// with QR and RA set and RCODE 5 (REFUSED), RFC 1035 section 4.1.1.
func (r *refuser) serve(done chan<- struct{}) {
	defer close(done)
	buf := make([]byte, 4096)
	for {
		n, addr, err := r.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		r.queries.Add(1)
		msg := buf[:n]
		msg[2] |= 0x80                  // QR: a response
		msg[3] = msg[3]&0x70 | 0x80 | 5 // RA, RCODE REFUSED
		_, _ = r.conn.WriteTo(msg, addr)
	}
}
