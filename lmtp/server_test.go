package lmtp_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

// deliverer records messages and answers each recipient with reply,
// concurrently, as the real one does.
type deliverer struct {
	reply func(ctx context.Context, m *lmtp.Message, rcpt string) *smtp.SMTPError

	mu   sync.Mutex
	msgs []*lmtp.Message
}

func (d *deliverer) Deliver(ctx context.Context, m *lmtp.Message, report func(int, *smtp.SMTPError)) {
	d.mu.Lock()
	d.msgs = append(d.msgs, m)
	d.mu.Unlock()
	var wg sync.WaitGroup
	for i, rcpt := range m.Recipients {
		wg.Go(func() {
			if d.reply == nil {
				report(i, nil)
				return
			}
			report(i, d.reply(ctx, m, rcpt))
		})
	}
	wg.Wait()
}

func (d *deliverer) messages() []*lmtp.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*lmtp.Message(nil), d.msgs...)
}

// start runs a server with test limits on a loopback port.
func start(t *testing.T, d lmtp.Deliverer, tweak func(*lmtp.Config)) (string, *lmtp.Server) {
	t.Helper()
	cfg := lmtp.Config{
		Listen:          "127.0.0.1:0",
		Hostname:        "bridge.test",
		MaxMessageBytes: 10000,
		MaxRecipients:   5,
		MaxConnections:  3,
		ReadTimeout:     10 * time.Second,
		WriteTimeout:    10 * time.Second,
		Deliverer:       d,
		Logger:          zerolog.New(zerolog.NewTestWriter(t)),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := lmtp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	addr := l.Addr().String()
	if l.Addr().Network() == "unix" {
		addr = "unix:" + addr
	}
	return addr, srv
}

const msg = "From: a@example.org\nSubject: test\n\nbody\n"

func TestGreetingAndCapabilities(t *testing.T) {
	addr, _ := start(t, &deliverer{}, nil)
	cl := lmtptest.Dial(t, addr)
	if cl.Greeting != "220 bridge.test LMTP Service Ready" {
		t.Errorf("greeting %q", cl.Greeting)
	}
	cl.Write("LHLO client.test\r\n")
	lines := cl.ReplyLines()
	if lines[0] != "250-bridge.test Hello client.test" {
		t.Errorf("LHLO reply starts %q", lines[0])
	}
	caps := strings.Join(lines, "\n")
	for _, want := range []string{"PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE 10000", "SMTPUTF8", "LIMITS RCPTMAX=5"} {
		if !strings.Contains(caps, want) {
			t.Errorf("LHLO reply lacks %s:\n%s", want, caps)
		}
	}
	cl.Expect("500 5.5.1", "HELO client.test")
	cl.Expect("500 5.5.1", "EHLO client.test")
}

func TestRepliesComeInRcptOrder(t *testing.T) {
	d := &deliverer{reply: func(_ context.Context, _ *lmtp.Message, rcpt string) *smtp.SMTPError {
		// Earlier recipients answer later.
		switch rcpt {
		case "a@x.test":
			time.Sleep(60 * time.Millisecond)
			return nil
		case "b@x.test":
			time.Sleep(30 * time.Millisecond)
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no"}
		default:
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"}
		}
	}}
	addr, _ := start(t, d, nil)
	cl := lmtptest.LHLO(t, addr)
	got := cl.Send("s@x.test", []string{"a@x.test", "b@x.test", "c@x.test"}, msg)
	want := []string{"250 2.0.0 <a@x.test> OK: queued", "550 5.1.1 <b@x.test> no", "451 4.3.0 <c@x.test> later"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("reply %d: %q, want %q", i, got[i], want[i])
		}
	}
}

func TestEnvelopeAndData(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, nil)
	cl := lmtptest.LHLO(t, addr)
	// Null sender, a duplicate recipient, bare LF, a NUL byte, 8-bit and
	// invalid UTF-8 data, a dot-stuffed line.
	cl.Expect("250 ", "MAIL FROM:<>")
	for _, r := range []string{"a@x.test", "b@x.test", "a@x.test"} {
		cl.Expect("250 ", "RCPT TO:<%s>", r)
	}
	cl.Expect("354 ", "DATA")
	data := "Subject: x\r\n\r\nbare\nlf\r\nnul\x00byte \xff\xfe caf\xc3\xa9\r\n..dot\r\n.\r\n"
	cl.Write(data)
	got := cl.Replies(3)
	for i, r := range []string{"a@x.test", "b@x.test", "a@x.test"} {
		if want := "250 2.0.0 <" + r + "> OK: queued"; got[i] != want {
			t.Errorf("reply %d: %q, want %q", i, got[i], want)
		}
	}
	msgs := d.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.From != "" || strings.Join(m.Recipients, ",") != "a@x.test,b@x.test" || m.Helo != "client.test" {
		t.Errorf("envelope %+v", m.Envelope)
	}
	if want := "Subject: x\r\n\r\nbare\nlf\r\nnul\x00byte \xff\xfe caf\xc3\xa9\r\n.dot\r\n"; string(m.Data) != want {
		t.Errorf("data %q, want %q", m.Data, want)
	}
	if m.ReceivedAt.IsZero() || time.Since(m.ReceivedAt) > time.Minute {
		t.Errorf("received at %v", m.ReceivedAt)
	}
}

func TestMessageSizeLimit(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, func(c *lmtp.Config) { c.MaxMessageBytes = 1000 })
	cl := lmtptest.LHLO(t, addr)

	cl.Expect("552 5.3.4", "MAIL FROM:<a@x.test> SIZE=1001")
	cl.Expect("250 ", "MAIL FROM:<a@x.test> SIZE=1000")
	cl.Expect("250 ", "RSET")

	// The limit counts the message bytes as delivered: exactly at it
	// passes, one more is refused, whatever SIZE the client declared.
	body := func(n int) string {
		head := "Subject: s\r\n\r\n"
		return head + strings.Repeat("x", n-len(head)-2) + "\r\n"
	}
	if r := cl.Send("a@x.test", []string{"r@x.test"}, body(1000)); r[0] != "250 2.0.0 <r@x.test> OK: queued" {
		t.Errorf("at the limit: %q", r[0])
	}
	cl.Expect("250 ", "MAIL FROM:<a@x.test> SIZE=100")
	cl.Expect("250 ", "RCPT TO:<r1@x.test>")
	cl.Expect("250 ", "RCPT TO:<r2@x.test>")
	r := cl.Data(body(1001), 2)
	for i, want := range []string{"552 5.3.4 <r1@x.test> Maximum message size exceeded", "552 5.3.4 <r2@x.test> Maximum message size exceeded"} {
		if r[i] != want {
			t.Errorf("over the limit: %q, want %q", r[i], want)
		}
	}
	// The rest of the oversize message was not taken for commands.
	cl.Expect("250 ", "NOOP")
	if n := len(d.messages()); n != 1 {
		t.Errorf("%d messages delivered, want 1", n)
	}
}

func TestRecipientLimitAndDomains(t *testing.T) {
	addr, _ := start(t, &deliverer{}, func(c *lmtp.Config) {
		c.MaxRecipients = 2
		c.Domains = []string{"example.com", "Example.NET"}
	})
	cl := lmtptest.LHLO(t, addr)
	cl.Expect("250 ", "MAIL FROM:<a@elsewhere.test>")
	cl.Expect("550 5.1.2", "RCPT TO:<someone@other.test>")
	cl.Expect("250 ", "RCPT TO:<one@EXAMPLE.com>")
	cl.Expect("250 ", "RCPT TO:<two@example.net>")
	cl.Expect("452 4.5.3", "RCPT TO:<three@example.com>")
	r := cl.Data(msg, 2)
	if r[0] != "250 2.0.0 <one@EXAMPLE.com> OK: queued" || r[1] != "250 2.0.0 <two@example.net> OK: queued" {
		t.Errorf("replies %q", r)
	}
}

func TestConnectionLimitFreesSlots(t *testing.T) {
	addr, _ := start(t, &deliverer{}, func(c *lmtp.Config) { c.MaxConnections = 2 })
	a := lmtptest.Dial(t, addr)
	b := lmtptest.Dial(t, addr)
	if a.Greeting[:4] != "220 " || b.Greeting[:4] != "220 " {
		t.Fatalf("greetings %q %q", a.Greeting, b.Greeting)
	}
	c := lmtptest.Dial(t, addr)
	if c.Greeting != "421 4.4.5 bridge.test Too many connections, try again later" {
		t.Errorf("third connection: %q", c.Greeting)
	}
	if _, err := c.ReadLine(); err != io.EOF {
		t.Errorf("third connection not closed: %v", err)
	}
	a.Expect("221 ", "QUIT")
	// The slot comes back once the server has seen a leave.
	waitDial(t, addr)
}

func TestLineLengths(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, func(c *lmtp.Config) {
		c.MaxLineLength = 100
		c.MaxMessageBytes = 1 << 20
	})

	// Message lines may be far longer than command lines.
	cl := lmtptest.LHLO(t, addr)
	long := "Subject: long\r\n\r\n" + strings.Repeat("y", 200000) + "\r\n"
	if r := cl.Send("a@x.test", []string{"r@x.test"}, long); r[0] != "250 2.0.0 <r@x.test> OK: queued" {
		t.Errorf("long data line: %q", r[0])
	}
	if m := d.messages(); len(m) != 1 || len(m[0].Data) != len(long) {
		t.Fatalf("long line not delivered whole")
	}
	// Commands still work after it, and are bounded.
	cl.Expect("250 ", "NOOP %s", strings.Repeat("n", 90))
	cl.Write("NOOP " + strings.Repeat("n", 200) + "\r\n")
	if r := cl.Reply(); r != "500 5.4.0 Too long line, closing connection" {
		t.Errorf("long command: %q", r)
	}
	if _, err := cl.ReadLine(); err != io.EOF {
		t.Errorf("connection not closed after a long command: %v", err)
	}
}

// waitDial dials until the server has a free slot again.
func waitDial(t *testing.T, addr string) *lmtptest.Client {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		cl := lmtptest.Dial(t, addr)
		if strings.HasPrefix(cl.Greeting, "220 ") {
			return cl
		}
		if time.Now().After(deadline) {
			t.Fatalf("no free slot: %q", cl.Greeting)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestVanishedClientMidData(t *testing.T) {
	d := &deliverer{}
	addr, _ := start(t, d, func(c *lmtp.Config) { c.MaxConnections = 1 })
	cl := lmtptest.LHLO(t, addr)
	cl.Expect("250 ", "MAIL FROM:<a@x.test>")
	cl.Expect("250 ", "RCPT TO:<r@x.test>")
	cl.Expect("354 ", "DATA")
	cl.Write("Subject: half\r\n\r\nhalf a mess")
	cl.Conn.Close()
	next := waitDial(t, addr)
	next.Expect("250 ", "LHLO client.test")
	if n := len(d.messages()); n != 0 {
		t.Errorf("a partial message was delivered")
	}
}

func TestOtherCommands(t *testing.T) {
	addr, _ := start(t, &deliverer{}, nil)
	cl := lmtptest.LHLO(t, addr)
	cl.Expect("250 2.0.0", "NOOP")
	cl.Expect("252 2.5.0", "VRFY someone")
	cl.Expect("502 5.5.1", "EXPN list")
	cl.Expect("500 5.5.2", "FROB")
	cl.Expect("500 5.5.2", "FROBNICATE now")
	cl.Expect("214 2.0.0 bridge.test", "HELP")
	cl.Expect("214 2.0.0", "HELP DATA")
	cl.Expect("502 5.5.1", "RCPT TO:<r@x.test>")
	cl.Expect("250 ", "MAIL FROM:<a@x.test>")
	cl.Expect("250 ", "RCPT TO:<r@x.test>")
	cl.Expect("250 2.0.0", "RSET")
	// RSET cleared the transaction.
	cl.Expect("502 5.5.1", "DATA")
	cl.Expect("221 2.0.0", "QUIT")
}
