// Package reply finds the new text of an e-mail reply: it cuts the quoted
// history ("On ... wrote:", "-----Original Message-----", Outlook's header
// block, ">" lines, Gmail's and Apple Mail's HTML quote containers) and the
// signature, so that reply-by-email receivers need not each write that
// fragile code. It reads every line once with a bounded look-around, so its
// time is linear in the size of the body whatever the input.
package reply

import (
	"strings"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// lookAround bounds how many lines a rule may look at before or after the
// current one, which keeps the scan linear.
const lookAround = 6

// Parse returns the new text of a reply. text is the message's own
// text/plain body and html its text/html body; html is read only when text
// is empty, so pass "" for a message without a text/plain part (the
// payload's text is then made from the HTML, which loses the quote
// containers). When nothing is recognised, Text equals text (or the HTML
// converted to text).
func Parse(text, html string) wire.Reply {
	quoted := false
	if strings.TrimSpace(text) == "" && html != "" {
		text, quoted = htmlText(html, true)
		if quoted && text == "" {
			// Everything was in a quote container: keep it all.
			text, quoted = htmlText(html, false)
		}
	}
	r := parseText(text)
	r.Quoted = r.Quoted || quoted
	return r
}

// parseText cuts quoted history and the signature from a plain-text body.
func parseText(text string) wire.Reply {
	keep, quoted := cutQuotes(splitLines(text))
	keep, sig := cutSignature(keep)
	// Nothing recognised, or everything would go: the body stays as it
	// is, since eating a whole message is worse than keeping a quote.
	if !quoted && sig == nil {
		return wire.Reply{Text: text}
	}
	out := join(keep)
	if out == "" && strings.TrimSpace(text) != "" {
		return wire.Reply{Text: text}
	}
	return wire.Reply{Text: out, Signature: join(sig), Quoted: quoted}
}

// lineSet is a text's lines, kept as offsets so that splitting a large
// body allocates one pointer-free slice.
type lineSet struct {
	text   string
	starts []int // starts[i] is where line i starts; one more for the end
}

// splitLines splits text into lines.
func splitLines(text string) lineSet {
	starts := make([]int, 1, strings.Count(text, "\n")+2)
	for i := 0; ; {
		j := strings.IndexByte(text[i:], '\n')
		if j < 0 {
			return lineSet{text, append(starts, len(text)+1)}
		}
		i += j + 1
		starts = append(starts, i)
	}
}

// n returns the number of lines.
func (ls lineSet) n() int { return len(ls.starts) - 1 }

// at returns line i without its "\n" or "\r\n".
func (ls lineSet) at(i int) string {
	return strings.TrimSuffix(ls.text[ls.starts[i]:ls.starts[i+1]-1], "\r")
}

// cutQuotes returns the lines of the new text and whether anything quoted
// was dropped. Quoted ">" lines and the attribution line before them are
// dropped wherever they are, so that the answers of an inline or bottom
// reply stay; a separator without ">" lines after it (Outlook, Gmail's
// top-posting) cuts everything from there on.
func cutQuotes(lines lineSet) ([]string, bool) {
	// An attribution needs a colon or an address, a separator a colon or
	// a dash: one look at the whole text rules them out of every line of
	// most bodies, instead of a look at each line.
	colon := strings.IndexByte(lines.text, ':') >= 0 || strings.Contains(lines.text, "：")
	mayAttribute := colon || strings.IndexByte(lines.text, '@') >= 0
	maySeparate := colon || strings.IndexByte(lines.text, '-') >= 0
	keep := make([]string, 0, lines.n()) // most lines are kept: one allocation
	quoted := false
	inQuote := false // the line before was quoted
	dropped := false // lines were dropped since the last kept text
	for i := 0; i < lines.n(); i++ {
		l := lines.at(i)
		blank := isBlank(l)
		// ">:" ends an attribution that Gmail wrapped inside its address.
		if isQuoted(l) && !(strings.HasSuffix(l, ">:") && strings.TrimSpace(l) == ">:") {
			quoted, inQuote, dropped = true, true, true
			continue
		}
		// Lines between two quoted ones, without a blank line, are quoted
		// lines the client wrapped without their ">".
		if inQuote && !blank {
			if n := wrapped(lines, i); n > 0 {
				i += n - 1
				continue
			}
		}
		inQuote = false
		n, ok := 0, false
		if mayAttribute {
			n, ok = attribution(lines, i)
		}
		if ok {
			keep = dropTail(keep, n)
			quoted, dropped = true, true
			// An attribution above unquoted text cuts the rest, unless
			// nothing came before it: then the client (Gmail on Android)
			// put the history below without ">" and the reply after it.
			if !quotedFollows(lines, i+1) && !allBlank(keep) {
				return keep, true
			}
			continue
		}
		if maySeparate && separator(lines, i) {
			return dropRule(keep), true
		}
		if isTrailer(strings.TrimSpace(l)) && !blankFrom(lines, i+1) {
			// What a mobile client puts after its trailer is the quoted
			// message, with or without an attribution.
			return append(keep, l), true
		}
		if blank && dropped && len(keep) > 0 && strings.TrimSpace(keep[len(keep)-1]) == "" {
			continue // one blank line where a quote was cut out
		}
		dropped = dropped && blank
		keep = append(keep, l)
	}
	return keep, quoted
}

// wrapped returns how many lines from i are the wrapped rest of a quoted
// line: a run of non-blank unquoted lines, at most lookAround long, that
// a quoted line ends. It returns 0 for the answer under a quote.
func wrapped(lines lineSet, i int) int {
	for n := 0; n < lookAround && i+n < lines.n(); n++ {
		l := lines.at(i + n)
		if isQuoted(l) {
			return n
		}
		if strings.TrimSpace(l) == "" {
			return 0
		}
	}
	return 0
}

// dropRule removes the blank lines and the rule Outlook and webmail put
// above a header block from the end of keep.
func dropRule(keep []string) []string {
	k := len(keep)
	for k > 0 && strings.TrimSpace(keep[k-1]) == "" {
		k--
	}
	if k > 0 && isRule(keep[k-1]) {
		return keep[:k-1]
	}
	return keep
}

// allBlank reports whether every kept line is blank.
func allBlank(keep []string) bool {
	for _, l := range keep {
		if !isBlank(l) {
			return false
		}
	}
	return true
}

// blankFrom reports whether lines from i on are all blank.
func blankFrom(lines lineSet, i int) bool {
	for ; i < lines.n(); i++ {
		if strings.TrimSpace(lines.at(i)) != "" {
			return false
		}
	}
	return true
}

// dropTail removes the last n lines from keep: the lines of a wrapped
// attribution that were kept before its end was seen.
func dropTail(keep []string, n int) []string {
	if n > len(keep) {
		n = len(keep)
	}
	return keep[:len(keep)-n]
}

// isBlank reports a line of white space only.
func isBlank(l string) bool {
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case ' ', '\t', '\r':
		default:
			return strings.TrimSpace(l) == ""
		}
	}
	return true
}

// isQuoted reports a ">" quoted line.
func isQuoted(l string) bool {
	for i := 0; i < len(l); i++ {
		if l[i] != ' ' && l[i] != '\t' {
			return l[i] == '>'
		}
	}
	return false
}

// quotedFollows reports whether the next non-blank line from i, within
// lookAround lines, is quoted.
func quotedFollows(lines lineSet, i int) bool {
	for end := min(lines.n(), i+lookAround); i < end; i++ {
		if strings.TrimSpace(lines.at(i)) == "" {
			continue
		}
		return isQuoted(lines.at(i))
	}
	return false
}

// isRule reports a horizontal rule line that Outlook and webmail put
// above their header block: underscores, dashes or equals signs only.
func isRule(l string) bool {
	t := strings.TrimSpace(l)
	if len(t) < 4 {
		return false
	}
	return strings.Trim(t, "_") == "" || strings.Trim(t, "-") == "" || strings.Trim(t, "=") == ""
}

// cutSignature splits the signature off the end of the kept lines: from a
// "-- " separator (or a mailing-list footer rule of underscores), or from a
// "Sent from my iPhone"-style trailer among the last lines.
func cutSignature(keep []string) (body, sig []string) {
	start := -1
	for i, l := range keep {
		if l == "" || (l[0] != '-' && l[0] != '_' && l[0] != "—"[0]) {
			continue // no separator starts otherwise
		}
		t := strings.TrimRight(l, " \t")
		if isSigSeparator(t) && i > 0 {
			start = i
			break
		}
	}
	// A trailer only counts among the last non-blank lines.
	seen := 0
	for i := len(keep) - 1; i >= 0 && seen < 3; i-- {
		t := strings.TrimSpace(keep[i])
		if t == "" {
			continue
		}
		seen++
		if isTrailer(t) && (start < 0 || i < start) {
			start = i
		}
	}
	if start < 0 {
		return keep, nil
	}
	sig = keep[start:]
	if isSigSeparator(strings.TrimRight(sig[0], " \t")) {
		sig = sig[1:]
	}
	if allBlank(sig) {
		return keep, nil // a separator with nothing after it
	}
	return keep[:start], sig
}

// isSigSeparator reports a line that starts a signature: "-- " (RFC 3676
// section 4.3, also without its space), a rule of em dashes, or the rule
// of underscores above a mailing list's footer.
func isSigSeparator(t string) bool {
	return t == "--" || (t != "" && strings.Trim(t, "—") == "") || isUnderscores(t)
}

// isUnderscores reports a line of ten or more underscores, the rule above
// a mailing list's footer.
func isUnderscores(t string) bool {
	return len(t) >= 10 && strings.Trim(t, "_") == ""
}

// join joins lines with "\n" without the blank lines around them and
// without trailing white space.
func join(lines []string) string {
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.TrimRight(strings.Join(lines, "\n"), " \t\r\n")
}
