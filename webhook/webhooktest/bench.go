package webhooktest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lmtp-webhook/lmtp-webhook/bench/largemsg"
)

// BenchMessage is one message the benchmarks run on, loaded on first use.
type BenchMessage struct {
	Name string
	Load func(tb testing.TB) []byte
}

// BenchMessages are the messages the parse, encode and delivery
// benchmarks share: the 4 KiB messages smtp-source and bench/pipeload
// send, a plain text reply with a real-world header block, a
// multipart with alternatives, an inline image and two attachments (both
// read from dir, webhook/testdata/bench), and a 20 MiB message carrying
// one large attachment, generated because it is too big to keep in git.
func BenchMessages(dir string) []BenchMessage {
	read := func(name string) func(tb testing.TB) []byte {
		return func(tb testing.TB) []byte {
			tb.Helper()
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				tb.Fatal(err)
			}
			return data
		}
	}
	return []BenchMessage{
		{"source", read("source.eml")},
		{"pipeload", read("pipeload.eml")},
		{"small", read("small.eml")},
		{"multipart", read("multipart.eml")},
		{"large", func(testing.TB) []byte { return largemsg.Build(20 << 20) }},
	}
}
