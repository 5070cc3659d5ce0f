package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// load reads the messages a manifest lists (tab-separated, a header line,
// each file's path relative to the manifest in the first column) and
// returns each ready for DATA: CRLF line endings, dot-stuffed, with the
// final dot.
func load(manifest string) ([][]byte, error) {
	f, err := os.Open(manifest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir := filepath.Dir(manifest)
	var msgs [][]byte
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		name, _, _ := strings.Cut(sc.Text(), "\t")
		if first || name == "" {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, dataOf(raw))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", manifest, err)
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%s lists no messages", manifest)
	}
	return msgs, nil
}

// dataOf turns a message as stored into what a client sends after DATA:
// every line ended by CRLF, lines starting with a dot doubled, then ".".
// A file with bare CRs for line ends (old Mac mail) is read as lines, as
// its sender's MTA sent it.
func dataOf(raw []byte) []byte {
	if bytes.IndexByte(raw, '\n') < 0 {
		raw = bytes.ReplaceAll(raw, []byte("\r"), []byte("\n"))
	}
	var b bytes.Buffer
	b.Grow(len(raw) + len(raw)/32 + 8)
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > 0 && line[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(line)
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}
