package payload

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// nested builds a message whose multiparts nest depth levels deep.
func nested(depth int) []byte {
	var b strings.Builder
	b.WriteString("Subject: nest\r\nMIME-Version: 1.0\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nhello\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return []byte(b.String())
}

// flat builds a multipart/mixed message of n sibling parts.
func flat(n int) []byte {
	var b strings.Builder
	b.WriteString("Subject: flat\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\npreamble\r\n")
	for i := range n {
		fmt.Fprintf(&b, "--z\r\nContent-Type: application/octet-stream\r\n\r\npart %d\r\n", i)
	}
	b.WriteString("--z--\r\nepilogue\r\n")
	return []byte(b.String())
}

func TestMIMEShape(t *testing.T) {
	realistic := "From: a@x\r\nContent-Type: multipart/mixed;\r\n\tBOUNDARY=\"outer b\"\r\n\r\n" +
		"--outer b\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n" +
		"--alt\r\nContent-Type: text/plain\r\n\r\nhi\r\n--alt\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--alt--\r\n" +
		"--outer b \r\nContent-Type: message/rfc822\r\n\r\n" +
		// An attached message's own multipart is opaque: its boundary was
		// never declared in a part header we follow.
		"Content-Type: multipart/mixed; boundary=inner\n\n--inner\n\nx\n--inner--\n" +
		"--outer b--\r\n"
	cases := []struct {
		name         string
		data         []byte
		depth, parts int
	}{
		{"plain text", []byte("Subject: x\r\n\r\nhello\r\n--not a boundary\r\n"), 0, 0},
		{"realistic", []byte(realistic), 2, 4},
		{"bare LF", bytes.ReplaceAll([]byte(realistic), []byte("\r\n"), []byte("\n")), 2, 4},
		{"nested 5", nested(5), 5, 5},
		{"nested 12", nested(12), 12, 12},
		{"nested 13 stops counting", nested(13), 13, 12},
		{"flat 10", flat(10), 1, 10},
		{"flat 2000", flat(2000), 1, 2000},
		{"flat 2001", flat(2001), 1, 2001},
		{"missing boundary param", []byte("Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody\r\n"), 0, 0},
		{"unterminated", []byte("Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\nbody"), 1, 1},
	}
	for _, c := range cases {
		depth, parts := mimeShape(c.data)
		if depth != c.depth || parts != c.parts {
			t.Errorf("%s: depth %d parts %d, want %d %d", c.name, depth, parts, c.depth, c.parts)
		}
	}
}

func TestTooComplexMessagesAreSentRaw(t *testing.T) {
	for name, data := range map[string][]byte{
		"deep":  nested(2000),
		"broad": flat(50000),
	} {
		t.Run(name, func(t *testing.T) {
			// Either shape takes enmime minutes; the guard takes
			// milliseconds, so this test would time out without it.
			m := Parse(data, time.Now(), Options{})
			if !bytes.Equal(m.Raw, data) {
				t.Errorf("raw not included")
			}
			if len(m.Errors) == 0 || m.Errors[len(m.Errors)-1].Name != wire.ErrorTooComplex || !m.Errors[len(m.Errors)-1].Severe {
				t.Errorf("errors %+v", m.Errors)
			}
			if m.Subject == "" {
				t.Errorf("headers were not read")
			}
		})
	}
	// At the bounds, enmime still parses.
	m := Parse(nested(maxMIMEDepth), time.Now(), Options{})
	if m.Raw != nil || !strings.HasPrefix(m.Text, "hello") {
		t.Errorf("depth %d: raw %v text %q errors %+v", maxMIMEDepth, m.Raw != nil, m.Text, m.Errors)
	}
}

// TestIndexFoldASCII compares the scan with lowering both sides and
// strings.Index, on every short text over an alphabet that holds the
// needle's letters in both cases, and on text where the first letter
// comes often before the match.
func TestIndexFoldASCII(t *testing.T) {
	alphabet := []byte("bBoOuUnx=")
	check := func(s, sub string) {
		t.Helper()
		want := strings.Index(strings.ToLower(s), sub)
		if got := indexFoldASCII(s, sub); got != want {
			t.Fatalf("indexFoldASCII(%q, %q) = %d, want %d", s, sub, got, want)
		}
		if got := indexFoldASCII([]byte(s), sub); got != want {
			t.Fatalf("indexFoldASCII([]byte(%q), %q) = %d, want %d", s, sub, got, want)
		}
	}
	var gen func(prefix []byte, n int)
	gen = func(prefix []byte, n int) {
		for _, sub := range []string{"bo", "bound", "b", "o=", "x"} {
			check(string(prefix), sub)
		}
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(append(prefix, c), n-1)
		}
	}
	gen(nil, 5)
	check(strings.Repeat("b Bb bou ", 500)+"BOUNDARY=x", "boundary=")
	check("", "")
	check("abc", "")
}
