// Package largemsg builds the benchmarks' large message: a short text
// part and one base64 attachment of pseudo-random bytes, the shape of a
// mailed PDF or archive. bench/bigmsg sends it and the webhook package's
// benchmarks parse it, so both measure the same bytes.
package largemsg

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
)

// The message's fixed parts around the attachment's base64.
const (
	boundary = "=_bench_boundary_0"
	head     = "From: Bench Sender <sender@example.org>\r\n" +
		"To: Bench <user0@example.com>\r\n" +
		"Subject: =?UTF-8?Q?Quarterly_report_=E2=80=94_attached?=\r\n" +
		"Date: Mon, 02 Jun 2025 10:00:00 +0000\r\n" +
		"Message-ID: <bench.large@example.org>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n" +
		"--" + boundary + "\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Please find the report attached.\r\n"
	part = "\r\n--" + boundary + "\r\n" +
		"Content-Type: application/pdf; name=\"report.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"report.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n"
	tail = "\r\n--" + boundary + "--\r\n"
)

// Build returns a message of exactly size bytes (for sizes above a few
// KiB), the same for the same size.
func Build(size int) []byte {
	// Base64 in lines of 76 characters and CRLF: 57 bytes a line. What
	// is left over becomes a line of filler in the text part.
	room := size - len(head) - len(part) - len(tail)
	n := max(room/78*57, 0)
	for encodedLen(n+1) <= room {
		n++
	}
	for n > 0 && room-encodedLen(n) == 1 {
		n--
	}
	filler := ""
	if r := room - encodedLen(n); r >= 2 {
		filler = strings.Repeat("-", r-2) + "\r\n"
	}
	return build(n, filler, size)
}

// WithAttachment returns the message whose attachment has exactly n
// decoded bytes (the first n of every larger one's), without filler.
func WithAttachment(n int) []byte {
	return build(n, "", len(head)+len(part)+encodedLen(n)+len(tail))
}

// build writes the message with an attachment of n pseudo-random bytes
// and filler in the text part, into a buffer of size bytes.
func build(n int, filler string, size int) []byte {
	raw := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{'b', 'e', 'n', 'c', 'h'})
	_, _ = rng.Read(raw)
	msg := make([]byte, 0, size)
	msg = append(msg, head...)
	msg = append(msg, filler...)
	msg = append(msg, part...)
	for len(raw) > 0 {
		line := raw[:min(57, len(raw))]
		raw = raw[len(line):]
		msg = base64.StdEncoding.AppendEncode(msg, line)
		if len(raw) > 0 {
			msg = append(msg, '\r', '\n')
		}
	}
	return append(msg, tail...)
}

func encodedLen(n int) int {
	lines := (n + 56) / 57
	return base64.StdEncoding.EncodedLen(n) + 2*(lines-1)
}
