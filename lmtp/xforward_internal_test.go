package lmtp

import (
	"net/netip"
	"strings"
	"testing"
)

// TestParseXForward holds the attribute parser to what Postfix's smtp and
// lmtp clients send (lmtp_send_xforward_command = yes) and to what
// XFORWARD_README forbids.
func TestParseXForward(t *testing.T) {
	prev := Client{IP: netip.MustParseAddr("192.0.2.1"), Port: 25, Name: "old.example", Helo: "old", Proto: "SMTP"}
	tests := []struct {
		name string
		args string
		from Client
		want Client
		bad  bool
	}{
		{name: "postfix, first command", args: " NAME=mail.example.com ADDR=192.0.2.7 PORT=40123 PROTO=ESMTP HELO=mail.example.com",
			want: Client{IP: netip.MustParseAddr("192.0.2.7"), Port: 40123, Name: "mail.example.com", Helo: "mail.example.com", Proto: "ESMTP"}},
		{name: "postfix, second command", args: " IDENT=4ZbQ1x2yz SOURCE=REMOTE", from: prev,
			want: Client{IP: prev.IP, Port: 25, Name: "old.example", Helo: "old", Proto: "SMTP", Ident: "4ZbQ1x2yz"}},
		{name: "IPv6 with prefix", args: " ADDR=IPV6:2001:db8::25",
			want: Client{IP: netip.MustParseAddr("2001:db8::25")}},
		{name: "IPv6 prefix in lower case", args: " ADDR=ipv6:2001:db8::25",
			want: Client{IP: netip.MustParseAddr("2001:db8::25")}},
		{name: "IPv4-mapped is IPv4", args: " ADDR=IPV6:::ffff:192.0.2.9",
			want: Client{IP: netip.MustParseAddr("192.0.2.9")}},
		{name: "unavailable clears", args: " NAME=[UNAVAILABLE] ADDR=[unavailable] PORT=[TEMPUNAVAIL]", from: prev,
			want: Client{Helo: "old", Proto: "SMTP"}},
		{name: "xtext", args: " HELO=a+2Bb+3Dc", want: Client{Helo: "a+b=c"}},
		{name: "xtext lower-case hex", args: " HELO=a+2bb", want: Client{Helo: "a+b"}},
		{name: "names in any case, tabs and runs of spaces", args: "\tname=h.example   helo=h",
			want: Client{Name: "h.example", Helo: "h"}},
		{name: "local source", args: " SOURCE=LOCAL", want: Client{}},
		{name: "no attribute", args: "", from: prev, want: prev, bad: true},
		{name: "no value", args: " NAME", from: prev, want: prev, bad: true},
		{name: "unknown attribute", args: " NAME=x COLOR=blue", from: prev, want: prev, bad: true},
		{name: "bad address", args: " ADDR=999.1.1.1", from: prev, want: prev, bad: true},
		{name: "address with zone", args: " ADDR=IPV6:fe80::1%eth0", bad: true},
		{name: "port out of range", args: " PORT=65536", bad: true},
		{name: "port not a number", args: " PORT=25x", bad: true},
		{name: "bad source", args: " SOURCE=ELSEWHERE", bad: true},
		{name: "xtext cut short", args: " HELO=ab+4", bad: true},
		{name: "xtext not hex", args: " HELO=ab+G1", bad: true},
		{name: "xtext decodes to a control byte", args: " HELO=a+0Db", bad: true},
		{name: "xtext decodes to a space", args: " HELO=a+20b", bad: true},
		{name: "8-bit value", args: " HELO=h\xc3\xa9", bad: true},
		{name: "value too long", args: " NAME=" + strings.Repeat("n", 256), bad: true},
		{name: "value at the limit", args: " NAME=" + strings.Repeat("n", 255), want: Client{Name: strings.Repeat("n", 255)}},
		{name: "proto too long", args: " PROTO=" + strings.Repeat("P", 65), bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseXForward(tt.args, tt.from)
			if (err != nil) != tt.bad {
				t.Fatalf("error %v, want bad=%v", err, tt.bad)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestScanCommands feeds the command scanner byte strings, whole and
// split at every byte, and checks which bytes go to go-smtp and which
// lines are taken out as XFORWARD commands.
func TestScanCommands(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		smtp  string   // what go-smtp is given
		taken []string // the XFORWARD lines taken out
	}{
		{name: "no XFORWARD", in: "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\n", smtp: "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\n"},
		{name: "pipelined before MAIL", in: "XFORWARD ADDR=192.0.2.1\r\nXFORWARD HELO=h\r\nMAIL FROM:<a@x>\r\n",
			smtp: "MAIL FROM:<a@x>\r\n", taken: []string{"XFORWARD ADDR=192.0.2.1\r\n", "XFORWARD HELO=h\r\n"}},
		{name: "between commands", in: "RSET\r\nxforward NAME=n\nNOOP\r\n",
			smtp: "RSET\r\nNOOP\r\n", taken: []string{"xforward NAME=n\n"}},
		{name: "no attributes is still XFORWARD", in: "XFORWARD\r\n", taken: []string{"XFORWARD\r\n"}},
		{name: "a longer word is not XFORWARD", in: "XFORWARDED x\r\nXFORWAR\r\n", smtp: "XFORWARDED x\r\nXFORWAR\r\n"},
		{name: "not at a line start", in: "NOOP XFORWARD NAME=n\r\n", smtp: "NOOP XFORWARD NAME=n\r\n"},
		{name: "inside a BDAT chunk", in: "BDAT 20\r\nXFORWARD NAME=evil\r\nXFORWARD NAME=n\r\n",
			smtp: "BDAT 20\r\nXFORWARD NAME=evil\r\n", taken: []string{"XFORWARD NAME=n\r\n"}},
		{name: "BDAT LAST, any case", in: "bdat 6 last\r\nXFOR\r\nXFORWARD HELO=h\r\n",
			smtp: "bdat 6 last\r\nXFOR\r\n", taken: []string{"XFORWARD HELO=h\r\n"}},
		{name: "a malformed BDAT has no chunk", in: "BDAT x\r\nXFORWARD HELO=h\r\n",
			smtp: "BDAT x\r\n", taken: []string{"XFORWARD HELO=h\r\n"}},
	}
	for _, tt := range tests {
		for split := 0; split <= len(tt.in); split++ {
			c := &conn{srv: &Server{cfg: Config{MaxLineLength: 2000}}}
			var smtp []byte
			var taken []string
			queue := []byte{}
			for _, chunk := range []string{tt.in[:split], tt.in[split:]} {
				queue = append(queue, chunk...)
				for {
					plain, line := c.scanCommands(queue)
					smtp = append(smtp, queue[:plain]...)
					queue = queue[plain:]
					if line == 0 {
						break
					}
					taken = append(taken, string(queue[:line]))
					queue = queue[line:]
				}
			}
			if string(smtp) != tt.smtp || len(queue) != 0 || strings.Join(taken, "|") != strings.Join(tt.taken, "|") {
				t.Errorf("%s, split at %d: go-smtp gets %q, taken %q, left %q", tt.name, split, smtp, taken, queue)
			}
		}
	}
}
