package reply

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlText converts an HTML body to text, leaving out the quote containers
// of Gmail (div.gmail_quote), Apple Mail and Thunderbird (blockquote
// type=cite, div.moz-cite-prefix), Yahoo (div.yahoo_quoted) and Outlook on
// the web (div#divRplyFwdMsg and everything after it) when cut is true.
// It reports whether a container was cut. It uses the tokenizer, which is
// linear in the size of the input, and not html.Parse, whose tree
// building is not.
func htmlText(src string, cut bool) (string, bool) {
	z := html.NewTokenizer(strings.NewReader(src))
	var b strings.Builder
	b.Grow(len(src) / 2)
	cutOne := false
	skip := atom.Atom(0) // the element being left out, while depth > 0
	depth := 0
	hidden := 0 // inside script, style, head or title
	para := -1  // b.Len() where the open paragraph's text starts
	tight := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidy(b.String()), cutOne
		case html.TextToken:
			if depth == 0 && hidden == 0 {
				writeText(&b, z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			a, hasAttr := tagAtom(z.Raw())
			if depth > 0 {
				if a == skip && tt == html.StartTagToken {
					depth++
				}
				continue
			}
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title:
				if tt == html.StartTagToken {
					hidden++
				}
				continue
			}
			if cut && hasAttr && (a == atom.Div || a == atom.Blockquote) {
				switch quoteContainer(z) {
				case cutElement:
					if tt == html.StartTagToken {
						skip, depth, cutOne = a, 1, true
					}
					continue
				case cutRest:
					return tidy(b.String()), true
				}
			}
			block(&b, a)
			if a == atom.P && tt == html.StartTagToken {
				para, tight = b.Len(), hasAttr && hasClass(z, "MsoNormal")
			}
		case html.EndTagToken:
			a, _ := tagAtom(z.Raw())
			if depth > 0 {
				if a == skip {
					depth--
				}
				continue
			}
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title:
				if hidden > 0 {
					hidden--
				}
				continue
			}
			switch {
			case a == atom.P && para >= 0:
				paragraphEnd(&b, para, tight)
				para = -1
			case a != atom.Br:
				block(&b, a)
			}
		}
	}
}

// tagAtom returns the atom of a tag's name read from its raw text, and
// whether it may have attributes worth reading (it has an "="). It saves
// the copy that Tokenizer.TagName makes of every tag.
func tagAtom(raw []byte) (atom.Atom, bool) {
	var buf [16]byte
	n := 0
	for i := 1; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '/' && i == 1:
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case ('a' <= c && c <= 'z') || ('0' <= c && c <= '9'):
		default:
			return atom.Lookup(buf[:n]), bytes.IndexByte(raw[i:], '=') >= 0
		}
		if n == len(buf) {
			return 0, false // no element we know has so long a name
		}
		buf[n] = c
		n++
	}
	return atom.Lookup(buf[:n]), false
}

// A containerCut says what to do with an element that holds quoted mail.
type containerCut int

const (
	keepElement containerCut = iota
	cutElement
	cutRest
)

// quoteContainer reads the attributes of a div or blockquote start tag
// and says whether it holds quoted mail.
func quoteContainer(z *html.Tokenizer) containerCut {
	for {
		key, val, more := z.TagAttr()
		switch string(key) {
		case "class":
			for _, c := range strings.Fields(string(val)) {
				switch c {
				case "gmail_quote", "gmail_quote_container", "moz-cite-prefix", "yahoo_quoted":
					return cutElement
				}
			}
		case "type":
			if bytes.EqualFold(val, []byte("cite")) {
				return cutElement
			}
		case "id":
			switch string(val) {
			case "divRplyFwdMsg", "appendonsend":
				return cutRest
			}
		}
		if !more {
			return keepElement
		}
	}
}

// hasClass reports whether the tag's class attribute holds name.
func hasClass(z *html.Tokenizer, name string) bool {
	for {
		key, val, more := z.TagAttr()
		if string(key) == "class" {
			for _, c := range strings.Fields(string(val)) {
				if c == name {
					return true
				}
			}
		}
		if !more {
			return false
		}
	}
}

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
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Ul, atom.Ol, atom.Pre:
		if s := b.String(); s != "" && s[len(s)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
}

// writeText writes a text token with its white space collapsed the way a
// browser shows it.
func writeText(b *strings.Builder, t []byte) {
	space := false
	for _, r := range string(t) {
		switch r {
		case ' ', '\t', '\n', '\r', '\f', '\u00a0':
			space = true
			continue
		}
		if space {
			if s := b.String(); s != "" && s[len(s)-1] != '\n' && s[len(s)-1] != ' ' {
				b.WriteByte(' ')
			}
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		if s := b.String(); s != "" && s[len(s)-1] != '\n' && s[len(s)-1] != ' ' {
			b.WriteByte(' ')
		}
	}
}

// tidy trims the white space at the ends of lines and of the text, and
// keeps one blank line where there were several.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" && len(out) > 0 && out[len(out)-1] == "" {
			continue
		}
		out = append(out, l)
	}
	return join(out)
}
