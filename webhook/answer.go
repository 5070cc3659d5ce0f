package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// maxAnswerBytes bounds how much of a webhook's answer body is read: the
// answer object is small, and a receiver that sends megabytes must not
// cost us megabytes.
const maxAnswerBytes = 16 << 10

// maxReasonBytes bounds the reason text written to the MTA.
const maxReasonBytes = 400

// c221Closing is the SMTP reply to QUIT (RFC 5321 section 4.2.3). Like
// lmtp.C421ServiceUnavail it speaks of the connection, not of a
// recipient, so neither is a valid explicit answer.
const c221Closing = 221

// outcome is what one attempt earned: the reply for the recipient, and
// whether another attempt may change it.
type outcome struct {
	reply *smtp.SMTPError
	// retry marks a transient failure: try again within the budget.
	retry bool
	// after is the delay the webhook asked for with Retry-After.
	after time.Duration
	// invalid explains how the answer broke the contract; it is logged as
	// an error, because only the operator can fix it.
	invalid string
	// status is the HTTP status, zero when there was no answer.
	status int
	// err is why there was no usable answer.
	err error
}

// mapResponse turns one HTTP answer into the recipient's LMTP reply, as
// DESIGN.md's table says: an explicit JSON answer wins, then the status
// decides. now is used for a Retry-After given as a date.
func mapResponse(status int, header http.Header, body []byte, now time.Time) outcome {
	text := statusText(status)
	explicit, hasAnswer, problem := parseAnswer(header.Get("Content-Type"), body)
	if problem != "" {
		return outcome{
			reply:   lmtp.Reply(lmtp.C451LocalErr, lmtp.SeSys3Other0, "webhook gave an invalid answer"),
			invalid: fmt.Sprintf("HTTP %d: %s", status, problem),
		}
	}
	if hasAnswer && explicit.Code != nil {
		return outcome{reply: explicitReply(explicit)}
	}
	reason := ""
	if hasAnswer && explicit.Message != nil {
		reason = sanitize(*explicit.Message)
	} else if status >= 300 && isPlainText(header.Get("Content-Type")) {
		reason = sanitize(string(body))
	}
	with := func(r *smtp.SMTPError) *smtp.SMTPError {
		if reason != "" {
			r.Message = reason
		}
		return r
	}

	switch {
	case status >= 200 && status < 300:
		return outcome{reply: with(lmtp.Reply(lmtp.C250Completed, lmtp.SeOther00, "delivered"))}
	case status == http.StatusNotFound || status == http.StatusGone:
		return outcome{reply: with(lmtp.Reply(lmtp.C550MailboxUnavail, lmtp.SeAddr1UnknownDestMailbox1, "no such recipient: webhook answered "+text))}
	case status == http.StatusRequestEntityTooLarge:
		return outcome{reply: with(lmtp.Reply(lmtp.C552MailboxFull, lmtp.SeSys3MsgLimitExceeded4, "message too large for webhook: "+text))}
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusProxyAuthRequired:
		return outcome{
			reply:   with(lmtp.Reply(lmtp.C451LocalErr, lmtp.SeSec7Other0, "webhook refused our credentials: "+text)),
			invalid: "webhook refused the bridge's credentials: HTTP " + text,
		}
	case status == http.StatusRequestTimeout || status == http.StatusTooEarly ||
		status == http.StatusTooManyRequests || (status >= 500 && status < 600):
		return outcome{
			reply: with(lmtp.Reply(lmtp.C451LocalErr, lmtp.SeSys3Other0, "webhook temporarily failed: "+text)),
			retry: true,
			after: retryAfter(header.Get("Retry-After"), now),
		}
	case status >= 400 && status < 500:
		return outcome{reply: with(lmtp.Reply(lmtp.C550MailboxUnavail, lmtp.SeOther00, "rejected by webhook: "+text))}
	case status >= 300 && status < 400:
		return outcome{
			reply:   lmtp.Reply(lmtp.C451LocalErr, lmtp.SeSys3Other0, "webhook answered with a redirect: "+text),
			invalid: "webhook redirected with HTTP " + text + " (only 307 and 308, at most 3 times, are followed)",
		}
	default:
		return outcome{
			reply:   lmtp.Reply(lmtp.C451LocalErr, lmtp.SeSys3Other0, "webhook answered with an unexpected status"),
			invalid: fmt.Sprintf("webhook answered with HTTP status %d", status),
		}
	}
}

// mapError turns a failure to get any answer (refused, reset, timeout, TLS)
// into a transient outcome.
func mapError(err error) outcome {
	var ne net.Error
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	msg := "webhook unreachable"
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		msg = "webhook timed out"
	case errors.As(err, &cv), errors.As(err, &rh):
		msg = "webhook TLS failed"
	case errors.As(err, new(*crossOriginError)):
		return outcome{
			reply:   lmtp.Reply(lmtp.C451LocalErr, lmtp.SeSys3Other0, "webhook redirected to another origin"),
			invalid: err.Error() + " (only 307 and 308 within the same scheme, host and port are followed)",
		}
	case errors.Is(err, errTooManyRedirects):
		return outcome{
			reply:   lmtp.Reply(lmtp.C451LocalErr, lmtp.SeSys3Other0, "webhook redirected too many times"),
			invalid: err.Error(),
		}
	}
	return outcome{reply: lmtp.Reply(lmtp.C451LocalErr, lmtp.SeNet4NoAnswer1, msg), retry: true}
}

func statusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return strconv.Itoa(status) + " " + t
	}
	return strconv.Itoa(status)
}

// parseAnswer reads an explicit answer object from body. It reports
// whether body held one and, when the object is there but breaks the
// rules (a code out of range, an enhanced code of another class), why.
func parseAnswer(contentType string, body []byte) (wire.Answer, bool, string) {
	var a wire.Answer
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return a, false, ""
	}
	if mt, _, _ := mime.ParseMediaType(contentType); mt != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		// A JSON-looking body declared as something else is not an answer.
		return a, false, ""
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		return a, false, ""
	}
	if c, ok := raw["code"]; ok && string(c) != "null" {
		var code int
		if err := json.Unmarshal(c, &code); err != nil {
			return a, true, fmt.Sprintf("answer code %s is not an integer", truncate(string(c), 40))
		}
		if code < 200 || code > 599 || code/100 == 3 {
			return a, true, fmt.Sprintf("answer code %d is not an SMTP code of class 2, 4 or 5", code)
		}
		if code == c221Closing || code == lmtp.C421ServiceUnavail {
			// Both close the channel: they say nothing about one recipient.
			return a, true, fmt.Sprintf("answer code %d is a connection reply, not one for a recipient", code)
		}
		a.Code = &code
	}
	if e, ok := raw["enhanced_code"]; ok && string(e) != "null" {
		var ec string
		if err := json.Unmarshal(e, &ec); err != nil {
			return a, true, fmt.Sprintf("answer enhanced_code %s is not a string", truncate(string(e), 40))
		}
		if ec != "" {
			if _, err := parseEnhancedCode(ec); err != nil {
				return a, true, err.Error()
			}
			if a.Code == nil {
				return a, true, "answer has an enhanced_code but no code"
			}
			if int(ec[0]-'0') != *a.Code/100 {
				return a, true, fmt.Sprintf("answer enhanced_code %q is not of the class of code %d", ec, *a.Code)
			}
			a.EnhancedCode = &ec
		}
	}
	if m, ok := raw["message"]; ok && string(m) != "null" {
		var msg string
		if err := json.Unmarshal(m, &msg); err == nil {
			a.Message = &msg
		}
	}
	if a.Code == nil && a.Message == nil {
		return a, false, ""
	}
	return a, true, ""
}

func parseEnhancedCode(s string) (smtp.EnhancedCode, error) {
	var ec smtp.EnhancedCode
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return ec, fmt.Errorf("answer enhanced_code %q is not of the form class.subject.detail", truncate(s, 40))
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || len(p) == 0 || len(p) > 3 || n < 0 || (i == 0 && n != 2 && n != 4 && n != 5) {
			return ec, fmt.Errorf("answer enhanced_code %q is not of the form class.subject.detail", truncate(s, 40))
		}
		ec[i] = n
	}
	return ec, nil
}

func explicitReply(a wire.Answer) *smtp.SMTPError {
	code := *a.Code
	r := &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}}
	if a.EnhancedCode != nil {
		r.EnhancedCode, _ = parseEnhancedCode(*a.EnhancedCode)
	}
	if a.Message != nil {
		r.Message = sanitize(*a.Message)
	}
	if r.Message == "" {
		switch code / 100 {
		case 2:
			r.Message = "delivered"
		case 4:
			r.Message = "deferred by webhook"
		default:
			r.Message = "rejected by webhook"
		}
	}
	return r
}

func isPlainText(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "text/plain"
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > 86400 {
			secs = 86400
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// sanitize makes text safe to put on an SMTP reply line: printable ASCII
// only (CR, LF and tabs become spaces, anything else becomes '?'), spaces
// collapsed, at most 400 bytes. No answer can inject protocol lines.
func sanitize(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), maxReasonBytes))
	space := false
	for _, r := range s {
		if b.Len() >= maxReasonBytes {
			break
		}
		switch {
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			space = true
			continue
		case r > ' ' && r < 0x7f:
		default:
			r = '?'
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			if b.Len() >= maxReasonBytes {
				break
			}
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
