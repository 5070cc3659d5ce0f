package main

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// A token in a webhook URL's query, or a user name and password in it,
// is a credential: the log shows each URL as scheme, host and path only,
// in the start line, every delivery line (a failed one with its error
// included), the check lines and the routes, while the requests still
// carry them.
func TestLogsShowNoURLCredentials(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "user" || pass != "pass" {
			t.Errorf("Basic auth %q %q %v, want user pass", user, pass, ok)
		}
		if r.URL.Query().Get("token") != "SECRET123" {
			t.Errorf("the request lost its token: %s", r.URL)
		}
		if strings.HasPrefix(d.Payload.Envelope.To, "busy") {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	routed := newReceiver(t, nil)
	check := webhooktest.NewReceiver[wire.CheckPayload](t, nil)
	host := strings.TrimPrefix(rc.URL, "http://")
	down := freeAddr(t) // nobody listens: the delivery fails with an error
	b := startBridge(t, "http://user:pass@"+host+"/hook?token=SECRET123#SECRET123",
		"WEBHOOK_ROUTES=*@routed.test="+routed.URL+"/routed?token=SECRET123,*@down.test=http://user:pass@"+down+"/down?token=SECRET123",
		"CHECK_URL="+check.URL+"/check?token=SECRET123",
		"LOG_LEVEL=debug", "RETRY_MAX_ATTEMPTS=2")

	cl := lmtptest.LHLO(t, b.lmtpAddr)
	replies := cl.Send("a@example.org", []string{"ok@example.com", "busy@example.com", "r@routed.test", "d@down.test"}, "Subject: logs\n\nhi\n")
	for i, want := range []string{"250 ", "451 ", "250 ", "451 "} {
		if !strings.HasPrefix(replies[i], want) {
			t.Errorf("reply %d: %q, want %s", i, replies[i], want)
		}
	}
	cl.Expect("221 ", "QUIT")
	if len(check.Requests()) != 5 || len(routed.deliveries()) != 1 {
		t.Errorf("%d checks and %d routed deliveries, want 5 and 1", len(check.Requests()), len(routed.deliveries()))
	}
	b.stop(t)

	out := b.output.String()
	for _, secret := range []string{"SECRET123", "user", "pass"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{
		`"webhook":"http://` + host + `/hook"`,
		`"url":"http://` + host + `/hook"`,
		`*@routed.test=` + routed.URL + `/routed`,
		`"url":"http://` + down + `/down"`,
		`"check":"` + check.URL + `/check"`,
		`"message":"check"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
}

// A URL refused at start-up is named without its credentials too.
func TestConfigurationErrorsShowNoURLCredentials(t *testing.T) {
	for _, env := range [][]string{
		{"WEBHOOK_URL=http://user:pass@hook.test:x/hook?token=SECRET123"},
		{"WEBHOOK_URL=ftp://user:pass@hook.test/hook?token=SECRET123"},
		{"WEBHOOK_URL=http://hook.test", "WEBHOOK_ROUTES=*=http://user:pass@hook.test/%zz?token=SECRET123"},
		{"WEBHOOK_URL=http://hook.test", "CHECK_URL=mailto://user:pass@hook.test/?token=SECRET123"},
	} {
		cmd := exec.Command(bridgeBinary(t))
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 {
			t.Errorf("%v: %v, want exit 2 (%s)", env, err, out)
		}
		for _, secret := range []string{"SECRET123", "user", "pass"} {
			if strings.Contains(string(out), secret) {
				t.Errorf("%v: the error shows %q: %s", env, secret, out)
			}
		}
	}
}
