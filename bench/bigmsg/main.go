// Command bigmsg builds a large message deterministically (a short text
// part and one base64 attachment of pseudo-random bytes, the shape of a
// mailed PDF or archive) and sends it over LMTP, as Postfix would, to a
// number of recipients. It prints the time from the end of DATA to the
// last recipient's reply and fails unless every recipient got 250.
//
// With -out it only writes the message to a file.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/bench/largemsg"
)

func main() {
	size := flag.Int("size", 20<<20, "message size in bytes")
	addr := flag.String("addr", "127.0.0.1:2424", "LMTP server host:port")
	rcpts := flag.Int("rcpts", 5, "recipients")
	count := flag.Int("count", 1, "messages to send, one after the other on one connection")
	sizeParam := flag.Bool("size-param", true, "declare SIZE= at MAIL FROM, as Postfix does")
	out := flag.String("out", "", "write the message to this file and exit")
	flag.Parse()

	msg := largemsg.Build(*size)
	if *out != "" {
		if err := os.WriteFile(*out, msg, 0o644); err != nil {
			fail(err)
		}
		return
	}
	var to []string
	for i := range *rcpts {
		to = append(to, fmt.Sprintf("user%d@example.com", i))
	}
	c, err := dial(*addr)
	if err != nil {
		fail(err)
	}
	defer c.close()
	for range *count {
		start := time.Now()
		wait, err := c.send("sender@example.org", to, msg, *sizeParam)
		if err != nil {
			fail(err)
		}
		fmt.Printf("size=%d rcpts=%d total=%.3fs end_of_data_to_last_reply=%.3fs\n",
			len(msg), len(to), time.Since(start).Seconds(), wait.Seconds())
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bigmsg:", err)
	os.Exit(1)
}

type client struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

func dial(addr string) (*client, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &client{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriterSize(conn, 64<<10)}
	if _, err := c.reply("2"); err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if err := c.cmd("LHLO bench.example.org", "2"); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *client) close() {
	_ = c.cmd("QUIT", "2")
	c.conn.Close()
}

// send runs one transaction and returns the time from the end of data to
// the last recipient's reply.
func (c *client) send(from string, to []string, msg []byte, sizeParam bool) (time.Duration, error) {
	mail := "MAIL FROM:<" + from + ">"
	if sizeParam {
		mail += fmt.Sprintf(" SIZE=%d", len(msg))
	}
	if err := c.cmd(mail, "2"); err != nil {
		return 0, err
	}
	for _, rc := range to {
		if err := c.cmd("RCPT TO:<"+rc+">", "2"); err != nil {
			return 0, err
		}
	}
	if err := c.cmd("DATA", "3"); err != nil {
		return 0, err
	}
	if err := writeDotStuffed(c.w, msg); err != nil {
		return 0, err
	}
	if _, err := c.w.WriteString(".\r\n"); err != nil {
		return 0, err
	}
	if err := c.w.Flush(); err != nil {
		return 0, err
	}
	end := time.Now()
	var bad []string
	for range to {
		line, err := c.reply("")
		if err != nil {
			return 0, err
		}
		if !strings.HasPrefix(line, "250") {
			bad = append(bad, line)
		}
	}
	wait := time.Since(end)
	if len(bad) > 0 {
		return wait, fmt.Errorf("not delivered: %s", strings.Join(bad, "; "))
	}
	return wait, nil
}

func writeDotStuffed(w *bufio.Writer, msg []byte) error {
	if !bytes.HasSuffix(msg, []byte("\n")) {
		msg = append(msg[:len(msg):len(msg)], '\r', '\n')
	}
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line = msg[:i+1]
		}
		msg = msg[len(line):]
		if line[0] == '.' {
			_ = w.WriteByte('.')
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

func (c *client) cmd(line, want string) error {
	if _, err := c.w.WriteString(line + "\r\n"); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	_, err := c.reply(want)
	if err != nil {
		return fmt.Errorf("%s: %w", line, err)
	}
	return nil
}

// reply reads one (possibly multi-line) reply and checks its first digit.
func (c *client) reply(want string) (string, error) {
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) >= 4 && line[3] == '-' {
			continue
		}
		if want != "" && !strings.HasPrefix(line, want) {
			return line, fmt.Errorf("unexpected reply %q", line)
		}
		return line, nil
	}
}
