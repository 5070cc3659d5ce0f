package payload

import (
	"regexp"
	"strings"

	"github.com/jhillyerd/enmime/v2/mediatype"
)

// parseMediaType reads Content-Type and Content-Disposition values for
// enmime, mending what Go's mime package refuses or loses in real mail:
//   - an RFC 2231 parameter in a charset other than us-ascii or utf-8
//     (a boundary*= in ansi-x3.4-1968, a filename*= in iso-8859-1),
//     which Go drops, so that a multipart lost its boundary and the
//     whole message became unreadable;
//   - white space or a fold between "=" and a quoted value (Exchange
//     writes filename=\r\n\t"=?iso-8859-1?Q?...?="; size=631148), which
//     made the name swallow the parameters after it;
//   - text after the media type that is no parameter, which made enmime
//     skip the whole part: the media type is kept, the rest ignored; a
//     value that is no media type at all ("text plain") is kept as its
//     first word, which contentType reads as text/plain (RFC 2045 5.2),
//     where enmime refused the whole message.
func parseMediaType(value string) (string, map[string]string, []string, error) {
	value = spaceBeforeQuote.ReplaceAllString(value, `="`)
	mtype, params, invalid, err := mediatype.Parse(value)
	if err != nil {
		first, _, _ := strings.Cut(value, ";")
		f := strings.Fields(first)
		if len(f) == 0 {
			return mtype, params, invalid, err
		}
		mtype, params, invalid, err = mediatype.Parse(f[0])
		if err != nil {
			mtype, params, invalid = strings.ToLower(f[0]), map[string]string{}, nil
		}
	}
	for _, m := range extendedParam.FindAllStringSubmatch(value, -1) {
		name := strings.ToLower(m[1])
		if params == nil {
			params = map[string]string{}
		}
		if _, ok := params[name]; !ok {
			if v := decode2231(value, name); v != "" {
				params[name] = v
			}
		}
	}
	return mtype, params, invalid, nil
}

var (
	spaceBeforeQuote = regexp.MustCompile(`=[ \t\r\n]+"`)
	// extendedParam finds RFC 2231 parameter names: name*= or name*0*=.
	extendedParam = regexp.MustCompile(`(?:^|;)[ \t\r\n]*([A-Za-z0-9_.-]+)\*(?:0\*?)?[ \t]*=`)
)
