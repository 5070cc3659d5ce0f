package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/retry"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
)

// socketCounter dials the bridge's connections to the webhook and counts
// them where the cap is enforced, in the client: open now, the most open
// at once, and all dialed. Counting at the server would be wrong: it
// learns that the client closed a connection only when it next reads
// from it, so it can see the connection dialed in its place first.
type socketCounter struct {
	open, peak, dialed atomic.Int64
}

func (s *socketCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	s.dialed.Add(1)
	n := s.open.Add(1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	return &countedConn{Conn: c, s: s}, nil
}

// countedConn is one socket of a socketCounter; it counts as closed from
// its first Close.
type countedConn struct {
	net.Conn
	s    *socketCounter
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.s.open.Add(-1) })
	return c.Conn.Close()
}

func TestConnectionsAreReusedAndCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(time.Millisecond)
		w.WriteHeader(204)
	}))
	t.Cleanup(srv.Close)

	const maxConns = 8
	var sockets socketCounter
	addr := startBridge(t, srv.URL, func(c *webhook.Config, l *lmtp.Config) {
		c.MaxConns = maxConns
		c.Dial = sockets.dial
		// 100 requests queue for 8 connections, and a request's time
		// limit includes its wait: on a busy machine the tests' short
		// limits would time requests out, and each one timed out closes
		// its connection. This test is about the cap, not about timeouts.
		c.Timeout = time.Minute
		c.Retry = retry.Policy{MaxAttempts: 1, MaxElapsed: time.Minute}
		l.MaxRecipients = 100
	})
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	const sessions, perSession, rcpts = 4, 10, 25
	for s := range sessions {
		wg.Go(func() {
			cl := lhlo(t, addr)
			var list []string
			for i := range rcpts {
				list = append(list, fmt.Sprintf("s%d-r%d@x.test", s, i))
			}
			for range perSession {
				for _, r := range cl.Send("a@x.test", list, simpleMessage) {
					if !strings.HasPrefix(r, "250 ") {
						t.Errorf("reply %q", r)
						return
					}
				}
			}
			cl.Expect("221 ", "QUIT")
		})
	}
	wg.Wait()
	deliveries := sessions * perSession * rcpts
	if p := sockets.peak.Load(); p > maxConns {
		t.Errorf("%d connections open at once to the webhook, cap is %d", p, maxConns)
	}
	// A few connections may be replaced: net/http does not reuse one
	// whose request it has not seen written 50ms after the answer came,
	// which happens on a busy machine.
	if n := sockets.dialed.Load(); n > 2*maxConns {
		t.Errorf("%d connections opened for %d deliveries: not reused", n, deliveries)
	}
	// Nothing outlives the transactions: what remains is the kept-alive
	// connections (two goroutines on the client side, one on the server).
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+3*maxConns+4 {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after %d deliveries", before, runtime.NumGoroutine(), deliveries)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d deliveries over %d connections (peak %d open)", deliveries, sockets.dialed.Load(), sockets.peak.Load())
}
