package reply

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks the promises of Parse on any input: no panic, a
// non-empty text for a non-blank body, and the body unchanged when
// nothing was cut.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/replies/*/*.txt")
	for _, name := range files[:min(len(files), 40)] {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "")
	}
	f.Add("", "<div>x<div class=gmail_quote>y</div></div>")
	f.Fuzz(func(t *testing.T, text, html string) {
		r := Parse(text, html)
		if strings.TrimSpace(text) != "" {
			if strings.TrimSpace(r.Text) == "" {
				t.Fatalf("empty text for %q", text)
			}
			if !r.Quoted && r.Signature == "" && r.Text != text {
				t.Fatalf("nothing cut but text changed: %q -> %q", text, r.Text)
			}
		}
	})
}
