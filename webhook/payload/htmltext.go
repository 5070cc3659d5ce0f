package payload

import "github.com/lmtp-webhook/lmtp-webhook/webhook/payload/htmltext"

// textSlack is how much longer than its HTML a message's text may be:
// a few entities decode to more bytes than they take.
const textSlack = 4 << 10

// htmlToText is the text of a message that has HTML and no text/plain
// part: what a reader sees of the HTML, with each link's address after
// its text. It is linear in the size of the HTML, and the text is at most
// about as large.
func htmlToText(h string) string {
	text, _ := htmltext.Convert(h, htmltext.Options{Links: true, MaxBytes: len(h) + textSlack})
	return text
}
