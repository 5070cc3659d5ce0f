// Command pipeload is smtp-source's load with command pipelining, as
// Postfix's own lmtp client sends it when the server offers PIPELINING:
// each message opens a connection, sends LHLO, then MAIL, every RCPT and
// DATA in one write, then the message, and reads every reply. It fails
// unless every reply is a success.
//
// By default every message is the same 4 KiB of text (-l) and nothing is
// printed. With -corpus MANIFEST.tsv the messages are the real ones that
// the manifest lists, each sent as it is, in the manifest's order, again
// and again until -m have gone; it then prints how many messages and
// bytes it sent, for the caller's per-MB figures.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2424", "LMTP server host:port")
	sessions := flag.Int("s", 20, "parallel sessions")
	messages := flag.Int("m", 1000, "messages in all")
	rcpts := flag.Int("r", 1, "recipients per message")
	length := flag.Int("l", 4096, "body bytes per message")
	corpus := flag.String("corpus", "", "manifest (.tsv, a path relative to it in the first column) of real messages to send instead")
	flag.Parse()

	cmds, data := build(*rcpts, *length)
	msgs := [][]byte{data}
	if *corpus != "" {
		var err error
		if msgs, err = load(*corpus); err != nil {
			fmt.Fprintln(os.Stderr, "pipeload:", err)
			os.Exit(1)
		}
	}
	var next, sent atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, *sessions)
	for range *sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(*messages) {
					return
				}
				data := msgs[(i-1)%int64(len(msgs))]
				if err := send(*addr, cmds, data, *rcpts); err != nil {
					errs <- fmt.Errorf("message %d: %w", (i-1)%int64(len(msgs)), err)
					return
				}
				sent.Add(int64(len(data)))
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		fmt.Fprintln(os.Stderr, "pipeload:", err)
		os.Exit(1)
	}
	if *corpus != "" {
		fmt.Printf("%d messages %d bytes\n", *messages, sent.Load())
	}
}

// build returns the pipelined commands and the message with its final dot.
func build(rcpts, length int) (cmds, data []byte) {
	var b strings.Builder
	b.WriteString("MAIL FROM:<sender@example.org>\r\n")
	for i := range rcpts {
		fmt.Fprintf(&b, "RCPT TO:<user%d@example.com>\r\n", i)
	}
	b.WriteString("DATA\r\n")
	var m strings.Builder
	m.WriteString("From: <sender@example.org>\r\nTo: <user0@example.com>\r\nSubject: pipeload\r\n\r\n")
	line := strings.Repeat("La de da de da 1.\r\n", 4)[:70] + "\r\n"
	for n := 0; n < length; n += len(line) {
		m.WriteString(line)
	}
	m.WriteString(".\r\n")
	return []byte(b.String()), []byte(m.String())
}

// send delivers one message on a connection of its own.
func send(addr string, cmds, data []byte, rcpts int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	if err := expect(r, 1, '2'); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if _, err := c.Write([]byte("LHLO pipeload\r\n")); err != nil {
		return err
	}
	if err := expect(r, 1, '2'); err != nil {
		return fmt.Errorf("LHLO: %w", err)
	}
	if _, err := c.Write(cmds); err != nil {
		return err
	}
	if err := expect(r, 1+rcpts, '2'); err != nil {
		return fmt.Errorf("MAIL or RCPT: %w", err)
	}
	if err := expect(r, 1, '3'); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := c.Write(data); err != nil {
		return err
	}
	if err := expect(r, rcpts, '2'); err != nil {
		return fmt.Errorf("end of data: %w", err)
	}
	_, err = c.Write([]byte("QUIT\r\n"))
	return err
}

// expect reads n replies, multi-line ones whole, each of class want.
func expect(r *bufio.Reader, n int, want byte) error {
	for range n {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			if len(line) < 4 {
				return errors.New("short reply " + strings.TrimSpace(line))
			}
			if line[0] != want {
				return errors.New("reply " + strings.TrimSpace(line))
			}
			if line[3] != '-' {
				break
			}
		}
	}
	return nil
}
