package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// PartKey is the object key of a part whose decoded content has the
// SHA-256 sum: the same bytes, from any message, share one object.
func PartKey(sum [32]byte) string {
	return "sha256/" + hex.EncodeToString(sum[:])
}

// RawKey is the object key of a whole message, given its Message-ID (may
// be empty) and the SHA-256 of its bytes. A redelivery, which carries the
// same bytes, gets the same key. The Message-ID alone is not enough: the
// sender chooses it, and two different messages claiming one id must not
// share (or overwrite) an object, so the key hashes both.
func RawKey(messageID string, sum [32]byte) string {
	h := sha256.New()
	// Length-prefixed, so no id and sum can be shifted into another pair.
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(messageID)))
	h.Write(n[:])
	h.Write([]byte(messageID))
	h.Write(sum[:])
	return "raw/" + hex.EncodeToString(h.Sum(nil)) + ".eml"
}
