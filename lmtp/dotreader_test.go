package lmtp

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/emersion/go-smtp"
)

// TestDotReaderTransitions checks every state against every kind of byte:
// the next state and what is given for it.
func TestDotReaderTransitions(t *testing.T) {
	cases := []struct {
		from dotState
		in   byte
		to   dotState
		out  string
	}{
		{dotLineStart, '.', dotDot, ""},
		{dotLineStart, '\r', dotCR, "\r"},
		{dotLineStart, '\n', dotText, "\n"},
		{dotLineStart, 'x', dotText, "x"},
		{dotText, '.', dotText, "."},
		{dotText, '\r', dotCR, "\r"},
		{dotText, '\n', dotText, "\n"},
		{dotText, 'x', dotText, "x"},
		{dotCR, '.', dotText, "."},
		{dotCR, '\r', dotCR, "\r"}, // go-smtp went to "text" here
		{dotCR, '\n', dotLineStart, "\n"},
		{dotCR, 'x', dotText, "x"},
		{dotDot, '.', dotText, "."},
		{dotDot, '\r', dotDotCR, ""},
		{dotDot, '\n', dotText, "\n"},
		{dotDot, 'x', dotText, "x"},
		{dotDotCR, '.', dotText, "\r."},
		{dotDotCR, '\r', dotCR, "\r\r"},
		{dotDotCR, '\n', dotEnd, ""},
		{dotDotCR, 'x', dotText, "\rx"},
	}
	more := errors.New("waiting for more")
	for _, tc := range cases {
		d := newDotReader(io.MultiReader(bytes.NewReader([]byte{tc.in}), iotest.ErrReader(more)), 0)
		d.state = tc.from
		p := make([]byte, 8)
		n, err := d.Read(p)
		switch {
		case tc.to == dotEnd:
			if err != io.EOF {
				t.Errorf("%d + %q: err %v, want EOF", tc.from, tc.in, err)
			}
		case tc.out == "":
			if err != more {
				t.Errorf("%d + %q: err %v, want to wait for more", tc.from, tc.in, err)
			}
		case err != nil:
			t.Errorf("%d + %q: err %v", tc.from, tc.in, err)
		}
		if string(p[:n]) != tc.out || d.state != tc.to {
			t.Errorf("%d + %q: gave %q, state %d; want %q, state %d", tc.from, tc.in, p[:n], d.state, tc.out, tc.to)
		}
		d.release()
	}
}

var dotCases = []struct {
	name      string
	in        string
	out, rest string
	err       error // nil: ends with io.EOF at the end-of-data line
}{
	{"empty message", ".\r\n", "", "", nil},
	{"one line", "a\r\n.\r\n", "a\r\n", "", nil},
	{"empty lines", "\r\n\r\n.\r\n", "\r\n\r\n", "", nil},
	{"line ends in CR", "a\r\r\n.\r\n", "a\r\r\n", "", nil},
	{"line of a CR", "\r\r\n.\r\n", "\r\r\n", "", nil},
	{"many CRs", "a\r\r\r\r\n.\r\n", "a\r\r\r\r\n", "", nil},
	{"stuffed after CR line", "a\r\r\n..b\r\n.\r\n", "a\r\r\n.b\r\n", "", nil},
	{"stuffed dot line", "..\r\n.\r\n", ".\r\n", "", nil},
	{"stuffed dots", "...x\r\n.\r\n", "..x\r\n", "", nil},
	{"dot CR line", ".\r\r\n.\r\n", "\r\r\n", "", nil},
	{"dot CR text", ".\rx\r\n.\r\n", "\rx\r\n", "", nil},
	{"dot CR dot", ".\r.\r\n.\r\n", "\r.\r\n", "", nil},
	{"dot text", ".x\r\n.\r\n", "x\r\n", "", nil},
	{"dot LF", ".\nx\r\n.\r\n", "\nx\r\n", "", nil},
	{"dot not at line start", "a.\r\n.\r\n", "a.\r\n", "", nil},
	{"bare LF dot LF", "a\n.\nb\r\n.\r\n", "a\n.\nb\r\n", "", nil},
	{"bare LF dot CRLF", "a\n.\r\nb\r\n.\r\n", "a\n.\r\nb\r\n", "", nil},
	{"bare CR dot CRLF", "a\r.\r\nb\r\n.\r\n", "a\r.\r\nb\r\n", "", nil},
	{"commands after", "a\r\n.\r\nNOOP\r\nQUIT\r\n", "a\r\n", "NOOP\r\nQUIT\r\n", nil},
	{"second end marker", ".\r\n.\r\n", "", ".\r\n", nil},
	{"NUL and 8-bit", "\x00\xff\r\n.\r\n", "\x00\xff\r\n", "", nil},
	{"nothing", "", "", "", io.ErrUnexpectedEOF},
	{"no end", "a\r\n", "a\r\n", "", io.ErrUnexpectedEOF},
	{"cut in the marker", "a\r\n.\r", "a\r\n", "", io.ErrUnexpectedEOF},
	{"cut after the dot", "a\r\n.", "a\r\n", "", io.ErrUnexpectedEOF},
	{"dot LF is no end", "a\r\n.\n", "a\r\n\n", "", io.ErrUnexpectedEOF},
}

// TestDotReader reads each input whole, and one byte at a time into a
// one-byte buffer, so that every state is crossed at a read boundary.
func TestDotReader(t *testing.T) {
	for _, tc := range dotCases {
		for _, oneByte := range []bool{false, true} {
			in := bytes.NewReader([]byte(tc.in))
			var src io.Reader = in
			size := 64
			if oneByte {
				src, size = iotest.OneByteReader(in), 1
			}
			d := newDotReader(src, 0)
			out, err := readAllSized(d, size)
			if err == io.EOF {
				err = nil
			}
			// What follows the data: read past it, or not read yet.
			unread, _ := io.ReadAll(in)
			rest := string(d.Rest()) + string(unread)
			if string(out) != tc.out || !errors.Is(err, tc.err) || rest != tc.rest {
				t.Errorf("%s (one byte %t): gave %q, rest %q, err %v; want %q, rest %q, err %v",
					tc.name, oneByte, out, rest, err, tc.out, tc.rest, tc.err)
			}
			d.release()
		}
	}
}

// readAllSized reads r to its end with reads of at most size bytes, and
// returns what it gave and the error that ended it (io.EOF included).
func readAllSized(r io.Reader, size int) ([]byte, error) {
	var out []byte
	p := make([]byte, size)
	for range 1 << 20 {
		n, err := r.Read(p)
		out = append(out, p[:n]...)
		if err != nil {
			return out, err
		}
	}
	return out, errors.New("reader never ended")
}

func TestDotReaderLimit(t *testing.T) {
	msg := "abcd\r\n" // 6 bytes
	for _, tc := range []struct {
		limit int64
		err   error
	}{{5, smtp.ErrDataTooLarge}, {6, nil}, {7, nil}, {0, nil}} {
		d := newDotReader(bytes.NewReader([]byte(msg+".\r\nNOOP\r\n")), tc.limit)
		out, err := readAllSized(d, 3)
		if err == io.EOF {
			err = nil
		}
		if err != tc.err {
			t.Errorf("limit %d: err %v, want %v", tc.limit, err, tc.err)
		}
		if tc.err == nil && string(out) != msg {
			t.Errorf("limit %d: gave %q", tc.limit, out)
		}
		// Past the limit, the rest is discarded up to the end of data
		// and what follows it is kept.
		if err := d.Discard(); err != nil || string(d.Rest()) != "NOOP\r\n" {
			t.Errorf("limit %d: discard %v, rest %q", tc.limit, err, d.Rest())
		}
		d.release()
	}
}

func TestDotReaderIsAReader(t *testing.T) {
	const msg = "Subject: x\r\n\r\nline\r\r\n.stuffed\r\nend\r\n"
	d := newDotReader(bytes.NewReader([]byte("Subject: x\r\n\r\nline\r\r\n..stuffed\r\nend\r\n.\r\n")), 0)
	defer d.release()
	if err := iotest.TestReader(d, []byte(msg)); err != nil {
		t.Error(err)
	}
}

// referenceDot decodes DATA as RFC 5321 section 4.5.2 words it, a line
// at a time: ok reports whether the end-of-data line was found.
func referenceDot(in []byte) (out, rest []byte, ok bool) {
	out = []byte{}
	for {
		i := bytes.Index(in, []byte("\r\n"))
		if i < 0 {
			return out, nil, false
		}
		line := in[:i]
		in = in[i+2:]
		if string(line) == "." {
			return out, in, true
		}
		out = append(out, bytes.TrimPrefix(line, []byte("."))...)
		out = append(out, '\r', '\n')
	}
}

// stuff encodes msg (whose lines end in CRLF) as a client sends it.
func stuff(msg []byte) []byte {
	var b bytes.Buffer
	for len(msg) > 0 {
		i := bytes.Index(msg, []byte("\r\n"))
		if msg[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(msg[:i+2])
		msg = msg[i+2:]
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

// chunkReader gives its data in reads of at most size bytes.
type chunkReader struct {
	data []byte
	size int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.size)], r.data)
	r.data = r.data[n:]
	return n, nil
}

// FuzzDotReader compares the reader with referenceDot on any input, read
// in chunks of any size, and checks that any message, stuffed as a
// client sends it, comes back as it was.
func FuzzDotReader(f *testing.F) {
	for _, tc := range dotCases {
		f.Add([]byte(tc.in), uint8(0))
		f.Add([]byte(tc.in), uint8(0x21))
	}
	f.Fuzz(func(t *testing.T, in []byte, sizes uint8) {
		readSize, giveSize := int(sizes&0xf)+1, int(sizes>>4)+1

		src := &chunkReader{data: in, size: readSize}
		d := newDotReader(src, 0)
		defer d.release()
		out, err := readAllSized(d, giveSize)
		want, wantRest, ok := referenceDot(in)
		if ok {
			rest := append(append([]byte{}, d.Rest()...), src.data...)
			if err != io.EOF || !bytes.Equal(out, want) || !bytes.Equal(rest, wantRest) {
				t.Fatalf("in %q: gave %q, rest %q, err %v; want %q, rest %q", in, out, rest, err, want, wantRest)
			}
		} else if err != io.ErrUnexpectedEOF || !bytes.HasPrefix(out, want) {
			t.Fatalf("in %q: gave %q, err %v; want %q... and unexpected EOF", in, out, err, want)
		}

		msg := in
		if !bytes.HasSuffix(msg, []byte("\r\n")) {
			msg = append(append([]byte{}, msg...), '\r', '\n')
		}
		r := newDotReader(&chunkReader{data: stuff(msg), size: readSize}, 0)
		defer r.release()
		back, err := readAllSized(r, giveSize)
		if err != io.EOF || !bytes.Equal(back, msg) {
			t.Fatalf("message %q came back as %q, %v", msg, back, err)
		}
	})
}
