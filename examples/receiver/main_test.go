package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

var body = []byte(`{"id":"msg_test","envelope":{"to":"bob@example.com","from":"alice@example.org","recipients":["bob@example.com"],"helo":"mx","remote_addr":"127.0.0.1:1","size":10},"subject":"Hi"}`)

// signed returns the headers of a request signed at ts by the Standard
// Webhooks reference library.
func signed(t *testing.T, id string, ts time.Time, b []byte) http.Header {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign(id, ts, b)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", sig)
	return h
}

func TestVerify(t *testing.T) {
	key, err := wire.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	good := signed(t, "msg_1", now, body)
	other := signed(t, "msg_1", now, []byte("something else"))
	cases := []struct {
		name    string
		id, ts  string
		sigs    string
		body    []byte
		at      time.Time
		problem string // empty: verified
	}{
		{"good", "msg_1", good.Get("webhook-timestamp"), good.Get("webhook-signature"), body, now, ""},
		{"good, 4m59s old", "msg_1", good.Get("webhook-timestamp"), good.Get("webhook-signature"), body, now.Add(299 * time.Second), ""},
		{"rotation: one of several", "msg_1", good.Get("webhook-timestamp"), "v1,AAAA " + other.Get("webhook-signature") + " " + good.Get("webhook-signature"), body, now, ""},
		{"body changed", "msg_1", good.Get("webhook-timestamp"), good.Get("webhook-signature"), append([]byte(" "), body...), now, "no valid signature"},
		{"id changed", "msg_2", good.Get("webhook-timestamp"), good.Get("webhook-signature"), body, now, "no valid signature"},
		{"signature of another body", "msg_1", good.Get("webhook-timestamp"), other.Get("webhook-signature"), body, now, "no valid signature"},
		{"unknown version", "msg_1", good.Get("webhook-timestamp"), "v2," + strings.TrimPrefix(good.Get("webhook-signature"), "v1,"), body, now, "no valid signature"},
		{"not base64", "msg_1", good.Get("webhook-timestamp"), "v1,***", body, now, "no valid signature"},
		{"stale: replayed 6 minutes later", "msg_1", good.Get("webhook-timestamp"), good.Get("webhook-signature"), body, now.Add(6 * time.Minute), "outside tolerance"},
		{"from the future", "msg_1", good.Get("webhook-timestamp"), good.Get("webhook-signature"), body, now.Add(-6 * time.Minute), "outside tolerance"},
		{"bad timestamp", "msg_1", "yesterday", good.Get("webhook-signature"), body, now, "bad webhook-timestamp"},
		{"unsigned", "msg_1", good.Get("webhook-timestamp"), "", body, now, "missing"},
		{"no id", "", good.Get("webhook-timestamp"), good.Get("webhook-signature"), body, now, "missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := verify(key, 5*time.Minute, c.id, c.ts, c.sigs, c.body, c.at)
			switch {
			case c.problem == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.problem != "" && (err == nil || !strings.Contains(err.Error(), c.problem)):
				t.Errorf("error %v, want %q", err, c.problem)
			}
		})
	}
}

// serve sends one request to h and returns the recorded answer.
func serve(h *handler, header http.Header, b []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/inbound", bytes.NewReader(b))
	req.Header = header
	rec := httptest.NewRecorder()
	h.routes().ServeHTTP(rec, req)
	return rec
}

func TestReplaysAndDuplicates(t *testing.T) {
	cfg, err := loadConfig(func(name string) string { return map[string]string{"WEBHOOK_SECRET": secret}[name] })
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	h := newHandler(cfg, &out)
	now := time.Now()
	h.now = func() time.Time { return now }

	captured := signed(t, "msg_1", now, body)
	if rec := serve(h, captured.Clone(), body); rec.Code != 200 {
		t.Fatalf("first delivery: %d %s", rec.Code, rec.Body)
	}
	// The same request again, within the tolerance: a duplicate, not a
	// second delivery.
	if rec := serve(h, captured.Clone(), body); rec.Code != 200 {
		t.Fatalf("duplicate: %d %s", rec.Code, rec.Body)
	}
	// The MTA's redelivery: a new timestamp and signature, the same id.
	if rec := serve(h, signed(t, "msg_1", now.Add(time.Minute), body), body); rec.Code != 200 {
		t.Fatalf("redelivery: %d %s", rec.Code, rec.Body)
	}
	// The captured request replayed later: refused.
	h.now = func() time.Time { return now.Add(10 * time.Minute) }
	rec := serve(h, captured.Clone(), body)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("replay after the tolerance: %d, want 401", rec.Code)
	}
	// Unsigned: refused.
	unsigned := captured.Clone()
	unsigned.Del("webhook-signature")
	if rec := serve(h, unsigned, body); rec.Code != http.StatusUnauthorized {
		t.Errorf("unsigned: %d, want 401", rec.Code)
	}

	want := "delivery id=msg_1 from=\"alice@example.org\" to=\"bob@example.com\" subject=\"Hi\" size=10 attachments=0 inlines=0 errors=0\n" +
		"duplicate id=msg_1 to=\"bob@example.com\"\n" +
		"duplicate id=msg_1 to=\"bob@example.com\"\n" +
		"refused id=msg_1: webhook-timestamp outside tolerance (replay?)\n" +
		"refused id=msg_1: missing webhook-id, webhook-timestamp or webhook-signature\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestReplyChoice(t *testing.T) {
	cases := []struct {
		reply   string
		status  int
		body    string
		accepts bool
		problem string
	}{
		{"", 200, "", true, ""},
		{"204", 204, "", true, ""},
		{"503", 503, "", false, ""},
		{"404", 404, "", false, ""},
		{` {"code":550,"enhanced_code":"5.1.1","message":"no"} `, 200, `{"code":550,"enhanced_code":"5.1.1","message":"no"}`, false, ""},
		{`{"code":250,"message":"queued"}`, 200, `{"code":250,"message":"queued"}`, true, ""},
		{`{"message":"thanks"}`, 200, `{"message":"thanks"}`, true, ""},
		{"ok", 0, "", false, "want an HTTP status"},
		{"700", 0, "", false, "want an HTTP status"},
		{"199", 0, "", false, "want an HTTP status"},
		{`{"code":"550"}`, 0, "", false, "not a JSON answer"},
	}
	for _, c := range cases {
		t.Run(c.reply, func(t *testing.T) {
			cfg, err := loadConfig(func(name string) string { return map[string]string{"RECEIVER_REPLY": c.reply}[name] })
			if c.problem != "" {
				if err == nil || !strings.Contains(err.Error(), c.problem) || !strings.Contains(err.Error(), "RECEIVER_REPLY") {
					t.Fatalf("error %v, want RECEIVER_REPLY and %q", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			h := newHandler(cfg, &out)
			hdr := http.Header{}
			hdr.Set("webhook-id", "msg_1")
			// Twice: a reply that does not deliver must not make the retry
			// look like a duplicate.
			for attempt := 1; attempt <= 2; attempt++ {
				rec := serve(h, hdr.Clone(), body)
				wantStatus, wantBody := c.status, c.body
				if attempt == 2 && c.accepts {
					wantStatus, wantBody = 200, ""
				}
				if rec.Code != wantStatus || rec.Body.String() != wantBody {
					t.Errorf("attempt %d: %d %q, want %d %q", attempt, rec.Code, rec.Body, wantStatus, wantBody)
				}
				if ct := rec.Header().Get("Content-Type"); (wantBody != "") != (ct == "application/json") {
					t.Errorf("attempt %d: Content-Type %q with body %q", attempt, ct, wantBody)
				}
			}
			deliveries := strings.Count(out.String(), "delivery id=msg_1 ")
			if want := map[bool]int{true: 1, false: 2}[c.accepts]; deliveries != want {
				t.Errorf("%d delivery lines, want %d:\n%s", deliveries, want, out.String())
			}
		})
	}
}

func TestConfig(t *testing.T) {
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.listen != ":9000" || cfg.tolerance != 5*time.Minute || cfg.status != 200 || cfg.body != nil || cfg.key != nil || cfg.printJSON {
		t.Errorf("defaults %+v", cfg)
	}
	env := map[string]string{
		"RECEIVER_LISTEN":     "127.0.0.1:9100",
		"WEBHOOK_SECRET":      secret,
		"RECEIVER_TOLERANCE":  "30s",
		"RECEIVER_PRINT_JSON": "true",
	}
	cfg, err = loadConfig(func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.listen != "127.0.0.1:9100" || cfg.tolerance != 30*time.Second || len(cfg.key) != 24 || !cfg.printJSON {
		t.Errorf("config %+v", cfg)
	}
	for name, bad := range map[string]string{
		"WEBHOOK_SECRET":     "not-a-secret",
		"RECEIVER_TOLERANCE": "-1s",
	} {
		_, err := loadConfig(func(n string) string {
			if n == name {
				return bad
			}
			return ""
		})
		if err == nil || !strings.HasPrefix(err.Error(), name+":") {
			t.Errorf("%s=%s: error %v, want one naming %s", name, bad, err, name)
		}
	}
}

func TestSeenIDsIsBounded(t *testing.T) {
	s := newSeenIDs(3)
	for i := range 10 {
		if !s.add(fmt.Sprintf("msg_%d", i)) {
			t.Fatalf("msg_%d reported as seen", i)
		}
		if n := s.len(); n > 3 {
			t.Fatalf("holds %d ids, capacity 3", n)
		}
	}
	// The three newest are remembered; the oldest were forgotten.
	for _, id := range []string{"msg_7", "msg_8", "msg_9"} {
		if s.add(id) {
			t.Errorf("%s forgotten", id)
		}
	}
	if !s.add("msg_0") {
		t.Errorf("msg_0 still remembered")
	}
}

// TestAgainstTheBridge has the real webhook client deliver, signed, to
// the receiver: one line per delivery, and the MTA's redelivery of the
// same message is acknowledged without a second line.
func TestAgainstTheBridge(t *testing.T) {
	cfg, err := loadConfig(func(name string) string {
		return map[string]string{"WEBHOOK_SECRET": secret, "RECEIVER_PRINT_JSON": "true"}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	srv := httptest.NewServer(newHandler(cfg, out).routes())
	t.Cleanup(srv.Close)

	client, err := webhook.New(webhook.Config{URL: srv.URL + "/inbound", Secret: cfg.key, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	msg := &lmtp.Message{
		Envelope: lmtp.Envelope{From: "alice@example.org", Recipients: []string{"bob@example.com", "carol@example.com"}, Helo: "mx.test", RemoteAddr: "127.0.0.1:2525"},
		Data:     []byte("From: alice@example.org\r\nSubject: Hello there\r\n\r\nHi.\r\n"),
	}
	for range 2 {
		msg.ReceivedAt = time.Now()
		replies := make([]*smtp.SMTPError, len(msg.Recipients))
		client.Deliver(context.Background(), msg, func(i int, r *smtp.SMTPError) { replies[i] = r })
		for i, r := range replies {
			if r == nil || r.Code != 250 {
				t.Fatalf("%s: reply %v", msg.Recipients[i], r)
			}
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var deliveries, duplicates, payloads int
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "delivery id=msg_") && strings.Contains(l, ` from="alice@example.org" `) && strings.Contains(l, ` subject="Hello there" `):
			deliveries++
		case strings.HasPrefix(l, "duplicate id=msg_"):
			duplicates++
		case strings.HasPrefix(l, `{"id":"msg_`):
			payloads++
		default:
			t.Errorf("unexpected line %q", l)
		}
	}
	if deliveries != 2 || duplicates != 2 || payloads != 2 {
		t.Errorf("%d deliveries, %d duplicates, %d payloads printed, want 2 each:\n%s", deliveries, duplicates, payloads, out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the
// test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
