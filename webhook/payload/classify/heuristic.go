package classify

import (
	"regexp"
	"strings"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// copyMarkers, lower-cased, start the copy of the returned message that
// MTAs put inline in a bounce that is not an RFC 3464 report.
var copyMarkers = []string{
	"below this line is a copy of the message", // qmail
	"this is a copy of the message",            // Exim
	"copy of the message's headers",            // Exim
	"original message follows",
	"returned message follows",
	"unsent message below",
	"original message headers",
	"----- original message -----",
}

// bounceMarkers, lower-cased, say a text is a bounce even without a copy
// of the returned message (Exchange 2003 sends none).
var bounceMarkers = []string{
	"did not reach the following recipient",
}

// statusCode finds an enhanced status code (RFC 3463) in a diagnostic.
var statusCode = regexp.MustCompile(`\b[245]\.[0-9]{1,3}\.[0-9]{1,3}\b`)

// heuristicBounce reads a bounce from a MAILER-DAEMON that is not an RFC
// 3464 report. It needs the returned message, attached (message/rfc822,
// text/rfc822-headers) or copied inline after a marker line; otherwise the
// message is not taken for a bounce and nil is returned. The recipients
// and their diagnostics come from the text before the copy, in qmail's
// shape ("<addr>:" then the diagnostic lines) or Exim's (the address
// indented two spaces, the diagnostic four); when neither is found the
// list is empty.
func heuristicBounce(in Input) []wire.BounceRecipient {
	text := in.Text
	msgID := originalMessageID(in.Parts)
	attached := msgID != "" || hasReturned(in.Parts)
	lines := strings.Split(text, "\n")
	end := len(lines)
	for i, l := range lines {
		low := strings.ToLower(l)
		for _, m := range bounceMarkers {
			if strings.Contains(low, m) {
				attached = true
			}
		}
		for _, m := range copyMarkers {
			if strings.Contains(low, m) {
				end, attached = i, true
				break
			}
		}
		if end < len(lines) {
			break
		}
	}
	if !attached {
		return nil
	}
	if msgID == "" && end < len(lines) {
		msgID = strings.Trim(value(headerBlock([]byte(strings.Join(lines[end+1:], "\n"))), "Message-ID"), "<> ")
	}
	out := []wire.BounceRecipient{}
	var cur *wire.BounceRecipient
	for _, l := range lines[:end] {
		l = strings.TrimRight(l, " \t\r")
		if addr, ok := recipientLine(l); ok && len(out) < maxRecipients {
			out = append(out, wire.BounceRecipient{Action: "failed", FinalRecipient: addr, OriginalMessageID: msgID})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if t := strings.TrimSpace(l); t == "" {
			cur = nil
		} else if orig, ok := strings.CutPrefix(t, "(ultimately generated from "); ok {
			cur.OriginalRecipient = strings.TrimSuffix(orig, ")") // Exim, after an alias
		} else if len(cur.Diagnostic) < maxDiagnostic {
			cur.Diagnostic = clip(strings.TrimSpace(cur.Diagnostic + " " + t))
		}
	}
	reply := smtpReply(lines[:end])
	for i := range out {
		if out[i].Diagnostic == "" {
			out[i].Diagnostic = clip(reply)
		}
		out[i].Status = statusCode.FindString(out[i].Diagnostic)
	}
	return out
}

// smtpReply returns the first line that starts with an SMTP reply code of
// class 4 or 5: the remote server's answer that Gmail quotes apart from
// the recipient's address.
func smtpReply(lines []string) string {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if len(t) > 4 && (t[0] == '4' || t[0] == '5') && isDigit(t[1]) && isDigit(t[2]) && (t[3] == ' ' || t[3] == '-') {
			return t
		}
	}
	return ""
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// hasReturned reports an attached copy of the returned message.
func hasReturned(parts []Part) bool {
	for _, p := range parts {
		switch p.ContentType {
		case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
			return true
		}
	}
	return false
}

// recipientLine reports the line that names a failed recipient: qmail's
// "<user@example.com>:", Exim's "  user@example.com" (indented, one
// address, maybe followed by "<original>" or ":"; Gmail indents it five
// spaces) or Exchange 2003's "user@example.com on <date>".
func recipientLine(l string) (string, bool) {
	if strings.HasPrefix(l, "<") && strings.HasSuffix(l, ">:") {
		addr := l[1 : len(l)-2]
		return addr, isAddress(addr)
	}
	f := strings.Fields(l)
	if len(f) == 0 {
		return "", false
	}
	addr := strings.TrimSuffix(f[0], ":")
	indent := len(l) - len(strings.TrimLeft(l, " \t"))
	switch {
	case indent >= 2 && len(f) == 1:
	case indent >= 2 && len(f) == 2 && strings.HasPrefix(f[1], "<"):
	case indent == 0 && len(f) > 2 && f[1] == "on":
	default:
		return "", false
	}
	return addr, isAddress(addr)
}

// isAddress reports a plausible bare address: one "@", no spaces or
// brackets.
func isAddress(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1 && !strings.ContainsAny(s, " <>()[],;")
}

// firstToken returns the first white-space separated token of v.
func firstToken(v string) string {
	if f := strings.Fields(v); len(f) > 0 {
		return f[0]
	}
	return ""
}
