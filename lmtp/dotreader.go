package lmtp

import (
	"bytes"
	"io"

	"github.com/emersion/go-smtp"
)

// dotState is where the dotReader is within a line.
type dotState uint8

const (
	dotLineStart dotState = iota // after CRLF, or at the start of the data
	dotText                      // inside a line
	dotCR                        // after a CR that may end the line
	dotDot                       // after a dot that started the line, removed
	dotDotCR                     // after a line's leading dot and a CR, held back
	dotEnd                       // the line of a single dot has been read
)

// dotReader reads the message that follows DATA's 354 reply, as RFC 5321
// section 4.5.2 says: a line is what comes before each CRLF; a line of a
// single dot ends the data, and the first dot of any other line that
// starts with one is removed. A bare CR or a bare LF is part of its line:
// "x\r\r\n.\r\n" ends the data after the line "x\r", and neither "\n.\n",
// "\n.\r\n" nor "\r.\r\n" does, so that no message can carry a second one
// past a reader that counts line ends differently.
//
// It replaces go-smtp's own reader, whose state machine loses the line
// start after "\r\r": the end of data after such a line was never seen
// and the connection hung until the read timeout, and a stuffed dot right
// after it was kept.
type dotReader struct {
	src      io.Reader
	buf      *[]byte // raw bytes from src, from chunkPool
	pos, end int
	state    dotState
	err      error // what src said (io.EOF made io.ErrUnexpectedEOF), sticky

	// limit is the most bytes Read gives before it fails with
	// smtp.ErrDataTooLarge (0: no limit); given counts them.
	limit, given int64
}

// newDotReader reads the dot-stuffed data from src; limit (0 for none)
// is the message size past which Read fails with smtp.ErrDataTooLarge.
func newDotReader(src io.Reader, limit int64) *dotReader {
	return &dotReader{src: src, buf: chunkPool.Get().(*[]byte), limit: limit}
}

// Read gives the message data, unstuffed, with its line ends as sent. It
// returns io.EOF after the end-of-data line, io.ErrUnexpectedEOF if the
// stream ends before it, and smtp.ErrDataTooLarge once more than limit
// bytes would have been given.
func (d *dotReader) Read(p []byte) (int, error) {
	if d.state == dotEnd {
		return 0, io.EOF
	}
	if d.limit > 0 {
		room := d.limit + 1 - d.given
		if room <= 0 {
			return 0, smtp.ErrDataTooLarge
		}
		if int64(len(p)) > room {
			p = p[:room]
		}
	}
	n := 0
	for n < len(p) && d.state != dotEnd {
		if d.pos == d.end {
			if n > 0 {
				break // give what there is rather than wait for more
			}
			if d.err != nil {
				return 0, d.err
			}
			m, err := d.src.Read(*d.buf)
			d.pos, d.end = 0, m
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			d.err = err
			continue
		}
		c := (*d.buf)[d.pos]
		switch d.state {
		case dotText:
			if c != '\r' {
				// Most bytes: copy up to the next CR at once.
				run := (*d.buf)[d.pos:d.end]
				if i := bytes.IndexByte(run, '\r'); i >= 0 {
					run = run[:i]
				}
				k := copy(p[n:], run)
				n += k
				d.pos += k
				continue
			}
			d.state = dotCR
		case dotLineStart:
			switch c {
			case '.':
				d.state = dotDot
				d.pos++
				continue
			case '\r':
				d.state = dotCR
			default:
				d.state = dotText
			}
		case dotCR:
			switch c {
			case '\n':
				d.state = dotLineStart
			case '\r':
				// Another CR: it, not the one before, may end the line.
			default:
				d.state = dotText
			}
		case dotDot:
			if c == '\r' {
				d.state = dotDotCR
				d.pos++
				continue
			}
			d.state = dotText
		case dotDotCR:
			if c == '\n' {
				d.state = dotEnd
				d.pos++
				continue
			}
			// The line was not a lone dot: give the CR held back, and read
			// c again as what follows a CR.
			p[n] = '\r'
			n++
			d.state = dotCR
			continue
		}
		p[n] = c
		n++
		d.pos++
	}
	d.given += int64(n)
	if d.state == dotEnd {
		return n, io.EOF
	}
	return n, nil
}

// Discard reads the rest of the data, whatever its size, so that what
// follows is read as commands; it returns nil once the end-of-data line
// has been read.
func (d *dotReader) Discard() error {
	d.limit = 0
	var scratch [4096]byte
	for {
		_, err := d.Read(scratch[:])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Rest returns the bytes read from src past the end-of-data line: the
// commands a client sent right after it.
func (d *dotReader) Rest() []byte {
	if d.state != dotEnd {
		return nil
	}
	return (*d.buf)[d.pos:d.end]
}

// release hands the buffer back; the dotReader and what Rest returned
// must not be used after.
func (d *dotReader) release() {
	if d.buf != nil {
		chunkPool.Put(d.buf)
		d.buf = nil
	}
}

// dotFraming is what a conn needs to let a dotReader, not go-smtp, read
// the message after DATA. go-smtp reads commands through a buffer of its
// own, so the conn never gives it bytes past a DATA command line: those
// wait in pending, and the dotReader starts exactly where the message
// does. Once the message has been read, go-smtp is given only a line of a
// single dot, which its own reader takes for an empty message, and then
// the commands that followed the data.
//
// Only the goroutine reading the connection uses these fields, except
// dotOpen (under wmu), which a 354 reply sets.
type dotFraming struct {
	pending []byte // bytes read from the client and not yet given
	head    [5]byte
	headLen int        // head holds the start of the line being given
	dot     *dotReader // the message's reader, until go-smtp has had its end
	dotOpen bool
}

// endOfDataLine is what go-smtp is given in place of the message.
var endOfDataLine = []byte(".\r\n")

// cutAfterData returns how much of p may be given to go-smtp: all of it,
// or up to the end of the first line that may be a DATA command, the rest
// being kept for later. A line is taken for one from its first five bytes
// (go-smtp also takes "DATA" followed by spaces); cutting after a line
// that is not one is harmless.
func (c *conn) cutAfterData(p []byte) int {
	for i := 0; i < len(p); {
		if c.headLen < len(c.head) && p[i] != '\n' {
			c.head[c.headLen] = p[i]
			c.headLen++
			i++
			continue
		}
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			return len(p)
		}
		i += j
		if c.headLen < len(c.head) {
			c.head[c.headLen] = '\n'
			c.headLen++
		}
		h := c.head[:c.headLen]
		data := len(h) == 5 && bytes.EqualFold(h[:4], []byte("DATA")) && (h[4] == ' ' || h[4] == '\r' || h[4] == '\n')
		c.headLen = 0
		i++
		if data {
			c.unread(p[i:])
			return i
		}
	}
	return len(p)
}

// unread puts p back in front of what is still to be given.
func (c *conn) unread(p []byte) {
	if len(p) == 0 {
		return
	}
	c.pending = append(append(make([]byte, 0, len(p)+len(c.pending)), p...), c.pending...)
}

// openDot returns the reader of the message when go-smtp has just
// answered DATA with 354, or nil (under BDAT, whose chunks go-smtp reads
// itself). limit is the message size limit, 0 for none.
func (c *conn) openDot(limit int64) *dotReader {
	c.wmu.Lock()
	open := c.dotOpen
	c.dotOpen = false
	c.wmu.Unlock()
	if !open {
		return nil
	}
	c.dot = newDotReader(readerFunc(c.readRaw), limit)
	return c.dot
}

// finishDot reads what is left of the message, then queues the line that
// ends go-smtp's reader and the commands that followed the data.
func (c *conn) finishDot() error {
	d := c.dot
	c.dot = nil
	defer d.release()
	if err := d.Discard(); err != nil {
		return err
	}
	c.unread(d.Rest())
	c.unread(endOfDataLine)
	return nil
}

// readerFunc makes an io.Reader of a read function.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
