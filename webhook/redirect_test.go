package webhook_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// errorDelivery returns the problem of the first delivery line logged at
// error level for rcpt, or "" when there is none.
func errorDelivery(t *testing.T, log, rcpt string) string {
	t.Helper()
	for line := range strings.SplitSeq(log, "\n") {
		var ev struct {
			Level, Message, Rcpt, Problem string
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Level == "error" && ev.Message == "delivery" && ev.Rcpt == rcpt {
			return ev.Problem
		}
	}
	return ""
}

func TestRedirectsStayInTheirOrigin(t *testing.T) {
	other := newReceiver(t, nil)
	hops := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, _ int) {
		switch r.URL.Path {
		case "/307":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		case "/308":
			http.Redirect(w, r, "http://"+r.Host+"/final", http.StatusPermanentRedirect)
		case "/elsewhere":
			http.Redirect(w, r, other.URL+"/stolen", http.StatusTemporaryRedirect)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusPermanentRedirect)
		}
	})
	t.Run("307 and 308 in the same origin are followed with the body", func(t *testing.T) {
		for _, path := range []string{"/307", "/308"} {
			addr := startBridge(t, hops.URL+path, nil)
			rcpt := strings.TrimPrefix(path, "/") + "@example.com"
			if r := lhlo(t, addr).Send("a@example.org", []string{rcpt}, simpleMessage); r[0] != "250 2.0.0 <"+rcpt+"> delivered" {
				t.Errorf("%s: reply %q", path, r[0])
			}
			got := forRcpt(hops, rcpt)
			if len(got) != 2 || got[1].Payload.Subject != "Hello" {
				t.Errorf("%s: %d requests, want the first and the redirected one", path, len(got))
			}
		}
	})
	t.Run("another port receives nothing", func(t *testing.T) {
		log := &webhooktest.Buffer{}
		addr := startBridge(t, hops.URL+"/elsewhere", func(c *webhook.Config, l *lmtp.Config) {
			c.Headers = map[string]string{"X-Api-Key": "k3y"}
			c.Secret = []byte("0123456789abcdef0123456789abcdef")
			logTo(t, log)(c, l)
		})
		if r := lhlo(t, addr).Send("a@example.org", []string{"r@example.com"}, simpleMessage); r[0] != "451 4.3.0 <r@example.com> webhook redirected to another origin" {
			t.Errorf("reply %q", r[0])
		}
		if n := len(other.Requests()); n != 0 {
			t.Errorf("the other origin got %d requests, want none", n)
		}
		if p := errorDelivery(t, log.String(), "r@example.com"); !strings.Contains(p, "another origin") {
			t.Errorf("no error log naming the redirect (problem %q):\n%s", p, log.String())
		}
	})
	t.Run("loop", func(t *testing.T) {
		addr := startBridge(t, hops.URL+"/loop", nil)
		if r := lhlo(t, addr).Send("a@example.org", []string{"loop@example.com"}, simpleMessage); r[0] != "451 4.3.0 <loop@example.com> webhook redirected too many times" {
			t.Errorf("reply %q", r[0])
		}
	})
}

// An https webhook that redirects to http on the same host and port
// would have the body, and Basic credentials, sent in clear text.
func TestRedirectFromHTTPSToHTTPIsNotFollowed(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/plain", http.StatusTemporaryRedirect)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	log := &webhooktest.Buffer{}
	u := strings.Replace(srv.URL, "https://", "https://hook:s3cret@", 1) + "/hook"
	addr := startBridge(t, u, func(c *webhook.Config, l *lmtp.Config) {
		c.Transport = srv.Client().Transport
		logTo(t, log)(c, l)
	})
	if r := lhlo(t, addr).Send("a@example.org", []string{"r@example.com"}, simpleMessage); r[0] != "451 4.3.0 <r@example.com> webhook redirected to another origin" {
		t.Errorf("reply %q", r[0])
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections to the server, want 1: the plain-text request was made", n)
	}
	if p := errorDelivery(t, log.String(), "r@example.com"); !strings.Contains(p, "to another origin, http://127.0.0.1:") {
		t.Errorf("no error log naming the redirect (problem %q)", p)
	}
	if strings.Contains(log.String(), "s3cret") {
		t.Errorf("the password reached the log:\n%s", log.String())
	}
}
