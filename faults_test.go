package main

// The Postfix fault test: a receiver that fails at random in the ways real
// webhooks do, and a private Postfix instance managed from the test.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

// Faults the receiver of the Postfix test injects.
type fault int

const (
	faultNone fault = iota
	// fault500 answers 500 without acting on the delivery.
	fault500
	// faultHang never answers; the bridge gives up at WEBHOOK_TIMEOUT.
	faultHang
	// faultDrop closes the connection in the middle of a 200 answer,
	// without acting on the delivery.
	faultDrop
	// faultLate acts on the delivery, then answers only after the bridge
	// has given up: the bridge must try again, which makes a duplicate.
	faultLate
	// faultDropAfter acts on the delivery, then closes the connection in
	// the middle of a 200 answer: also a duplicate to come.
	faultDropAfter
	numFaults
)

var faultNames = [numFaults]string{"none", "http500", "hang", "drop", "late", "drop_after"}

// pair is one recipient of one message: the unit of delivery.
type pair struct{ messageID, rcpt string }

// pairStats is what the receiver saw of one pair.
type pairStats struct {
	requests  int
	processed int // times the receiver acted on it
	acked     int // 2xx answers sent at once
	ids       map[string]bool
}

// chaos answers for a receiver that fails at random during a window, then
// recovers.
type chaos struct {
	rate    float64       // share of requests that fail during the window
	window  time.Duration // counted from the first request
	hangCap time.Duration // longest a hanging answer waits

	mu     sync.Mutex
	rng    *rand.Rand
	until  time.Time
	forced []fault // the first faults, so that each kind occurs
	faults [numFaults]int
	pairs  map[pair]*pairStats
}

func (c *chaos) pick() fault {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.until.IsZero() {
		c.until = now.Add(c.window)
	}
	if now.After(c.until) || c.rng.Float64() >= c.rate {
		return faultNone
	}
	f := faultNone
	if len(c.forced) > 0 {
		f, c.forced = c.forced[0], c.forced[1:]
	} else {
		switch x := c.rng.Float64(); {
		case x < 0.30:
			f = fault500
		case x < 0.45:
			f = faultHang
		case x < 0.65:
			f = faultDrop
		case x < 0.80:
			f = faultLate
		default:
			f = faultDropAfter
		}
	}
	c.faults[f]++
	return f
}

func (c *chaos) record(d *delivery, processed, acked bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := pair{d.Payload.MessageID, d.Payload.Envelope.To}
	s := c.pairs[k]
	if s == nil {
		s = &pairStats{ids: map[string]bool{}}
		c.pairs[k] = s
	}
	s.requests++
	s.ids[d.ID()] = true
	if processed {
		s.processed++
	}
	if acked {
		s.acked++
	}
}

func (c *chaos) answer(w http.ResponseWriter, r *http.Request, d *delivery) {
	f := c.pick()
	switch f {
	case faultNone:
		c.record(d, true, true)
		w.WriteHeader(http.StatusOK)
	case fault500:
		c.record(d, false, false)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "injected fault")
	case faultHang, faultLate:
		c.record(d, f == faultLate, false)
		select {
		case <-r.Context().Done(): // the bridge hung up
		case <-time.After(c.hangCap):
		}
		if f == faultHang {
			// Never let a 200 out for a delivery not acted on.
			panic(http.ErrAbortHandler)
		}
		w.WriteHeader(http.StatusOK) // too late: nobody is listening
	case faultDrop, faultDropAfter:
		c.record(d, f == faultDropAfter, false)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n{\"ok\":")
		buf.Flush()
		conn.Close()
	}
}

// postfixInstance is a private Postfix started from the system's packages
// with its own configuration, queue and log.
type postfixInstance struct {
	postfix, postqueue string
	dir, configDir     string
	smtpAddr           string
	mailLog            string
}

func (p *postfixInstance) run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

func (p *postfixInstance) log() string {
	b, _ := os.ReadFile(p.mailLog)
	return string(b)
}

// postfixPeers returns the paths of postfix and postqueue, or skips the
// test (fails it when peers are required) when they are missing or when
// the test does not run as root, which `postfix start` needs.
func postfixPeers(t *testing.T) (postfix, postqueue string) {
	t.Helper()
	postfix, postqueue = peer(t, "postfix"), peer(t, "postqueue")
	if os.Geteuid() != 0 {
		lmtptest.MissingPeer(t, "starting Postfix needs root")
	}
	return postfix, postqueue
}

// startPostfix writes the configuration from testdata/interop/postfix,
// starts the instance and stops it, and removes everything, when the test
// ends.
func startPostfix(t *testing.T, postfix, postqueue, lmtpAddr string, concurrency int) *postfixInstance {
	t.Helper()
	p := &postfixInstance{postfix: postfix, postqueue: postqueue}
	dir, err := os.MkdirTemp("", "lwh-pf-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Postfix's daemons run as the postfix user and must reach the queue.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(dir); d != "/"; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 {
			t.Fatalf("%s is not searchable by the postfix user; point TMPDIR elsewhere", d)
		}
	}
	p.configDir = filepath.Join(dir, "etc")
	if err := os.Mkdir(p.configDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "queue"), 0o755); err != nil {
		t.Fatal(err)
	}
	p.smtpAddr = freeAddr(t)
	p.mailLog = filepath.Join("/var/log", "lmtp-webhook-interop-"+filepath.Base(dir)+".log")
	t.Cleanup(func() { os.Remove(p.mailLog) })

	vars := map[string]any{
		"ConfigDir":   p.configDir,
		"QueueDir":    filepath.Join(dir, "queue"),
		"DataDir":     filepath.Join(dir, "data"),
		"SMTPAddr":    p.smtpAddr,
		"LMTPAddr":    lmtpAddr,
		"MailLog":     p.mailLog,
		"Concurrency": concurrency,
	}
	for _, name := range []string{"main.cf", "master.cf"} {
		tmpl, err := template.ParseFiles(filepath.Join("testdata", "interop", "postfix", name+".tmpl"))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, vars); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p.configDir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Registered before start: a start that fails half-way is stopped too.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := p.run(ctx, p.postfix, "-c", p.configDir, "stop"); err != nil &&
			!strings.Contains(out, "not running") {
			t.Errorf("postfix stop: %v\n%s", err, out)
		}
		if t.Failed() {
			t.Logf("Postfix log %s:\n%s", p.mailLog, tail(p.log(), 60))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := p.run(ctx, p.postfix, "-c", p.configDir, "start"); err != nil {
		t.Fatalf("postfix start: %v\n%s\nlog:\n%s", err, out, tail(p.log(), 30))
	}
	// The master opens its listeners before start returns; make sure.
	var dialErr error
	if !poll(10*time.Second, 20*time.Millisecond, func() bool {
		c, err := net.DialTimeout("tcp", p.smtpAddr, time.Second)
		if err == nil {
			c.Close()
		}
		dialErr = err
		return err == nil
	}) {
		t.Fatalf("Postfix smtpd not listening on %s: %v", p.smtpAddr, dialErr)
	}
	return p
}

// waitEmpty polls the queue until Postfix reports it empty.
func (p *postfixInstance) waitEmpty(t *testing.T, timeout time.Duration) {
	t.Helper()
	var out string
	var err error
	if !poll(timeout, 200*time.Millisecond, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err = p.run(ctx, p.postqueue, "-c", p.configDir, "-p")
		return err == nil && strings.Contains(out, "Mail queue is empty")
	}) {
		t.Fatalf("Postfix queue not empty after %s (%v):\n%s", timeout, err, tail(out, 30))
	}
}

var logStatus = regexp.MustCompile(`: to=<([^>]*)>.* status=(\w+)`)

// statuses counts the maillog's delivery status lines, by status and, for
// status=sent, by recipient.
func (p *postfixInstance) statuses() (byStatus map[string]int, sent map[string]int) {
	byStatus, sent = map[string]int{}, map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(p.log()))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := logStatus.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		byStatus[m[2]]++
		if m[2] == "sent" {
			sent[m[1]]++
		}
	}
	return byStatus, sent
}

// TestInteropPostfixFaults runs Postfix, from the system's packages, in
// front of the bridge, with a webhook that fails in every way for a while
// and then recovers: once the queue drains, every recipient of every
// message must have been delivered, none bounced, and redeliveries must
// carry the id of the first attempt.
func TestInteropPostfixFaults(t *testing.T) {
	smtpSource := peer(t, "smtp-source")
	postfix, postqueue := postfixPeers(t)

	const (
		messages = 300
		perMsg   = 5
		sessions = 10
	)
	c := &chaos{
		rate:    0.35,
		window:  8 * time.Second,
		hangCap: 10 * time.Second,
		rng:     rand.New(rand.NewPCG(4, 5)),
		forced:  []fault{fault500, faultHang, faultDrop, faultLate, faultDropAfter},
		pairs:   map[pair]*pairStats{},
	}
	rc := newReceiver(t, c.answer)
	b := startBridge(t, rc.url(), "RETRY_MAX_ATTEMPTS=3")
	pf := startPostfix(t, postfix, postqueue, b.lmtpAddr, 10)

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	msgFile := filepath.Join("testdata", "interop", "postfix", "message.eml")
	inject := exec.CommandContext(ctx, smtpSource, "-s", strconv.Itoa(sessions), "-m", strconv.Itoa(messages),
		"-r", strconv.Itoa(perMsg), "-N", "-F", msgFile, "-M", "client.example.test",
		"-f", "sender@example.test", "-t", "rcpt@example.test", pf.smtpAddr)
	if out, err := inject.CombinedOutput(); err != nil {
		t.Fatalf("smtp-source into Postfix: %v\n%s", err, out)
	}
	injected := time.Since(start)
	pf.waitEmpty(t, 120*time.Second)
	drain := time.Since(start)

	// postlogd writes asynchronously: wait for every status=sent line.
	total := messages * perMsg
	var byStatus, sent map[string]int
	poll(10*time.Second, 100*time.Millisecond, func() bool {
		byStatus, sent = pf.statuses()
		return len(sent) >= total
	})
	// The queue is empty: nothing is in flight any more.
	b.stop(t)

	c.mu.Lock()
	defer c.mu.Unlock()
	msgs := map[string]int{} // Message-ID -> recipients seen
	rcpts := map[string]bool{}
	requests, deliveries, duplicates := 0, 0, 0
	for k, s := range c.pairs {
		msgs[k.messageID]++
		rcpts[k.rcpt] = true
		requests += s.requests
		deliveries += s.acked
		duplicates += max(s.processed-1, 0)
	}
	var faults []string
	for f := fault500; f < numFaults; f++ {
		faults = append(faults, fmt.Sprintf("%s:%d", faultNames[f], c.faults[f]))
	}
	summary := fmt.Sprintf("postfix-faults: messages=%d recipients=%d requests=%d deliveries=%d retries=%d duplicates=%d mta_deferrals=%d faults=%s inject=%s drain=%s",
		len(msgs), len(c.pairs), requests, deliveries, requests-len(c.pairs), duplicates, byStatus["deferred"],
		strings.Join(faults, ","), injected.Round(time.Millisecond), drain.Round(time.Millisecond))
	t.Log(summary)
	fmt.Println(summary)

	// Postfix: every recipient sent once, nothing bounced, and some
	// recipients deferred, so that its redelivery was exercised.
	if byStatus["bounced"] != 0 || byStatus["expired"] != 0 {
		t.Errorf("Postfix bounced %d and expired %d deliveries, want none", byStatus["bounced"], byStatus["expired"])
	}
	errs := &errorLimit{t: t, max: 10}
	for i := 1; i <= total; i++ {
		r := fmt.Sprintf("%drcpt@example.test", i)
		if sent[r] != 1 {
			errs.Errorf("Postfix logged status=sent %d times for %s, want once", sent[r], r)
		}
	}
	errs.flush()
	if byStatus["deferred"] == 0 {
		t.Errorf("Postfix deferred nothing: the faults never reached the MTA, so its redelivery went untested")
	}

	// The receiver: every (message, recipient) answered 2xx at least once,
	// and all its requests, in-process retries and Postfix's redeliveries
	// alike, carry one webhook-id that no other pair has.
	if len(msgs) != messages || len(c.pairs) != total || len(rcpts) != total {
		t.Errorf("receiver saw %d Message-IDs, %d (message, recipient) pairs and %d recipients, want %d, %d and %d",
			len(msgs), len(c.pairs), len(rcpts), messages, total, total)
	}
	idOwner := map[string]pair{}
	for k, s := range c.pairs {
		if s.acked == 0 {
			errs.Errorf("%s of %s: never answered 2xx (%d requests, %d processed), yet Postfix considers it delivered", k.rcpt, k.messageID, s.requests, s.processed)
		}
		if len(s.ids) != 1 {
			errs.Errorf("%s of %s: %d different webhook-ids over %d requests, want 1", k.rcpt, k.messageID, len(s.ids), s.requests)
		}
		for id := range s.ids {
			if other, dup := idOwner[id]; dup {
				errs.Errorf("webhook-id %s used for both %v and %v", id, other, k)
			}
			idOwner[id] = k
		}
	}
	errs.flush()
	for id, n := range msgs {
		if n != perMsg {
			errs.Errorf("message %s: %d recipients reached the receiver, want %d", id, n, perMsg)
		}
	}
	errs.flush()
	// What Postfix passed on: its LHLO name, the envelope sender, and the
	// body with its dot-stuffed line restored.
	for _, d := range rc.deliveries() {
		p := d.Payload
		if p.Envelope.Helo != "mta.example.test" || p.Envelope.From != "sender@example.test" ||
			p.Subject != "postfix fault interop" || !strings.Contains(p.Text, "\n.A line with a leading dot.") {
			errs.Errorf("%s: helo %q from %q subject %q text %q", p.Envelope.To, p.Envelope.Helo, p.Envelope.From, p.Subject, p.Text)
		}
	}
	errs.flush()

	// The faults: every kind happened, and each delivery acted on before
	// a failed answer was acted on again later: a duplicate.
	for f := fault500; f < numFaults; f++ {
		if c.faults[f] == 0 {
			t.Errorf("no %s fault was injected", faultNames[f])
		}
	}
	if processed := c.faults[faultLate] + c.faults[faultDropAfter]; duplicates < processed {
		t.Errorf("%d duplicates, want at least one per delivery processed before a failed answer (%d)", duplicates, processed)
	}
}
