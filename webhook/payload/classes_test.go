package payload

import (
	"os"
	"path/filepath"
	"reflect"
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
