package payload

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/jhillyerd/enmime/v2"
)

// minLiftedBody is the smallest base64 body that is decoded here rather
// than by enmime. enmime reads a part's decoded content with io.ReadAll,
// which holds about twice the content while it grows; for a part of
// megabytes that is the largest allocation of the whole delivery. Below
// this size it does not matter.
const minLiftedBody = 1 << 20

// lifted is one large part taken out of the message before enmime reads
// it: enmime sees the marker's base64 instead of the body, and its part
// gets content back from here.
type lifted struct {
	marker  []byte
	content []byte
}

// liftLargeParts finds the large base64 bodies of leaf parts inside a
// multipart that are not text (text is converted from its charset by
// enmime, so it stays there), decodes each straight into a buffer of its
// exact size, and returns the message with a short marker in place of
// each, for enmime. A body that is not clean base64 (only the alphabet,
// line breaks and final padding) stays in the message: enmime, with its
// lenient decoder and its warnings, reads it as before. With nothing to
// lift it returns data itself and nil.
func liftLargeParts(data []byte) ([]byte, []lifted) {
	if len(data) < minLiftedBody {
		return data, nil
	}
	var spans [][2]int
	var parts []lifted
	walkMIME(data, mimeVisitor{body: func(ctype, cte []byte, start, end int) {
		if end-start < minLiftedBody || !strings.EqualFold(string(bytes.TrimSpace(cte)), "base64") || !liftable(string(ctype)) {
			return
		}
		content, ok := decodeCleanBase64(data[start:end])
		if !ok {
			return
		}
		spans = append(spans, [2]int{start, end})
		parts = append(parts, lifted{content: content})
	}})
	if len(parts) == 0 {
		return data, nil
	}
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	size := len(data)
	for i := range parts {
		parts[i].marker = []byte("lmtp-webhook lifted part " + hex.EncodeToString(nonce[:]) + string(rune('a'+i%26)) + hex.EncodeToString([]byte{byte(i >> 8), byte(i)}))
		size += base64.StdEncoding.EncodedLen(len(parts[i].marker)) - (spans[i][1] - spans[i][0])
	}
	out := make([]byte, 0, size)
	prev := 0
	for i, s := range spans {
		out = append(out, data[prev:s[0]]...)
		out = base64.StdEncoding.AppendEncode(out, parts[i].marker)
		prev = s[1]
	}
	return append(out, data[prev:]...), parts
}

// liftable reports whether a part of this Content-Type is one enmime
// keeps as its bytes: not text, not a container.
func liftable(ctype string) bool {
	mt := strings.ToLower(strings.TrimSpace(ctype))
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	return mt != "" && !strings.HasPrefix(mt, "text/") && !strings.HasPrefix(mt, "multipart/") && !strings.HasPrefix(mt, "message/")
}

// restoreLifted gives the parts whose content is a marker their real
// content back.
func restoreLifted(env *enmime.Envelope, parts []lifted) {
	if len(parts) == 0 || env == nil {
		return
	}
	for _, list := range [][]*enmime.Part{env.Attachments, env.Inlines, env.OtherParts} {
		for _, p := range list {
			for _, l := range parts {
				if bytes.Equal(p.Content, l.marker) {
					p.Content = l.content
					break
				}
			}
		}
	}
}

// decodeCleanBase64 decodes a body of base64 lines into a buffer of
// exactly the decoded size, or reports that it is not clean base64.
func decodeCleanBase64(body []byte) ([]byte, bool) {
	n, pad := 0, 0
	for _, c := range body {
		switch {
		case c == '\r' || c == '\n':
		case c == '=':
			pad++
		case pad > 0 || base64Value[c] < 0:
			return nil, false
		default:
			n++
		}
	}
	if pad > 2 || (n+pad)%4 != 0 {
		return nil, false
	}
	out := make([]byte, (n+pad)/4*3-pad)
	var group [4]byte
	g, w := 0, 0
	for _, c := range body {
		if c == '\r' || c == '\n' {
			continue
		}
		group[g] = c
		if g++; g < 4 {
			continue
		}
		g = 0
		m, err := base64.StdEncoding.Decode(out[w:], group[:])
		if err != nil {
			return nil, false
		}
		w += m
	}
	return out, w == len(out)
}

// base64Value is each byte's value in the standard alphabet, -1 outside it.
var base64Value = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = int8(i)
	}
	return t
}()
