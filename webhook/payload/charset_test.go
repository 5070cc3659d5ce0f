package payload

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"
)

// The text of real messages whose charset is declared right, missing or
// wrong, as it arrives in the payload: declared charsets are trusted
// unless the text proves them wrong, and guessed only then.
func TestCharsetsOfRealMail(t *testing.T) {
	for _, tc := range []struct{ file, want, why string }{
		{"enmime/parts_chardet-detection.eml", "Nachricht:\nöoöo", "declared UTF-8 and right: no guess overrides it"},
		{"enmime/parts_chardet-success-big-5.eml", "顏之推", "declared US-ASCII with 8-bit text: Big5 is guessed"},
		{"letters/japanese_multipart_signed_iso-2022-jp_over_7bit.eml", "色は匂えど", "ISO-2022-JP, undeclared: ESC is guessed"},
		{"letters/japanese_multipart_signed_iso-2022-jp_over_base64.eml", "色は匂えど", "the same in base64"},
		{"sisimai/dos_lhost-mailmarshalsmtp-01.eml", "Identificaゥンゥルo", "UTF-8 declared as ISO-8859-1"},
		{"mikel-mail/attachment_emails_attachment_pdf_non_ascii.eml", "here.    Ã‚", "windows-1252 declared as ISO-8859-1 (C1 controls)"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("../../testdata/corpus", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			m := Parse(raw, time.Unix(0, 0), Options{})
			if !strings.Contains(m.Text, tc.want) {
				t.Errorf("%s: text %q does not contain %q", tc.why, truncate(m.Text, 300), tc.want)
			}
		})
	}
}

// A part that declares its charset is not guessed at: a short ISO-8859-1
// text that chardet could read as another Latin charset keeps its
// letters, and the payload carries no mismatch warning.
func TestDeclaredCharsetTrusted(t *testing.T) {
	body := strings.Repeat("Grüße aus Köln, schöne Äpfel und Öl. ", 8)
	latin1 := make([]byte, 0, len(body))
	for _, r := range body {
		latin1 = append(latin1, byte(r))
	}
	msg := "From: a@example.org\r\nTo: b@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + string(latin1) + "\r\n"
	m := Parse([]byte(msg), time.Unix(0, 0), Options{})
	if strings.TrimSpace(m.Text) != strings.TrimSpace(body) {
		t.Errorf("text %q, want %q", m.Text, body)
	}
	for _, e := range m.Errors {
		if strings.Contains(e.Name, "Charset") {
			t.Errorf("error %s: %s", e.Name, e.Detail)
		}
	}
}

// Text that declares no charset and is UTF-8 is read as UTF-8 (ISO-2022
// without a declaration is guessed: TestCharsetsOfRealMail).
func TestUndeclaredCharset(t *testing.T) {
	head := "From: a@example.org\r\nTo: b@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
	m := Parse([]byte(head+"Привет, мир\r\n"), time.Unix(0, 0), Options{})
	if !strings.Contains(m.Text, "Привет, мир") {
		t.Errorf("UTF-8 without charset: text %q", m.Text)
	}
}

// decodeWords answers what enmime.DecodeRFC2047 answers, on every header
// value of the real-mail corpus and on values it takes its shortcut for.
func TestDecodeWordsAsEnmime(t *testing.T) {
	values := []string{"plain", "two\r\n lines", "=?utf-8?q?caf=C3=A9?=", "= ?utf-8?q?x?=", "a?b", ""}
	for _, m := range corpus(t) {
		raw, _ := scanHeaders(m)
		for _, h := range raw {
			values = append(values, h.value)
		}
	}
	for _, v := range values {
		if got, want := decodeWords(v), enmime.DecodeRFC2047(v); got != want {
			t.Errorf("decodeWords(%q) = %q, enmime says %q", truncate(v, 80), truncate(got, 80), truncate(want, 80))
		}
	}
}

// TestReadPlainTextAsEnmime checks the plain text path against enmime
// reading the whole message, on every message of the real-mail corpus
// and on the benchmark's: where the path is taken, the part tree, the
// content and the warnings are enmime's own.
func TestReadPlainTextAsEnmime(t *testing.T) {
	msgs := corpus(t)
	for _, name := range []string{"source.eml", "small.eml", "multipart.eml", "reply.eml"} {
		data, err := os.ReadFile(filepath.Join("../testdata/bench", name))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, data)
	}
	taken := 0
	for i, data := range msgs {
		data = forParsing(data)
		fast := readPlainText(data)
		if fast == nil {
			continue
		}
		taken++
		full, err := envelopeOf(trustingParser, data)
		if err != nil {
			t.Fatalf("message %d: plain text path taken, enmime fails: %v", i, err)
		}
		if decodeFailed(full.Root) {
			t.Errorf("message %d: plain text path taken where the guessing parser would read it", i)
		}
		f, w := fast.Root, full.Root
		if !bytes.Equal(f.Content, w.Content) || f.ContentType != w.ContentType || f.Charset != w.Charset ||
			f.Disposition != w.Disposition || f.FileName != w.FileName || f.ContentID != w.ContentID ||
			!reflect.DeepEqual(f.Header, w.Header) || w.FirstChild != nil {
			t.Errorf("message %d: plain text path differs from enmime:\n got %q %q %q\nwant %q %q %q", i,
				f.ContentType, f.Charset, f.Content, w.ContentType, w.Charset, w.Content)
		}
		if !reflect.DeepEqual(fast.Errors, full.Errors) {
			t.Errorf("message %d: warnings %v, enmime's %v", i, fast.Errors, full.Errors)
		}
	}
	// The corpus holds a few hundred such messages; far fewer means the
	// path stopped being taken.
	if taken < 200 {
		t.Errorf("plain text path taken for %d of %d messages, want at least 200", taken, len(msgs))
	}
	t.Logf("plain text path taken for %d of %d messages", taken, len(msgs))
}
