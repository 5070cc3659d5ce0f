package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

func TestMemoryLimitDefault(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v2, unlimited, v1 := file("v2", "1073741824\n"), file("max", "max\n"), file("v1", "9223372036854771712\n")
	small := file("small", "16777216\n")
	cases := []struct {
		name  string
		value string
		files []string
		want  int64
	}{
		{"cgroup v2 limit", "", []string{v2}, 768 << 20},
		{"cgroup v2 without limit, v1 without limit", "", []string{unlimited, v1}, defaultMemoryLimit},
		{"no cgroup", "", []string{filepath.Join(dir, "none")}, defaultMemoryLimit},
		{"first file with a limit", "", []string{unlimited, v2}, 768 << 20},
		{"tiny cgroup", "", []string{small}, minMemoryLimit},
		{"set", "600MiB", []string{v2}, 600 << 20},
		{"bytes", "67108864", nil, 64 << 20},
		{"GiB", "2GiB", nil, 2 << 30},
		{"KiB with a space", "65536 KiB", nil, 64 << 20},
	}
	for _, c := range cases {
		got, err := memoryLimit(c.value, c.files)
		if err != nil || got != c.want {
			t.Errorf("%s: memoryLimit(%q) = %d, %v; want %d", c.name, c.value, got, err, c.want)
		}
	}
	for _, bad := range []string{"lots", "-1MiB", "1.5GiB", "10MB", "31MiB", "99999999999TiB"} {
		if n, err := memoryLimit(bad, nil); err == nil {
			t.Errorf("memoryLimit(%q) = %d, want an error", bad, n)
		}
	}
}

// controlMessage is a message of about size bytes of control characters,
// which JSON writes six bytes each.
func controlMessage(i, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Subject: m%d\r\nContent-Type: text/plain\r\n\r\n", i)
	line := "\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"
	for n := 0; b.Len() < size; n++ {
		fmt.Fprintf(&b, "%s%d\r\n", line, n%10)
	}
	return b.String()
}

// TestMemoryLimitDefersWhatDoesNotFit sends large messages of control
// characters on concurrent connections to a bridge with a small
// MEMORY_LIMIT, while the webhook holds every request it gets: the
// messages that fit are posted, the others wait, then get 451 4.3.1 for
// every recipient, and never a 5xx. Once the webhook answers, the
// deferred messages, sent again, are all delivered.
func TestMemoryLimitDefersWhatDoesNotFit(t *testing.T) {
	const clients, size = 6, 2 << 20
	rcpts := []string{"r1@x.test", "r2@x.test"}
	gate := make(chan struct{})
	var openGate sync.Once
	release := func() { openGate.Do(func() { close(gate) }) }
	t.Cleanup(release) // before the receiver closes, which waits for its handlers

	var mu sync.Mutex
	posted := map[string]bool{} // subjects of messages the webhook got
	changed := make(chan struct{}, 100)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery) {
		mu.Lock()
		posted[d.Payload.Subject] = true
		mu.Unlock()
		changed <- struct{}{}
		<-gate
		w.WriteHeader(http.StatusOK)
	})
	b := startBridge(t, rc.url(), "MEMORY_LIMIT=32MiB", "WEBHOOK_TIMEOUT=60s", "RETRY_MAX_ELAPSED=60s")

	send := func(i int) []string {
		cl := lmtptest.LHLO(t, b.lmtpAddr)
		msg := controlMessage(i, size)
		cl.Expect("250 ", "MAIL FROM:<a@x.test> SIZE=%d", len(msg))
		for _, r := range rcpts {
			cl.Expect("250 ", "RCPT TO:<%s>", r)
		}
		replies := cl.Data(msg, len(rcpts))
		cl.Expect("221 ", "QUIT")
		return replies
	}
	type result struct {
		i       int
		replies []string
	}
	results := make(chan result, clients)
	for i := range clients {
		go func() { results <- result{i, send(i)} }()
	}

	// The webhook answers once every message has either reached it or
	// been deferred: nothing can leave the budget before.
	var deferred []int
	var delivered int
	check := func(r result) {
		for k, reply := range r.replies {
			switch {
			case reply == "451 4.3.1 <"+rcpts[k]+"> Insufficient system resources, try again later":
				if k == 0 {
					deferred = append(deferred, r.i)
				}
			case strings.HasPrefix(reply, "250 "):
				if k == 0 {
					delivered++
				}
			default:
				t.Errorf("message %d: reply %q", r.i, reply)
			}
		}
	}
	deadline := time.After(60 * time.Second)
	for done := 0; done < clients; {
		mu.Lock()
		n := len(posted)
		mu.Unlock()
		if n+len(deferred) == clients {
			release()
		}
		select {
		case r := <-results:
			check(r)
			done++
		case <-changed:
		case <-deadline:
			t.Fatalf("%d of %d transactions ended within 60s (%d posted, %d deferred)", done, clients, n, len(deferred))
		}
	}
	if len(deferred) == 0 || delivered == 0 {
		t.Fatalf("%d delivered, %d deferred: want some of each", delivered, len(deferred))
	}
	t.Logf("first round: %d delivered, %d deferred with 451 4.3.1", delivered, len(deferred))

	// The MTA tries again; with the webhook answering, everything goes.
	for round := 0; len(deferred) > 0 && round < 5; round++ {
		again := deferred
		deferred = nil
		for _, i := range again {
			check(result{i, send(i)})
		}
	}
	if len(deferred) > 0 {
		t.Errorf("messages %v still deferred after 5 rounds", deferred)
	}
	for i := range clients {
		for _, r := range rcpts {
			found := false
			for _, d := range rc.deliveries() {
				found = found || (d.Payload.Subject == fmt.Sprintf("m%d", i) && d.Payload.Envelope.To == r)
			}
			if !found {
				t.Errorf("message %d never reached the webhook for %s", i, r)
			}
		}
	}
}
