package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestStoredPartsAreDownloadedAndChecked: a part with a link is fetched
// from a real HTTP server, as from a bucket, and its bytes are compared
// with the payload's size and sha256.
func TestStoredPartsAreDownloadedAndChecked(t *testing.T) {
	file := []byte(strings.Repeat("%PDF-1.7 pretend report\n", 40000))
	sum := sha256.Sum256(file)
	files := http.NewServeMux()
	files.HandleFunc("GET /bucket/report.pdf", func(w http.ResponseWriter, _ *http.Request) { w.Write(file) })
	files.HandleFunc("GET /bucket/tampered.pdf", func(w http.ResponseWriter, _ *http.Request) { w.Write(append(file[:len(file)-1:len(file)-1], '!')) })
	store := httptest.NewServer(files)
	defer store.Close()

	rc := startReceiver(t, nil, nil)
	link := func(name string) string { return store.URL + "/bucket/" + name + "?X-Amz-Signature=secret-token" }
	p := payload{}
	p.Envelope.To = "bob@example.com"
	expires := time.Now().Add(time.Hour)
	for _, name := range []string{"report.pdf", "tampered.pdf", "gone.pdf"} {
		p.Attachments = append(p.Attachments, wireAttachment{Filename: name, ContentType: "application/pdf", Size: len(file),
			SHA256: hex.EncodeToString(sum[:]), URL: link(name), URLExpiresAt: expires})
	}
	p.Inlines = append(p.Inlines, wireAttachment{Filename: "logo.png", Size: 3, Content: []byte("png")})
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_links")
	if got := rc.post(t, h, b); got.status != http.StatusOK {
		t.Fatalf("answer %d %s, want 200", got.status, got.body)
	}
	out := rc.out.String()
	want := `links="report.pdf=ok,tampered.pdf=mismatch,gone.pdf=error: 404 Not Found" answer="200"`
	if !strings.Contains(out, want) {
		t.Errorf("delivery line lacks %s:\n%s", want, out)
	}
	if strings.Contains(out, "secret-token") || strings.Contains(out, store.URL) {
		t.Errorf("the receiver printed a link:\n%s", out)
	}
}

// TestStoredPartOverTheCap: a link that serves more than the cap is
// reported, not read to its end.
func TestStoredPartOverTheCap(t *testing.T) {
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 1<<20)
		for range maxLinkedPart>>20 + 2 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer store.Close()
	a := wireAttachment{Filename: "huge.bin", Size: 10, SHA256: strings.Repeat("0", 64), URL: store.URL + "/huge"}
	got := checkLink(t.Context(), &http.Client{Timeout: linkTimeout}, &a)
	if want := "error: more than 67108864 bytes"; got != want {
		t.Errorf("checkLink = %q, want %q", got, want)
	}
}
