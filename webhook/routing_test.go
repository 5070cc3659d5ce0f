package webhook_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

func TestRoutesSendEachRecipientToItsURL(t *testing.T) {
	def := newReceiver(t, nil)
	sales := newReceiver(t, nil)
	support := newReceiver(t, nil)
	catchall := newReceiver(t, nil)
	routes, err := webhook.ParseRoutes(strings.Join([]string{
		"support@shop.test=" + support.URL + "/support",
		"*@sales.test=" + sales.URL + "/sales?token=a=b",
		"*=" + catchall.URL,
	}, ","))
	if err != nil {
		t.Fatal(err)
	}
	noCatchall := routes[:2]

	t.Run("most specific wins", func(t *testing.T) {
		addr := startBridge(t, def.URL, func(c *webhook.Config, _ *lmtp.Config) { c.Routes = routes })
		cl := lhlo(t, addr)
		rcpts := []string{"support@shop.test", "Support+urgent@Shop.test", "anna@sales.test", "other@shop.test"}
		for i, r := range cl.Send("a@example.org", rcpts, simpleMessage) {
			if !strings.HasPrefix(r, "250 ") {
				t.Errorf("%s: %q", rcpts[i], r)
			}
		}
		want := map[*receiver][]string{
			support:  {"Support+urgent@Shop.test", "support@shop.test"},
			sales:    {"anna@sales.test"},
			catchall: {"other@shop.test"},
			def:      nil,
		}
		for rc, rs := range want {
			var got []string
			for _, r := range rc.Requests() {
				got = append(got, r.Payload.Envelope.To)
				if r.Payload.Envelope.To == "anna@sales.test" && r.Header.Get("webhook-id") == "" {
					t.Errorf("routed request lacks webhook-id")
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(rs, ",") {
				t.Errorf("receiver got %v, want %v", got, rs)
			}
		}
		// The message was parsed once: every recipient's body carries the
		// same shared bytes after its own id and address.
		var shared string
		for _, rc := range []*receiver{support, sales, catchall} {
			for _, r := range rc.Requests() {
				_, rest, _ := strings.Cut(string(r.Body), `,"from":`)
				if shared == "" {
					shared = rest
				} else if rest != shared {
					t.Errorf("recipients got different message bodies")
				}
			}
		}
		if tag := forRcpt(support, "Support+urgent@Shop.test")[0].Payload.Envelope.Tag; tag != "urgent" {
			t.Errorf("tag %q", tag)
		}
	})
	t.Run("unmatched go to WEBHOOK_URL", func(t *testing.T) {
		addr := startBridge(t, def.URL, func(c *webhook.Config, _ *lmtp.Config) { c.Routes = noCatchall })
		cl := lhlo(t, addr)
		cl.Send("a@example.org", []string{"nobody@else.test"}, simpleMessage)
		if n := len(forRcpt(def, "nobody@else.test")); n != 1 {
			t.Errorf("default receiver got %d requests", n)
		}
	})
}

func TestParseRoutes(t *testing.T) {
	good := []string{"", "a@b.test=http://x", " *@b.test = https://x/y?q=1 , * = http://z ", "x+y@b.test=http://u:p@x"}
	for _, s := range good {
		if _, err := webhook.ParseRoutes(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := map[string]string{
		"nourl":                       "want pattern=url",
		"=http://x":                   "want pattern=url",
		"a@b=ftp://x":                 "scheme",
		"a@b=http://":                 "no host",
		"*@=http://x":                 "want *@domain",
		"*a@b.test=http://x":          "want an address",
		"a@b=http://x,A@B=http://y":   "given twice",
		"plainname=http://x":          "want an address",
		"a@b.test=http://x,*=::bad::": "not a URL",
	}
	for s, want := range bad {
		_, err := webhook.ParseRoutes(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one saying %q", s, err, want)
		}
	}
	rs, _ := webhook.ParseRoutes("a@b.test=http://user:secret@x/p")
	if s := rs.String(); strings.Contains(s, "secret") {
		t.Errorf("String shows the password: %s", s)
	}
}

// newCheckServer answers CHECK_URL requests by the address being checked.
func newCheckServer(t *testing.T) *webhooktest.Receiver[wire.CheckPayload] {
	return webhooktest.NewReceiver(t, func(w http.ResponseWriter, r *http.Request, req *webhooktest.Request[wire.CheckPayload]) {
		p := req.Payload
		who := p.To
		if p.Stage == "mail" {
			who = p.From
		}
		switch strings.SplitN(who, "@", 2)[0] {
		case "spammer":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"code":550,"enhanced_code":"5.7.1","message":"sender blocked"}`)
		case "nobody":
			w.WriteHeader(404)
		case "full":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"code":452,"enhanced_code":"4.2.2","message":"mailbox full"}`)
		case "broken":
			w.WriteHeader(500)
		case "slow":
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		case "liar":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"code":550,"enhanced_code":"4.1.1"}`)
		}
	})
}

func TestCheckAtMailAndRcpt(t *testing.T) {
	cs := newCheckServer(t)
	rc := newReceiver(t, nil)
	addr := startBridgeCheck(t, rc.URL, cs.URL, nil)
	cl := lhlo(t, addr)

	cl.Expect("550 5.7.1 sender blocked", "MAIL FROM:<spammer@bad.test>")
	cl.Expect("250 ", "MAIL FROM:<alice@good.test>")
	cl.Expect("550 5.1.1 no such recipient", "RCPT TO:<nobody@shop.test>")
	cl.Expect("452 4.2.2 mailbox full", "RCPT TO:<full@shop.test>")
	// Faults of the check never refuse for good.
	cl.Expect("451 4.3.0 webhook temporarily failed", "RCPT TO:<broken@shop.test>")
	cl.Expect("451 4.4.1 webhook timed out", "RCPT TO:<slow@shop.test>")
	cl.Expect("451 4.3.0 webhook gave an invalid answer", "RCPT TO:<liar@shop.test>")
	cl.Expect("250 ", "RCPT TO:<bob@shop.test>")
	replies := cl.Data(simpleMessage, 1)
	if replies[0] != "250 2.0.0 <bob@shop.test> delivered" {
		t.Errorf("reply %q", replies[0])
	}
	// Refused recipients never reach the deliveries.
	got := rc.Requests()
	if len(got) != 1 || got[0].Payload.Envelope.To != "bob@shop.test" || strings.Join(got[0].Payload.Envelope.Recipients, ",") != "bob@shop.test" {
		t.Errorf("deliveries %+v", got)
	}

	checks := cs.Requests()
	first := checks[0].Payload
	if first.Stage != "mail" || first.From != "spammer@bad.test" || first.To != "" || first.Helo != "client.test" || !strings.HasPrefix(first.RemoteAddr, "127.0.0.1:") {
		t.Errorf("mail check %+v", first)
	}
	last := checks[len(checks)-1].Payload
	if last.Stage != "rcpt" || last.From != "alice@good.test" || last.To != "bob@shop.test" {
		t.Errorf("rcpt check %+v", last)
	}
}
