package payload

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/memory"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// hostileShape builds a message of about size bytes whose shape has made
// MIME or HTML parsers superlinear, or its JSON large: what
// BenchmarkHostileParse measures and TestHostileShapesEncodeWithinTheCap
// encodes.
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

// TestHostileShapesEncodeWithinTheCap encodes each hostile shape into a
// valid document no larger than its cap, with the text of HTML-only mail
// made from its HTML, and leaves the message's memory charge at what the
// encoded message holds.
func TestHostileShapesEncodeWithinTheCap(t *testing.T) {
	for _, s := range hostileShapes {
		t.Run(s.name, func(t *testing.T) {
			data := s.build(256 << 10)
			budget := memory.NewBudget(1<<30, time.Millisecond)
			hold := budget.Hold()
			defer hold.Release()
			if err := hold.Grow(context.Background(), int64(cap(data))+Options{}.MemoryCost(int64(len(data)))); err != nil {
				t.Fatal(err)
			}
			in := &Input{From: "a@x.test", Recipients: []string{"r@x.test"}, Data: data, ReceivedAt: time.Unix(1700000000, 0), Memory: hold}
			enc, err := Encode(context.Background(), in, Options{ParseTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			limit := jsonFactor*len(data) + jsonSlack + 100
			if n := len(enc.Shared()); n > limit {
				t.Errorf("JSON of %d bytes for %d, over the cap of %d", n, len(data), limit)
			}
			if want := int64(cap(data) + len(enc.Shared())); hold.Held() != want {
				t.Errorf("hold of %d after encoding, want the message and its JSON, %d", hold.Held(), want)
			}
			var p wire.Payload
			body := append(enc.Prefix(enc.ID("r@x.test"), "r@x.test"), enc.Shared()...)
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("decode: %v", err)
			}
			// A run of <p><b> is markup only: its text is empty.
			if strings.HasPrefix(s.name, "html-") && (p.HTML == "" || (p.Text == "") != (s.name == "html-p-b")) {
				t.Errorf("html of %d bytes, text of %d", len(p.HTML), len(p.Text))
			}
			if s.name == "control-chars" && (p.Raw == nil || p.Text != "" || p.Errors[0].Name != wire.ErrorPayloadTooLarge) {
				t.Errorf("control characters: raw %d bytes, text of %d, errors %+v: want it raw", len(p.Raw), len(p.Text), p.Errors)
			}
		})
	}
}
