// Package htmltext turns an HTML mail body into the text a reader sees,
// in one pass of golang.org/x/net/html's tokenizer. Its time is linear in
// the size of the input whatever the markup: it never builds a tree, as
// html.Parse does, whose cost grows faster than the input on some shapes
// (a run of "<p><b>" costs 300 ms per MiB at 1 MiB, 620 at 4 MiB).
//
// Block elements and <br> end lines, the content of <script>, <style>,
// <title> and <head> is left out, entities are decoded, white space is
// collapsed as a browser shows it (kept inside <pre>), and links may be
// followed by their address.
package htmltext

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Cut says what to do with an element Options.Cut is asked about.
type Cut int

const (
	// Keep converts the element as any other.
	Keep Cut = iota
	// CutElement leaves out the element and everything inside it.
	CutElement
	// CutRest leaves out the element and everything after it.
	CutRest
)

// maxLink bounds the address written after a link's text; a longer one
// is left out.
const maxLink = 2048

// Options choose what Convert leaves out and adds.
type Options struct {
	// Cut, when set, is asked about each div and blockquote start tag that
	// has attributes, which it may read with z.TagAttr; reply extraction
	// uses it to leave out quote containers.
	Cut func(z *html.Tokenizer) Cut
	// Links writes a link's address after its text, as "text (url)",
	// unless the text is the address.
	Links bool
	// MaxBytes bounds the text: the conversion stops there. Zero means no
	// bound.
	MaxBytes int
}

// converter is the state of one conversion.
type converter struct {
	opts   Options
	b      strings.Builder
	inHead bool
	raw    atom.Atom // the script, style, title or frame whose raw text is skipped
	pre    int       // depth of open <pre> elements
	para   int       // b.Len() where the open paragraph's text starts, or -1
	tight  bool      // the open paragraph has no margin (Outlook's MsoNormal)
	href   string    // the open link's address
	link   int       // b.Len() where the open link's text starts
	skip   atom.Atom // the element being left out, while depth > 0
	depth  int
	cut    bool
}

// Convert returns the text of src, and whether opts.Cut left anything
// out.
func Convert(src string, opts Options) (string, bool) {
	c := converter{opts: opts, para: -1}
	c.b.Grow(min(len(src)/2, 1<<20))
	z := html.NewTokenizer(strings.NewReader(src))
	for c.step(z) {
	}
	return tidy(c.b.String(), opts.MaxBytes), c.cut
}

// full reports whether the text has reached MaxBytes.
func (c *converter) full() bool {
	return c.opts.MaxBytes > 0 && c.b.Len() >= c.opts.MaxBytes
}

// step converts the next token; it returns false at the end of src, once
// the text is full, or when the rest is cut.
func (c *converter) step(z *html.Tokenizer) bool {
	if c.full() {
		return false
	}
	tt := z.Next()
	switch tt {
	case html.ErrorToken:
		c.endLink()
		return false
	case html.TextToken:
		if c.depth > 0 || c.raw != 0 {
			return true
		}
		t := z.Text()
		if c.inHead {
			if len(bytes.TrimSpace(t)) == 0 {
				return true
			}
			c.inHead = false // text ends the head, as in a browser
		}
		if c.pre > 0 {
			writePre(&c.b, t)
		} else {
			writeText(&c.b, t)
		}
	case html.StartTagToken, html.SelfClosingTagToken:
		return c.start(z, tt == html.StartTagToken)
	case html.EndTagToken:
		c.end(z)
	}
	return true
}

// start handles a start tag; open is false for a self-closing one.
func (c *converter) start(z *html.Tokenizer, open bool) bool {
	a, hasAttr := tagAtom(z.Raw())
	if c.depth > 0 {
		if a == c.skip && open {
			c.depth++
		}
		return true
	}
	switch a {
	case atom.Script, atom.Style, atom.Title, atom.Iframe, atom.Noembed, atom.Noframes:
		// The tokenizer gives what follows, up to the end tag, as one
		// raw text token, also after a self-closing tag.
		c.raw = a
		return true
	case atom.Head:
		c.inHead = open
		return true
	case atom.Body:
		c.inHead = false
	case atom.Meta, atom.Link, atom.Base, atom.Noscript, atom.Template:
	default:
		c.inHead = false
	}
	if c.inHead {
		return true
	}
	if c.opts.Cut != nil && hasAttr && (a == atom.Div || a == atom.Blockquote) {
		switch c.opts.Cut(z) {
		case CutElement:
			if open {
				c.skip, c.depth, c.cut = a, 1, true
			}
			return true
		case CutRest:
			c.cut = true
			return false
		}
	}
	block(&c.b, a)
	switch a {
	case atom.P:
		if open {
			c.para, c.tight = c.b.Len(), hasAttr && hasClass(z, "MsoNormal")
		}
	case atom.Pre:
		if open {
			c.pre++
		}
	case atom.Td, atom.Th:
		space(&c.b)
	case atom.A:
		c.endLink()
		if c.opts.Links && hasAttr && open {
			c.href, c.link = linkAddress(z), c.b.Len()
		}
	}
	return true
}

// end handles an end tag.
func (c *converter) end(z *html.Tokenizer) {
	a, _ := tagAtom(z.Raw())
	if c.depth > 0 {
		if a == c.skip {
			c.depth--
		}
		return
	}
	switch a {
	case atom.Script, atom.Style, atom.Title, atom.Iframe, atom.Noembed, atom.Noframes:
		if a == c.raw {
			c.raw = 0
		}
		return
	case atom.Head:
		c.inHead = false
		return
	case atom.A:
		c.endLink()
		return
	case atom.Pre:
		if c.pre > 0 {
			c.pre--
		}
	}
	switch {
	case a == atom.P && c.para >= 0:
		paragraphEnd(&c.b, c.para, c.tight)
		c.para = -1
	case a == atom.H1 || a == atom.H2 || a == atom.H3 || a == atom.H4 || a == atom.H5 || a == atom.H6:
		paragraphEnd(&c.b, -1, false) // a heading has a margin below
	case a != atom.Br:
		block(&c.b, a)
	}
}

// endLink writes the open link's address after its text, unless the text
// shows it already.
func (c *converter) endLink() {
	href := c.href
	c.href = ""
	if href == "" {
		return
	}
	text := strings.TrimSpace(c.b.String()[c.link:])
	if text == "" || text == href || "mailto:"+text == href || strings.TrimRight(text, "/") == strings.TrimRight(strings.TrimPrefix(strings.TrimPrefix(href, "https://"), "http://"), "/") {
		return
	}
	if s := c.b.String(); s[len(s)-1] == ' ' {
		c.b.WriteString("(" + href + ") ") // the space that followed the text follows the address
	} else {
		c.b.WriteString(" (" + href + ")")
	}
}

// linkAddress returns the href of an <a> start tag when it is worth
// showing: a web or mail address of bounded length.
func linkAddress(z *html.Tokenizer) string {
	for {
		key, val, more := z.TagAttr()
		if string(key) == "href" {
			v := strings.TrimSpace(string(val))
			lower := strings.ToLower(v)
			if len(v) <= maxLink && (strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "mailto:")) &&
				!strings.ContainsAny(v, " \t\r\n") {
				return v
			}
			return ""
		}
		if !more {
			return ""
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
