package payload

import (
	"net/textproto"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/text/encoding/ianaindex"
)

// legacyFilename decodes an RFC 2231 file name (filename*=charset'lang'text,
// possibly continued as filename*0*=, filename*1*=...) in a charset Go's
// mime package does not decode, which leaves enmime with no name at all:
// iso-8859-1, windows-1252, koi8-r, shift_jis and the like.
func legacyFilename(h textproto.MIMEHeader) string {
	for _, f := range [][2]string{{"Content-Disposition", "filename"}, {"Content-Type", "name"}} {
		if name := decode2231(h.Get(f[0]), f[1]); name != "" {
			return name
		}
	}
	return ""
}

type piece struct {
	n       int
	value   string
	encoded bool
}

func decode2231(header, param string) string {
	var pieces []piece
	for _, p := range strings.Split(header, ";") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		rest, ok := strings.CutPrefix(k, param+"*")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch {
		case rest == "":
			pieces = append(pieces, piece{0, v, true})
		default:
			enc := strings.HasSuffix(rest, "*")
			n, err := strconv.Atoi(strings.TrimSuffix(rest, "*"))
			if err != nil || n < 0 || n > 100 {
				continue
			}
			pieces = append(pieces, piece{n, v, enc})
		}
	}
	if len(pieces) == 0 {
		return ""
	}
	sort.Slice(pieces, func(i, j int) bool { return pieces[i].n < pieces[j].n })
	if !pieces[0].encoded || pieces[0].n != 0 {
		return ""
	}
	charset, rest, ok := strings.Cut(pieces[0].value, "'")
	if !ok {
		return ""
	}
	_, first, ok := strings.Cut(rest, "'") // the language is ignored
	if !ok {
		return ""
	}
	pieces[0].value = first
	var raw []byte
	for i, p := range pieces {
		if p.n != i {
			break // a gap ends the name
		}
		if p.encoded {
			raw = append(raw, percentDecode(p.value)...)
		} else {
			raw = append(raw, p.value...)
		}
	}
	enc, err := ianaindex.MIME.Encoding(charset)
	if err != nil || enc == nil {
		return toUTF8(string(raw))
	}
	out, err := enc.NewDecoder().Bytes(raw)
	if err != nil {
		return toUTF8(string(raw))
	}
	return string(out)
}

func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if b, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				out = append(out, byte(b))
				i += 2
				continue
			}
		}
		out = append(out, s[i])
	}
	return out
}
