// Command receiver is a small webhook for lmtp-webhook: it verifies each
// request's Standard Webhooks signature, refuses replays, ignores
// duplicates by webhook-id, prints one line per delivery and answers as it
// is told, which makes it handy for demos and tests.
//
// Environment:
//
//	RECEIVER_LISTEN     address to listen on (default ":9000")
//	WEBHOOK_SECRET      the bridge's whsec_ secret; when set, unsigned or
//	                    badly signed requests get 401
//	RECEIVER_TOLERANCE  how old or new a webhook-timestamp may be (default 5m)
//	RECEIVER_REPLY      the answer: an HTTP status ("200", "503"), or a JSON
//	                    answer object such as {"code":550,"message":"no"}
//	RECEIVER_PRINT_JSON "true" prints each whole payload after its summary line
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lmtp-webhook/lmtp-webhook/webhook"
)

// maxBody bounds a request body; the bridge's default message limit is
// 25 MiB, which base64 and JSON grow by about a third.
const maxBody = 64 << 20

func main() {
	addr := envOr("RECEIVER_LISTEN", ":9000")
	tolerance, err := time.ParseDuration(envOr("RECEIVER_TOLERANCE", "5m"))
	if err != nil {
		log.Fatalf("receiver: RECEIVER_TOLERANCE: %v", err)
	}
	var key []byte
	if s := os.Getenv("WEBHOOK_SECRET"); s != "" {
		if key, err = webhook.ParseSecret(s); err != nil {
			log.Fatalf("receiver: WEBHOOK_SECRET: %v", err)
		}
	}
	status, body, err := parseReply(envOr("RECEIVER_REPLY", "200"))
	if err != nil {
		log.Fatalf("receiver: RECEIVER_REPLY: %v", err)
	}
	h := &handler{
		key:       key,
		tolerance: tolerance,
		status:    status,
		body:      body,
		printJSON: os.Getenv("RECEIVER_PRINT_JSON") == "true",
		seen:      map[string]time.Time{},
		out:       os.Stdout,
	}
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	r.Post("/*", h.ServeHTTP)
	log.Printf("receiver listening on %s (signatures %s)", addr, map[bool]string{true: "verified", false: "not checked"}[key != nil])
	srv := &http.Server{Addr: addr, Handler: r, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// parseReply reads RECEIVER_REPLY: a bare status, or a JSON answer sent
// with status 200.
func parseReply(s string) (int, []byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		var a webhook.Answer
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			return 0, nil, fmt.Errorf("not a JSON answer: %w", err)
		}
		return http.StatusOK, []byte(s), nil
	}
	code, err := strconv.Atoi(s)
	if err != nil || code < 200 || code > 599 {
		return 0, nil, fmt.Errorf("want an HTTP status or a JSON answer, got %q", s)
	}
	return code, nil, nil
}

type handler struct {
	key       []byte
	tolerance time.Duration
	status    int
	body      []byte
	printJSON bool
	out       io.Writer

	mu   sync.Mutex
	seen map[string]time.Time // webhook-id -> first delivery
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	id := r.Header.Get("webhook-id")
	if h.key != nil {
		if err := verify(h.key, h.tolerance, id, r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, time.Now()); err != nil {
			fmt.Fprintf(h.out, "refused id=%s: %v\n", id, err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "not a JSON payload", http.StatusBadRequest)
		return
	}

	h.mu.Lock()
	_, dup := h.seen[id]
	if !dup {
		h.seen[id] = time.Now()
	}
	h.mu.Unlock()
	if dup {
		// Already handled: acknowledge again so the MTA stops retrying.
		fmt.Fprintf(h.out, "duplicate id=%s to=%s\n", id, p.Envelope.To)
		w.WriteHeader(http.StatusOK)
		return
	}
	fmt.Fprintf(h.out, "delivery id=%s from=%q to=%q subject=%q size=%d attachments=%d inlines=%d errors=%d\n",
		id, p.Envelope.From, p.Envelope.To, p.Subject, p.Envelope.Size, len(p.Attachments), len(p.Inlines), len(p.Errors))
	if h.printJSON {
		fmt.Fprintf(h.out, "%s\n", body)
	}
	if h.body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(h.status)
	w.Write(h.body)
}

// verify checks a Standard Webhooks v1 signature: base64 HMAC-SHA256 of
// id "." timestamp "." body, among the space-separated signatures given,
// with the timestamp within tolerance of now (so a captured request
// cannot be replayed later).
func verify(key []byte, tolerance time.Duration, id, ts, sigs string, body []byte, now time.Time) error {
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad webhook-timestamp")
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook-timestamp outside tolerance (replay?)")
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.", id, ts)
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no valid signature")
}
