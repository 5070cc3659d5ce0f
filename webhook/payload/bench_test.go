package payload

import (
	"fmt"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
)

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
	for _, in := range webhooktest.BenchMessages("../testdata/bench") {
		b.Run(in.Name, func(b *testing.B) {
			b.ReportAllocs()
			data := in.Load(b)
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
	for _, in := range webhooktest.BenchMessages("../testdata/bench") {
		b.Run(in.Name, func(b *testing.B) {
			data := in.Load(b)
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
