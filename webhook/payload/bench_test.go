package payload

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/bench/largemsg"
)

// benchInput is one message the benchmarks run on, loaded on first use.
type benchInput struct {
	name string
	load func(b *testing.B) []byte
}

// benchInputs are a plain text reply with a real-world header block, a
// multipart with alternatives, an inline image and two attachments, and a
// 20 MiB message carrying one large attachment, generated because it is
// too big to keep in git.
func benchInputs() []benchInput {
	read := func(name string) func(b *testing.B) []byte {
		return func(b *testing.B) []byte {
			b.Helper()
			data, err := os.ReadFile("../testdata/bench/" + name)
			if err != nil {
				b.Fatal(err)
			}
			return data
		}
	}
	return []benchInput{
		{"small", read("small.eml")},
		{"multipart", read("multipart.eml")},
		{"large", func(*testing.B) []byte { return largemsg.Build(20 << 20) }},
	}
}

// benchRecipients are n tagged recipients, as the delivery benchmark
// sends to.
func benchRecipients(n int) []string {
	var rcpts []string
	for i := range n {
		rcpts = append(rcpts, fmt.Sprintf("user%d+tag@example.com", i))
	}
	return rcpts
}

// BenchmarkParse measures enmime and the header work, once per message.
func BenchmarkParse(b *testing.B) {
	for _, in := range benchInputs() {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			data := in.load(b)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				Parse(data, time.Unix(0, 0), Options{})
			}
		})
	}
}

// BenchmarkEncode measures the shared JSON of a parsed message, built
// once whatever the number of recipients: what encode adds to Parse.
func BenchmarkEncode(b *testing.B) {
	for _, in := range benchInputs() {
		b.Run(in.name, func(b *testing.B) {
			data := in.load(b)
			m := Parse(data, time.Date(2025, 6, 2, 10, 0, 1, 0, time.UTC), Options{})
			env := &sharedEnvelope{From: "alice@example.org", Recipients: benchRecipients(5), Helo: "mx.example.com",
				RemoteAddr: "192.0.2.25:41234", Size: int64(len(data))}
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := encodeShared(env, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
