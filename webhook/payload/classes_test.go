package payload

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// The tests here read the minimal message of each defect class of
// issue 15 (testdata/corpus/classes) and check the fields a reader of
// mail would see, exactly.

func parseClass(t *testing.T, name string) *wire.Message {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir, "classes", name))
	if err != nil {
		t.Fatal(err)
	}
	return Parse(wireForm(data), time.Unix(0, 0), Options{})
}

func wantAddrs(t *testing.T, field string, got []wire.Address, want ...wire.Address) {
	t.Helper()
	if want == nil {
		want = []wire.Address{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", field, got, want)
	}
}

func TestClassAtInDisplayName(t *testing.T) {
	m := parseClass(t, "01-at-in-display-name.eml")
	wantAddrs(t, "from", m.From, wire.Address{Name: "billing@bank.example", Address: "noreply@attacker.example"})
	wantAddrs(t, "to", m.To, wire.Address{Address: "customer@example.net"})
}

func TestClassBadListEntry(t *testing.T) {
	m := parseClass(t, "02-bad-list-entry.eml")
	wantAddrs(t, "to", m.To, wire.Address{Name: "a", Address: "a@example.com"}, wire.Address{Address: "b@example.com"})
	wantAddrs(t, "cc", m.Cc, wire.Address{Name: "Dave", Address: "dave@example.org"})
	if len(m.Errors) != 1 || m.Errors[0].Name != wire.ErrorMalformedAddr {
		t.Errorf("errors = %+v, want one %s for the dropped entry", m.Errors, wire.ErrorMalformedAddr)
	}
}

func TestAddressFields(t *testing.T) {
	a := func(name, addr string) wire.Address { return wire.Address{Name: name, Address: addr} }
	cases := []struct {
		value string
		want  []wire.Address
	}{
		{`billing@bank.example <noreply@attacker.example>`, []wire.Address{a("billing@bank.example", "noreply@attacker.example")}},
		{`"billing@bank.example" <noreply@attacker.example>`, []wire.Address{a("billing@bank.example", "noreply@attacker.example")}},
		{`Team: a@example.com, "B" <b@example.com>;`, []wire.Address{a("", "a@example.com"), a("B", "b@example.com")}},
		{`undisclosed-recipients:;`, []wire.Address{}},
		{`Team: a@example.com, <<x>>;, c@example.com`, []wire.Address{a("", "a@example.com"), a("", "c@example.com")}},
		{`A <a@example.com> B <b@example.com>`, []wire.Address{a("A", "a@example.com"), a("B", "b@example.com")}},
		{`a@example.com b@example.com`, []wire.Address{a("", "a@example.com"), a("", "b@example.com")}},
		{`Pete(A \) chap) <pete(his account)@silly.test(his host)>`, []wire.Address{a("Pete", "pete@silly.test")}},
		{`Big Bug bb@bug.com`, []wire.Address{}},
		{`a@example.com, localpart`, []wire.Address{a("", "a@example.com")}},
		{"=?iso-8859-1?Q?J=FCrgen?= <j@example.com>, <<", []wire.Address{a("Jürgen", "j@example.com")}},
		{"Heinz =?iso-8859-1?Q?M\xfcller?= <m@example.com>", []wire.Address{a("Heinz Müller", "m@example.com")}},
	}
	for _, c := range cases {
		got, _ := parseAddresses(c.value)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %+v, want %+v", c.value, got, c.want)
		}
	}
}

func TestClass8bitInEncodedWord(t *testing.T) {
	m := parseClass(t, "07-8bit-in-encoded-word.eml")
	if m.Subject != "Die Hasen und die Frösche" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, c := range []struct{ in, want string }{
		{"=?utf-8?B?eHB0bw?=", "xpto"},             // padding missing
		{"=?iso-8859-2*sl?Q?Doma=e8e?=", "Domače"}, // RFC 2231 language
		{"=?ISO-2022-JP?B?VW5kZWxpdmVyYWJsZTogGyRCJEskYyE8JHMbKEI==?=", "Undeliverable: にゃーん"}, // surplus padding
		{"caf\xe9 =?utf-8?Q?na=C3=AFve?=", "café naïve"},
	} {
		if got := decodeHeader(c.in); got != c.want {
			t.Errorf("decodeHeader(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// oracleText is the oracle's reading of a class message's field, which
// the corpus README checked by hand against what the sender meant.
func oracleText(t *testing.T, name, field string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, "oracle.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]map[string]any
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	s, _ := all["classes/"+name][field].(string)
	return s
}

func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

type wantPart struct {
	filename, contentType, disposition string
	size                               int
	sha256                             string // "" when not checked
}

func wantParts(t *testing.T, kind string, got []wire.Attachment, want ...wantPart) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d parts, want %d: %+v", kind, len(got), len(want), got)
		return
	}
	for i, w := range want {
		g := got[i]
		if g.Filename != w.filename || g.ContentType != w.contentType || g.Disposition != w.disposition ||
			g.Size != w.size || (w.sha256 != "" && g.SHA256 != w.sha256) {
			t.Errorf("%s[%d] = %q %s %q %d %s, want %+v", kind, i, g.Filename, g.ContentType, g.Disposition, g.Size, g.SHA256, w)
		}
	}
}

func TestClassNoContentType(t *testing.T) {
	m := parseClass(t, "03-no-ctype-plain.eml")
	if want := oracleText(t, "03-no-ctype-plain.eml", "text"); lf(m.Text) != want || !strings.Contains(m.Text, "Reporting-MTA: dns; mx.example.net") {
		t.Errorf("text %q, want both parts: %q", m.Text, want)
	}
	wantParts(t, "attachments", m.Attachments)
	wantParts(t, "inlines", m.Inlines)

	m = parseClass(t, "03-no-ctype-digest.eml")
	if lf(m.Text) != "Today's Topics:\n\n   1. First post (Alice)\n   2. Re: First post (Bob)\n" {
		t.Errorf("text %q", m.Text)
	}
	wantParts(t, "attachments", m.Attachments,
		wantPart{"", "message/rfc822", "", 169, ""}, wantPart{"", "message/rfc822", "", 205, ""})
}

func TestClassLaterHTMLFragments(t *testing.T) {
	const name = "04-apple-html-image-html.eml"
	m := parseClass(t, name)
	html := lf(m.HTML)
	if want := oracleText(t, name, "html"); html != want {
		t.Errorf("html %q\nwant %q", html, want)
	}
	if !strings.Contains(html, "Here is the view from the hut") || !strings.Contains(html, "what we saw the next morning") {
		t.Errorf("a fragment is missing from html: %q", html)
	}
	if lf(m.Text) != "Here is the view from the hut:\n\n[image.png]\n\nAnd this is what we saw the next morning.\n" {
		t.Errorf("text %q", m.Text)
	}
	wantParts(t, "inlines", m.Inlines, wantPart{"image.png", "image/png", "inline", 71, "3847025b85527ec32ca4c4f042e5a94dd4d91df9755f06dfc6dd9e0952d31c21"})
	wantParts(t, "attachments", m.Attachments)
}

func TestClassTextPartsJoined(t *testing.T) {
	msg := "Subject: two\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\ntwo\r\n--b--\r\n"
	m := Parse([]byte(msg), time.Unix(0, 0), Options{})
	if m.Text != "one\r\ntwo" {
		t.Errorf("text %q, want the parts joined by a line end", m.Text)
	}
}

const notesSHA = "ab2e948afd86b05c130b0726bcdec516f5d23a4e03025e7f33e6c2747430f418"

func TestClassUUEncode(t *testing.T) {
	m := parseClass(t, "05-uuencode-in-text.eml")
	wantParts(t, "attachments", m.Attachments, wantPart{"notes.txt", "application/octet-stream", "attachment", 50, notesSHA})
	if lf(m.Text) != "Heidi, the notes are below.\n\n\nGrace\n" {
		t.Errorf("text %q, want the block taken out", m.Text)
	}
	m = parseClass(t, "05-uuencode-cte.eml")
	wantParts(t, "attachments", m.Attachments, wantPart{"notes.txt", "application/octet-stream", "attachment", 50, notesSHA})
	if lf(m.Text) != "The notes are attached.\n" {
		t.Errorf("text %q", m.Text)
	}
}

func TestClassExchangeFoldedFilename(t *testing.T) {
	m := parseClass(t, "06-exchange-folded-filename.eml")
	wantParts(t, "attachments", m.Attachments, wantPart{"Präsentation Quartalsbericht 2009 Q3 endgültig.pdf", "application/pdf", "attachment", 52, ""})
}

func TestClassRFC2231OtherCharset(t *testing.T) {
	m := parseClass(t, "08-rfc2231-other-charset.eml")
	if lf(m.Text) != "The boundary of this message and the attachment's file name are\nRFC 2231 values in charsets ansi-x3.4-1968 and iso-8859-1.\n" {
		t.Errorf("text %q", m.Text)
	}
	wantParts(t, "attachments", m.Attachments, wantPart{"fé.txt", "text/plain", "attachment", 4, ""})
	if m.Raw != nil {
		t.Error("the message was delivered raw")
	}
}

func TestClassMboxFromLine(t *testing.T) {
	m := parseClass(t, "10-mbox-from-line.eml")
	if m.Subject == "" || len(m.From) != 1 || m.From[0].Address != "alice@example.org" {
		t.Errorf("subject %q from %+v", m.Subject, m.From)
	}
	if want := oracleText(t, "10-mbox-from-line.eml", "text"); lf(m.Text) != want {
		t.Errorf("text %q, want %q", m.Text, want)
	}
	if len(m.Errors) != 0 {
		t.Errorf("errors %+v", m.Errors)
	}
}

func TestObsoleteDates(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Wed, 11 Feb 98 11:51 CST", "1998-02-11T11:51:00-06:00"},
		{"Tue, 8 Oct 1991 10:25:36 EDT", "1991-10-08T10:25:36-04:00"},
		{"Mon, 21 Aug 95 13:30:57 -600", "1995-08-21T13:30:57-06:00"},
		{"Wed, 20 Sep 1995 00:19:00 (EDT) -0400", "1995-09-20T00:19:00-04:00"},
		{"01 Jan 2001 00:01+0000", "2001-01-01T00:01:00Z"},
		{"Thu 29 Apr 2010 23:34:45 +0900", "2010-04-29T23:34:45+09:00"},
		{"Thu, 10 Aug 2000 02:53:01", "2000-08-10T02:53:01Z"},
		{"Thu, 16 Jun 2016 00:41:19 (UTC)", "2016-06-16T00:41:19Z"},
		{"Fri, 7 Dec 2001 07:01:03 PST", "2001-12-07T07:01:03-08:00"},
		{"Fri, 7 Dec 2001 07:01:03 Q", "2001-12-07T07:01:03Z"},
		{"Fri, 7 Dec 2001 07:01:03 +0100", "2001-12-07T07:01:03+01:00"},
	}
	for _, c := range cases {
		got, err := parseDate(c.in)
		if err != nil || got.Format(time.RFC3339) != c.want {
			t.Errorf("parseDate(%q) = %s, %v; want %s", c.in, got.Format(time.RFC3339), err, c.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "32 Jan 2001 10:00 +0000", "1 Foo 2001 10:00"} {
		if got, err := parseDate(bad); err == nil {
			t.Errorf("parseDate(%q) = %s, want an error", bad, got)
		}
	}
}

func TestClassBoundaryMidLine(t *testing.T) {
	m := parseClass(t, "09-boundary-mid-line.eml")
	want := "The parser log says: unexpected token, see --b09 for details.\n    --b09\n\t--b09--\nThis line, and the two above, are still part of the text.\n"
	if lf(m.Text) != want {
		t.Errorf("text %q\nwant %q", m.Text, want)
	}
	wantParts(t, "attachments", m.Attachments, wantPart{"log.txt", "text/plain", "attachment", 24, ""})
	if a := m.Attachments; len(a) == 1 && lf(string(a[0].Content)) != "line 1\nline 2 see --b09" {
		t.Errorf("log.txt %q", a[0].Content)
	}
}

func TestUnreadableLineShapes(t *testing.T) {
	msg := "From: a@example.org\rSubject: old Mac\rContent-Type: text/plain\r\rline one\rline two\r\n"
	m := Parse([]byte(msg), time.Unix(0, 0), Options{IncludeRaw: true})
	if m.Subject != "old Mac" || len(m.From) != 1 || m.Text != "line one\r\nline two\r\n" {
		t.Errorf("bare CR: subject %q from %+v text %q", m.Subject, m.From, m.Text)
	}
	if string(m.Raw) != msg {
		t.Error("raw is not the message as received")
	}
	msg = "From mike@nowhere.com\r\nReturn-Path: <mike@nowhere.com>\r\nSubject: mbox\r\n\r\nbody\r\n"
	m = Parse([]byte(msg), time.Unix(0, 0), Options{})
	if m.Subject != "mbox" || m.Text != "body\r\n" || m.Raw != nil || m.Headers[0].Name != "Return-Path" {
		t.Errorf("mbox From line: subject %q text %q raw %d bytes", m.Subject, m.Text, len(m.Raw))
	}
	msg = "   \r\nFrom: a@example.org\r\nSubject: spaces first\r\n\r\nbody\r\n"
	m = Parse([]byte(msg), time.Unix(0, 0), Options{})
	if m.Subject != "spaces first" || m.Text != "body\r\n" || m.Raw != nil {
		t.Errorf("leading spaces: subject %q text %q raw %d bytes", m.Subject, m.Text, len(m.Raw))
	}
}

func TestUnreadableContentTypes(t *testing.T) {
	msg := "Subject: no slash\r\nContent-Type: text plain\r\n\r\nbody\r\n"
	m := Parse([]byte(msg), time.Unix(0, 0), Options{})
	if m.Text != "body\r\n" || m.Raw != nil {
		t.Errorf("text %q raw %d bytes", m.Text, len(m.Raw))
	}
	// A base64 part with one character too many: enmime keeps nothing,
	// a mail reader decodes what it can.
	msg = "Subject: b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: image/png\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQh\r\nA\r\n--b--\r\n"
	m = Parse([]byte(msg), time.Unix(0, 0), Options{})
	if len(m.Attachments) != 1 || string(m.Attachments[0].Content) != "hello world!" {
		t.Errorf("attachments %+v", m.Attachments)
	}
}

func TestHeaderWithoutEmptyLine(t *testing.T) {
	// A part's header runs into its body (cpython's msg_47), a part has no
	// header at all, and the message's header runs into its first
	// delimiter after a preamble line: no text is lost.
	msg := "Subject: s\r\nContent-Type: multipart/mixed;\r\n boundary=\"b\"\r\nThis is a multi-part message.\r\n" +
		"--b\r\nContent-Type: text/plain\r\nbar\r\n\r\n--b\r\nno header here\r\n\r\n--b\r\nContent-Type: text/html\r\n<p>baz</p>\r\n--b--\r\n"
	m := Parse([]byte(msg), time.Unix(0, 0), Options{})
	if lf(m.Text) != "bar\n\nno header here\n" || lf(m.HTML) != "<p>baz</p>" || m.Raw != nil {
		t.Errorf("text %q html %q raw %d bytes", m.Text, m.HTML, len(m.Raw))
	}
	// The message's header keeps a line without colon as a continuation.
	if m.Headers[1].Value != `multipart/mixed; boundary="b" This is a multi-part message.` {
		t.Errorf("content-type %q", m.Headers[1].Value)
	}
}

func TestDeclaredUTF8Kept(t *testing.T) {
	// enmime's own sample: declared utf-8, written in utf-8; its charset
	// detection guesses ISO-8859-1 and would give "Ã¶oÃ¶o".
	data, err := os.ReadFile(filepath.Join(corpusDir, "enmime", "parts_chardet-detection.eml"))
	if err != nil {
		t.Fatal(err)
	}
	m := Parse(wireForm(data), time.Unix(0, 0), Options{})
	if !strings.HasSuffix(strings.TrimSpace(lf(m.Text)), "Nachricht:\nöoöo") {
		t.Errorf("text %q", m.Text)
	}
}
