package htmltext

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/atom"
)

// How text is written: line breaks, spaces, and the final tidying.

// paragraphEnd ends a paragraph that started at offset start: an empty
// one is a blank line (Outlook's <p>&nbsp;</p>), and a paragraph that is
// not tight (Outlook's MsoNormal has no margin) is followed by one.
func paragraphEnd(b *strings.Builder, start int, tight bool) {
	if b.Len() == start {
		b.WriteByte('\n')
		return
	}
	block(b, atom.P)
	if !tight {
		b.WriteByte('\n')
	}
}

// block writes the line break an element implies.
func block(b *strings.Builder, a atom.Atom) {
	switch a {
	case atom.Br:
		b.WriteByte('\n')
	case atom.P, atom.Div, atom.Tr, atom.Li, atom.Blockquote, atom.Hr, atom.Table,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Ul, atom.Ol, atom.Pre,
		atom.Dl, atom.Dt, atom.Dd, atom.Section, atom.Article, atom.Header, atom.Footer,
		atom.Address, atom.Center, atom.Form, atom.Fieldset, atom.Figure, atom.Figcaption,
		atom.Main, atom.Nav, atom.Aside, atom.Caption:
		if s := b.String(); s != "" && s[len(s)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
}

// space writes one space unless the text is empty or already ends in
// white space.
func space(b *strings.Builder) {
	if s := b.String(); s != "" && s[len(s)-1] != '\n' && s[len(s)-1] != ' ' {
		b.WriteByte(' ')
	}
}

// writeText writes a text token with its white space collapsed the way a
// browser shows it.
func writeText(b *strings.Builder, t []byte) {
	pending := false
	for len(t) > 0 {
		r, size := utf8.DecodeRune(t)
		t = t[size:]
		switch r {
		case ' ', '\t', '\n', '\r', '\f', '\u00a0':
			pending = true
			continue
		}
		if pending {
			space(b)
			pending = false
		}
		b.WriteRune(r)
	}
	if pending {
		space(b)
	}
}

// writePre writes the text of a <pre> element as it is, with CRLF read
// as one line end.
func writePre(b *strings.Builder, t []byte) {
	for len(t) > 0 {
		i := bytes.IndexByte(t, '\r')
		if i < 0 {
			b.Write(t)
			return
		}
		b.Write(t[:i])
		if i+1 < len(t) && t[i+1] == '\n' {
			t = t[i+1:]
			continue
		}
		b.WriteByte('\n')
		t = t[i+1:]
	}
}

// tidy trims the white space at the ends of lines and of the text, keeps
// one blank line where there were several, and cuts the text to max
// bytes (0: no cut) at a character boundary.
func tidy(s string, limit int) string {
	var out strings.Builder
	out.Grow(len(s))
	blank := false // a blank line since the last line written
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimRight(line, " \t\r\f\u00a0")
		if line == "" {
			blank = true
			continue
		}
		if out.Len() > 0 {
			out.WriteByte('\n')
			if blank {
				out.WriteByte('\n')
			}
		}
		out.WriteString(line)
		blank = false
	}
	t := out.String()
	if limit > 0 && len(t) > limit {
		for limit > 0 && !utf8.RuneStart(t[limit]) {
			limit--
		}
		t = t[:limit]
	}
	return t
}
