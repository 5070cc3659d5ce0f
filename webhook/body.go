package webhook

import (
	"bytes"
	"io"
)

// smallBody is the largest body sent from one contiguous copy. net/http
// writes the headers and a body it knows to be in memory (a
// *bytes.Reader) in one write, where any other reader costs a second
// one; with a 32 KiB write buffer a body up to this size leaves in a
// single packet train. Larger bodies are streamed, without a copy.
const smallBody = 28 << 10

// body is one request's body: a prefix (one recipient's own fields, or a
// whole small document) followed by shared bytes. It knows its length,
// makes a fresh reader for each attempt and redirect, and hands its bytes
// to the signer in place.
type body struct {
	prefix, shared []byte
	// whole is prefix and shared in one copy, for a small body; nil for a
	// large one, which is streamed.
	whole []byte
}

// newBody returns the body prefix followed by shared.
func newBody(prefix, shared []byte) body {
	b := body{prefix: prefix, shared: shared}
	switch n := len(prefix) + len(shared); {
	case len(shared) == 0:
		b.whole = prefix
	case n <= smallBody:
		b.whole = append(append(make([]byte, 0, n), prefix...), shared...)
	}
	return b
}

// len is the body's length in bytes.
func (b body) len() int64 { return int64(len(b.prefix) + len(b.shared)) }

// reader returns a reader of the whole body, from its start.
func (b body) reader() io.ReadCloser {
	if b.whole != nil {
		return io.NopCloser(bytes.NewReader(b.whole))
	}
	return &bodyReader{prefix: b.prefix, shared: b.shared}
}

// bodyReader streams one recipient's body, its prefix then the shared
// bytes, without copying either.
type bodyReader struct {
	prefix, shared []byte
}

// Read copies from the prefix, then from the shared bytes.
func (b *bodyReader) Read(p []byte) (int, error) {
	n := copy(p, b.prefix)
	b.prefix = b.prefix[n:]
	m := copy(p[n:], b.shared)
	b.shared = b.shared[m:]
	if n+m == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n + m, nil
}

// Close does nothing: the bytes belong to the message.
func (b *bodyReader) Close() error { return nil }
