package lmtp_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

// Tests of the server's life: Unix sockets, draining on shutdown, when
// replies leave, and BDAT transactions.
func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lmtp.sock")

	// A stale socket left behind by a crash.
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}

	d := &deliverer{}
	addr, _ := start(t, d, func(c *lmtp.Config) { c.Listen = "unix:" + path })
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want 0660", fi.Mode().Perm())
	}
	cl := lmtptest.LHLO(t, addr)
	if r := cl.Send("a@x.test", []string{"r@x.test"}, msg); r[0] != "250 2.0.0 <r@x.test> OK: queued" {
		t.Errorf("reply %q", r[0])
	}
	if m := d.messages(); len(m) != 1 || m[0].RemoteAddr == "" {
		t.Errorf("messages %+v", m)
	}

	// A live socket is not stolen, and a regular file is not removed.
	second, _ := lmtp.New(lmtp.Config{Listen: "unix:" + path, Deliverer: d})
	if _, err := second.Listen(); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second listener on a live socket: %v", err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	third, _ := lmtp.New(lmtp.Config{Listen: "unix:" + file, Deliverer: d})
	if _, err := third.Listen(); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("listener on a regular file: %v", err)
	}
}

func TestDrain(t *testing.T) {
	release := make(chan struct{})
	started := make(chan string, 4)
	d := &deliverer{reply: func(ctx context.Context, _ *lmtp.Message, rcpt string) *smtp.SMTPError {
		started <- rcpt
		if rcpt == "slow@x.test" {
			// Never answers in time: the drain deadline gives up on it.
			<-ctx.Done()
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "shutting down"}
		}
		<-release
		return nil
	}}
	addr, srv := start(t, d, nil)

	idle := lmtptest.LHLO(t, addr)
	busy := lmtptest.LHLO(t, addr)
	busy.Expect("250 ", "MAIL FROM:<a@x.test>")
	busy.Expect("250 ", "RCPT TO:<r@x.test>")
	busy.Expect("354 ", "DATA")
	busy.Write(lmtptest.Stuff(msg))
	<-started // the POST is in flight

	stuck := lmtptest.LHLO(t, addr)
	stuck.Expect("250 ", "MAIL FROM:<a@x.test>")
	stuck.Expect("250 ", "RCPT TO:<slow@x.test>")
	stuck.Expect("354 ", "DATA")
	stuck.Write(lmtptest.Stuff(msg))
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- srv.Shutdown(ctx) }()

	// The idle client is told at once and let go.
	if r := idle.Reply(); r != "421 4.3.2 bridge.test Service shutting down, try again later" {
		t.Errorf("idle client: %q", r)
	}
	// No new clients.
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.SetReadDeadline(time.Now().Add(time.Second))
		line, _ := io.ReadAll(c)
		if strings.HasPrefix(string(line), "220") {
			t.Errorf("accepted a client while draining: %q", line)
		}
		c.Close()
	}
	if !srv.Draining() {
		t.Error("server does not report draining")
	}
	// The delivery in flight finishes in time and gets its 250.
	close(release)
	if r := busy.Reply(); r != "250 2.0.0 <r@x.test> OK: queued" {
		t.Errorf("in-flight delivery: %q", r)
	}
	// The one that cannot finish is deferred when time is up.
	if r := stuck.Reply(); r != "451 4.3.2 <slow@x.test> shutting down" {
		t.Errorf("stuck delivery: %q", r)
	}
	select {
	case err := <-drained:
		if err == nil {
			t.Errorf("Shutdown reported a clean drain although a delivery was given up")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	// Both are let go once answered.
	for _, cl := range []*lmtptest.Client{busy, stuck} {
		for {
			line, err := cl.ReadLine()
			if err == io.EOF {
				break
			}
			if err != nil || !strings.HasPrefix(line, "421 4.3.2") {
				t.Errorf("after drain: %q %v", line, err)
				break
			}
		}
	}
}

func ExampleServer() {
	srv, _ := lmtp.New(lmtp.Config{
		Listen:          "127.0.0.1:0",
		MaxMessageBytes: 25 << 20,
		Deliverer:       &deliverer{},
	})
	l, _ := srv.Listen()
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())
	fmt.Println(l.Addr().Network())
	// Output: tcp
}

func TestEachReplyLeavesAsSoonAsItIsKnown(t *testing.T) {
	firstRead := make(chan struct{})
	d := &deliverer{reply: func(_ context.Context, _ *lmtp.Message, rcpt string) *smtp.SMTPError {
		if rcpt == "slow@x.test" {
			// Answers only once the client has read the first reply, or
			// gives up: a bridge that held replies back fails here.
			select {
			case <-firstRead:
				return nil
			case <-time.After(5 * time.Second):
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 0, 0}, Message: "first reply was held back"}
			}
		}
		return nil
	}}
	addr, _ := start(t, d, nil)
	cl := lmtptest.LHLO(t, addr)
	cl.Expect("250 ", "MAIL FROM:<a@x.test>")
	cl.Expect("250 ", "RCPT TO:<fast@x.test>")
	cl.Expect("250 ", "RCPT TO:<slow@x.test>")
	cl.Expect("354 ", "DATA")
	cl.Write(lmtptest.Stuff(msg))
	if r := cl.Reply(); r != "250 2.0.0 <fast@x.test> OK: queued" {
		t.Fatalf("first reply %q", r)
	}
	close(firstRead)
	if r := cl.Reply(); r != "250 2.0.0 <slow@x.test> OK: queued" {
		t.Errorf("second reply %q", r)
	}
}

func TestBDAT(t *testing.T) {
	d := &deliverer{reply: func(_ context.Context, _ *lmtp.Message, rcpt string) *smtp.SMTPError {
		if rcpt == "no@x.test" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no"}
		}
		return nil
	}}
	addr, _ := start(t, d, func(c *lmtp.Config) { c.MaxMessageBytes = 100 })
	cl := lmtptest.LHLO(t, addr)
	cl.Expect("250 ", "MAIL FROM:<a@x.test>")
	cl.Expect("250 ", "RCPT TO:<yes@x.test>")
	cl.Expect("250 ", "RCPT TO:<no@x.test>")
	first, last := "Subject: chunks\r\n\r\n", "first line\r\nsecond\r\n"
	cl.Write(fmt.Sprintf("BDAT %d\r\n%s", len(first), first))
	if r := cl.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("first chunk: %q", r)
	}
	cl.Write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(last), last))
	got := cl.Replies(2)
	if got[0] != "250 2.0.0 <yes@x.test> OK: queued" || got[1] != "550 5.1.1 <no@x.test> no" {
		t.Errorf("replies %q", got)
	}
	if m := d.messages(); len(m) != 1 || string(m[0].Data) != first+last {
		t.Errorf("messages %+v", m)
	}
	// Over the limit in chunks: refused, and the session goes on.
	cl.Expect("250 ", "MAIL FROM:<a@x.test>")
	cl.Expect("250 ", "RCPT TO:<yes@x.test>")
	big := strings.Repeat("x", 101)
	cl.Write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(big), big))
	if r := cl.Reply(); !strings.HasPrefix(r, "552 5.3.4") {
		t.Errorf("oversize chunk: %q", r)
	}
	cl.Expect("250 ", "NOOP")
}
