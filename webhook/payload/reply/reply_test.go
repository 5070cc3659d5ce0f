package reply

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusEntry is one line of testdata/replies/INDEX.tsv.
type corpusEntry struct {
	file, client, language, set string
}

func readIndex(t testing.TB) []corpusEntry {
	t.Helper()
	f, err := os.Open("testdata/replies/INDEX.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	s := bufio.NewScanner(f)
	for s.Scan() {
		l := s.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		p := strings.Split(l, "\t")
		if len(p) != 4 {
			t.Fatalf("INDEX.tsv: %q: want 4 fields", l)
		}
		out = append(out, corpusEntry{p[0], p[1], p[2], p[3]})
	}
	return out
}

// readMisses returns the messages of testdata/replies/MISSES.tsv, whose
// reply text is known to differ from the expected one, with the reason.
func readMisses(t testing.TB) map[string]string {
	t.Helper()
	b, err := os.ReadFile("testdata/replies/MISSES.tsv")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if file, why, ok := strings.Cut(l, "\t"); ok && !strings.HasPrefix(l, "#") {
			out[file] = why
		}
	}
	return out
}

// parseFile parses a corpus file: .txt as the text body, .html as the
// only body.
func parseFile(t testing.TB, name string) (input string, got string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/replies", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".html") {
		return string(b), Parse("", string(b)).Text
	}
	return string(b), Parse(string(b), "").Text
}

// TestCorpus checks the reply text of every message written by a real
// client against its expected text, and reports the precision (exact
// matches / messages) per set, client and language.
func TestCorpus(t *testing.T) {
	entries := readIndex(t)
	misses := readMisses(t)
	listed := map[string]bool{}
	type tally struct{ ok, n int }
	tallies := map[string]*tally{}
	count := func(key string, ok bool) {
		if tallies[key] == nil {
			tallies[key] = &tally{}
		}
		tallies[key].n++
		if ok {
			tallies[key].ok++
		}
	}
	for _, e := range entries {
		listed[e.file] = true
		_, got := parseFile(t, e.file)
		want, err := os.ReadFile(filepath.Join("testdata/replies", strings.TrimSuffix(e.file, filepath.Ext(e.file))+".expected"))
		if err != nil {
			t.Fatal(err)
		}
		ok := strings.TrimRight(got, " \n") == strings.TrimRight(string(want), " \n")
		switch why, known := misses[e.file]; {
		case !ok && !known:
			t.Errorf("%s: reply text\n got: %q\nwant: %q", e.file, got, want)
		case ok && known:
			t.Errorf("%s matches now: take it out of MISSES.tsv (%s)", e.file, why)
		}
		count("all", ok)
		count("set "+e.set, ok)
		count("client "+e.client, ok)
		count("language "+e.language, ok)
	}
	files, _ := filepath.Glob("testdata/replies/*/*")
	for _, f := range files {
		rel, _ := filepath.Rel("testdata/replies", f)
		if ext := filepath.Ext(f); (ext == ".txt" || ext == ".html") && !listed[rel] {
			t.Errorf("%s is not in INDEX.tsv", rel)
		}
	}
	keys := make([]string, 0, len(tallies))
	for k := range tallies {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%-24s %3d/%3d\n", k, tallies[k].ok, tallies[k].n)
	}
	t.Logf("precision (exact reply text):\n%s", b.String())
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, text, html string
		want             string
		sig              string
		quoted           bool
	}{
		{name: "plain mail stays as it is", text: "Hello\n\nOn my way.\n", want: "Hello\n\nOn my way.\n"},
		{name: "empty", want: ""},
		{name: "CRLF lines", text: "Yes.\r\n\r\nOn Mon, Jan 6, 2025 at 10:15 AM Ana <a@example.com> wrote:\r\n> Meet?\r\n", want: "Yes.", quoted: true},
		{name: "signature only", text: "Fine.\n\n-- \nAna\nexample.com\n", want: "Fine.", sig: "Ana\nexample.com"},
		{name: "trailer", text: "Fine.\n\nSent from my iPhone\n", want: "Fine.", sig: "Sent from my iPhone"},
		{name: "trailer then history without attribution", text: "Fine.\n\nSent from my iPhone\nMeet on Monday?\n", want: "Fine.", sig: "Sent from my iPhone", quoted: true},
		{name: "a sentence is no trailer", text: "Sent from my desk, it is easier.\n", want: "Sent from my desk, it is easier.\n"},
		{name: "bottom post keeps the answer", text: "On Mon, 6 Jan 2025, Ana wrote:\n> Meet?\n\nYes.\n", want: "Yes.", quoted: true},
		{name: "Thunderbird answer right under the quote", text: "On 06/01/2025 10:15, Ana wrote:\n> Meet?\nYes.\n", want: "Yes.", quoted: true},
		{name: "forwarded message stays", text: "FYI\n\n---------- Forwarded message ---------\nFrom: Ana <a@example.com>\nDate: Mon, Jan 6, 2025\nSubject: Plan\nTo: Bob <b@example.com>\n\nThe plan.\n",
			want: "FYI\n\n---------- Forwarded message ---------\nFrom: Ana <a@example.com>\nDate: Mon, Jan 6, 2025\nSubject: Plan\nTo: Bob <b@example.com>\n\nThe plan.\n"},
		{name: "one From: line is no header block", text: "Mail From: the server\nTo: you\n", want: "Mail From: the server\nTo: you\n"},
		{name: "attribution at the top: history below without >, reply after it", text: "On 8 May 2017 17:34, \"Andy\" <a@example.com> wrote:\n\nIt should be this.\n", want: "It should be this.", quoted: true},
		{name: "nothing but a quote is kept whole", text: "> Only a quote.\n", want: "> Only a quote.\n"},
		{name: "German Gmail, wrote word inside", text: "Gut.\n\nMax <m@example.de> schrieb am Fr., 28.\nApr. 2017 um 11:53 Uhr:\n\n> Frage\n", want: "Gut.", quoted: true},
		{name: "html ignored when there is text", text: "Plain.", html: "<div>HTML</div>", want: "Plain."},
		{name: "html only without quote", html: "<p>Hi &amp; bye</p><script>x()</script>", want: "Hi & bye"},
		{name: "html blockquote type=cite", html: "Yes<blockquote type=\"cite\"><div>old<div>older</div></div></blockquote><div>after</div>", want: "Yes\nafter", quoted: true},
		{name: "html all inside a quote container is kept", html: "<div class=\"gmail_quote\">Only the forwarded text</div>", want: "Only the forwarded text"},
		{name: "unclosed gmail quote", html: "Yes<div class=\"gmail_quote\"><div>old", want: "Yes", quoted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(tt.text, tt.html)
			if got.Text != tt.want || got.Signature != tt.sig || got.Quoted != tt.quoted {
				t.Errorf("Parse = %+v, want text %q signature %q quoted %v", got, tt.want, tt.sig, tt.quoted)
			}
		})
	}
}

// TestUnrecognisedIsUnchanged: a body without history or signature comes
// back byte for byte, white space included.
func TestUnrecognisedIsUnchanged(t *testing.T) {
	for _, in := range []string{"  indented\n\n\n", "a\r\nb\r\n", "x -- y\n", "> \n"[2:]} {
		if got := Parse(in, ""); got.Text != in || got.Quoted || got.Signature != "" {
			t.Errorf("Parse(%q) = %+v", in, got)
		}
	}
}

// hostile returns bodies built to make a rescanning parser quadratic.
func hostile(size int) map[string]string {
	rep := func(s string) string { return strings.Repeat(s, size/len(s)+1) }
	return map[string]string{
		"quote lines":       rep("> a\n"),
		"wrapped quotes":    "x\n" + rep("> a\nb\n"),
		"header keys":       rep("From: a\n"),
		"attribution leads": rep("On Mon, 1 Jan 2024\n"),
		"long line":         rep("a") + ":",
		"blank lines":       "On Mon, 1 Jan 2024 Ana <a@example.com> wrote:" + rep("\n"),
	}
}

func TestHostileInput(t *testing.T) {
	for name, body := range hostile(1 << 20) {
		t.Run(name, func(t *testing.T) {
			_ = Parse(body, "")
			_ = Parse("", strings.Repeat("<div class=gmail_quote>", 1<<15)+body)
		})
	}
}

// typicalReply is a top-posted 20 KiB reply: a few lines of new text, a
// Gmail attribution and a quoted thread taken from the corpus.
func typicalReply(tb testing.TB) string {
	tb.Helper()
	thread, err := os.ReadFile("testdata/replies/github/email_1_2.txt")
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("Thanks, that works.\n\nI will try the bucket listing tomorrow and report back.\n\n-- \nAbhishek\n\n")
	b.WriteString("On Tue, Mar 1, 2011 at 6:40 PM, Russell Brown <russell@example.com> wrote:\n\n")
	for b.Len() < 20<<10 {
		for _, l := range strings.Split(string(thread), "\n") {
			b.WriteString("> " + l + "\n")
		}
	}
	return b.String()
}

func BenchmarkReply(b *testing.B) {
	body := typicalReply(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		Parse(body, "")
	}
}

func BenchmarkReplyHTML(b *testing.B) {
	body := typicalReply(b)
	cut := strings.Index(body, "On Tue")
	html := "<div dir=\"ltr\">" + strings.ReplaceAll(body[:cut], "\n", "<br>") + "</div><div class=\"gmail_quote\"><blockquote class=\"gmail_quote\">" +
		strings.ReplaceAll(body[cut:], "\n", "<br>\n") + "</blockquote></div>"
	b.SetBytes(int64(len(html)))
	b.ReportAllocs()
	for b.Loop() {
		Parse("", html)
	}
}

// BenchmarkReplyUnquoted parses 20 KiB of text with nothing to cut, the
// path on which every rule looks at every line.
func BenchmarkReplyUnquoted(b *testing.B) {
	line := "the quarterly figures look right to me, but please review the budget before Thursday\n"
	body := strings.Repeat(strings.Repeat(line, 6)+"\n", 20<<10/(6*len(line)+1))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if r := Parse(body, ""); r.Text != body {
			b.Fatal("text changed")
		}
	}
}

// TestTrailerCase checks that trailers are found whatever the case of
// their first letters, in and out of ASCII.
func TestTrailerCase(t *testing.T) {
	for _, l := range []string{"Sent from my iPhone", "SENT FROM MY IPHONE", "sent from my iPad", "Отправлено с iPhone",
		"ОТПРАВЛЕНО С IPHONE", "Lähetetty iPhonesta", "LÄHETETTY IPHONESTA", "发自我的iPhone", "Get Outlook for iOS", "Von meinem iPhone gesendet"} {
		if !isTrailer(l) {
			t.Errorf("isTrailer(%q) = false", l)
		}
	}
	for _, l := range []string{"Sent from my desk, is much easier then my mobile phone.", "Seen from afar", "La de da de da 1.", "Le", "S"} {
		if isTrailer(l) {
			t.Errorf("isTrailer(%q) = true", l)
		}
	}
}
