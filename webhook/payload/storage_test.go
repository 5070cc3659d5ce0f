package payload_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/store"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/store/storetest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.StopShared()
	os.Exit(code)
}

const threshold = 4096

// storageStage is the stage on a bucket of its own on the shared server,
// with the registry its metrics count in.
func storageStage(t *testing.T, bucket string, raw bool) (*payload.Storage, *prometheus.Registry) {
	t.Helper()
	w := storetest.Shared(t)
	w.MakeBucket(t, bucket)
	storetest.SetCredentials(t)
	cfg, err := store.Parse(w.StorageURL(bucket))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	cfg.Metrics = store.NewMetrics(reg)
	s, err := store.New(cfg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &payload.Storage{Store: s, Threshold: threshold, Raw: raw, Budget: 30 * time.Second}, reg
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	n, err := testutil.GatherAndCount(reg, name)
	if err != nil || n != 1 {
		t.Fatalf("metric %s: %d series, %v", name, n, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// mixed is a message with parts at the threshold, one past it (twice,
// once as an attachment and once as an inline image), and a small one.
func mixed() ([]byte, map[string][]byte) {
	parts := map[string][]byte{
		"at.bin":   []byte(strings.Repeat("a", threshold)),
		"past.bin": []byte(strings.Repeat("b", threshold+1)),
		"tiny.txt": []byte("tiny"),
	}
	var b strings.Builder
	b.WriteString("From: a@example.org\r\nSubject: parts\r\nMessage-ID: <parts@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHello.\r\n")
	for _, name := range []string{"at.bin", "past.bin", "tiny.txt"} {
		fmt.Fprintf(&b, "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n",
			name, base64.StdEncoding.EncodeToString(parts[name]))
	}
	fmt.Fprintf(&b, "--b\r\nContent-Type: image/png\r\nContent-Disposition: inline\r\nContent-ID: <same>\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--b--\r\n",
		base64.StdEncoding.EncodeToString(parts["past.bin"]))
	return []byte(b.String()), parts
}

// encode runs Encode with stages and returns the decision and the payload
// one recipient would get.
func encode(t *testing.T, data []byte, receivedAt time.Time, opts payload.Options) (payload.Decision, wire.Payload, int) {
	t.Helper()
	e, err := payload.Encode(context.Background(), &payload.Input{From: "a@example.org", Recipients: []string{"bob@example.com"}, Data: data, ReceivedAt: receivedAt}, opts)
	if err != nil {
		t.Fatal(err)
	}
	body := append(e.Prefix(e.ID("bob@example.com"), "bob@example.com"), e.Shared()...)
	var p wire.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("payload: %v", err)
	}
	return e.Decision, p, len(body)
}

func TestStorageThresholdAndOneUploadPerContent(t *testing.T) {
	s, reg := storageStage(t, "stage-threshold", false)
	data, parts := mixed()
	d, p, _ := encode(t, data, time.Now(), payload.Options{Stages: []payload.Stage{s}})
	if d.Action != payload.Deliver {
		t.Fatalf("decision %+v, want Deliver", d)
	}
	byName := map[string]wire.Attachment{}
	for _, a := range p.Attachments {
		byName[a.Filename] = a
	}
	for _, name := range []string{"at.bin", "tiny.txt"} {
		if a := byName[name]; a.URL != "" || string(a.Content) != string(parts[name]) {
			t.Errorf("%s (%d bytes, threshold %d): url %q, content %d bytes; want it inline", name, a.Size, threshold, a.URL, len(a.Content))
		}
	}
	past := byName["past.bin"]
	if past.URL == "" || past.Content != nil || past.URLExpiresAt.IsZero() {
		t.Fatalf("past.bin (threshold+1 bytes): url %q, content %d bytes; want a link and no content", past.URL, len(past.Content))
	}
	sum := sha256.Sum256(parts["past.bin"])
	if past.SHA256 != hex.EncodeToString(sum[:]) || !strings.Contains(past.URL, "/stage-threshold/sha256/"+past.SHA256+"?") {
		t.Errorf("link %s does not name the content's key", past.URL)
	}
	if len(p.Inlines) != 1 || p.Inlines[0].URL == "" || p.Inlines[0].Content != nil {
		t.Fatalf("inlines %+v: want the large inline linked", p.Inlines)
	}
	// The same bytes as an image: one object, a link of its own type.
	if !strings.Contains(p.Inlines[0].URL, "/sha256/"+past.SHA256+"?") || !strings.Contains(p.Inlines[0].URL, "response-content-type=image%2Fpng") {
		t.Errorf("inline link %s: want the same object served as image/png", p.Inlines[0].URL)
	}
	if up, reused := counter(t, reg, "lmtp_webhook_storage_uploads_total"), counter(t, reg, "lmtp_webhook_storage_reuses_total"); up != 1 || reused != 1 {
		t.Errorf("uploads %v, reuses %v; want one upload, and a HEAD that found it for the second type", up, reused)
	}
}

func TestStorageLeavesOmittedPartsAlone(t *testing.T) {
	s, reg := storageStage(t, "stage-omit", false)
	data, _ := mixed()
	_, p, _ := encode(t, data, time.Now(), payload.Options{OmitAttachments: true, Stages: []payload.Stage{s}})
	for _, a := range append(p.Attachments, p.Inlines...) {
		if a.URL != "" || a.Content != nil {
			t.Errorf("%s: url %q, content %d bytes; want metadata only", a.Filename, a.URL, len(a.Content))
		}
	}
	if up := counter(t, reg, "lmtp_webhook_storage_uploads_total"); up != 0 {
		t.Errorf("uploads %v, want 0", up)
	}
}

func TestStorageRawReplacesLargeRaw(t *testing.T) {
	s, _ := storageStage(t, "stage-raw", false)
	// Too deep to parse: delivered raw, which is past the threshold.
	var b strings.Builder
	b.WriteString("Subject: deep\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	for i := range 13 {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i, i+1)
	}
	b.WriteString(strings.Repeat("filler line\r\n", threshold/10))
	data := []byte(b.String())
	_, p, size := encode(t, data, time.Now(), payload.Options{Stages: []payload.Stage{s}})
	if p.Raw != nil || p.RawURL == "" || p.RawURLExpiresAt.IsZero() {
		t.Fatalf("raw %d bytes, raw_url %q: want raw_url instead of raw", len(p.Raw), p.RawURL)
	}
	if size > threshold {
		t.Errorf("body of %d bytes for a %d-byte message in raw_url", size, len(data))
	}

	// STORAGE_RAW links every message, small ones too, keeping no raw.
	s.Raw = true
	small := []byte("Subject: hi\r\nMessage-ID: <small@example.org>\r\n\r\nHi.\r\n")
	_, p, _ = encode(t, small, time.Now(), payload.Options{Stages: []payload.Stage{s}})
	if p.RawURL == "" || p.Raw != nil {
		t.Errorf("STORAGE_RAW, small message: raw_url %q, raw %d bytes; want the link only", p.RawURL, len(p.Raw))
	}
}

func TestStorageOutOfBudgetDefers(t *testing.T) {
	s, reg := storageStage(t, "stage-budget", false)
	data, _ := mixed()
	// The delivery's budget, counted from the end of DATA, is spent.
	d, _, _ := encode(t, data, time.Now().Add(-2*s.Budget), payload.Options{Stages: []payload.Stage{s}})
	if d.Action != payload.Defer || d.Stage != payload.StorageStageName || d.Reason == "" {
		t.Errorf("decision %+v, want Defer by the storage stage with a reason", d)
	}
	if f := counter(t, reg, "lmtp_webhook_storage_failures_total"); f != 1 {
		t.Errorf("failures %v, want 1", f)
	}
}
