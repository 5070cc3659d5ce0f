package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// errBadSignature is the one failure found only after the whole body was
// read: no signature given matches the body.
var errBadSignature = errors.New("no valid signature")

// signedBody is a request whose Standard Webhooks headers passed every
// check that can be made before the body is read. Writing the body to it
// as it arrives computes the HMAC; valid then says whether the request is
// genuine. Nothing in the body may be acted on before that.
type signedBody struct {
	mac  hash.Hash
	sigs [][]byte // the well-formed v1 signatures offered
}

// checkSignature checks a request's webhook-id, webhook-timestamp (within
// tolerance of now, so that a captured request cannot be replayed later)
// and webhook-signature (at least one well-formed "v1,<base64 HMAC>"
// among the space-separated values; other versions are ignored), and
// starts the HMAC-SHA256 of id "." timestamp "." body.
func checkSignature(key []byte, tolerance time.Duration, h http.Header, now time.Time) (*signedBody, error) {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return nil, errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, errors.New("bad webhook-timestamp")
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return nil, errors.New("webhook-timestamp outside tolerance (replay?)")
	}
	s := &signedBody{mac: hmac.New(sha256.New, key)}
	for v := range strings.FieldsSeq(sigs) {
		enc, ok := strings.CutPrefix(v, "v1,")
		if !ok {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(enc)
		if err == nil && len(sig) == sha256.Size {
			s.sigs = append(s.sigs, sig)
		}
	}
	if len(s.sigs) == 0 {
		return nil, errors.New("no well-formed v1 signature in webhook-signature")
	}
	s.mac.Write([]byte(id + "." + ts + "."))
	return s, nil
}

// Write adds body bytes to the HMAC.
func (s *signedBody) Write(p []byte) (int, error) { return s.mac.Write(p) }

// valid reports whether one of the signatures offered matches the body
// written so far, compared in constant time.
func (s *signedBody) valid() bool {
	want := s.mac.Sum(nil)
	for _, sig := range s.sigs {
		if hmac.Equal(sig, want) {
			return true
		}
	}
	return false
}
