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
//
// Each delivery prints, on stdout:
//
//	delivery id=msg_... from="..." to="..." subject="..." size=... attachments=... inlines=... errors=...
//
// A delivery already acknowledged (the MTA's redelivery of a message whose
// first answer was lost) prints "duplicate id=..." instead and gets 200
// again. Only acknowledged ids are remembered, the last 100000 of them, so
// that a RECEIVER_REPLY of 503 shows every retry and memory stays bounded.
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

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// maxBody bounds a request body; the bridge's default message limit is
// 25 MiB, which base64 and JSON grow by about a third.
const maxBody = 64 << 20

// maxSeen is how many acknowledged webhook-ids are remembered for
// deduplication; the oldest is forgotten first.
const maxSeen = 100_000

func main() {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		log.Fatalf("receiver: %v", err)
	}
	h := newHandler(cfg, os.Stdout)
	log.Printf("receiver listening on %s (signatures %s)", cfg.listen, map[bool]string{true: "verified", false: "not checked"}[cfg.key != nil])
	srv := &http.Server{Addr: cfg.listen, Handler: h.routes(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// config is the receiver's environment, read once.
type config struct {
	listen    string
	key       []byte // nil: signatures are not checked
	tolerance time.Duration
	status    int
	body      []byte // a JSON answer, or nil
	printJSON bool
}

// loadConfig reads the environment through getenv; an empty variable
// takes its default.
func loadConfig(getenv func(string) string) (config, error) {
	or := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	cfg := config{listen: or("RECEIVER_LISTEN", ":9000"), printJSON: getenv("RECEIVER_PRINT_JSON") == "true"}
	var err error
	if cfg.tolerance, err = time.ParseDuration(or("RECEIVER_TOLERANCE", "5m")); err != nil || cfg.tolerance <= 0 {
		return cfg, fmt.Errorf("RECEIVER_TOLERANCE: want a positive duration such as 5m, got %q", getenv("RECEIVER_TOLERANCE"))
	}
	if cfg.key, err = wire.ParseSecret(getenv("WEBHOOK_SECRET")); err != nil {
		return cfg, fmt.Errorf("WEBHOOK_SECRET: %w", err)
	}
	if cfg.status, cfg.body, err = parseReply(or("RECEIVER_REPLY", "200")); err != nil {
		return cfg, fmt.Errorf("RECEIVER_REPLY: %w", err)
	}
	return cfg, nil
}

// parseReply reads RECEIVER_REPLY: a bare status, or a JSON answer sent
// with status 200.
func parseReply(s string) (int, []byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		var a wire.Answer
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

// accepts reports whether a reply delivers the message: a 2xx status,
// and no answer object choosing another class.
func accepts(status int, body []byte) bool {
	if status/100 != 2 {
		return false
	}
	var a wire.Answer
	if body != nil && json.Unmarshal(body, &a) == nil && a.Code != nil {
		return *a.Code/100 == 2
	}
	return true
}

type handler struct {
	cfg     config
	accepts bool
	now     func() time.Time

	mu   sync.Mutex // serializes out, so that lines never interleave
	out  io.Writer
	seen *seenIDs
}

func newHandler(cfg config, out io.Writer) *handler {
	return &handler{cfg: cfg, accepts: accepts(cfg.status, cfg.body), now: time.Now, out: out, seen: newSeenIDs(maxSeen)}
}

func (h *handler) routes() http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	r.Post("/*", h.ServeHTTP)
	return r
}

func (h *handler) printf(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(h.out, format, args...)
}

// ServeHTTP verifies, dedupes, prints and answers one delivery.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	id := r.Header.Get("webhook-id")
	if h.cfg.key != nil {
		if err := verify(h.cfg.key, h.cfg.tolerance, id, r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, h.now()); err != nil {
			h.printf("refused id=%s: %v\n", id, err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
	}
	if id == "" {
		http.Error(w, "missing webhook-id", http.StatusBadRequest)
		return
	}
	var p wire.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "not a JSON payload", http.StatusBadRequest)
		return
	}

	// Only deliveries this receiver acknowledges are remembered: a retry
	// after a 503 is not a duplicate.
	if h.accepts && !h.seen.add(id) {
		// Already handled: acknowledge again so the MTA stops retrying.
		h.printf("duplicate id=%s to=%q\n", id, p.Envelope.To)
		w.WriteHeader(http.StatusOK)
		return
	}
	line := fmt.Sprintf("delivery id=%s from=%q to=%q subject=%q size=%d attachments=%d inlines=%d errors=%d\n",
		id, p.Envelope.From, p.Envelope.To, p.Subject, p.Envelope.Size, len(p.Attachments), len(p.Inlines), len(p.Errors))
	if h.cfg.printJSON {
		line += string(body) + "\n"
	}
	h.printf("%s", line)
	if h.cfg.body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(h.cfg.status)
	w.Write(h.cfg.body)
}

// seenIDs is a set of ids that holds at most its capacity, forgetting the
// oldest first.
type seenIDs struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string // insertion order; ring[next] is the oldest once full
	next int
}

func newSeenIDs(capacity int) *seenIDs {
	return &seenIDs{set: make(map[string]struct{}), ring: make([]string, 0, capacity)}
}

// add records id and reports whether it was new.
func (s *seenIDs) add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.set[id]; ok {
		return false
	}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, id)
	} else {
		delete(s.set, s.ring[s.next])
		s.ring[s.next] = id
		s.next = (s.next + 1) % len(s.ring)
	}
	s.set[id] = struct{}{}
	return true
}

func (s *seenIDs) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.set)
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
