package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOverCapIsDeferred sends bodies over RECEIVER_MAX_BODY: the answer
// defers (503, Retry-After, an explicit 452 4.3.1), never 413, and the
// server stops reading early. A declared length over the cap is answered
// before any of the body is read; a chunked body is read to the cap, and
// net/http then discards at most 256 KiB more before it closes.
func TestOverCapIsDeferred(t *testing.T) {
	const limit = 64 << 10
	const size = 8 << 20
	for _, c := range []struct {
		name   string
		length int64 // -1: chunked, the size is found by reading
	}{
		{"declared by Content-Length", size},
		{"chunked", -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := startReceiver(t, map[string]string{"WEBHOOK_SECRET": secret, "RECEIVER_MAX_BODY": fmt.Sprint(limit)}, nil)
			// Signed for another body: the cap is met before the HMAC could
			// be compared, and the answer must not depend on it.
			r, sent := rc.postRaw(t, signed(t, "msg_big", rc.now(), body), c.length, io.LimitReader(filler{}, size))
			if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "300" || r.header.Get("Content-Type") != "application/json" {
				t.Errorf("answer %d, Retry-After %q, Content-Type %q; want 503, 300, application/json", r.status, r.header.Get("Retry-After"), r.header.Get("Content-Type"))
			}
			var a answer
			if err := json.Unmarshal([]byte(r.body), &a); err != nil || a.Code == nil || *a.Code != 452 || a.EnhancedCode == nil || *a.EnhancedCode != "4.3.1" {
				t.Errorf("answer body %q, want code 452 and enhanced_code 4.3.1", r.body)
			}
			read := rc.read.Load()
			t.Logf("client sent %d bytes, server read %d", sent, read)
			if most := map[bool]int64{true: 16 << 10, false: limit + 256<<10 + 16<<10}[c.length >= 0]; read > most {
				t.Errorf("server read %d bytes with a cap of %d, want at most %d", read, limit, most)
			}
			if out := rc.out.String(); out != fmt.Sprintf("deferred id=msg_big: body over %d bytes (RECEIVER_MAX_BODY)\n", limit) {
				t.Errorf("printed %q", out)
			}
		})
	}
}

// TestAtCapIsDelivered: a body of exactly RECEIVER_MAX_BODY bytes is read
// and delivered; one more byte is deferred.
func TestAtCapIsDelivered(t *testing.T) {
	limit := len(body)
	rc := startReceiver(t, map[string]string{"WEBHOOK_SECRET": secret, "RECEIVER_MAX_BODY": fmt.Sprint(limit)}, nil)
	if r := rc.post(t, signed(t, "msg_1", rc.now(), body), body); r.status != http.StatusOK {
		t.Errorf("body at the cap: %d %q, want 200", r.status, r.body)
	}
	longer := append(body[:len(body):len(body)], ' ')
	if r := rc.post(t, signed(t, "msg_2", rc.now(), longer), longer); r.status != http.StatusServiceUnavailable {
		t.Errorf("body one byte over the cap: %d %q, want 503", r.status, r.body)
	}
}

// TestStalledBodyIsCutOff: a client that sends its headers and part of
// its body, then stops, is answered and disconnected at the read timeout,
// and nothing it sent is acted on.
func TestStalledBodyIsCutOff(t *testing.T) {
	rc := startReceiver(t, map[string]string{"WEBHOOK_SECRET": secret}, func(c *config) { c.readTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", rc.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hdr := signed(t, "msg_slow", rc.now(), body)
	fmt.Fprintf(conn, "POST /inbound HTTP/1.1\r\nHost: receiver\r\nContent-Length: %d\r\n", len(body))
	hdr.Write(conn)
	fmt.Fprintf(conn, "\r\n%s", body[:20])

	start := time.Now()
	conn.SetReadDeadline(start.Add(10 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("stalled body: %d, want 408", resp.StatusCode)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("connection still open after the answer: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cut off after %v, read timeout 300ms", d)
	}
	if out := rc.out.String(); !strings.HasPrefix(out, "refused id=msg_slow: reading the body: ") || strings.Contains(out, "delivery") {
		t.Errorf("printed %q", out)
	}
}
