package classify

import (
	"strings"
	"testing"
)

// FuzzClassify feeds any report body and text to both bounce readers: no
// panic, and the bounds hold.
func FuzzClassify(f *testing.F) {
	f.Add("Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n", "<a@example.org>:\nsaid 550 5.1.1 no\n\n--- Below this line is a copy of the message.\n\nMessage-ID: <m@x>\n")
	f.Add("Feedback-Type: abuse\nOriginal-Rcpt-To: <a@example.org>\n", "  a@example.org\n    host x said: 550 5.1.1\n")
	f.Fuzz(func(t *testing.T, report, text string) {
		for _, rt := range []string{"delivery-status", "feedback-report"} {
			c := Classify(Input{
				Header: []Header{{"From", "MAILER-DAEMON@example.com"}, {"Content-Type", "multipart/report; report-type=" + rt}},
				Parts: []Part{
					{ContentType: "message/" + rt, Body: []byte(report)},
					{ContentType: "text/rfc822-headers", Body: []byte(text)},
				},
				Text: text,
			})
			if len(c.Bounce) > maxRecipients {
				t.Fatalf("%d recipients", len(c.Bounce))
			}
		}
		c := Classify(Input{Header: []Header{{"From", "postmaster@example.com"}}, Text: text})
		for _, r := range c.Bounce {
			if len(r.Diagnostic) > maxDiagnostic || strings.ContainsAny(r.FinalRecipient, " <>") {
				t.Fatalf("bad recipient %+v", r)
			}
		}
	})
}
