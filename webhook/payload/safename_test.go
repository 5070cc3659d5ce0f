package payload

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeFilename(t *testing.T) {
	long := strings.Repeat("a", 396) + ".txt"
	longUnicode := strings.Repeat("é", 200) + ".pdf" // 404 bytes
	cases := []struct{ name, want string }{
		{"", ""},
		{"report.pdf", "report.pdf"},
		{"../../../etc/cron.d/x", "x"},
		{"/abs/path.sh", "path.sh"},
		{`C:\Windows\system32\x.dll`, "x.dll"},
		{`..\..\boot.ini`, "boot.ini"},
		{"dir/sub/", "sub"},
		{"/", "attachment"},
		{"evil.sh\x00.pdf", "evil.sh.pdf"},
		{"\x00", "attachment"},
		{"line\r\nbreak\t.txt", "linebreak.txt"},
		{"bell\x07\x7f\u0085.txt", "bell.txt"},
		{"..", "attachment"},
		{"...", "attachment"},
		{".bashrc", "bashrc"},
		{"  .hidden  ", "hidden"},
		{"trailing. . .", "trailing"},
		{`a<b>c:d"e|f?g*h.txt`, "a_b_c_d_e_f_g_h.txt"},
		{"C:evil.txt", "C_evil.txt"},
		{"CON.txt", "_CON.txt"},
		{"con", "_con"},
		{"nul.tar.gz", "_nul.tar.gz"},
		{"Com1.log", "_Com1.log"},
		{"LPT9", "_LPT9"},
		{"COM¹.txt", "_COM¹.txt"},
		{"aux .txt", "_aux .txt"},
		{"CONSOLE.txt", "CONSOLE.txt"},
		{"COM0.txt", "COM0.txt"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"Grüße aus Köln.docx", "Grüße aus Köln.docx"},
		{"日本語のファイル.xlsx", "日本語のファイル.xlsx"},
		{"bad\xffutf8.txt", "badutf8.txt"},
		{"keep\uFFFD.txt", "keep\uFFFD.txt"},
		{long, strings.Repeat("a", 251) + ".txt"},
		{longUnicode, strings.Repeat("é", 125) + ".pdf"},
		{strings.Repeat("b", 300), strings.Repeat("b", 255)},
		{strings.Repeat("c", 300) + "." + strings.Repeat("x", 40), strings.Repeat("c", 255)},
	}
	for _, c := range cases {
		got := safeFilename(c.name)
		if got != c.want {
			t.Errorf("safeFilename(%q) = %q, want %q", c.name, got, c.want)
		}
		if len(got) > 255 || !utf8.ValidString(got) || strings.ContainsAny(got, "/\\\x00") {
			t.Errorf("safeFilename(%q) = %q: over 255 bytes, invalid UTF-8 or a separator", c.name, got)
		}
	}
}

// FuzzSafeFilename checks the promises for any name: never empty when a
// name was given, at most 255 bytes of valid UTF-8, no separator, no
// control character, no leading dot, and the same name made safe twice
// is still the same.
func FuzzSafeFilename(f *testing.F) {
	for _, s := range []string{"../../x", `C:\a\b.dll`, "CON.txt", "...", "a\x00b", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := safeFilename(name)
		switch {
		case name != "" && got == "":
			t.Fatalf("%q: empty", name)
		case len(got) > 255 || !utf8.ValidString(got):
			t.Fatalf("%q: %q is over 255 bytes or not UTF-8", name, got)
		case strings.ContainsAny(got, "/\\<>:\"|?*") || strings.IndexFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
			t.Fatalf("%q: %q has a separator, a reserved or a control character", name, got)
		case strings.HasPrefix(got, ".") || strings.HasSuffix(got, ".") || strings.HasSuffix(got, " "):
			t.Fatalf("%q: %q starts with a dot or ends with a dot or space", name, got)
		case name != "" && safeFilename(got) != got:
			t.Fatalf("%q: %q is not stable: %q", name, got, safeFilename(got))
		}
	})
}
