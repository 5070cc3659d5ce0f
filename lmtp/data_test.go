package lmtp

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestReadMessage(t *testing.T) {
	sizes := []int{0, 1, firstChunk - 1, firstChunk, firstChunk + 1, 3*firstChunk + 7,
		maxChunk - 1, maxChunk, maxChunk + 1, 3*maxChunk + 12345}
	for _, size := range sizes {
		msg := make([]byte, size)
		for i := range msg {
			msg[i] = byte(i*7 + i/251)
		}
		hints := map[string]int64{
			"no SIZE":        0,
			"exact SIZE":     int64(size),
			"SIZE too small": int64(size / 2),
			"SIZE too large": int64(size)*2 + 100,
			"SIZE one short": int64(size) - 1,
		}
		readers := map[string]func() io.Reader{
			"whole":    func() io.Reader { return bytes.NewReader(msg) },
			"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(msg)) },
			"EOF with data": func() io.Reader {
				return iotest.DataErrReader(iotest.HalfReader(bytes.NewReader(msg)))
			},
		}
		for hname, hint := range hints {
			for rname, reader := range readers {
				if rname == "one byte" && size > maxChunk {
					continue
				}
				got, err := readMessage(reader(), hint, 0, nil)
				if err != nil {
					t.Fatalf("%d bytes, %s, %s: %v", size, hname, rname, err)
				}
				if !bytes.Equal(got, msg) {
					t.Fatalf("%d bytes, %s, %s: read %d bytes, not the message", size, hname, rname, len(got))
				}
				// Held once: at most the declared size and its margin, or
				// the exact size.
				if limit := max(int(hint)+int(hint)/32+4096, size); cap(got) > limit {
					t.Errorf("%d bytes, %s, %s: capacity %d", size, hname, rname, cap(got))
				}
			}
		}
	}
}

func TestReadMessageLimitAndErrors(t *testing.T) {
	// A lying SIZE does not make the buffer larger than the limit allows.
	msg := bytes.Repeat([]byte("x"), 100_000)
	got, err := readMessage(bytes.NewReader(msg), 1<<30, 200_000, nil)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	if cap(got) > 200_001 {
		t.Errorf("capacity %d beyond the limit", cap(got))
	}

	// An error part way through is returned, whatever has been read.
	broken := errors.New("connection reset")
	for _, at := range []int{10, firstChunk + 10, 5 * maxChunk / 2} {
		r := io.MultiReader(bytes.NewReader(make([]byte, at)), iotest.ErrReader(broken))
		if _, err := readMessage(r, 0, 0, nil); !errors.Is(err, broken) {
			t.Errorf("error after %d bytes: got %v", at, err)
		}
	}
}
