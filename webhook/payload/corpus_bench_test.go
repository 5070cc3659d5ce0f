package payload

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// corpus returns the messages of testdata/corpus, the real-mail mix.
func corpus(tb testing.TB) [][]byte {
	dir := "../../testdata/corpus"
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var msgs [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, _, _ := strings.Cut(sc.Text(), "\t")
		if name == "file" || name == "" {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		msgs = append(msgs, raw)
	}
	return msgs
}

// BenchmarkParseCorpus parses and encodes every message of the real-mail
// corpus once per iteration: the payload's share of bench/run.sh's
// real-mail step, without the network.
func BenchmarkParseCorpus(b *testing.B) {
	msgs := corpus(b)
	var size int64
	for _, m := range msgs {
		size += int64(len(m))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	at := time.Unix(0, 0)
	for b.Loop() {
		for _, m := range msgs {
			parseSafely(m, at, Options{})
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(msgs)), "us/msg")
}
