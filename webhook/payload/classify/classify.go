// Package classify says what a message means for the receiver's logic:
// whether it is an auto-reply, a bounce, an abuse report, list or bulk
// mail, so that a receiver can stop answering robots before two programs
// mail each other forever. It reads header fields and the parts of a
// report, each once, so its time is linear in their size.
package classify

import (
	"mime"
	"strings"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// Header is one header field, its value already decoded (RFC 2047) and
// unfolded.
type Header struct {
	Name, Value string
}

// Part is one child of the message's top-level multipart, as the report
// rules need it. The payload fills it from enmime's part tree: for each
// child of Root, ContentType and Params from mime.ParseMediaType of its
// Content-Type header (ContentType lower case), Body its decoded content.
// A message/rfc822 child is one Part whose Body is the whole attached
// message.
type Part struct {
	ContentType string
	Params      map[string]string
	Body        []byte
}

// Input is what Classify reads.
type Input struct {
	// Header holds the message's header fields in order.
	Header []Header
	// EnvelopeFrom is the MAIL FROM reverse path; "" is the null sender
	// that bounces and other reports come from (RFC 5321 section 4.5.5).
	EnvelopeFrom string
	// Parts are the top-level multipart's children; nil for a single part.
	Parts []Part
	// Text is the message's text body (enmime's Text), read for the
	// bounces that are not RFC 3464 reports.
	Text string
}

// Classify returns the classification of a message. Plain mail gets a
// zero Classification: every field null or false.
func Classify(in Input) wire.Classification {
	var c wire.Classification
	if v, ok := in.get("Auto-Submitted"); ok {
		v = strings.TrimSpace(v)
		c.AutoSubmitted = &v
	}
	c.Bulk = in.bulk()
	c.List = in.list()
	mt, params := in.contentType()
	if mt == "multipart/report" {
		switch strings.ToLower(params["report-type"]) {
		case "delivery-status", "global-delivery-status":
			c.Bounce = deliveryStatus(in.Parts)
		case "feedback-report":
			c.FeedbackReport = feedbackReport(in.Parts)
		}
	}
	if c.Bounce == nil && c.FeedbackReport == nil && in.fromMailerDaemon() {
		c.Bounce = heuristicBounce(in)
	}
	// Postfix and Exim mark their bounces auto-replied too; a bounce or a
	// report is not a vacation answer, and auto_submitted still shows it.
	c.AutoReply = c.Bounce == nil && c.FeedbackReport == nil && in.autoReply()
	return c
}

// get returns the value of the first field called name.
func (in Input) get(name string) (string, bool) {
	for _, h := range in.Header {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// keyword returns the lower-cased first token of a field value: the
// keyword before any ";" parameters.
func keyword(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// autoReply reports a vacation or out-of-office answer. The signals:
//   - Auto-Submitted: auto-replied (RFC 3834 section 5); auto-generated
//     marks notifications and reports, not replies, and is left to
//     auto_submitted;
//   - X-Autoreply and X-Autorespond with any value but "no" (vacation
//     programs, cPanel, Yandex);
//   - Precedence: auto_reply (Exim's and others' autoresponders);
//   - X-Apple-Action: VACATION (iCloud's vacation answers carry no
//     Auto-Submitted);
//   - X-MS-Exchange-Inbox-Rules-Loop together with X-Auto-Response-Suppress:
//     an answer an Exchange rule generated that asks not to be answered.
//     Either alone is not an auto-reply: the loop header is also on
//     messages a rule forwarded, and Outlook puts X-Auto-Response-Suppress
//     on ordinary mail, meeting answers and receipts.
func (in Input) autoReply() bool {
	if v, ok := in.get("Auto-Submitted"); ok && keyword(v) == "auto-replied" {
		return true
	}
	for _, name := range []string{"X-Autoreply", "X-Autorespond"} {
		if v, ok := in.get(name); ok && keyword(v) != "no" {
			return true
		}
	}
	if v, ok := in.get("Precedence"); ok && keyword(v) == "auto_reply" {
		return true
	}
	if v, ok := in.get("X-Apple-Action"); ok && keyword(v) == "vacation" {
		return true
	}
	_, loop := in.get("X-MS-Exchange-Inbox-Rules-Loop")
	_, suppress := in.get("X-Auto-Response-Suppress")
	return loop && suppress
}

// bulk reports Precedence: bulk, list or junk (RFC 3834 section 3.1.8
// names them as the ones not to answer).
func (in Input) bulk() bool {
	v, _ := in.get("Precedence")
	switch keyword(v) {
	case "bulk", "list", "junk":
		return true
	}
	return false
}

// list returns the List-* fields, or nil when the message has none of
// List-Id, List-Post and List-Unsubscribe.
func (in Input) list() *wire.List {
	id, hasID := in.get("List-Id")
	post, hasPost := in.get("List-Post")
	unsub, hasUnsub := in.get("List-Unsubscribe")
	if !hasID && !hasPost && !hasUnsub {
		return nil
	}
	l := &wire.List{Unsubscribe: bracketed(unsub)}
	if l.Unsubscribe == nil {
		l.Unsubscribe = []string{}
	}
	// RFC 2919 section 3: an optional phrase, then <list-id>.
	if ids := bracketed(id); len(ids) > 0 {
		l.ID = ids[0]
	} else {
		l.ID = strings.TrimSpace(id)
	}
	// RFC 2369 section 3.4: List-Post: NO means posting is not allowed.
	if posts := bracketed(post); len(posts) > 0 {
		l.Post = posts[0]
	}
	if v, ok := in.get("List-Unsubscribe-Post"); ok {
		l.UnsubscribePost = strings.TrimSpace(v)
	}
	return l
}

// bracketed returns the contents of the <...> groups of a field value in
// order (RFC 2369 section 2: a list of URLs in angle brackets, separated
// by commas, with comments allowed around them), white space removed.
func bracketed(v string) []string {
	var out []string
	for {
		open := strings.IndexByte(v, '<')
		if open < 0 {
			return out
		}
		end := strings.IndexByte(v[open:], '>')
		if end < 0 {
			return out
		}
		if u := strings.Join(strings.Fields(v[open+1:open+end]), ""); u != "" {
			out = append(out, u)
		}
		v = v[open+end+1:]
	}
}

// contentType returns the message's lower-cased media type and its
// parameters.
func (in Input) contentType() (string, map[string]string) {
	v, ok := in.get("Content-Type")
	if !ok {
		return "text/plain", nil
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		return keyword(v), nil
	}
	return mt, params
}

// fromMailerDaemon reports the shape of a bounce that is not a report: a
// null envelope sender and a From of MAILER-DAEMON or postmaster.
func (in Input) fromMailerDaemon() bool {
	if in.EnvelopeFrom != "" {
		return false
	}
	from, _ := in.get("From")
	from = strings.ToLower(from)
	for _, local := range []string{"mailer-daemon@", "postmaster@"} {
		if i := strings.Index(from, local); i == 0 || (i > 0 && strings.ContainsRune(" <\"", rune(from[i-1]))) {
			return true
		}
	}
	return false
}
