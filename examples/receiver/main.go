// Command receiver is a small webhook for lmtp-webhook: it verifies each
// request's Standard Webhooks signature, refuses replays, ignores
// duplicates by webhook-id, prints one line per delivery and answers each
// recipient as it is told, which makes it handy for demos and tests.
//
// Environment:
//
//	RECEIVER_LISTEN     address to listen on (default 127.0.0.1:9000)
//	WEBHOOK_SECRET      the bridge's whsec_ secret (set the same on both
//	                    sides); when set, unsigned or badly signed
//	                    requests get 401
//	RECEIVER_TOLERANCE  how old or new a webhook-timestamp may be (default 5m)
//	RECEIVER_MAX_BODY   largest request body, in bytes (default 134217728);
//	                    a larger one is deferred, never bounced
//	RECEIVER_ANSWERS    per-recipient SMTP replies, pattern=reply,... where
//	                    a pattern is an address or *@domain (the address
//	                    wins) and a reply "CODE [X.Y.Z] text", sent back
//	                    as a JSON answer:
//	                    carol@example.com=550 5.1.1 no such user,*@slow.example=451 4.2.0 try later
//	RECEIVER_REPLY      the answer for every other recipient: an HTTP
//	                    status ("200", "503"), or a JSON answer object such
//	                    as {"code":550,"message":"no"} (default 200)
//	RECEIVER_PRINT_JSON "true" prints each whole payload after its summary line
//
// A value that cannot be used stops the receiver at start with exit code
// 2 and one line naming the variable.
//
// Each delivery prints, on stdout:
//
//	delivery id=msg_... from="..." to="..." subject="..." size=... attachments=... inlines=... errors=... flags="..." answer="..."
//
// flags lists what the classification says about the sender, comma
// separated: auto_reply, bounce, feedback_report, list, bulk; "" for mail
// a person wrote. An application that answers mail answers none of
// auto_reply, bounce, feedback_report and bulk, nor an empty from.
//
// with, before answer, the verdicts the payload carries: client=IP (from
// XFORWARD), spf=, dkim= (each signature's result), dmarc= and
// spam=score/threshold.
//
// A part the bridge put in object storage (STORAGE_URL) has a link
// instead of content: the receiver downloads it (at most 64 MiB, within
// 20 s), compares its bytes with the payload's size and sha256, and adds
// links="report.pdf=ok" (or =mismatch, or =error: why) before answer.
//
// A delivery already acknowledged (the MTA's redelivery of a message whose
// first answer was lost) prints "duplicate id=..." instead and gets 200
// again. Only acknowledged ids are remembered, the last 100000 of them, so
// that an answer of 503 or 451 shows every retry and memory stays bounded.
//
// The signature headers are checked before any of the body is read; the
// body is hashed as it arrives, and nothing in it is decoded or acted on
// until the signature matched.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
)

// maxSeen is how many acknowledged webhook-ids are remembered for
// deduplication; the oldest is forgotten first.
const maxSeen = 100_000

// retryTooLarge is the Retry-After, in seconds, of a body over the cap.
const retryTooLarge = 300

func main() {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "receiver: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatalf("receiver: %v", err)
	}
}

// run serves deliveries until ctx ends, then lets the requests in
// progress finish.
func run(ctx context.Context, cfg config, out io.Writer) error {
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s (RECEIVER_LISTEN): %w", cfg.listen, err)
	}
	srv := newServer(cfg, newHandler(cfg, out))
	log.Printf("receiver listening on %s (signatures %s)", ln.Addr(), map[bool]string{true: "verified", false: "not checked"}[cfg.key != nil])
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// newServer is the HTTP server with every timeout set, so that a stalled
// client cannot hold a connection.
func newServer(cfg config, h *handler) *http.Server {
	return &http.Server{
		Handler:           h.routes(),
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		ReadTimeout:       cfg.readTimeout,
		WriteTimeout:      cfg.writeTimeout,
		IdleTimeout:       cfg.idleTimeout,
	}
}

type handler struct {
	cfg config
	now func() time.Time

	mu   sync.Mutex // serializes out, so that lines never interleave
	out  io.Writer
	seen *seenIDs
	// links downloads parts the bridge put in object storage.
	links *http.Client
}

func newHandler(cfg config, out io.Writer) *handler {
	return &handler{cfg: cfg, now: time.Now, out: out, seen: newSeenIDs(maxSeen), links: &http.Client{Timeout: linkTimeout}}
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

// ServeHTTP verifies, dedupes, prints and answers one delivery. What can
// be refused from the headers is refused before the body is read.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("webhook-id")
	var sig *signedBody
	if h.cfg.key != nil {
		var err error
		if sig, err = checkSignature(h.cfg.key, h.cfg.tolerance, r.Header, h.now()); err != nil {
			h.refuse(w, id, err)
			return
		}
	} else if id == "" {
		http.Error(w, "missing webhook-id", http.StatusBadRequest)
		return
	}
	if r.ContentLength > h.cfg.maxBody {
		h.tooLarge(w, id)
		return
	}
	body, err := readBody(w, r, h.cfg.maxBody, sig)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		h.tooLarge(w, id)
		return
	case err != nil:
		// A stalled or vanished client: whatever arrived is not acted on.
		h.printf("refused id=%s: reading the body: %v\n", id, err)
		w.Header().Set("Connection", "close")
		http.Error(w, "could not read the body", http.StatusRequestTimeout)
		return
	case sig != nil && !sig.valid():
		h.refuse(w, id, errBadSignature)
		return
	}

	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "not a JSON payload", http.StatusBadRequest)
		return
	}
	rep, ok := h.cfg.answers.lookup(p.Envelope.To)
	if !ok {
		rep = h.cfg.fallback
	}
	// Only deliveries this receiver acknowledges are remembered: a retry
	// after a 503 or a 451 is not a duplicate.
	if rep.accepts && !h.seen.add(id) {
		// Already handled: acknowledge again so the MTA stops retrying.
		h.printf("duplicate id=%s to=%q\n", id, p.Envelope.To)
		w.WriteHeader(http.StatusOK)
		return
	}
	line := fmt.Sprintf("delivery id=%s from=%q to=%q subject=%q size=%d attachments=%d inlines=%d errors=%d flags=%q%s",
		id, p.Envelope.From, p.Envelope.To, p.Subject, p.Envelope.Size, len(p.Attachments), len(p.Inlines), len(p.Errors), flags(p.Classification), verdicts(&p))
	if links := checkLinks(r.Context(), h.links, &p); links != "" {
		line += fmt.Sprintf(" links=%q", links)
	}
	line += fmt.Sprintf(" answer=%q\n", rep.label)
	if h.cfg.printJSON {
		line += string(body) + "\n"
	}
	h.printf("%s", line)
	if rep.body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.status)
	w.Write(rep.body)
}

// readBody reads at most limit bytes of the body, writing them to sig as
// they arrive when the request is signed. Past the limit it fails with an
// *http.MaxBytesError, and the server reads no further.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, sig *signedBody) ([]byte, error) {
	var buf bytes.Buffer
	dst := io.Writer(&buf)
	if sig != nil {
		dst = io.MultiWriter(&buf, sig)
	}
	// The buffer grows with what arrives, not with what Content-Length
	// promises: a forged request costs only the bytes it really sends.
	_, err := io.Copy(dst, http.MaxBytesReader(w, r.Body, limit))
	return buf.Bytes(), err
}

// refuse answers a request that is not the bridge's with 401, which the
// bridge turns into a temporary 451 4.7.0: a secret that differs on the
// two sides never bounces mail.
func (h *handler) refuse(w http.ResponseWriter, id string, why error) {
	h.printf("refused id=%s: %v\n", id, why)
	http.Error(w, why.Error(), http.StatusUnauthorized)
}

// tooLargeAnswer defers a body over the cap: the bridge takes the explicit
// 452 4.3.1 without retrying in process, any other sender sees a 503 with
// Retry-After, and the MTA keeps the message queued. A 413 would bounce
// it for a limit of this receiver's own.
var tooLargeAnswer = func() []byte {
	code, enhanced, msg := 452, "4.3.1", "message too large for this receiver (RECEIVER_MAX_BODY), try again later"
	b, _ := json.Marshal(answer{Code: &code, EnhancedCode: &enhanced, Message: &msg})
	return b
}()

func (h *handler) tooLarge(w http.ResponseWriter, id string) {
	h.printf("deferred id=%s: body over %d bytes (RECEIVER_MAX_BODY)\n", id, h.cfg.maxBody)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", strconv.Itoa(retryTooLarge))
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write(tooLargeAnswer)
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

// flags names the classification's robot signals, in a fixed order.
func flags(c classification) string {
	var f []string
	for _, s := range []struct {
		name string
		set  bool
	}{
		{"auto_reply", c.AutoReply},
		{"bounce", c.Bounce != nil},
		{"feedback_report", c.FeedbackReport != nil},
		{"list", c.List != nil},
		{"bulk", c.Bulk},
	} {
		if s.set {
			f = append(f, s.name)
		}
	}
	return strings.Join(f, ",")
}
