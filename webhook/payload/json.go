package payload

import (
	"encoding/base64"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// jsonWriter writes the shared part of a payload. The same code runs twice:
// first only counting bytes, then appending into a buffer of exactly that
// size, so that a message with large attachments is encoded in one
// allocation, with base64 written straight into place, instead of through
// encoding/json's growing buffers and the copies between them.
//
// Its output is byte for byte what encoding/json produces for the same
// values with SetEscapeHTML(false); encode_test.go holds it to that.
type jsonWriter struct {
	buf   []byte
	n     int
	count bool
	err   error
	// text is where the message's text was written (or, counting, how
	// long it was), so that a reply that is the whole text is copied,
	// not escaped again.
	text [2]int
}

// at is where the next byte goes: the count so far when counting.
func (w *jsonWriter) at() int {
	if w.count {
		return w.n
	}
	return len(w.buf)
}

// strLike writes s, which was written before between the offsets in
// span when it equals prev: a copy of those bytes then.
func (w *jsonWriter) strLike(s, prev string, span [2]int) {
	if s != prev || span[1] == 0 {
		w.str(s)
		return
	}
	if w.count {
		w.n += span[1] - span[0]
		return
	}
	w.buf = append(w.buf, w.buf[span[0]:span[1]]...)
}

func (w *jsonWriter) raw(s string) {
	if w.count {
		w.n += len(s)
		return
	}
	w.buf = append(w.buf, s...)
}

func (w *jsonWriter) str(s string) {
	if w.count {
		w.n += jsonStringLen(s)
		return
	}
	w.buf = appendJSONStr(w.buf, s)
}

// list writes a JSON array of list's elements, each written by elem, or
// null for a nil slice, as encoding/json does.
func list[T any](w *jsonWriter, list []T, elem func(*T)) {
	if list == nil {
		w.raw("null")
		return
	}
	w.raw("[")
	for i := range list {
		if i > 0 {
			w.raw(",")
		}
		elem(&list[i])
	}
	w.raw("]")
}

func (w *jsonWriter) strs(l []string) { list(w, l, func(s *string) { w.str(*s) }) }

// bytes writes b as encoding/json does: base64 in quotes, null when nil.
func (w *jsonWriter) bytes(b []byte) {
	if b == nil {
		w.raw("null")
		return
	}
	if w.count {
		w.n += 2 + base64.StdEncoding.EncodedLen(len(b))
		return
	}
	w.buf = append(w.buf, '"')
	w.buf = base64.StdEncoding.AppendEncode(w.buf, b)
	w.buf = append(w.buf, '"')
}

func (w *jsonWriter) int(i int64) {
	if w.count {
		var scratch [20]byte
		w.n += len(strconv.AppendInt(scratch[:0], i, 10))
		return
	}
	w.buf = strconv.AppendInt(w.buf, i, 10)
}

func (w *jsonWriter) bool(v bool) {
	if v {
		w.raw("true")
	} else {
		w.raw("false")
	}
}

// time writes t as its MarshalJSON does, and keeps its error: a time
// RFC 3339 cannot express fails the encoding, as with encoding/json.
func (w *jsonWriter) time(t time.Time) {
	if w.count {
		var scratch [64]byte
		b, err := t.AppendText(scratch[:0])
		if err != nil && w.err == nil {
			w.err = err
		}
		w.n += len(b) + 2
		return
	}
	b, err := t.AppendText(append(w.buf, '"'))
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return
	}
	w.buf = append(b, '"')
}

// link writes a stored object's link and its expiry, each left out when
// empty or zero (omitempty, omitzero), as encoding/json does.
func (w *jsonWriter) link(urlName, url, expiresName string, expires time.Time) {
	if url != "" {
		w.raw(urlName)
		w.str(url)
	}
	if !expires.IsZero() {
		w.raw(expiresName)
		w.time(expires)
	}
}

func (w *jsonWriter) addresses(l []wire.Address) {
	list(w, l, func(a *wire.Address) {
		w.raw(`{"name":`)
		w.str(a.Name)
		w.raw(`,"address":`)
		w.str(a.Address)
		w.raw("}")
	})
}

func (w *jsonWriter) attachments(l []wire.Attachment) {
	list(w, l, func(a *wire.Attachment) {
		w.raw(`{"filename":`)
		w.str(a.Filename)
		w.raw(`,"safe_filename":`)
		w.str(a.SafeFilename)
		w.raw(`,"content_type":`)
		w.str(a.ContentType)
		w.raw(`,"disposition":`)
		w.str(a.Disposition)
		w.raw(`,"content_id":`)
		w.str(a.ContentID)
		w.raw(`,"size":`)
		w.int(int64(a.Size))
		w.raw(`,"sha256":`)
		w.str(a.SHA256)
		if len(a.Content) > 0 {
			w.raw(`,"content":`)
			w.bytes(a.Content)
		}
		w.link(`,"url":`, a.URL, `,"url_expires_at":`, a.URLExpiresAt)
		w.raw("}")
	})
}

// shared writes everything after a recipient's own fields: the rest of the
// envelope, which it closes, then the message's fields and the payload's
// closing brace.
func (w *jsonWriter) shared(env *sharedEnvelope, m *wire.Message, v verdicts) {
	w.raw(`"from":`)
	w.str(env.From)
	w.raw(`,"recipients":`)
	w.strs(env.Recipients)
	w.raw(`,"helo":`)
	w.str(env.Helo)
	w.raw(`,"remote_addr":`)
	w.str(env.RemoteAddr)
	w.raw(`,"size":`)
	w.int(env.Size)
	w.raw(`,"client":`)
	w.client(env.Client)

	w.raw(`},"received_at":`)
	w.time(m.ReceivedAt)
	w.raw(`,"headers":`)
	list(w, m.Headers, func(h *wire.Header) {
		w.raw(`{"name":`)
		w.str(h.Name)
		w.raw(`,"value":`)
		w.str(h.Value)
		w.raw("}")
	})
	w.raw(`,"message_id":`)
	w.str(m.MessageID)
	w.raw(`,"subject":`)
	w.str(m.Subject)
	w.raw(`,"date":`)
	if m.Date == nil {
		w.raw("null")
	} else {
		w.time(*m.Date)
	}
	w.raw(`,"from":`)
	w.addresses(m.From)
	w.raw(`,"sender":`)
	w.addresses(m.Sender)
	w.raw(`,"reply_to":`)
	w.addresses(m.ReplyTo)
	w.raw(`,"to":`)
	w.addresses(m.To)
	w.raw(`,"cc":`)
	w.addresses(m.Cc)
	w.raw(`,"bcc":`)
	w.addresses(m.Bcc)
	w.raw(`,"in_reply_to":`)
	w.strs(m.InReplyTo)
	w.raw(`,"references":`)
	w.strs(m.References)
	w.raw(`,"text":`)
	w.text[0] = w.at()
	w.str(m.Text)
	w.text[1] = w.at()
	w.raw(`,"html":`)
	w.str(m.HTML)
	w.raw(`,"attachments":`)
	w.attachments(m.Attachments)
	w.raw(`,"inlines":`)
	w.attachments(m.Inlines)
	w.raw(`,"errors":`)
	list(w, m.Errors, func(e *wire.ParseError) {
		w.raw(`{"name":`)
		w.str(e.Name)
		w.raw(`,"detail":`)
		w.str(e.Detail)
		w.raw(`,"severe":`)
		w.bool(e.Severe)
		w.raw("}")
	})
	w.meaning(m)
	w.verdicts(v)
	if len(m.Raw) > 0 {
		w.raw(`,"raw":`)
		w.bytes(m.Raw)
	}
	w.link(`,"raw_url":`, m.RawURL, `,"raw_url_expires_at":`, m.RawURLExpiresAt)
	w.raw("}")
}

// encodeShared returns the shared JSON of env and m in a buffer of exactly
// its size: written once into a pooled buffer and copied for a message
// under onePassMax, counted and then written for a larger one.
func encodeShared(env *sharedEnvelope, m *wire.Message) ([]byte, error) {
	b, _, err := encodeWithin(env, m, math.MaxInt64)
	return b, err
}

// encodeWithin is encodeShared when the JSON takes at most limit bytes;
// otherwise it returns nil and the JSON's length, and a large message's
// JSON is not built at all.
func encodeWithin(env *sharedEnvelope, m *wire.Message, limit int64) ([]byte, int, error) {
	if env.Size < onePassMax {
		b, err := encodeOnePass(env, m)
		if err != nil || int64(len(b)) <= limit {
			return b, len(b), err
		}
		return nil, len(b), nil
	}
	n, err := sharedLen(env, m)
	if err != nil || int64(n) > limit {
		return nil, n, err
	}
	b, err := encodeSharedLen(env, m, n)
	return b, n, err
}

// onePassMax is the message size below which the JSON is written once
// and copied rather than counted first: for a small message the copy
// costs less than the count, and its JSON is small enough to be held
// twice for a moment (MemoryCost's slack covers it).
const onePassMax = 64 << 10

// jsonBuffers are encodeOnePass's buffers; one that grew past maxPooledJSON is
// not kept.
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

const maxPooledJSON = 1 << 20

// encodeOnePass writes the shared JSON of env and m into a pooled buffer
// and returns a copy of exactly its size.
func encodeOnePass(env *sharedEnvelope, m *wire.Message) ([]byte, error) {
	v, err := encodeVerdicts(m)
	if err != nil {
		return nil, err
	}
	pooled := jsonBuffers.Get().(*[]byte)
	w := jsonWriter{buf: (*pooled)[:0]}
	w.shared(env, m, v)
	out := make([]byte, len(w.buf))
	copy(out, w.buf)
	if cap(w.buf) <= maxPooledJSON {
		*pooled = w.buf[:0]
		jsonBuffers.Put(pooled)
	}
	return out, w.err
}

// sharedLen is the length of the shared JSON of env and m, counted
// without writing anything.
func sharedLen(env *sharedEnvelope, m *wire.Message) (int, error) {
	v, err := encodeVerdicts(m)
	if err != nil {
		return 0, err
	}
	w := jsonWriter{count: true}
	w.shared(env, m, v)
	return w.n, w.err
}

// encodeSharedLen is encodeShared once the length n is known.
func encodeSharedLen(env *sharedEnvelope, m *wire.Message, n int) ([]byte, error) {
	v, err := encodeVerdicts(m)
	if err != nil {
		return nil, err
	}
	w := jsonWriter{buf: make([]byte, 0, n)}
	w.shared(env, m, v)
	return w.buf, w.err
}

const hexDigits = "0123456789abcdef"

// jsonExtra is, for each ASCII byte, how many bytes encoding/json adds
// when it writes it without escaping HTML: 0 for printable bytes other
// than '"' and '\\', 1 for short escapes, 5 for \u00XX.
var jsonExtra = func() (t [utf8.RuneSelf]uint8) {
	for b := range utf8.RuneSelf {
		switch {
		case b == '"' || b == '\\' || b == '\b' || b == '\f' || b == '\n' || b == '\r' || b == '\t':
			t[b] = 1
		case b < 0x20:
			t[b] = 5
		}
	}
	return t
}()

// skipPlain returns the first offset from i, in steps of eight bytes, at
// which the next eight bytes are not all printable ASCII other than '"'
// and '\\' (bytes JSON writes as they are). Text is mostly such bytes,
// and they are skipped eight at a time.
func skipPlain(s string, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		b := s[i : i+8]
		x := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		quote, backslash := x^(ones*'"'), x^(ones*'\\')
		// A byte below 0x20, '"' or '\\' sets the high bit of its byte in
		// special; a borrow only spreads from a byte that did.
		special := (x - ones*0x20) | (quote-ones)&^quote | (backslash-ones)&^backslash
		if (x|special)&highs != 0 {
			return i
		}
	}
	return i
}

// appendJSONStr appends s as a JSON string exactly as encoding/json does
// with SetEscapeHTML(false): short escapes for \b \f \n \r \t " and \\,
// \u00XX for other control bytes, U+FFFD (as UTF-8, as encoding/json
// writes it since Go 1.27) for each byte of invalid UTF-8, and \u2028 and
// \u2029 escaped.
func appendJSONStr(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i = skipPlain(s, i); i >= len(s) {
			break
		}
		if b := s[i]; b < utf8.RuneSelf {
			if jsonExtra[b] == 0 {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// jsonStringLen is len(appendJSONStr(nil, s)), without writing anything.
func jsonStringLen(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); {
		if i = skipPlain(s, i); i >= len(s) {
			break
		}
		if b := s[i]; b < utf8.RuneSelf {
			n += int(jsonExtra[b])
			i++
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			n += 2 // one byte becomes U+FFFD, three bytes
		} else if c == '\u2028' || c == '\u2029' {
			n += 3 // three bytes become \u202X
		}
		i += size
	}
	return n
}
