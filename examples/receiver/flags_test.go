package main

import (
	"strings"
	"testing"
)

// TestFlagsThroughTheBridge: the line of each delivery names what the
// bridge's classification says about its sender.
func TestFlagsThroughTheBridge(t *testing.T) {
	rc := startReceiver(t, map[string]string{"WEBHOOK_SECRET": secret}, nil)
	cases := []struct{ subject, from, header, want string }{
		{"Out of office", "", "Auto-Submitted: auto-replied\r\n", `flags="auto_reply"`},
		{"Weekly digest", "list-bounces@example.org", "List-Id: <dev.lists.example.org>\r\nPrecedence: list\r\n", `flags="list,bulk"`},
		{"Lunch", "alice@example.org", "", `flags=""`},
	}
	for _, c := range cases {
		msg := message("bob@example.com")
		msg.Envelope.From = c.from
		msg.Data = []byte("From: someone@example.org\r\nSubject: " + c.subject + "\r\n" + c.header + "\r\nHi.\r\n")
		if r := deliver(t, rc, msg)[0]; r == nil || r.Code != 250 {
			t.Fatalf("%s: reply %v", c.subject, r)
		}
	}
	for _, c := range cases {
		found := false
		for l := range strings.SplitSeq(rc.out.String(), "\n") {
			if strings.Contains(l, `subject="`+c.subject+`"`) {
				found = true
				if !strings.Contains(l, " "+c.want+" ") {
					t.Errorf("line %q, want %s", l, c.want)
				}
			}
		}
		if !found {
			t.Errorf("no line for %q in:\n%s", c.subject, rc.out.String())
		}
	}
}
