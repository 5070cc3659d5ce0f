package payload

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// hostileShape builds a message of about size bytes whose shape has made
// MIME or HTML parsers superlinear: what BenchmarkHostileParse measures
// and TestHostileParseIsLinear bounds.
type hostileShape struct {
	name  string
	build func(size int) []byte
}

// htmlOnly is an HTML-only message whose body is unit repeated up to
// about size bytes.
func htmlOnly(size int, unit string) []byte {
	const head = "From: a@x.test\r\nTo: b@x.test\r\nSubject: html\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
	var b strings.Builder
	b.Grow(size + len(unit))
	b.WriteString(head)
	for b.Len() < size {
		b.WriteString(unit)
	}
	return []byte(b.String())
}

var hostileShapes = []hostileShape{
	{"html-deep", func(size int) []byte { return htmlOnly(size, "<div>x") }},
	{"html-broad", func(size int) []byte { return htmlOnly(size, "<table><tr><td>cell</td></tr></table>\r\n") }},
	{"html-unclosed", func(size int) []byte { return htmlOnly(size, "<b><i><u><font>x") }},
	{"html-a-end-x", func(size int) []byte { return htmlOnly(size, "a</x>") }},
	{"html-p-b", func(size int) []byte { return htmlOnly(size, "<p><b>") }},
	{"many-parts", manyParts},
	{"folded-header", foldedHeader},
	{"control-chars", func(size int) []byte {
		var b strings.Builder
		b.WriteString("Subject: ctl\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
		for b.Len() < size {
			b.WriteString("\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\r\n")
		}
		return []byte(b.String())
	}},
}

// manyParts is a multipart message with as many parts as the shape bound
// lets through, each of a size that fills size.
func manyParts(size int) []byte {
	n := maxMIMEParts - 1
	body := strings.Repeat("part text line\r\n", max(1, size/n/16))
	var b strings.Builder
	b.WriteString("Subject: parts\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n")
	for i := range n {
		fmt.Fprintf(&b, "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"p%d.txt\"\r\n\r\n%s", i, body)
	}
	b.WriteString("--b--\r\n")
	return []byte(b.String())
}

// foldedHeader is a To: field of size bytes of continuation lines.
func foldedHeader(size int) []byte {
	var b strings.Builder
	b.Grow(size + 64)
	b.WriteString("Subject: folded\r\nTo: a0@x.test")
	for i := 1; b.Len() < size; i++ {
		fmt.Fprintf(&b, ",\r\n a%d@x.test", i)
	}
	b.WriteString("\r\n\r\nbody\r\n")
	return []byte(b.String())
}

// BenchmarkHostileParse parses each hostile shape at 1 and 4 MiB and
// reports the time per MiB: when parsing is linear, both sizes show about
// the same figure.
func BenchmarkHostileParse(b *testing.B) {
	for _, s := range hostileShapes {
		for _, mib := range []int{1, 4} {
			data := s.build(mib << 20)
			b.Run(fmt.Sprintf("%s/%dMiB", s.name, mib), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					Parse(data, time.Unix(0, 0), Options{})
				}
				perMiB := b.Elapsed().Seconds() * 1000 / float64(b.N) / (float64(len(data)) / (1 << 20))
				b.ReportMetric(perMiB, "ms/MiB")
			})
		}
	}
}
