package payload

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSafeFilenameBytes is the longest name Linux, macOS and Windows file
// systems all take (NAME_MAX, in bytes of UTF-8).
const maxSafeFilenameBytes = 255

// fallbackFilename stands for a name of which nothing usable is left.
const fallbackFilename = "attachment"

// maxKeptExtBytes bounds the extension kept when a long name is cut; a
// longer "extension" is just the end of the name.
const maxKeptExtBytes = 32

// safeFilename makes a part's file name, as sent and untrusted, safe to
// create in a directory on Linux, macOS and Windows: only the last path
// element is kept (both / and \ separate), control characters, NUL and
// bidirectional overrides are dropped, Windows' reserved characters
// become '_', leading dots and spaces go (no hidden files, no "..")
// and trailing ones too (Windows drops them), a reserved device name
// (CON, NUL, COM1, ...) is prefixed with '_', and the result is at most
// 255 bytes, cut at a character boundary, keeping the extension. It is
// never empty when name is not, and empty when name is.
func safeFilename(name string) string {
	if name == "" {
		return ""
	}
	s := strings.TrimRight(strings.TrimLeft(clean(lastElement(name)), ". "), ". ")
	if s == "" {
		// Nothing was left, extension included: an extension's letters
		// and digits survive all of the above.
		return fallbackFilename
	}
	if reservedDevice(s) {
		s = "_" + s
	}
	return shorten(s)
}

// lastElement returns what follows the last / or \ that has something
// after it: the file's own name, whatever directories the sender named.
func lastElement(name string) string {
	trimmed := strings.TrimRight(name, `/\`)
	if i := strings.LastIndexAny(trimmed, `/\`); i >= 0 {
		return trimmed[i+1:]
	}
	return trimmed
}

// clean drops invalid UTF-8, control and bidirectional formatting
// characters, and replaces the characters Windows refuses in a name.
func clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			// invalid UTF-8: dropped
		case unicode.IsControl(r), isBidiControl(r):
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isBidiControl reports the characters that reorder text as it is shown,
// which make "invoice\u202Efdp.exe" look like "invoiceexe.pdf".
func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') ||
		r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// extension returns s's last ".ext" when it is short and plain enough to
// keep: an extension of letters and digits only, under maxKeptExtBytes.
func extension(s string) string {
	s = strings.TrimRight(s, ". ")
	i := strings.LastIndexByte(s, '.')
	if i < 0 || len(s)-i > maxKeptExtBytes {
		return ""
	}
	ext := s[i:]
	for _, r := range ext[1:] {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return ""
		}
	}
	if len(ext) == 1 {
		return ""
	}
	return ext
}

// reservedDevice reports a name that Windows takes for a device whatever
// its extension: CON, PRN, AUX, NUL, COM1-9 and LPT1-9 (and their
// superscript-digit forms), in any case, before the first dot.
func reservedDevice(s string) bool {
	stem, _, _ := strings.Cut(s, ".")
	stem = strings.ToUpper(strings.TrimRight(stem, " "))
	switch stem {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if rest, ok := strings.CutPrefix(stem, "COM"); ok {
		return isDeviceDigit(rest)
	}
	if rest, ok := strings.CutPrefix(stem, "LPT"); ok {
		return isDeviceDigit(rest)
	}
	return false
}

func isDeviceDigit(s string) bool {
	switch s {
	case "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
		return true
	}
	return false
}

// shorten cuts s to maxSafeFilenameBytes at a character boundary, keeping
// its extension when there is room for some of the name before it.
func shorten(s string) string {
	if len(s) <= maxSafeFilenameBytes {
		return s
	}
	ext := extension(s)
	stem := cutAtRune(strings.TrimSuffix(s, ext), maxSafeFilenameBytes-len(ext))
	return strings.TrimRight(stem, ". ") + ext
}

// cutAtRune returns the longest prefix of s of at most n bytes that ends
// at a character boundary.
func cutAtRune(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
