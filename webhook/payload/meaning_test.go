package payload

import (
	"os"
	"testing"
	"time"
)

// BenchmarkMeaning measures, on the same messages in the same run, the
// whole parse (which includes the reply and the classification) and the
// meaning step alone, so that the step's share of the parse can be read
// off: reply.eml is a typical 19 KiB Gmail reply, text and HTML, with its
// quoted thread.
func BenchmarkMeaning(b *testing.B) {
	for _, name := range []string{"reply", "small", "multipart"} {
		data, err := os.ReadFile("../testdata/bench/" + name + ".eml")
		if err != nil {
			b.Fatal(err)
		}
		m := Parse(data, time.Unix(0, 0), Options{envelopeFrom: "alice@example.org"})
		if name == "reply" && (m.Reply.Text != "Thanks, that works.\n\nI will try the bucket listing tomorrow and report back." ||
			m.Reply.Signature != "Bob" || !m.Reply.Quoted) {
			b.Fatalf("reply.eml: reply %+v", m.Reply)
		}
		env, err := readEnvelope(data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/parse", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				Parse(data, time.Unix(0, 0), Options{envelopeFrom: "alice@example.org"})
			}
		})
		b.Run(name+"/meaning", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				addMeaning(m, env, "alice@example.org")
			}
		})
	}
}
