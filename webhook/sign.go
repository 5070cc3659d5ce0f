package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
)

// secretPrefix starts every Standard Webhooks secret.
const secretPrefix = "whsec_"

// ParseSecret decodes a Standard Webhooks secret ("whsec_" and base64).
// An empty secret means requests are not signed.
func ParseSecret(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	enc, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return nil, errors.New(`must start with "whsec_"`)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("after whsec_, not base64: %w", err)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("key is %d bytes; Standard Webhooks keys are 24 to 64 bytes", len(key))
	}
	return key, nil
}

// signer computes Standard Webhooks v1 signatures: base64 of
// HMAC-SHA256(key, id "." timestamp "." body).
type signer struct {
	key []byte
}

// sign returns the webhook-signature header value for one attempt. The
// body is given in pieces so that it is never copied to be signed.
func (s signer) sign(id string, ts time.Time, body ...[]byte) string {
	mac := hmac.New(sha256.New, s.key)
	writeSigned(mac, id, ts, body...)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func writeSigned(h hash.Hash, id string, ts time.Time, body ...[]byte) {
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	h.Write([]byte{'.'})
	for _, b := range body {
		h.Write(b)
	}
}
