package payload

import (
	"errors"
	"mime"
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
//   - text that is no parameter (after the media type, or after a
//     parameter: "boundary=\"b\" This is a multi-part message"), which
//     made enmime skip the whole part: the media type and the parameters
//     that can be read are kept, the rest ignored; a
//     value that is no media type at all ("text plain") is kept as its
//     first word, which contentType reads as text/plain (RFC 2045 5.2),
//     where enmime refused the whole message.
func parseMediaType(value string) (string, map[string]string, []string, error) {
	if value == "" {
		return "", nil, nil, nil // enmime's answer to no value, without its work
	}
	if mtype, params, ok := simpleMediaType(value); ok {
		return mtype, params, nil, nil
	}
	if strings.Contains(value, "= ") || strings.Contains(value, "=\t") || strings.Contains(value, "=\r") || strings.Contains(value, "=\n") {
		value = spaceBeforeQuote.ReplaceAllString(value, `="`)
	}
	mtype, params, invalid, err := mediatype.Parse(value)
	if err != nil {
		mtype, params, invalid, err = lenientMediaType(value)
		if err != nil {
			return mtype, params, invalid, err
		}
	}
	for k, v := range params {
		// enmime's repairs of a quoted value followed by text leave the
		// quotes and the text in the value.
		if strings.HasPrefix(v, `"`) {
			if _, ps, _, _ := lenientMediaType(value); ps[k] != "" {
				params[k] = ps[k]
			}
		}
	}
	if !strings.Contains(value, "*") {
		return mtype, params, invalid, nil
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

// lenientMediaType reads what it can of a value mime.ParseMediaType
// refuses: the first word as the media type, and each parameter that
// parses alone, or whose first word does.
func lenientMediaType(value string) (string, map[string]string, []string, error) {
	segs := strings.Split(value, ";")
	f := strings.Fields(segs[0])
	if len(f) == 0 {
		return "", nil, nil, errNoMediaType
	}
	mtype, params, _, err := mediatype.Parse(f[0])
	if err != nil {
		mtype = strings.ToLower(f[0])
	}
	if params == nil {
		params = map[string]string{}
	}
	for _, seg := range segs[1:] {
		seg = strings.TrimSpace(seg)
		_, ps, err := mime.ParseMediaType("x/x; " + seg)
		if words := strings.Fields(seg); err != nil && len(words) > 0 {
			_, ps, err = mime.ParseMediaType("x/x; " + words[0])
		}
		if err == nil {
			for k, v := range ps {
				if _, dup := params[k]; !dup {
					params[k] = v
				}
			}
		}
	}
	return mtype, params, nil, nil
}

var errNoMediaType = errors.New("mime: no media type")

// simpleMediaType reads a value that none of enmime's repairs or ours
// would touch (printable ASCII without comments, escapes, encoded words,
// HTML or RFC 2231 parameters) with Go's parser alone, which accepts it
// as written: most values in real mail are such, and enmime's repairs
// split, join and rebuild every value before parsing it.
func simpleMediaType(value string) (string, map[string]string, bool) {
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case c < ' ' || c > '~', c == '<', c == '>', c == '\\', c == '(', c == '*', c == '?', c == '\'':
			return "", nil, false
		}
	}
	mtype, params, err := mime.ParseMediaType(value)
	if err != nil {
		return "", nil, false
	}
	for _, v := range params {
		if strings.ContainsAny(v, "\"; =") {
			return "", nil, false // a quoted value with what enmime reads apart
		}
	}
	return mtype, params, true
}
