package main

import (
	"bytes"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/auth"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/spam"
)

// TestTrustDefaultsAreThePackages checks that the defaults written in
// TrustEnv's tags are the ones the packages document, so the two cannot
// drift apart.
func TestTrustDefaultsAreThePackages(t *testing.T) {
	typ := reflect.TypeFor[TrustEnv]()
	for field, want := range map[string]time.Duration{"AuthTimeout": auth.DefaultTimeout, "SpamTimeout": spam.DefaultTimeout} {
		f, _ := typ.FieldByName(field)
		got, err := time.ParseDuration(f.Tag.Get("default"))
		if err != nil || got != want {
			t.Errorf("%s defaults to %q, the package to %s", f.Tag.Get("envconfig"), f.Tag.Get("default"), want)
		}
	}
}

// TestTrustConfigurationErrorsExit2 runs the binary with each bad trust
// setting: exit 2 and one line naming the variable.
func TestTrustConfigurationErrorsExit2(t *testing.T) {
	bin := bridgeBinary(t)
	base := []string{"WEBHOOK_URL=http://127.0.0.1:1/hook", "LMTP_LISTEN=127.0.0.1:0", "HTTP_LISTEN="}
	cases := []struct {
		env  []string
		want string
	}{
		{[]string{"AUTH_CHECKS=perhaps"}, "AUTH_CHECKS: invalid"},
		{[]string{"DNS_SERVER=resolver"}, "DNS_SERVER: want host:port"},
		{[]string{"DNS_SERVER=127.0.0.1:53", "AUTH_TIMEOUT=0s"}, "AUTH_TIMEOUT: must be a positive duration"},
		{[]string{"AUTH_CHECKS=false", "AUTH_REJECT_DMARC=true"}, "AUTH_REJECT_DMARC: needs AUTH_CHECKS=true"},
		{[]string{"AUTH_CHECKS=false", "SPAM_URL=ftp://127.0.0.1/"}, "SPAM_URL: spam: URL ftp://127.0.0.1/: scheme must be http or https"},
		{[]string{"AUTH_CHECKS=false", "SPAM_URL=http://127.0.0.1:11333", "SPAM_REJECT_SCORE=lots"}, "SPAM_REJECT_SCORE: want a number"},
		{[]string{"AUTH_CHECKS=false", "SPAM_REJECT_SCORE=15"}, "SPAM_REJECT_SCORE: needs SPAM_URL"},
		{[]string{"AUTH_CHECKS=false", "SPAM_URL=http://127.0.0.1:11333", "SPAM_TIMEOUT=-1s"}, "SPAM_TIMEOUT: must be a positive duration"},
	}
	for _, c := range cases {
		cmd := exec.Command(bin)
		cmd.Env = append(append([]string{}, base...), c.env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("%v: exit %v, want 2 (%s)", c.env, err, stderr.String())
			continue
		}
		out := strings.TrimSpace(stderr.String())
		if strings.Contains(out, "\n") || !strings.Contains(out, c.want) {
			t.Errorf("%v: stderr %q, want one line with %q", c.env, out, c.want)
		}
	}
	out, err := exec.Command(bin, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v", err)
	}
	for _, name := range []string{"AUTH_CHECKS", "DNS_SERVER", "AUTH_TIMEOUT", "AUTH_TRUSTED_AUTHSERV_ID", "AUTH_REJECT_DMARC",
		"SPAM_URL", "SPAM_REJECT_SCORE", "SPAM_TIMEOUT"} {
		if !strings.Contains(string(out), "\n"+name+" ") {
			t.Errorf("-h does not list %s", name)
		}
	}
}
