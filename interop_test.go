package main

// Interoperability tests: the built binary, started as a subprocess the way
// an operator runs it, against LMTP clients we did not write (Python's
// smtplib, swaks, Postfix's smtp-source and Postfix itself) and a real HTTP
// receiver standing in for a user's webhook.
//
// Each test looks its peer up and skips when it is missing, unless
// LMTP_WEBHOOK_REQUIRE_PEERS=1 (as in CI), which makes a missing peer a
// failure. The Postfix test needs root, as `postfix start` does.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestInteropPythonSmtplib sends one message to several recipients with
// Python's smtplib.LMTP and checks that each recipient gets, after DATA,
// the reply its own webhook answer earned, in RCPT order.
func TestInteropPythonSmtplib(t *testing.T) {
	python := peer(t, "python3")
	t.Parallel()

	const (
		ok1     = "ok1@example.test"
		ok2     = "ok2@example.test"
		missing = "missing@example.test"
		busy    = "busy@example.test"
		full    = "full@example.test"
		foreign = "stranger@other.test"
		sender  = "sender@example.test"
		subject = "Grüße from smtplib ✓"
	)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery) {
		switch d.Payload.Envelope.To {
		case ok1:
			w.WriteHeader(http.StatusOK)
		case ok2:
			w.WriteHeader(http.StatusCreated)
		case missing:
			w.WriteHeader(http.StatusNotFound)
		case busy:
			w.WriteHeader(http.StatusServiceUnavailable)
		case full:
			// An explicit answer wins over the status, which alone would
			// be retried.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInsufficientStorage)
			io.WriteString(w, `{"code": 452, "enhanced_code": "4.2.2", "message": "mailbox full"}`)
		default:
			t.Errorf("request for unexpected recipient %q", d.Payload.Envelope.To)
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	b := startBridge(t, rc.url(), "LMTP_DOMAINS=example.test", "RETRY_MAX_ATTEMPTS=3")

	host, port, _ := net.SplitHostPort(b.lmtpAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{filepath.Join("testdata", "interop", "lmtp_send.py"), host, port, sender, subject,
		ok1, missing, foreign, busy, full, ok2, ok1}
	cmd := exec.CommandContext(ctx, python, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lmtp_send.py: %v\n%s", err, stderr.String())
	}
	var res struct {
		Lhlo, Mail []any
		Rcpt, Data []struct {
			Rcpt string
			Code int
			Text string
		}
		MessageID string `json:"message_id"`
		Size      int64
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("lmtp_send.py output: %v\n%s", err, out)
	}

	// RCPT: the foreign domain is refused at once, the rest accepted.
	if len(res.Rcpt) != 7 {
		t.Fatalf("got %d RCPT replies, want 7: %+v", len(res.Rcpt), res.Rcpt)
	}
	for _, r := range res.Rcpt {
		want, prefix := 250, ""
		if r.Rcpt == foreign {
			want, prefix = 550, "5.1.2 "
		}
		if r.Code != want || !strings.HasPrefix(r.Text, prefix) {
			t.Errorf("RCPT %s: got %d %q, want %d %s...", r.Rcpt, r.Code, r.Text, want, prefix)
		}
	}

	// After DATA: one reply per accepted RCPT, in RCPT order; a recipient
	// given twice is answered twice.
	want := []struct {
		rcpt   string
		code   int
		prefix string
		reason string
	}{
		{ok1, 250, "2.0.0 ", ""},
		{missing, 550, "5.1.1 ", ""},
		{busy, 451, "4.", "503"},
		{full, 452, "4.2.2 ", "mailbox full"},
		{ok2, 250, "2.0.0 ", ""},
		{ok1, 250, "2.0.0 ", ""},
	}
	if len(res.Data) != len(want) {
		t.Fatalf("got %d replies after DATA, want %d: %+v", len(res.Data), len(want), res.Data)
	}
	for i, w := range want {
		got := res.Data[i]
		if got.Rcpt != w.rcpt || got.Code != w.code || !strings.HasPrefix(got.Text, w.prefix) || !strings.Contains(got.Text, w.reason) {
			t.Errorf("reply %d after DATA: got %s %d %q, want %s %d %s...%s", i+1, got.Rcpt, got.Code, got.Text, w.rcpt, w.code, w.prefix, w.reason)
		}
	}

	// The receiver: one request per distinct accepted recipient, three for
	// the one answering 503 (RETRY_MAX_ATTEMPTS), all with the same id.
	wantRcpts := []string{ok1, missing, busy, full, ok2}
	wantCount := map[string]int{ok1: 1, missing: 1, busy: 3, full: 1, ok2: 1}
	count := map[string]int{}
	idOf := map[string]string{}
	for _, d := range rc.deliveries() {
		p := d.Payload
		to := p.Envelope.To
		count[to]++
		checkHeaders(t, d)
		if id, ok := idOf[to]; ok && id != d.ID() {
			t.Errorf("%s: webhook-id changed between attempts: %q then %q", to, id, d.ID())
		}
		idOf[to] = d.ID()
		if !slices.Equal(p.Envelope.Recipients, wantRcpts) {
			t.Errorf("%s: envelope.recipients = %q, want %q", to, p.Envelope.Recipients, wantRcpts)
		}
		if p.Envelope.From != sender || p.Envelope.Helo != "smtplib.example.test" {
			t.Errorf("%s: envelope from %q helo %q, want %q and smtplib.example.test", to, p.Envelope.From, p.Envelope.Helo, sender)
		}
		if p.Envelope.Size != res.Size || !strings.HasPrefix(p.Envelope.RemoteAddr, "127.0.0.1:") {
			t.Errorf("%s: envelope size %d remote_addr %q, want %d (bytes sent) and 127.0.0.1:port", to, p.Envelope.Size, p.Envelope.RemoteAddr, res.Size)
		}
		if p.Subject != subject {
			t.Errorf("%s: subject = %q, want %q", to, p.Subject, subject)
		}
		if wantID := strings.Trim(res.MessageID, "<>"); p.MessageID != wantID {
			t.Errorf("%s: message_id = %q, want %q", to, p.MessageID, wantID)
		}
		if len(p.From) != 1 || p.From[0].Address != sender || p.From[0].Name != "Interop Sender" {
			t.Errorf("%s: from = %+v, want Interop Sender <%s>", to, p.From, sender)
		}
		if !strings.Contains(p.Text, "\n.A line that starts with a dot") || !strings.Contains(p.Text, "café, über, 日本") {
			t.Errorf("%s: text lost its dot line or its UTF-8: %q", to, p.Text)
		}
	}
	for _, r := range wantRcpts {
		if count[r] != wantCount[r] {
			t.Errorf("receiver got %d requests for %s, want %d", count[r], r, wantCount[r])
		}
	}
	if count[foreign] != 0 {
		t.Errorf("receiver got %d requests for %s, refused at RCPT, want 0", count[foreign], foreign)
	}
	ids := map[string]bool{}
	for _, id := range idOf {
		ids[id] = true
	}
	if len(ids) != len(wantRcpts) {
		t.Errorf("got %d distinct webhook-ids for %d recipients: %v", len(ids), len(wantRcpts), idOf)
	}
	b.stop(t)
}

// TestInteropSwaksAttachment sends a message with a binary attachment to
// two recipients with swaks and checks that both are delivered and that
// the attachment arrives byte for byte.
func TestInteropSwaksAttachment(t *testing.T) {
	swaks := peer(t, "swaks")
	t.Parallel()

	rc := newReceiver(t, nil)
	b := startBridge(t, rc.url())

	// Every byte value, then a pattern, so that any re-encoding shows.
	content := make([]byte, 70_000)
	for i := range content {
		content[i] = byte(i*7 + i/251)
	}
	copy(content, func() []byte {
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		return all
	}())
	sum := sha256.Sum256(content)
	attachment := filepath.Join(t.TempDir(), "report.bin")
	if err := os.WriteFile(attachment, content, 0o644); err != nil {
		t.Fatal(err)
	}

	host, port, _ := net.SplitHostPort(b.lmtpAddr)
	const subject = "swaks attachment interop"
	rcpts := []string{"alice@example.test", "bob@example.test"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, swaks, "--protocol", "LMTP", "--server", host, "--port", port,
		"--helo", "swaks.example.test", "--from", "sender@example.test", "--to", strings.Join(rcpts, ","),
		"--header", "Subject: "+subject, "--body", "The report is attached.",
		"--attach-type", "application/octet-stream", "--attach", "@"+attachment,
		"--timeout", "30")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}

	// swaks prints " -> ." at the end of the data, then one "<-" line per
	// recipient; "<**" marks a reply it counts as an error.
	transcript := string(out)
	_, afterData, found := strings.Cut(transcript, " -> .\n")
	if !found {
		t.Fatalf("no end of data in the swaks transcript:\n%s", transcript)
	}
	var replies []string
	for _, line := range strings.Split(afterData, "\n") {
		if strings.HasPrefix(line, "<-") || strings.HasPrefix(line, "<**") {
			replies = append(replies, line)
		}
	}
	if len(replies) < len(rcpts) {
		t.Fatalf("swaks shows %d replies after the data, want %d:\n%s", len(replies), len(rcpts), transcript)
	}
	for i := range rcpts {
		if !strings.HasPrefix(replies[i], "<-  250 2.0.0 ") {
			t.Errorf("reply %d after the data: %q, want <-  250 2.0.0 ...", i+1, replies[i])
		}
	}

	got := rc.deliveries()
	if len(got) != len(rcpts) {
		t.Fatalf("receiver got %d requests, want %d", len(got), len(rcpts))
	}
	seen := map[string]bool{}
	for _, d := range got {
		p := d.Payload
		checkHeaders(t, d)
		seen[p.Envelope.To] = true
		if p.Subject != subject {
			t.Errorf("%s: subject = %q, want %q", p.Envelope.To, p.Subject, subject)
		}
		if !slices.Equal(p.Envelope.Recipients, rcpts) {
			t.Errorf("%s: envelope.recipients = %q, want %q", p.Envelope.To, p.Envelope.Recipients, rcpts)
		}
		if len(p.Attachments) != 1 {
			t.Errorf("%s: got %d attachments, want 1", p.Envelope.To, len(p.Attachments))
			continue
		}
		a := p.Attachments[0]
		if a.Filename != "report.bin" || a.ContentType != "application/octet-stream" {
			t.Errorf("%s: attachment %q %q, want report.bin application/octet-stream", p.Envelope.To, a.Filename, a.ContentType)
		}
		if !bytes.Equal(a.Content, content) {
			t.Errorf("%s: attachment content differs from the file (%d bytes, want %d)", p.Envelope.To, len(a.Content), len(content))
		}
		if a.SHA256 != hex.EncodeToString(sum[:]) || a.Size != len(content) {
			t.Errorf("%s: attachment sha256 %s size %d, want %x %d", p.Envelope.To, a.SHA256, a.Size, sum, len(content))
		}
	}
	for _, r := range rcpts {
		if !seen[r] {
			t.Errorf("no request for %s", r)
		}
	}
	b.stop(t)
}

// TestInteropSmtpSourceLoad drives the bridge with Postfix's LMTP load
// generator: many sessions, many messages, several recipients each, and
// every delivery must reach the receiver exactly once.
func TestInteropSmtpSourceLoad(t *testing.T) {
	smtpSource := peer(t, "smtp-source")
	t.Parallel()

	const (
		sessions = 10
		messages = 300
		perMsg   = 5
		subject  = "smtp-source load"
	)
	rc := newReceiver(t, nil)
	b := startBridge(t, rc.url())

	// -N numbers recipients 1rcpt@..., 2rcpt@..., once across the whole
	// run, so that each (message, recipient) is a distinct recipient even
	// though smtp-source's messages are otherwise nearly identical (their
	// Message-Id is not even unique).
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, smtpSource, "-L", "-s", strconv.Itoa(sessions), "-m", strconv.Itoa(messages),
		"-r", strconv.Itoa(perMsg), "-N", "-l", "2000", "-S", subject,
		"-M", "client.example.test", "-f", "sender@example.test", "-t", "rcpt@example.test", b.lmtpAddr)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("smtp-source (it stops at the first unexpected reply): %v\n%s", err, out)
	}
	elapsed := time.Since(start)

	// smtp-source has read every 250, and the bridge answers 250 only
	// after the webhook did: everything has arrived.
	got := rc.deliveries()
	total := messages * perMsg
	if len(got) != total {
		t.Errorf("receiver got %d requests, want %d (%d messages x %d recipients)", len(got), total, messages, perMsg)
	}
	perRcpt := map[string]int{}
	ids := map[string]string{}
	groups := map[string][]string{} // the transaction's recipients -> the recipients delivered
	errs := &errorLimit{t: t, max: 10}
	for _, d := range got {
		p := d.Payload
		to := p.Envelope.To
		perRcpt[to]++
		if other, dup := ids[d.ID()]; dup && other != to {
			errs.Errorf("webhook-id %s used for %s and %s", d.ID(), other, to)
		}
		ids[d.ID()] = to
		key := strings.Join(p.Envelope.Recipients, ",")
		groups[key] = append(groups[key], to)
		if p.Subject != subject || p.Envelope.Helo != "client.example.test" || p.Envelope.From != "sender@example.test" {
			errs.Errorf("%s: subject %q helo %q from %q", to, p.Subject, p.Envelope.Helo, p.Envelope.From)
		}
	}
	for i := 1; i <= total; i++ {
		r := fmt.Sprintf("%drcpt@example.test", i)
		if perRcpt[r] != 1 {
			errs.Errorf("%s: %d requests, want 1", r, perRcpt[r])
		}
	}
	errs.flush()
	for key, delivered := range groups {
		slices.Sort(delivered)
		want := strings.Split(key, ",")
		slices.Sort(want)
		if len(want) != perMsg || !slices.Equal(delivered, want) {
			errs.Errorf("message to %s: delivered to %q", key, delivered)
		}
	}
	errs.flush()
	if len(perRcpt) != total || len(ids) != total {
		t.Errorf("%d distinct recipients and %d distinct webhook-ids, want %d of each", len(perRcpt), len(ids), total)
	}
	if len(groups) != messages {
		t.Errorf("%d distinct recipient lists, want one per message: %d", len(groups), messages)
	}
	t.Logf("smtp-source: %d messages x %d recipients over %d sessions in %s (%.0f deliveries/s)",
		messages, perMsg, sessions, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	b.stop(t)
}
