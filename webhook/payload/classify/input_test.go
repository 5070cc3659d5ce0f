package classify

import (
	"bytes"
	"mime"
	"net/mail"
	"os"
	"strings"
	"testing"

	"github.com/jhillyerd/enmime/v2"
)

// readInput builds the Input the payload builds from a message file:
// header fields in order with decoded values, the envelope sender from
// Return-Path, and the top-level multipart's children from enmime.
func readInput(t testing.TB, path string) Input {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	in := Input{Text: env.Text, EnvelopeFrom: "unknown@invalid"}
	dec := mime.WordDecoder{}
	for _, f := range headerBlock(raw) {
		v, err := dec.DecodeHeader(f.value)
		if err != nil {
			v = f.value
		}
		in.Header = append(in.Header, Header{Name: f.name, Value: v})
	}
	if rp, ok := in.get("Return-Path"); ok {
		in.EnvelopeFrom = ""
		if a, err := mail.ParseAddress(strings.TrimSpace(rp)); err == nil {
			in.EnvelopeFrom = a.Address
		} else if s := strings.Trim(strings.TrimSpace(rp), "<>"); s != "" {
			in.EnvelopeFrom = s
		}
	}
	if env.Root != nil && strings.HasPrefix(env.Root.ContentType, "multipart/") {
		for c := env.Root.FirstChild; c != nil; c = c.NextSibling {
			mt, params, _ := mime.ParseMediaType(c.Header.Get("Content-Type"))
			if mt == "" {
				mt = strings.ToLower(c.ContentType)
			}
			in.Parts = append(in.Parts, Part{ContentType: mt, Params: params, Body: c.Content})
		}
	}
	return in
}
