package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strconv"
	"time"
)

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
