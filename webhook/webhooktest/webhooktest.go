// Package webhooktest is what tests of the bridge share on the webhook's
// side: a real HTTP receiver that records every request and answers as a
// test says, and a buffer that several goroutines may write to. Tests of
// package webhook and of the command use the same ones.
//
// It is for tests only. It knows the HTTP side of the contract (a POST of
// JSON with a webhook-id header) and nothing about LMTP or the bridge's
// internals: the test chooses the type the body is decoded into.
package webhooktest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// Request is one request as a Receiver saw it, its body decoded into P.
type Request[P any] struct {
	Header  http.Header
	Body    []byte
	Payload P
	// At is when the request's body had been read.
	At time.Time
	// Attempt counts the requests with this webhook-id so far, this one
	// included.
	Attempt int
}

// ID returns the request's webhook-id header.
func (r *Request[P]) ID() string { return r.Header.Get("webhook-id") }

// Receiver is a real HTTP server standing in for a user's webhook: it
// records every request whose body arrived, then lets its answer function
// reply (200 when there is none).
type Receiver[P any] struct {
	// URL is the server's base URL, http://127.0.0.1:port.
	URL string

	t      testing.TB
	answer func(w http.ResponseWriter, r *http.Request, req *Request[P])

	mu   sync.Mutex
	got  []Request[P]
	seen map[string]int // requests per webhook-id
}

// NewReceiver starts a Receiver on a loopback port; it stops when the test
// ends. A request that is not a POST of JSON, or whose body does not
// decode into P, fails the test (and gets 400 when it does not decode).
func NewReceiver[P any](t testing.TB, answer func(w http.ResponseWriter, r *http.Request, req *Request[P])) *Receiver[P] {
	t.Helper()
	rc := &Receiver[P]{t: t, answer: answer, seen: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

func (rc *Receiver[P]) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if r.Context().Err() == nil {
			rc.t.Errorf("receiver: read body: %v", err)
		}
		// Otherwise the bridge gave up while sending: nothing to record.
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("receiver: got %s with Content-Type %q, want POST application/json", r.Method, r.Header.Get("Content-Type"))
	}
	req := Request[P]{Header: r.Header.Clone(), Body: body, At: time.Now()}
	if err := json.Unmarshal(body, &req.Payload); err != nil {
		rc.t.Errorf("receiver: body is not the documented JSON: %v\n%.500s", err, body)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.seen[req.ID()]++
	req.Attempt = rc.seen[req.ID()]
	rc.got = append(rc.got, req)
	rc.mu.Unlock()
	if rc.answer == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	rc.answer(w, r, &req)
}

// Requests returns the requests recorded so far, in order of arrival.
func (rc *Receiver[P]) Requests() []Request[P] {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// Buffer collects what several goroutines write (logs, a subprocess's
// output) for a test to read while they run.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
