package lmtp

import (
	"io"
	"sync"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/memory"
)

// firstChunk is read into first, from a pool: most messages fit, and
// their only allocation is then the exact copy kept.
const firstChunk = 32 << 10

// maxChunk bounds each later chunk when the size is not known, so that
// the chunks overshoot the message by at most that much.
const maxChunk = 1 << 20

var chunkPool = sync.Pool{New: func() any { b := make([]byte, firstChunk); return &b }}

// readMessage reads r to its end into one slice of about the message's
// size. hint is the size the client declared with SIZE (0 if none), acted
// on only once the message has outgrown the first chunk, so that a false
// SIZE on a small message costs nothing; limit (0 for none) caps what is
// allocated:
//
//   - a message that fits the first chunk is copied out of it exactly;
//   - a larger one with a hint is read straight into one buffer of the
//     declared size, with 3% of room for line ends a client may not have
//     counted;
//   - otherwise, or past the hint, it is read in chunks and copied once
//     into a slice of its exact size.
//
// So a message is held once, plus its chunks while it arrives, never in
// a doubling buffer that keeps up to half its capacity unused and
// allocates three times the message in all.
//
// charge, when not nil, is told of each allocation before it is made:
// alloc bytes, of which msg may hold message bytes not yet charged (the
// final copy holds none). An error from it ends the read.
func readMessage(r io.Reader, hint, limit int64, charge func(alloc, msg int64) error) ([]byte, error) {
	if charge == nil {
		charge = func(int64, int64) error { return nil }
	}
	pooled := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(pooled)
	n, eof, err := fill(r, *pooled)
	if err != nil {
		return nil, err
	}
	if eof {
		if err := charge(int64(n), int64(n)); err != nil {
			return nil, err
		}
		data := make([]byte, n)
		copy(data, *pooled)
		return data, nil
	}

	total := int64(n)
	size := int64(firstChunk)
	if hint > total {
		size = hint + hint/32 + 4096
		if limit > 0 {
			size = min(size, limit+1)
		}
	}
	if err := charge(size, size); err != nil {
		return nil, err
	}
	last := append(make([]byte, 0, size), (*pooled)[:n]...)
	var chunks [][]byte
	for {
		if len(last) == cap(last) {
			// Look one byte ahead rather than allocate a chunk for nothing
			// when the message ends exactly here.
			var next [1]byte
			m, eof, err := fill(r, next[:])
			if err != nil {
				return nil, err
			}
			if m == 0 && eof {
				break
			}
			chunks = append(chunks, last)
			grow := min(max(total, firstChunk), maxChunk)
			if limit > 0 {
				grow = max(min(grow, limit-total+1), 1)
			}
			if err := charge(grow, grow); err != nil {
				return nil, err
			}
			last = append(make([]byte, 0, grow), next[0])
			total++
			if eof {
				break
			}
		}
		n, eof, err := fill(r, last[len(last):cap(last)])
		if err != nil {
			return nil, err
		}
		last = last[:len(last)+n]
		total += int64(n)
		if eof {
			break
		}
	}
	if len(chunks) == 0 {
		return last, nil
	}
	if err := charge(total, 0); err != nil {
		return nil, err
	}
	data := make([]byte, 0, total)
	for _, c := range chunks {
		data = append(data, c...)
	}
	data = append(data, last...)
	if total >= memory.Large {
		// The chunks, as large as the message, are garbage now.
		memory.Release()
	}
	return data, nil
}

// fill reads into b until it is full or r ends.
func fill(r io.Reader, b []byte) (n int, eof bool, err error) {
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}
