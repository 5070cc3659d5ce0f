package classify

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// field is one "Name: value" field of a report or header block.
type field struct {
	name, value string
}

// fieldGroups splits a block of fields into its groups, which blank lines
// separate (RFC 3464 section 2.1), unfolding continued lines. At most
// maxGroups are returned; the rest of the block is ignored.
func fieldGroups(b []byte, maxGroups int) [][]field {
	var groups [][]field
	var cur []field
	for len(b) > 0 && len(groups) < maxGroups {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case len(bytes.TrimSpace(line)) == 0:
			if len(cur) > 0 {
				groups = append(groups, cur)
				cur = nil
			}
		case (line[0] == ' ' || line[0] == '\t') && len(cur) > 0:
			cur[len(cur)-1].value += " " + string(bytes.TrimSpace(line))
		default:
			if i := bytes.IndexByte(line, ':'); i > 0 {
				cur = append(cur, field{string(bytes.TrimSpace(line[:i])), string(bytes.TrimSpace(line[i+1:]))})
			}
		}
	}
	if len(cur) > 0 && len(groups) < maxGroups {
		groups = append(groups, cur)
	}
	return groups
}

// headerBlock returns the fields of a message's header: its first group.
func headerBlock(b []byte) []field {
	if g := fieldGroups(b, 1); len(g) > 0 {
		return g[0]
	}
	return nil
}

// value returns the value of the first field called name.
func value(fs []field, name string) string {
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// typed strips the address or diagnostic type before ";" (RFC 3464
// section 2.3.2: "rfc822; user@example.com", "smtp; 550 5.1.1 ...").
func typed(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 && !strings.ContainsAny(v[:i], " <@") {
		v = v[i+1:]
	}
	return strings.Trim(strings.TrimSpace(v), "<>")
}

// maxDiagnostic bounds a diagnostic's length in bytes: enough for any
// server's answer, and a hostile report cannot make the payload large.
const maxDiagnostic = 1000

// clip cuts s to at most maxDiagnostic bytes, at a character boundary.
func clip(s string) string {
	if len(s) <= maxDiagnostic {
		return s
	}
	s = s[:maxDiagnostic]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// maxRecipients bounds the recipients read from one report, so that a
// hostile report cannot make the payload large.
const maxRecipients = 100

// deliveryStatus returns the recipients of a delivery status notification
// whose action is failed or delayed. A delayed recipient is included
// because its notice is as much a robot's mail as a failure, and a
// receiver that acts on hard bounces only filters on action "failed";
// delivered, relayed and expanded recipients are left out. A report
// without a failed or delayed recipient gives an empty, non-nil list.
func deliveryStatus(parts []Part) []wire.BounceRecipient {
	out := []wire.BounceRecipient{}
	msgID := originalMessageID(parts)
	for _, p := range parts {
		if p.ContentType != "message/delivery-status" && p.ContentType != "message/global-delivery-status" {
			continue
		}
		groups := fieldGroups(p.Body, maxRecipients+1)
		if len(groups) < 2 {
			continue
		}
		for _, g := range groups[1:] { // the first group is per message
			action := strings.ToLower(keyword(value(g, "Action")))
			if action != "failed" && action != "delayed" {
				continue
			}
			out = append(out, wire.BounceRecipient{
				Action:            action,
				Status:            firstToken(value(g, "Status")),
				FinalRecipient:    typed(value(g, "Final-Recipient")),
				Diagnostic:        clip(typed(value(g, "Diagnostic-Code"))),
				OriginalMessageID: msgID,
				OriginalRecipient: typed(value(g, "Original-Recipient")),
			})
		}
	}
	return out
}

// originalMessageID returns the Message-ID of the returned message, from
// its attached copy (message/rfc822) or its header (text/rfc822-headers),
// without angle brackets.
func originalMessageID(parts []Part) string {
	for _, p := range parts {
		switch p.ContentType {
		case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
			if id := value(headerBlock(p.Body), "Message-ID"); id != "" {
				return strings.Trim(id, "<> ")
			}
		}
	}
	return ""
}

// feedbackReport returns the abuse report of a message/feedback-report
// part (RFC 5965 section 3.1), or nil when there is none.
func feedbackReport(parts []Part) *wire.FeedbackReport {
	for _, p := range parts {
		if p.ContentType != "message/feedback-report" {
			continue
		}
		fs := headerBlock(p.Body)
		r := &wire.FeedbackReport{
			FeedbackType:     strings.ToLower(value(fs, "Feedback-Type")),
			OriginalMailFrom: strings.Trim(value(fs, "Original-Mail-From"), "<> "),
			OriginalRcptTo:   []string{},
		}
		for _, f := range fs {
			if strings.EqualFold(f.name, "Original-Rcpt-To") && len(r.OriginalRcptTo) < maxRecipients {
				r.OriginalRcptTo = append(r.OriginalRcptTo, strings.Trim(f.value, "<> "))
			}
		}
		return r
	}
	return nil
}
