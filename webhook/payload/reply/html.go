package reply

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/htmltext"
)

// htmlText converts an HTML body to text, leaving out the quote containers
// of Gmail (div.gmail_quote), Apple Mail and Thunderbird (blockquote
// type=cite, div.moz-cite-prefix), Yahoo (div.yahoo_quoted) and Outlook on
// the web (div#divRplyFwdMsg and everything after it) when cut is true.
// It reports whether a container was cut. Like all of htmltext, it is
// linear in the size of the input.
func htmlText(src string, cut bool) (string, bool) {
	var opts htmltext.Options
	if cut {
		opts.Cut = quoteContainer
	}
	return htmltext.Convert(src, opts)
}

// quoteContainer reads the attributes of a div or blockquote start tag
// and says whether it holds quoted mail.
func quoteContainer(z *html.Tokenizer) htmltext.Cut {
	for {
		key, val, more := z.TagAttr()
		switch string(key) {
		case "class":
			for _, c := range strings.Fields(string(val)) {
				switch c {
				case "gmail_quote", "gmail_quote_container", "moz-cite-prefix", "yahoo_quoted":
					return htmltext.CutElement
				}
			}
		case "type":
			if bytes.EqualFold(val, []byte("cite")) {
				return htmltext.CutElement
			}
		case "id":
			switch string(val) {
			case "divRplyFwdMsg", "appendonsend":
				return htmltext.CutRest
			}
		}
		if !more {
			return htmltext.Keep
		}
	}
}
