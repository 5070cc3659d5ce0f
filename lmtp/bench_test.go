package lmtp_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
)

// discard accepts every recipient at once and counts the bytes it was
// handed.
type discard struct{ bytes atomic.Int64 }

func (d *discard) Deliver(_ context.Context, m *lmtp.Message, report func(int, *smtp.SMTPError)) {
	d.bytes.Add(int64(len(m.Data)))
	for i := range m.Recipients {
		report(i, nil)
	}
}

// BenchmarkLMTPData measures the protocol side of one transaction over
// loopback TCP: MAIL, RCPT, DATA, reading the message into memory and the
// replies, with a Deliverer that does nothing. With SIZE, as Postfix
// sends it, the message is read into a buffer of the declared size;
// without, in chunks.
func BenchmarkLMTPData(b *testing.B) {
	d := &discard{}
	srv, err := lmtp.New(lmtp.Config{
		Listen:          "127.0.0.1:0",
		Hostname:        "bench.test",
		MaxMessageBytes: 25 << 20,
		MaxRecipients:   100,
		ReadTimeout:     time.Minute,
		WriteTimeout:    time.Minute,
		Deliverer:       d,
		Logger:          zerolog.Nop(),
	})
	if err != nil {
		b.Fatal(err)
	}
	l, err := srv.Listen()
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()

	for _, size := range []int{4 << 10, 20 << 20} {
		msg := benchBody(size)
		for _, declare := range []bool{false, true} {
			name := fmt.Sprintf("size=%s/SIZE=%t", byteSize(size), declare)
			b.Run(name, func(b *testing.B) {
				c, err := net.Dial("tcp", l.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				r := bufio.NewReader(c)
				w := bufio.NewWriterSize(c, 64<<10)
				expect := func(prefix string) {
					for {
						line, err := r.ReadString('\n')
						if err != nil {
							b.Fatalf("read reply: %v", err)
						}
						if len(line) >= 4 && line[3] == '-' {
							continue
						}
						if !strings.HasPrefix(line, prefix) {
							b.Fatalf("reply %q, want %s", line, prefix)
						}
						return
					}
				}
				send := func(cmd, want string) {
					w.WriteString(cmd + "\r\n")
					w.Flush()
					expect(want)
				}
				expect("220")
				send("LHLO bench.client", "250")
				mail := "MAIL FROM:<a@example.org>"
				if declare {
					mail += fmt.Sprintf(" SIZE=%d", size)
				}
				start := d.bytes.Load()
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					send(mail, "250")
					send("RCPT TO:<b@example.com>", "250")
					send("DATA", "354")
					w.Write(msg)
					w.WriteString(".\r\n")
					w.Flush()
					expect("250")
				}
				if got := d.bytes.Load() - start; got != int64(b.N*size) {
					b.Fatalf("deliverer got %d bytes, want %d", got, b.N*size)
				}
			})
		}
	}
}

// benchBody is a message of exactly size bytes in lines of 76 characters,
// none starting with a dot, so that it goes on the wire as it is.
func benchBody(size int) []byte {
	head := "From: a@example.org\r\nTo: b@example.com\r\nSubject: bench\r\n\r\n"
	var buf bytes.Buffer
	buf.Grow(size)
	buf.WriteString(head)
	line := "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+/abcdefghij\r\n"
	for buf.Len()+len(line) <= size-2 {
		buf.WriteString(line)
	}
	for buf.Len() < size-2 {
		buf.WriteByte('x')
	}
	buf.WriteString("\r\n")
	return buf.Bytes()
}

func byteSize(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}
