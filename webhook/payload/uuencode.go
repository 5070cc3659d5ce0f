package payload

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/jhillyerd/enmime/v2"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// Before MIME, and in Netscape's and Eudora's MIME, files travelled
// uuencoded: a "begin 644 name" line, lines of 4-for-3 characters each
// starting with its length, and "end". Go's and enmime's readers leave
// them as text; a reader of mail sees a file.

// isUUEncoding reports whether a Content-Transfer-Encoding value names
// uuencoding, which no standard defines but senders write.
func isUUEncoding(cte string) bool {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "x-uuencode", "x-uue", "uuencode", "uue":
		return true
	}
	return false
}

// uuFile is one decoded uuencoded block.
type uuFile struct {
	name string
	data []byte
}

// uudecodeBlocks finds the uuencoded blocks of data, each from a line
// "begin NNN name" to a line "end", and returns the files and data with
// the blocks taken out. A block that does not decode, or has no end, is
// left in place as text.
func uudecodeBlocks(data []byte) (files []uuFile, rest []byte) {
	if !bytes.Contains(data, []byte("begin ")) {
		return nil, data
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i := 0; i < len(lines); i++ {
		name, ok := uuBegin(lines[i])
		if !ok {
			rest = append(rest, lines[i]...)
			continue
		}
		var file []byte
		end := -1
		for j := i + 1; j < len(lines); j++ {
			l := bytes.TrimRight(lines[j], " \r\n")
			if string(l) == "end" {
				end = j
				break
			}
			dec, ok := uudecodeLine(bytes.TrimRight(lines[j], "\r\n"))
			if !ok {
				break
			}
			file = append(file, dec...)
		}
		if end < 0 {
			rest = append(rest, lines[i]...)
			continue
		}
		files = append(files, uuFile{name: name, data: file})
		i = end
	}
	return files, rest
}

// uuBegin reads a "begin 644 name" line.
func uuBegin(line []byte) (string, bool) {
	f := strings.Fields(string(line))
	if len(f) < 3 || f[0] != "begin" || len(f[1]) < 3 || len(f[1]) > 4 || strings.Trim(f[1], "01234567") != "" {
		return "", false
	}
	_, name, _ := strings.Cut(strings.TrimSpace(string(line))[len("begin "):], " ")
	return toUTF8(strings.TrimSpace(name)), true
}

// uudecodeLine decodes one line; trailing spaces lost in transit (a line
// ending in spaces, trimmed by some MTA) count as zeros.
func uudecodeLine(l []byte) ([]byte, bool) {
	if len(l) == 0 {
		return nil, true
	}
	n := int((l[0] - ' ') & 63)
	l = l[1:]
	out := make([]byte, 0, n)
	val := func(i int) byte {
		if i >= len(l) {
			return 0
		}
		return (l[i] - ' ') & 63
	}
	if len(l) > 0 && (bytes.IndexFunc(l, func(r rune) bool { return r < ' ' || r > '`' }) >= 0) {
		return nil, false
	}
	for i := 0; len(out) < n; i += 4 {
		c := [4]byte{val(i), val(i + 1), val(i + 2), val(i + 3)}
		for _, b := range []byte{c[0]<<2 | c[1]>>4, c[1]<<4 | c[2]>>2, c[2]<<6 | c[3]} {
			if len(out) < n {
				out = append(out, b)
			}
		}
	}
	return out, true
}

// uuAttachment makes a decoded block a part. A part sent with a
// uuencode transfer encoding keeps its own type, disposition and name;
// a block found in text is a file attachment.
func uuAttachment(f uuFile, p *enmime.Part, opts Options) wire.Attachment {
	sum := sha256.Sum256(f.data)
	a := wire.Attachment{
		Filename:    f.name,
		ContentType: "application/octet-stream",
		Disposition: "attachment",
		Size:        len(f.data),
		SHA256:      hex.EncodeToString(sum[:]),
	}
	if isUUEncoding(p.Header.Get("Content-Transfer-Encoding")) {
		a.ContentType = contentType(p)
		if p.Disposition != "" {
			a.Disposition = p.Disposition
		}
		if name := filename(p); name != "" {
			a.Filename = name
		}
		a.ContentID = p.ContentID
	}
	if !opts.OmitAttachments {
		a.Content = f.data
	}
	return a
}
