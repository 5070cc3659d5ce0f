package classify

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

var update = flag.Bool("update", false, "rewrite the testdata/*/*.json golden files")

// TestGolden compares the classification of every sample with its golden
// JSON (regenerate with -update, then read the diff).
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*/*.eml")
	if len(files) < 30 {
		t.Fatalf("only %d samples", len(files))
	}
	for _, f := range files {
		got, err := json.MarshalIndent(Classify(readInput(t, f)), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		golden := strings.TrimSuffix(f, ".eml") + ".json"
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", f, got, want)
		}
	}
}

// want is what a receiver relies on in one sample.
type want struct {
	autoReply  bool
	bulk       bool
	recipients []string // "final_recipient status action", nil when not a bounce
	msgID      string   // original_message_id of the first recipient
	feedback   string   // feedback_type, "" when not a report
	listID     string
}

func TestSamples(t *testing.T) {
	tests := map[string]want{
		// Generated here by Postfix 3.7 (a private instance, local delivery
		// to a user that does not exist, and the error transport).
		"bounces/postfix-3.7-local-unknown-user": {recipients: []string{"nosuchuser@example.test 5.1.1 failed"}, msgID: "dsn-test-1@example.test"},
		"bounces/postfix-3.7-error-transport":    {recipients: []string{"someone@remote.test 5.0.0 failed"}, msgID: "dsn-test-2@example.test"},
		// RFC 3464 reports from sisimai's set.
		"bounces/lhost-postfix-02":      {recipients: []string{"filtered@example.co.jp 5.2.1 failed", "userunknown@example.co.jp 5.1.1 failed"}},
		"bounces/lhost-exchange2007-03": {recipients: []string{"kijitora@neko.example.com 5.2.3 failed"}, msgID: "20100429233445.FF00FFEE0000@r2.example.org"},
		"bounces/lhost-office365-04":    {recipients: []string{"otsu-sakaba-hunter-neko-nyaaaaaaan@ezweb.ne.jp 5.1.351 failed"}, msgID: "SLXP216MB0381A8F03A83505296890D11A9950@SLXP216MB0381.KORP216.PROD.OUTLOOK.COM"},
		"bounces/lhost-outlook-01":      {recipients: []string{"kijitora@example.jp 5.2.2 failed"}, msgID: "BLU436-SMTP6645ECA6E7FEFFE86D040BBA770@phx.gbl"},
		"bounces/lhost-sendmail-01":     {recipients: []string{"userunknown@bouncehammer.jp 5.1.1 failed"}, msgID: "E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org"},
		// Bounces that are not reports: MAILER-DAEMON, a null sender and
		// the returned message inline or attached.
		"bounces/lhost-exim-02":         {recipients: []string{"kijitora@example.jp 5.1.1 failed", "sabatora@example.jp 5.2.1 failed"}, msgID: "E1X58pB-0004bW-2s@marutamachi.example.org"},
		"bounces/lhost-qmail-02":        {recipients: []string{"userunknown@example.jp 5.1.1 failed", "filtered@example.jp 5.2.1 failed"}},
		"bounces/lhost-gmail-01":        {recipients: []string{"userunknown@example.jp 5.1.1 failed"}, msgID: "D992C2C3-F175-4C4D-97E2-53A90E4E5BF5@gmail.com"},
		"bounces/lhost-exchange2003-03": {recipients: []string{"kijitora@example.jp  failed"}, msgID: "00000000000.ffffffffffff.ff@example.net"},
		"bounces/lhost-exim-07":         {recipients: []string{}},
		// Abuse reports (RFC 5965).
		"bounces/arf-01": {feedback: "abuse"},
		"bounces/arf-02": {feedback: "abuse"},
		// Vacation answers: RFC 3834, Exchange rules, iCloud.
		"autoreplies/rfc3834-01": {autoReply: true},
		"autoreplies/rfc3834-02": {autoReply: true},
		"autoreplies/rfc3834-03": {autoReply: true},
		"autoreplies/rfc3834-06": {autoReply: true, bulk: true},
		// Debian's vacation 3.3.3, run here: its replies carry no
		// Auto-Submitted, only what .vacation.msg holds (its manual's
		// example has Precedence: bulk) and, with -z, the null sender.
		"autoreplies/debian-vacation-3.3.3-manpage-msg": {bulk: true},
		"autoreplies/debian-vacation-3.3.3-bare-msg":    {},
		// Lists and plain mail.
		"plain/plain":         {},
		"plain/mailman-list":  {bulk: true, listID: "dev.lists.example.org"},
		"plain/announce-list": {listID: "announce.lists.example.org"},
		"plain/newsletter":    {bulk: true},
	}
	for name, w := range tests {
		t.Run(name, func(t *testing.T) {
			c := Classify(readInput(t, "testdata/"+name+".eml"))
			if c.AutoReply != w.autoReply || c.Bulk != w.bulk {
				t.Errorf("auto_reply %v bulk %v, want %v %v", c.AutoReply, c.Bulk, w.autoReply, w.bulk)
			}
			var got []string
			if c.Bounce != nil {
				got = []string{}
			}
			for _, r := range c.Bounce {
				got = append(got, r.FinalRecipient+" "+r.Status+" "+r.Action)
			}
			if (got == nil) != (w.recipients == nil) || strings.Join(got, ",") != strings.Join(w.recipients, ",") {
				t.Errorf("bounce %q, want %q", got, w.recipients)
			}
			if len(c.Bounce) > 0 && c.Bounce[0].OriginalMessageID != w.msgID {
				t.Errorf("original_message_id %q, want %q", c.Bounce[0].OriginalMessageID, w.msgID)
			}
			if ft := feedbackType(c.FeedbackReport); ft != w.feedback {
				t.Errorf("feedback_type %q, want %q", ft, w.feedback)
			}
			if c.List != nil && c.List.ID != w.listID {
				t.Errorf("list id %q, want %q", c.List.ID, w.listID)
			}
		})
	}
}

func feedbackType(r *wire.FeedbackReport) string {
	if r == nil {
		return ""
	}
	return r.FeedbackType
}

// TestPlainMailIsAllNull: the JSON a receiver sees for ordinary mail.
func TestPlainMailIsAllNull(t *testing.T) {
	b, err := json.Marshal(Classify(readInput(t, "testdata/plain/plain.eml")))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"auto_submitted":null,"auto_reply":false,"bounce":null,"feedback_report":null,"list":null,"bulk":false}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}

func TestHeaders(t *testing.T) {
	tests := []struct {
		name   string
		header []Header
		check  func(wire.Classification) bool
	}{
		{"Auto-Submitted no is kept but is no auto-reply", []Header{{"Auto-Submitted", " no "}},
			func(c wire.Classification) bool { return *c.AutoSubmitted == "no" && !c.AutoReply }},
		{"auto-generated is no auto-reply", []Header{{"Auto-Submitted", "auto-generated"}},
			func(c wire.Classification) bool { return !c.AutoReply }},
		{"auto-replied with parameters", []Header{{"auto-submitted", "Auto-Replied; owner-email=a@example.com"}},
			func(c wire.Classification) bool { return c.AutoReply }},
		{"X-Autoreply", []Header{{"X-Autoreply", "yes"}}, func(c wire.Classification) bool { return c.AutoReply }},
		{"X-Autorespond", []Header{{"X-Autorespond", "Vacation"}}, func(c wire.Classification) bool { return c.AutoReply }},
		{"Precedence auto_reply", []Header{{"Precedence", "auto_reply"}}, func(c wire.Classification) bool { return c.AutoReply && !c.Bulk }},
		{"X-Auto-Response-Suppress alone", []Header{{"X-Auto-Response-Suppress", "All"}}, func(c wire.Classification) bool { return !c.AutoReply }},
		{"Inbox-Rules-Loop alone (a forward)", []Header{{"X-MS-Exchange-Inbox-Rules-Loop", "a@example.com"}}, func(c wire.Classification) bool { return !c.AutoReply }},
		{"Precedence junk", []Header{{"Precedence", "JUNK"}}, func(c wire.Classification) bool { return c.Bulk }},
		{"List-Unsubscribe with comments and folding", []Header{{"List-Unsubscribe", "(Use this) <mailto:u@example.com>,\t< https://example.com/u >"}},
			func(c wire.Classification) bool {
				return c.List != nil && len(c.List.Unsubscribe) == 2 && c.List.Unsubscribe[1] == "https://example.com/u" && c.List.ID == ""
			}},
		{"List-Post NO", []Header{{"List-Id", "<a.example.com>"}, {"List-Post", "NO"}},
			func(c wire.Classification) bool {
				return c.List.Post == "" && c.List.ID == "a.example.com" && c.List.Unsubscribe != nil && len(c.List.Unsubscribe) == 0
			}},
		{"MAILER-DAEMON without the returned message is no bounce", []Header{{"From", "MAILER-DAEMON@example.com"}},
			func(c wire.Classification) bool { return c.Bounce == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c := Classify(Input{Header: tt.header, EnvelopeFrom: ""}); !tt.check(c) {
				b, _ := json.Marshal(c)
				t.Errorf("got %s", b)
			}
		})
	}
}

// TestDelayed: a delayed recipient is reported with its action, a
// delivered one is not, and a report of successes only is an empty list.
func TestDelayed(t *testing.T) {
	in := Input{
		Header: []Header{{"Content-Type", `multipart/report; report-type=delivery-status; boundary="b"`}},
		Parts: []Part{{ContentType: "message/delivery-status", Body: []byte(
			"Reporting-MTA: dns; mx.example.com\r\n\r\n" +
				"Final-Recipient: rfc822; a@example.org\r\nAction: delayed\r\nStatus: 4.4.7\r\n" +
				"Diagnostic-Code: smtp; 451 4.4.7 try\r\n again later\r\n\r\n" +
				"Final-Recipient: rfc822; b@example.org\r\nAction: delivered\r\nStatus: 2.0.0\r\n")}},
	}
	c := Classify(in)
	if len(c.Bounce) != 1 || c.Bounce[0].Action != "delayed" || c.Bounce[0].Diagnostic != "451 4.4.7 try again later" || c.Bounce[0].Status != "4.4.7" {
		t.Errorf("got %+v", c.Bounce)
	}
	in.Parts[0].Body = []byte("Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; b@example.org\nAction: relayed\nStatus: 2.0.0\n")
	if c := Classify(in); c.Bounce == nil || len(c.Bounce) != 0 {
		t.Errorf("successes only: got %#v, want an empty list", c.Bounce)
	}
}

// TestHostileReport: a report with a huge number of recipients is cut at
// maxRecipients.
func TestHostileReport(t *testing.T) {
	body := "Reporting-MTA: dns; x\n\n" + strings.Repeat("Final-Recipient: rfc822; a@example.org\nAction: failed\n\n", 100000)
	c := Classify(Input{
		Header: []Header{{"Content-Type", "multipart/report; report-type=delivery-status"}},
		Parts:  []Part{{ContentType: "message/delivery-status", Body: []byte(body)}},
	})
	if len(c.Bounce) != maxRecipients {
		t.Errorf("%d recipients, want %d", len(c.Bounce), maxRecipients)
	}
	long := "Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\nDiagnostic-Code: smtp; 550 " + strings.Repeat("é", 1000) + "\n"
	c = Classify(Input{
		Header: []Header{{"Content-Type", "multipart/report; report-type=delivery-status"}},
		Parts:  []Part{{ContentType: "message/delivery-status", Body: []byte(long)}},
	})
	if d := c.Bounce[0].Diagnostic; len(d) > maxDiagnostic || !utf8.ValidString(d) || !strings.HasPrefix(d, "550 é") {
		t.Errorf("diagnostic of %d bytes, valid UTF-8 %v", len(d), utf8.ValidString(d))
	}
}
