package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cuttingProxy forwards TCP to target and cuts its first connection once
// cut bytes have gone upstream: an upload that breaks half-way.
type cuttingProxy struct {
	l     net.Listener
	cut   int64
	conns atomic.Int32
	wg    sync.WaitGroup
	mu    sync.Mutex
	open  map[net.Conn]bool
}

func newCuttingProxy(t *testing.T, target string, cut int64) *cuttingProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{l: l, cut: cut, open: map[net.Conn]bool{}}
	p.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			first := p.conns.Add(1) == 1
			p.wg.Go(func() { p.serve(c, target, first) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		// Keep-alive connections would stay open until the server's idle
		// timeout.
		p.mu.Lock()
		for c := range p.open {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *cuttingProxy) serve(c net.Conn, target string, first bool) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	p.mu.Lock()
	p.open[c], p.open[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{})
	go func() {
		io.Copy(c, up)
		c.Close()
		close(done)
	}()
	if first {
		io.CopyN(up, c, p.cut)
		// Cut both ways at once, like a reset connection.
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
		up.Close()
	} else {
		io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
	}
	<-done
}

func (p *cuttingProxy) addr() string { return p.l.Addr().String() }

func TestPutRetriesFromTheFirstByte(t *testing.T) {
	w := sharedWeed(t)
	w.MakeBucket(t, "cut-upload")
	proxy := newCuttingProxy(t, w.Endpoint(), 1*mib)
	t.Setenv(envAccessKeyID, testAccessKey)
	t.Setenv(envSecretAccessKey, testSecretKey)
	cfg, err := Parse("s3://cut-upload?endpoint=http://" + proxy.addr())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	data, sum := content(9, 4*mib)
	// A reader that is not at its start: the object is what follows.
	prefix := []byte("not part of the object")
	r := bytes.NewReader(append(prefix, data...))
	r.Seek(int64(len(prefix)), io.SeekStart)

	start := time.Now()
	link, err := s.Put(context.Background(), PartKey(sum), int64(len(data)), "", r)
	t.Logf("Put through a connection cut after 1 MiB: %s, %d connections", time.Since(start).Round(time.Millisecond), proxy.conns.Load())
	if err != nil {
		t.Fatalf("Put through a connection cut half-way: %v", err)
	}
	if got, n, _ := download(t, link.URL); got != sum {
		t.Fatalf("download: %d bytes, sha256 %x; want %d bytes, %x", n, got, len(data), sum)
	}
	if n := proxy.conns.Load(); n < 2 {
		t.Errorf("%d connections: the first upload was not cut and retried", n)
	}
}

// TestPutHungStoreEndsWithContext: a store that takes the connection and
// never answers holds Put only as long as the caller's context allows.
func TestPutHungStoreEndsWithContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	stop := make(chan struct{})
	held.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held.Go(func() {
				<-stop
				c.Close()
			})
		}
	})
	t.Cleanup(func() {
		l.Close()
		close(stop)
		held.Wait()
	})
	t.Setenv(envAccessKeyID, testAccessKey)
	t.Setenv(envSecretAccessKey, testSecretKey)
	cfg, err := Parse("s3://hung?endpoint=http://" + l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	data, sum := content(10, 64<<10)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err = s.Put(ctx, PartKey(sum), int64(len(data)), "", bytes.NewReader(data))
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put to a store that never answers: %v, want the context's deadline", err)
	}
	if took > 3*time.Second {
		t.Errorf("Put returned %s after its 1s deadline", took)
	}
}
