package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// testSecret is the example secret of the Standard Webhooks
// specification: a 24-byte key, the shortest allowed.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// TestSignaturesVerifyWithReferenceLibrary checks the requests the running
// bridge signs with the Standard Webhooks reference library, not with our
// own code: every attempt verifies, and a retry carries the same id and
// body with a later timestamp and its own signature.
func TestSignaturesVerifyWithReferenceLibrary(t *testing.T) {
	key, err := wire.ParseSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, attempt int) {
		if attempt == 1 {
			// Retry-After puts the retry in a later second, so that the
			// two attempts cannot share a timestamp.
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	addr := startBridge(t, rc.URL, func(c *webhook.Config, _ *lmtp.Config) {
		c.Secret = key
		c.Retry.MaxAttempts = 2
	})
	if r := lhlo(t, addr).Send("alice@example.org", []string{"bob@example.com"}, simpleMessage); r[0] != "250 2.0.0 <bob@example.com> delivered" {
		t.Fatalf("reply %q", r[0])
	}
	reqs := rc.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d attempts, want 2", len(reqs))
	}

	wh, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		if err := wh.Verify(r.Body, r.Header); err != nil {
			t.Errorf("attempt %d: the reference library refuses it: %v", i+1, err)
		}
	}
	first, second := reqs[0].Header, reqs[1].Header
	if first.Get("webhook-id") != second.Get("webhook-id") || !bytes.Equal(reqs[0].Body, reqs[1].Body) {
		t.Errorf("the retry changed the id or the body")
	}
	t1, _ := strconv.ParseInt(first.Get("webhook-timestamp"), 10, 64)
	t2, _ := strconv.ParseInt(second.Get("webhook-timestamp"), 10, 64)
	if t2 <= t1 {
		t.Errorf("timestamps %d then %d: the retry must be stamped afresh", t1, t2)
	}
	if first.Get("webhook-signature") == second.Get("webhook-signature") {
		t.Errorf("both attempts carry the signature %s", first.Get("webhook-signature"))
	}

	// The signature covers the body, the id and the timestamp.
	body := reqs[1].Body
	tampered := map[string]func() ([]byte, http.Header){
		"body": func() ([]byte, http.Header) {
			return bytes.Replace(body, []byte("Hello"), []byte("Jello"), 1), second
		},
		"id": func() ([]byte, http.Header) {
			h := second.Clone()
			h.Set("webhook-id", "msg_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
			return body, h
		},
		"timestamp": func() ([]byte, http.Header) {
			h := second.Clone()
			h.Set("webhook-timestamp", strconv.FormatInt(t2-1, 10))
			return body, h
		},
	}
	for what, f := range tampered {
		b, h := f()
		if err := wh.Verify(b, h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			t.Errorf("%s changed: Verify says %v, want no matching signature", what, err)
		}
	}
	other, _ := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err := other.Verify(body, second); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Errorf("another secret: Verify says %v", err)
	}
	// And it is exactly the reference library's own signature.
	if sig, _ := wh.Sign(second.Get("webhook-id"), time.Unix(t2, 0), body); sig != second.Get("webhook-signature") {
		t.Errorf("signature %s, the reference library signs %s", second.Get("webhook-signature"), sig)
	}
}

// TestCheckRequestsAreSigned verifies CHECK_URL requests with the
// reference library too.
func TestCheckRequestsAreSigned(t *testing.T) {
	key, err := wire.ParseSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	cr := newCheckRecorder(t)
	rc := newReceiver(t, nil)
	addr := startBridge(t, rc.URL, withChecker(t, cr.URL, key))
	lhlo(t, addr).Send("alice@example.org", []string{"bob@example.com"}, simpleMessage)
	wh, _ := standardwebhooks.NewWebhook(testSecret)
	reqs := cr.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d check requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if err := wh.Verify(r.Body, r.Header); err != nil {
			t.Errorf("check request %s: %v", r.Body, err)
		}
	}
	if reqs[0].Header.Get("webhook-id") == reqs[1].Header.Get("webhook-id") {
		t.Errorf("two check requests share the id %s", reqs[0].Header.Get("webhook-id"))
	}
}

func secretOf(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*37 + 11)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// TestParseSecret checks which secrets start the bridge, and that the key
// it takes from one is the key the reference library takes.
func TestParseSecret(t *testing.T) {
	cases := []struct {
		name, secret string
		problem      string // empty: accepted
	}{
		{"empty: unsigned", "", ""},
		{"specification example, 24 bytes", testSecret, ""},
		{"32 bytes", secretOf(32), ""},
		{"64 bytes", secretOf(64), ""},
		{"23 bytes", secretOf(23), "24 to 64 bytes"},
		{"65 bytes", secretOf(65), "24 to 64 bytes"},
		{"prefix only", "whsec_", "24 to 64 bytes"},
		{"no prefix", strings.TrimPrefix(testSecret, "whsec_"), `must start with "whsec_"`},
		{"upper-case prefix", "WHSEC_" + strings.TrimPrefix(testSecret, "whsec_"), `must start with "whsec_"`},
		{"leading space", " " + testSecret, `must start with "whsec_"`},
		{"not base64", "whsec_MfKQ9r8GKYqrTwjUPD8I*PZIo2LaLaSw", "not base64"},
		{"URL alphabet", "whsec_" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff}, 16)), "not base64"},
		{"unpadded", "whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 25)), "not base64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key, err := wire.ParseSecret(c.secret)
			if c.problem != "" {
				if err == nil || !strings.Contains(err.Error(), c.problem) {
					t.Fatalf("error %v, want one saying %q", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.secret == "" {
				if key != nil {
					t.Errorf("key %x for an empty secret", key)
				}
				return
			}
			wh, err := standardwebhooks.NewWebhook(c.secret)
			if err != nil {
				t.Fatal(err)
			}
			ts := time.Unix(1700000000, 0)
			want, _ := wh.Sign("msg_x", ts, []byte(`{"a":1}`))
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte(`msg_x.1700000000.{"a":1}`))
			if got := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want {
				t.Errorf("key %x signs %s, the reference library %s", key, got, want)
			}
		})
	}
}

// TestMalformedSecretStopsStartup runs the real binary: a bad
// WEBHOOK_SECRET is a start-up error, exit status 2, one line on stderr
// naming the variable.
func TestMalformedSecretStopsStartup(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binary")
	}
	bin := filepath.Join(t.TempDir(), "lmtp-webhook")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cases := []struct{ name, secret, problem string }{
		{"no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", `must start with "whsec_"`},
		{"not base64", "whsec_not-base64!", "not base64"},
		{"short key", secretOf(16), "24 to 64 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin)
			cmd.Env = []string{
				"WEBHOOK_URL=http://127.0.0.1:9/hook",
				"WEBHOOK_SECRET=" + c.secret,
				"LMTP_LISTEN=127.0.0.1:0",
				"HTTP_LISTEN=",
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("exit: %v, want status 2 (stderr %q)", err, stderr.String())
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
				t.Errorf("stderr %q, want exactly one line", msg)
			}
			if !strings.Contains(msg, "WEBHOOK_SECRET") || !strings.Contains(msg, c.problem) {
				t.Errorf("stderr %q, want WEBHOOK_SECRET and %q", msg, c.problem)
			}
			if strings.Contains(msg, c.secret) && c.secret != "" {
				t.Errorf("stderr %q repeats the secret", msg)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q", stdout.String())
			}
		})
	}
}
