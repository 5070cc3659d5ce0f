package payload

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// The fidelity suite compares what Parse reads in real mail with what an
// independent parser reads (Python's email package, testdata/corpus/
// oracle.py, its output in oracle.json), field by field, by the rules of
// testdata/corpus/README.md. Every disagreement is either recorded, with
// its reason, in DISAGREEMENTS.tsv, or a failure; a recorded one that no
// longer happens is a failure too, so the file stays true and the count
// can only go down.

const corpusDir = "../../testdata/corpus"

// fidelityFields are the compared fields, in the order they are reported.
var fidelityFields = []string{"subject", "from", "to", "cc", "reply_to", "message_id", "date", "text", "html", "parts"}

type oracleAddr struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type oraclePart struct {
	Filename    string  `json:"filename"`
	ContentType string  `json:"content_type"`
	Disposition string  `json:"disposition"`
	ContentID   string  `json:"content_id"`
	Size        *int    `json:"size"`
	SHA256      *string `json:"sha256"`
}

type oracleReading struct {
	Error      string       `json:"error"`
	Subject    *string      `json:"subject"`
	From       []oracleAddr `json:"from"`
	To         []oracleAddr `json:"to"`
	Cc         []oracleAddr `json:"cc"`
	ReplyTo    []oracleAddr `json:"reply_to"`
	MessageID  *string      `json:"message_id"`
	Date       *string      `json:"date"`
	Text       string       `json:"text"`
	HTML       string       `json:"html"`
	Parts      []oraclePart `json:"parts"`
	Unreliable []string     `json:"unreliable"`
}

// wireForm is a corpus file as an MTA hands it over LMTP, exactly as the
// oracle prepared it: CRLF made LF, one trailing LF dropped, LF made CRLF,
// CRLF appended; a lone CR is left alone.
func wireForm(data []byte) []byte {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	s = strings.TrimSuffix(s, "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n") + "\r\n")
}

// compareField returns "" when the payload agrees with the oracle on
// field, or a short description of the difference.
func compareField(field string, o *oracleReading, m *wire.Message) string {
	switch field {
	case "subject":
		return diffString(collapse(deref(o.Subject)), collapse(m.Subject))
	case "from":
		return diffAddrs(o.From, m.From)
	case "to":
		return diffAddrs(o.To, m.To)
	case "cc":
		return diffAddrs(o.Cc, m.Cc)
	case "reply_to":
		return diffAddrs(o.ReplyTo, m.ReplyTo)
	case "message_id":
		return diffString(deref(o.MessageID), m.MessageID)
	case "date":
		return diffDate(o.Date, m.Date)
	case "text":
		return diffBody(o.Text, m.Text)
	case "html":
		return diffBody(o.HTML, m.HTML)
	case "parts":
		return diffParts(o.Parts, slices.Concat(m.Attachments, m.Inlines))
	}
	panic("unknown field " + field)
}

// deref reads the oracle's null as "".
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// diffString shows where two strings part, with some context.
func diffString(want, got string) string {
	if want == got {
		return ""
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-30)
	return fmt.Sprintf("at byte %d of %d/%d: want %q, got %q", i, len(want), len(got),
		want[from:min(len(want), i+60)], got[from:min(len(got), i+60)])
}

func diffAddrs(want []oracleAddr, got []wire.Address) string {
	w := make([]string, len(want))
	for i, a := range want {
		w[i] = strings.ToLower(a.Address) + " " + collapse(a.Name)
	}
	g := make([]string, len(got))
	for i, a := range got {
		g[i] = strings.ToLower(a.Address) + " " + collapse(a.Name)
	}
	if slices.Equal(w, g) {
		return ""
	}
	return fmt.Sprintf("want %q, got %q", w, g)
}

func diffDate(want *string, got *time.Time) string {
	if want == nil {
		return "" // null matches a payload with or without a date
	}
	w, err := time.Parse(time.RFC3339, *want)
	if err != nil {
		return fmt.Sprintf("oracle date %q: %v", *want, err)
	}
	if got == nil {
		return fmt.Sprintf("want %s, got none", *want)
	}
	if !w.Equal(*got) {
		return fmt.Sprintf("want %s, got %s", *want, got.Format(time.RFC3339))
	}
	return ""
}

func diffBody(want, got string) string {
	got = strings.ReplaceAll(got, "\r\n", "\n")
	return diffString(strings.TrimRight(want, " \t\r\n"), strings.TrimRight(got, " \t\r\n"))
}

// diffParts compares the parts as a multiset of (content type, sha256),
// then the file names of the matched pairs; a message/* part, whose bytes
// the oracle does not keep, is matched on its content type alone.
func diffParts(want []oraclePart, got []wire.Attachment) string {
	used := make([]bool, len(got))
	var missing, names []string
	// match pairs p with an unused part: same content type, and the same
	// sha256 unless anySum, and the same name if sameName.
	match := func(p oraclePart, anySum, sameName bool) bool {
		for i, a := range got {
			if used[i] || !strings.EqualFold(a.ContentType, p.ContentType) ||
				(!anySum && a.SHA256 != *p.SHA256) || (sameName && collapse(a.Filename) != collapse(p.Filename)) {
				continue
			}
			used[i] = true
			if collapse(a.Filename) != collapse(p.Filename) {
				names = append(names, fmt.Sprintf("name %q, got %q", p.Filename, a.Filename))
			}
			return true
		}
		return false
	}
	pending := make([]bool, len(want))
	for i, p := range want {
		pending[i] = p.SHA256 == nil || !match(p, false, true)
	}
	for i, p := range want {
		if pending[i] && p.SHA256 != nil && !match(p, false, false) {
			missing = append(missing, fmt.Sprintf("%s %q %d bytes", p.ContentType, p.Filename, *p.Size))
		}
	}
	for _, p := range want {
		if p.SHA256 == nil && !match(p, true, false) {
			missing = append(missing, fmt.Sprintf("%s %q", p.ContentType, p.Filename))
		}
	}
	var extra []string
	for i, a := range got {
		if !used[i] {
			extra = append(extra, fmt.Sprintf("%s %q %d bytes", a.ContentType, a.Filename, a.Size))
		}
	}
	if len(missing)+len(extra)+len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("missing %q, extra %q, %q", missing, extra, names)
}

// derivedText reports the one difference of interpretation the rules
// allow without a record: a payload that fills text from html when the
// message has no text/plain body.
func derivedText(field string, o *oracleReading, m *wire.Message) bool {
	return field == "text" && strings.TrimSpace(o.Text) == "" && o.HTML != "" && m.HTML != ""
}

// disagreementKey names one recorded disagreement.
type disagreementKey struct{ path, field string }

// readDisagreements reads DISAGREEMENTS.tsv: path, field, reason; "#"
// starts a comment line.
func readDisagreements(t *testing.T) map[disagreementKey]string {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "DISAGREEMENTS.tsv"))
	if err != nil {
		t.Fatalf("known disagreements: %v", err)
	}
	defer f.Close()
	known := map[disagreementKey]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") || line == "path\tfield\treason" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 || cols[2] == "" || !slices.Contains(fidelityFields, cols[1]) {
			t.Fatalf("DISAGREEMENTS.tsv:%d: want path, field and reason separated by tabs: %q", n, line)
		}
		k := disagreementKey{cols[0], cols[1]}
		if _, dup := known[k]; dup {
			t.Fatalf("DISAGREEMENTS.tsv:%d: %s %s recorded twice", n, k.path, k.field)
		}
		known[k] = cols[2]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return known
}

type fieldScore struct{ agree, recorded, derived, unreliable int }

// TestFidelity parses every corpus message and compares it with the
// oracle. go test -run Fidelity -v prints the agreement figure.
func TestFidelity(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(corpusDir, "oracle.json"))
	if err != nil {
		t.Fatal(err)
	}
	var oracle map[string]*oracleReading
	if err := json.Unmarshal(raw, &oracle); err != nil {
		t.Fatalf("oracle.json: %v", err)
	}
	known := readDisagreements(t)
	paths := make([]string, 0, len(oracle))
	for p := range oracle {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	score := map[string]*fieldScore{}
	for _, f := range fidelityFields {
		score[f] = &fieldScore{}
	}
	var unexpected []string
	seen := map[disagreementKey]bool{}
	for _, path := range paths {
		o := oracle[path]
		data, err := os.ReadFile(filepath.Join(corpusDir, filepath.FromSlash(path)))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if o.Error != "" {
			for _, f := range fidelityFields {
				score[f].unreliable++
			}
			continue
		}
		m := Parse(wireForm(data), time.Unix(0, 0), Options{})
		for _, field := range fidelityFields {
			s := score[field]
			if slices.Contains(o.Unreliable, field) {
				s.unreliable++
				continue
			}
			d := compareField(field, o, m)
			k := disagreementKey{path, field}
			switch {
			case d == "":
				s.agree++
			case derivedText(field, o, m):
				s.derived++
			default:
				seen[k] = true
				if _, ok := known[k]; ok {
					s.recorded++
				} else {
					unexpected = append(unexpected, fmt.Sprintf("%s\t%s\t%s", path, field, d))
				}
			}
		}
	}

	var total fieldScore
	for _, f := range fidelityFields {
		s := score[f]
		u := len(filterField(unexpected, f))
		t.Logf("%-10s %4d of %4d agree (%5.1f%%); disagree: %d recorded, %d text from html, %d unexpected; %d not comparable",
			f, s.agree, s.agree+s.recorded+s.derived+u, percent(s.agree, s.agree+s.recorded+s.derived+u), s.recorded, s.derived, u, s.unreliable)
		total.agree += s.agree
		total.recorded += s.recorded
		total.derived += s.derived
		total.unreliable += s.unreliable
	}
	comparable := total.agree + total.recorded + total.derived + len(unexpected)
	summary := fmt.Sprintf("fidelity: %d messages, %d of %d comparable fields agree with the oracle (%.1f%%); disagree: %d recorded, %d text from html, %d unexpected; %d not comparable",
		len(paths), total.agree, comparable, percent(total.agree, comparable), total.recorded, total.derived, len(unexpected), total.unreliable)
	t.Log(summary)
	fmt.Println(summary)

	for _, u := range unexpected {
		t.Errorf("disagreement not in DISAGREEMENTS.tsv: %s", u)
	}
	var stale []string
	for k := range known {
		if !seen[k] {
			stale = append(stale, k.path+"\t"+k.field)
		}
	}
	sort.Strings(stale)
	for _, s := range stale {
		t.Errorf("recorded disagreement no longer happens, remove it from DISAGREEMENTS.tsv: %s", s)
	}
}

func filterField(lines []string, field string) []string {
	var out []string
	for _, l := range lines {
		if strings.Split(l, "\t")[1] == field {
			out = append(out, l)
		}
	}
	return out
}

func percent(n, of int) float64 {
	if of == 0 {
		return 100
	}
	return 100 * float64(n) / float64(of)
}

// TestOracleCurrent recomputes oracle.json where the Python it was made
// with is installed, so that the file the suite trusts is the oracle's
// own reading; elsewhere the file is used as it is.
func TestOracleCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python over the whole corpus")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	out, err := exec.Command(py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])").Output()
	if err != nil || strings.TrimSpace(string(out)) != "3.11" {
		t.Skipf("oracle.json is reproducible on Python 3.11 only (have %s)", strings.TrimSpace(string(out)))
	}
	cmd := exec.Command(py, filepath.Join(corpusDir, "oracle.py"), "--check")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("oracle.py --check: %v\n%s", err, msg)
	}
}
