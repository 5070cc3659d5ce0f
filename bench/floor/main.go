// Command floor is the least a go-smtp and net/http bridge can do: an LMTP
// server that reads each message and POSTs its raw bytes once per
// recipient, concurrently, to the benchmark's receiver, then answers 250
// per recipient. It parses nothing, encodes nothing, logs nothing and
// counts nothing.
//
// bench/run.sh drives it with the same load as the bridge: its time for
// each extra recipient (an RCPT round trip and one loopback POST with its
// answer, plus the receiver's work on the same cores) is the floor under
// the bridge's.
package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/emersion/go-smtp"
)

type backend struct {
	url string
	rt  *http.Transport
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

type session struct {
	b     *backend
	rcpts []string
}

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *session) Reset()        { s.rcpts = s.rcpts[:0] }
func (s *session) Logout() error { return nil }
func (s *session) Data(io.Reader) error {
	return errors.New("LMTP only")
}

// LMTPData posts the message once per recipient and reports each answer.
func (s *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i, rcpt := range s.rcpts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status.SetStatus(rcpt, s.b.post(data, i))
		}()
	}
	wg.Wait()
	return nil
}

// post sends one delivery: a body the receiver accepts (it checks the
// leading id and the closing brace), the raw message inside.
func (b *backend) post(data []byte, i int) error {
	body := make([]byte, 0, len(data)+64)
	body = append(body, `{"id":"msg_`...)
	body = strconv.AppendInt(body, int64(i), 10)
	body = append(body, `","raw":"`...)
	body = append(body, data...) // not escaped: the receiver does not parse it
	body = append(body, `"}`...)
	req, err := http.NewRequest(http.MethodPost, b.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header["Content-Type"] = []string{"application/json"}
	req.Header["Webhook-Id"] = []string{"msg_" + strconv.Itoa(i)}
	resp, err := b.rt.RoundTrip(req)
	if err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 1}, Message: "webhook unreachable"}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "webhook failed"}
	}
	return nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "LMTP address to listen on")
	url := flag.String("url", "", "webhook URL")
	flag.Parse()
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.WriteBufferSize = 32 << 10
	s := smtp.NewServer(&backend{url: *url, rt: t})
	s.LMTP = true
	s.Domain = "floor"
	s.MaxMessageBytes = 64 << 20
	s.MaxLineLength = 1 << 20
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(s.Serve(l))
}
