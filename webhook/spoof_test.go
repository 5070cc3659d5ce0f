package webhook_test

import (
	"os"
	"testing"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// TestDisplayNameIsNeverAMailbox sends a message whose From display name
// is an address over LMTP: the webhook must get one mailbox, the real
// one, so that a receiver reading from[0] is not deceived (issue 15,
// class 1).
func TestDisplayNameIsNeverAMailbox(t *testing.T) {
	data, err := os.ReadFile("../testdata/corpus/classes/01-at-in-display-name.eml")
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, nil)
	addr := startBridge(t, rc.URL, nil)
	r := lhlo(t, addr).Send("bounce@attacker.example", []string{"customer@example.net"}, string(data))
	if r[0] != "250 2.0.0 <customer@example.net> delivered" {
		t.Fatalf("reply %q", r[0])
	}
	reqs := rc.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	from := reqs[0].Payload.From
	want := wire.Address{Name: "billing@bank.example", Address: "noreply@attacker.example"}
	if len(from) != 1 || from[0] != want {
		t.Errorf("from = %+v, want exactly [%+v]", from, want)
	}
}
