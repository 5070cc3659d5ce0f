package main

// Large parts in object storage, as a user runs it: the built program
// with STORAGE_URL pointing at a real S3 server (SeaweedFS, see
// storetest), mail in over LMTP, payloads out to a real HTTP receiver,
// and the links downloaded the way a receiver would.

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/bench/largemsg"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/store/storetest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
)

// storedPayload is what a receiver reads of a payload whose parts may be
// in object storage.
type storedPayload struct {
	ID       string `json:"id"`
	Envelope struct {
		To   string `json:"to"`
		Size int64  `json:"size"`
	} `json:"envelope"`
	Attachments []struct {
		Filename     string    `json:"filename"`
		ContentType  string    `json:"content_type"`
		Size         int64     `json:"size"`
		SHA256       string    `json:"sha256"`
		Content      *string   `json:"content"`
		URL          string    `json:"url"`
		URLExpiresAt time.Time `json:"url_expires_at"`
	} `json:"attachments"`
	Raw             *string   `json:"raw"`
	RawURL          string    `json:"raw_url"`
	RawURLExpiresAt time.Time `json:"raw_url_expires_at"`
}

type storedDelivery = webhooktest.Request[storedPayload]

// maxLinkedBody is the most a payload may weigh once its large part is a
// link: the point of storing it.
const maxLinkedBody = 64 << 10

// storageBridge starts the program with STORAGE_URL pointing at bucket on
// w, posting to rc; env adds to or overrides its settings.
func storageBridge(t *testing.T, w *storetest.Server, bucket string, rc *webhooktest.Receiver[storedPayload], env ...string) *bridge {
	t.Helper()
	base := append([]string{
		"STORAGE_URL=" + w.StorageURL(bucket),
		"LMTP_MAX_MESSAGE_BYTES=" + strconv.Itoa(40<<20),
		// Uploads share the delivery's budget; a slow machine needs room.
		"RETRY_MAX_ELAPSED=30s",
		"WEBHOOK_TIMEOUT=10s",
	}, storetest.Env()...)
	return startBridge(t, rc.URL+"/hook", append(base, env...)...)
}

// sendTo runs one transaction on a new connection, declaring the size as
// Postfix does, and returns the reply of each recipient.
func sendTo(t *testing.T, addr string, rcpts []string, msg []byte) []string {
	t.Helper()
	cl := lmtptest.LHLO(t, addr)
	cl.Expect("250 ", "MAIL FROM:<sender@example.org> SIZE=%d", len(msg))
	for _, r := range rcpts {
		cl.Expect("250 ", "RCPT TO:<%s>", r)
	}
	return cl.Data(string(msg), len(rcpts))
}

// fetch downloads a link without credentials, as a receiver does, and
// returns the body's size and hex SHA-256.
func fetch(t *testing.T, link string) (int64, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(link)
	if err != nil {
		t.Fatalf("GET link: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET link: %s", resp.Status)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatalf("GET link: %v", err)
	}
	return n, hex.EncodeToString(h.Sum(nil))
}

// objectPath is a link without its signature: the object it names.
func objectPath(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	return u.Host + u.Path
}

// peakRSS is the process's peak resident set (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kib << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// checkAllReplies fails unless every reply starts with want.
func checkAllReplies(t *testing.T, what string, replies []string, n int, want string) {
	t.Helper()
	if len(replies) != n {
		t.Fatalf("%s: %d replies, want %d: %q", what, len(replies), n, replies)
	}
	for i, r := range replies {
		if !strings.HasPrefix(r, want) {
			t.Errorf("%s: recipient %d got %q, want %s", what, i, r, want)
		}
	}
}

func TestStorageLargeAttachmentLinkedOnce(t *testing.T) {
	w := storetest.Own(t) // stopped and started again below
	const bucket = "inbound-mail"
	w.MakeBucket(t, bucket)
	rc := webhooktest.NewReceiver[storedPayload](t, nil)
	b := storageBridge(t, w, bucket, rc)

	const attachment = 20 << 20
	msg := largemsg.WithAttachment(attachment)
	rcpts := []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"}

	checkAllReplies(t, "first delivery", sendTo(t, b.lmtpAddr, rcpts, msg), 5, "250 ")
	peak := peakRSS(t, b.cmd.Process.Pid)
	t.Logf("peak RSS of the bridge for a %d-byte message to 5 recipients: %.1f MiB = %.2f x the message",
		len(msg), float64(peak)/(1<<20), float64(peak)/float64(len(msg)))
	if peak > 3*int64(len(msg)) {
		t.Errorf("peak RSS %d bytes, want at most 3 x the message's %d", peak, len(msg))
	}

	got := rc.Requests()
	if len(got) != 5 {
		t.Fatalf("receiver got %d requests, want 5", len(got))
	}
	var object string
	for _, d := range got {
		p := d.Payload
		if len(d.Body) >= maxLinkedBody {
			t.Errorf("%s: body of %d bytes, want under %d", p.Envelope.To, len(d.Body), maxLinkedBody)
		}
		if len(p.Attachments) != 1 {
			t.Fatalf("%s: %d attachments, want 1", p.Envelope.To, len(p.Attachments))
		}
		a := p.Attachments[0]
		if a.Content != nil || a.URL == "" || a.Size != attachment || a.Filename != "report.pdf" {
			t.Fatalf("%s: attachment %q size %d, content present %v, url present %v: want a link to %d bytes and no content",
				p.Envelope.To, a.Filename, a.Size, a.Content != nil, a.URL != "", attachment)
		}
		if left := time.Until(a.URLExpiresAt); left < 167*time.Hour || left > 168*time.Hour {
			t.Errorf("%s: url_expires_at %s, want 168h from now", p.Envelope.To, a.URLExpiresAt)
		}
		if object == "" {
			object = objectPath(t, a.URL)
		} else if o := objectPath(t, a.URL); o != object {
			t.Errorf("%s: links to %s, another payload to %s: want one object", p.Envelope.To, o, object)
		}
		if n, sum := fetch(t, a.URL); n != attachment || sum != a.SHA256 {
			t.Errorf("%s: link downloads %d bytes with sha256 %s, want %d bytes with the payload's %s", p.Envelope.To, n, sum, attachment, a.SHA256)
		}
	}
	if n := b.metric(t, "lmtp_webhook_storage_uploads_total"); n != 1 {
		t.Errorf("lmtp_webhook_storage_uploads_total = %v, want 1 (one upload for 5 recipients)", n)
	}
	if n := w.UploadedObjects(t, bucket); n != 1 {
		t.Errorf("SeaweedFS counted %v uploads, want 1", n)
	}

	// The same message again (the MTA's redelivery): nothing is uploaded,
	// and the new links serve the same object.
	checkAllReplies(t, "second delivery", sendTo(t, b.lmtpAddr, rcpts, msg), 5, "250 ")
	again := rc.Requests()[5:]
	if len(again) != 5 {
		t.Fatalf("receiver got %d more requests, want 5", len(again))
	}
	if o := objectPath(t, again[0].Payload.Attachments[0].URL); o != object {
		t.Errorf("second delivery links to %s, want the first's %s", o, object)
	}
	if up, reused := b.metric(t, "lmtp_webhook_storage_uploads_total"), b.metric(t, "lmtp_webhook_storage_reuses_total"); up != 1 || reused != 1 {
		t.Errorf("after the redelivery: uploads %v, reuses %v; want 1, 1", up, reused)
	}
	if n := w.UploadedObjects(t, bucket); n != 1 {
		t.Errorf("SeaweedFS counted %v uploads after the redelivery, want still 1", n)
	}

	// The store goes away: every recipient is deferred, nothing is posted,
	// and once it is back the MTA's next try delivers.
	w.Stop()
	other := largemsg.WithAttachment(1 << 20)
	posted := len(rc.Requests())
	start := time.Now()
	checkAllReplies(t, "store down", sendTo(t, b.lmtpAddr, rcpts, other), 5, "451 4.3.0 ")
	t.Logf("store down: deferred after %s", time.Since(start).Round(time.Millisecond))
	if n := len(rc.Requests()); n != posted {
		t.Errorf("store down: %d requests posted, want none", n-posted)
	}
	if n := b.metric(t, "lmtp_webhook_storage_failures_total"); n != 1 {
		t.Errorf("lmtp_webhook_storage_failures_total = %v, want 1", n)
	}
	if out := b.output.String(); !strings.Contains(out, `"message":"object storage upload failed"`) || !strings.Contains(out, `"level":"error"`) {
		t.Errorf("no error log of the failed upload:\n%s", tail(out, 10))
	}
	if err := w.Start(); err != nil {
		t.Fatalf("restart the store: %v", err)
	}
	checkAllReplies(t, "store back", sendTo(t, b.lmtpAddr, rcpts, other), 5, "250 ")
	back := rc.Requests()[posted:]
	if len(back) != 5 {
		t.Fatalf("store back: %d requests, want 5", len(back))
	}
	if a := back[0].Payload.Attachments[0]; a.URL == "" {
		t.Error("store back: the part has no link")
	} else if n, sum := fetch(t, a.URL); n != 1<<20 || sum != a.SHA256 {
		t.Errorf("store back: link downloads %d bytes with sha256 %s, want %d with %s", n, sum, 1<<20, a.SHA256)
	}

	// Neither the secret nor any link's signature is ever logged.
	b.stop(t)
	if out := b.output.String(); strings.Contains(out, storetest.SecretKey) || strings.Contains(out, "X-Amz-Signature") {
		t.Errorf("the bridge logged the secret or a presigned link:\n%s", tail(out, 20))
	}
}

func TestStorageRawMessage(t *testing.T) {
	w := storetest.Shared(t)
	const bucket = "raw-messages"
	w.MakeBucket(t, bucket)
	rc := webhooktest.NewReceiver[storedPayload](t, nil)
	b := storageBridge(t, w, bucket, rc, "STORAGE_RAW=true")

	msg := "From: Alice <alice@example.org>\nTo: bob@example.com\nSubject: keep it all\nMessage-ID: <raw-1@example.org>\n\n.A dotted line.\nBye.\n"
	// The message as received: CRLF line ends, the dot unstuffed.
	received := strings.ReplaceAll(msg, "\n", "\r\n")
	wantSum := sha256.Sum256([]byte(received))
	checkAllReplies(t, "delivery", sendTo(t, b.lmtpAddr, []string{"bob@example.com"}, []byte(msg)), 1, "250 ")
	got := rc.Requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	p := got[0].Payload
	if p.RawURL == "" || p.RawURLExpiresAt.IsZero() {
		t.Fatalf("payload has raw_url %q, raw_url_expires_at %s: want both", p.RawURL, p.RawURLExpiresAt)
	}
	if p.Raw != nil {
		t.Error("a small message under STORAGE_RAW got raw too, without WEBHOOK_INCLUDE_RAW")
	}
	if n, sum := fetch(t, p.RawURL); n != int64(len(received)) || sum != hex.EncodeToString(wantSum[:]) {
		t.Errorf("raw_url downloads %d bytes with sha256 %s, want the %d bytes received", n, sum, len(received))
	}
}

func TestStorageMissingBucketOnlyWarns(t *testing.T) {
	w := storetest.Shared(t)
	rc := webhooktest.NewReceiver[storedPayload](t, nil)
	// The bridge starts and serves (startBridge waits for /readyz); the
	// check at start says what is wrong.
	b := storageBridge(t, w, "not-made-yet", rc)
	if !poll(5*time.Second, 20*time.Millisecond, func() bool {
		out := b.output.String()
		return strings.Contains(out, `"level":"warn"`) && strings.Contains(out, "bucket not-made-yet does not exist")
	}) {
		t.Errorf("no warning about the missing bucket:\n%s", tail(b.output.String(), 10))
	}
	// Small parts still go out inline: the store is not needed for them.
	checkAllReplies(t, "small message", sendTo(t, b.lmtpAddr, []string{"bob@example.com"}, largemsg.WithAttachment(1000)), 1, "250 ")
	if got := rc.Requests(); len(got) != 1 || got[0].Payload.Attachments[0].Content == nil {
		t.Errorf("small message: want one delivery with the part inline")
	}
	// A large one is deferred: the part has nowhere to go.
	checkAllReplies(t, "large message", sendTo(t, b.lmtpAddr, []string{"bob@example.com"}, largemsg.WithAttachment(300<<10)), 1, "451 4.3.0 ")
}

func TestStorageConfigurationErrors(t *testing.T) {
	bin := bridgeBinary(t)
	creds := storetest.Env()
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"STORAGE_THRESHOLD=12QB"}, `STORAGE_THRESHOLD: want a number of bytes, optionally with KiB, MiB or GiB (like 256KiB), got "12QB"`},
		{[]string{"STORAGE_THRESHOLD=-1"}, "STORAGE_THRESHOLD: want a number of bytes"},
		{[]string{"STORAGE_URL_EXPIRY=169h"}, "STORAGE_URL_EXPIRY: at most 168h0m0s"},
		{[]string{"STORAGE_URL_EXPIRY=0s"}, "STORAGE_URL_EXPIRY: must be a positive duration"},
		{[]string{"STORAGE_RAW=perhaps"}, "STORAGE_RAW: invalid"},
		{append([]string{"STORAGE_URL=https://bucket.example"}, creds...), `STORAGE_URL: scheme must be s3 (s3://BUCKET?endpoint=...), not "https"`},
		{[]string{"STORAGE_URL=s3://bucket?endpoint=http://127.0.0.1:1"}, "STORAGE_URL: is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not"},
		{append([]string{"STORAGE_URL=s3://AKID:" + storetest.SecretKey + "@bucket"}, creds...), "STORAGE_URL: credentials do not belong in the URL"},
	} {
		cmd := exec.Command(bin)
		cmd.Env = append([]string{"WEBHOOK_URL=http://127.0.0.1:1/", "HTTP_LISTEN="}, c.env...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("%v: exit %v, want 2 (%s)", c.env, err, out)
			continue
		}
		line := strings.TrimSpace(string(out))
		if !strings.Contains(line, c.want) || strings.Count(line, "\n") != 0 {
			t.Errorf("%v: said %q, want one line with %q", c.env, line, c.want)
		}
		if strings.Contains(line, storetest.SecretKey) {
			t.Errorf("%v: the error repeats the secret: %s", c.env, line)
		}
	}
}
