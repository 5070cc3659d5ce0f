package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestVerify(t *testing.T) {
	key, err := parseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	good := signed(t, "msg_1", now, body)
	other := signed(t, "msg_1", now, []byte("something else"))
	ts, sig := good.Get("webhook-timestamp"), good.Get("webhook-signature")
	cases := []struct {
		name     string
		id, ts   string
		sigs     string
		body     []byte
		at       time.Time
		problem  string // refused from the headers, before the body is read
		mismatch bool   // refused once the body is read
	}{
		{name: "good", id: "msg_1", ts: ts, sigs: sig, body: body, at: now},
		{name: "good, 4m59s old", id: "msg_1", ts: ts, sigs: sig, body: body, at: now.Add(299 * time.Second)},
		{name: "rotation: one of several", id: "msg_1", ts: ts, sigs: "v1a,AAAA " + other.Get("webhook-signature") + " " + sig, body: body, at: now},
		{name: "body changed", id: "msg_1", ts: ts, sigs: sig, body: append([]byte(" "), body...), at: now, mismatch: true},
		{name: "id changed", id: "msg_2", ts: ts, sigs: sig, body: body, at: now, mismatch: true},
		{name: "signature of another body", id: "msg_1", ts: ts, sigs: other.Get("webhook-signature"), body: body, at: now, mismatch: true},
		{name: "unknown version", id: "msg_1", ts: ts, sigs: "v2," + strings.TrimPrefix(sig, "v1,"), body: body, at: now, problem: "no well-formed v1 signature"},
		{name: "not base64", id: "msg_1", ts: ts, sigs: "v1,***", body: body, at: now, problem: "no well-formed v1 signature"},
		{name: "not 32 bytes", id: "msg_1", ts: ts, sigs: "v1,AAAA", body: body, at: now, problem: "no well-formed v1 signature"},
		{name: "stale: replayed 6 minutes later", id: "msg_1", ts: ts, sigs: sig, body: body, at: now.Add(6 * time.Minute), problem: "outside tolerance"},
		{name: "from the future", id: "msg_1", ts: ts, sigs: sig, body: body, at: now.Add(-6 * time.Minute), problem: "outside tolerance"},
		{name: "bad timestamp", id: "msg_1", ts: "yesterday", sigs: sig, body: body, at: now, problem: "bad webhook-timestamp"},
		{name: "unsigned", id: "msg_1", ts: ts, body: body, at: now, problem: "missing"},
		{name: "no id", ts: ts, sigs: sig, body: body, at: now, problem: "missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("webhook-id", c.id)
			h.Set("webhook-timestamp", c.ts)
			h.Set("webhook-signature", c.sigs)
			s, err := checkSignature(key, 5*time.Minute, h, c.at)
			if c.problem != "" {
				if err == nil || !strings.Contains(err.Error(), c.problem) {
					t.Errorf("error %v, want %q", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused from the headers: %v", err)
			}
			// In pieces, as a body arrives.
			io.Copy(s, iotest.HalfReader(bytes.NewReader(c.body)))
			if s.valid() == c.mismatch {
				t.Errorf("valid %v, want %v", s.valid(), !c.mismatch)
			}
		})
	}
}

// TestSignedBodies sends real requests: a correctly signed body is
// delivered, a tampered one gets 401 and is neither printed nor
// remembered, and a request whose headers fail is refused without its
// body being read.
func TestSignedBodies(t *testing.T) {
	rc := startReceiver(t, map[string]string{"WEBHOOK_SECRET": secret}, nil)
	hdr := signed(t, "msg_1", rc.now(), body)

	tampered := bytes.Replace(body, []byte(`"Hi"`), []byte(`"Hi!"`), 1)
	if r := rc.post(t, hdr, tampered); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "no valid signature") {
		t.Errorf("tampered body: %d %q, want 401", r.status, r.body)
	}
	if out := rc.out.String(); out != "refused id=msg_1: no valid signature\n" {
		t.Errorf("after the tampered body, printed %q", out)
	}
	// The genuine request is a first delivery: the tampered one left no
	// trace in the duplicate set.
	if r := rc.post(t, hdr, body); r.status != http.StatusOK {
		t.Errorf("signed body: %d %q, want 200", r.status, r.body)
	}
	if out := rc.out.String(); !strings.HasSuffix(out, "\ndelivery id=msg_1 from=\"alice@example.org\" to=\"bob@example.com\" subject=\"Hi\" size=10 attachments=0 inlines=0 errors=0 flags=\"\" answer=\"200\"\n") {
		t.Errorf("after the signed body, printed %q", out)
	}

	// A stale timestamp is refused from the headers: of an 8 MiB body, the
	// server reads nothing it does not have to.
	stale := signed(t, "msg_2", rc.now().Add(-time.Hour), body)
	before := rc.read.Load()
	const size = 8 << 20
	r, _ := rc.postRaw(t, stale, size, io.LimitReader(filler{}, size))
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "outside tolerance") {
		t.Errorf("stale: %d %q, want 401", r.status, r.body)
	}
	if n := rc.read.Load() - before; n > 64<<10 {
		t.Errorf("server read %d bytes of a request refused from its headers", n)
	}
}

func TestReplaysAndDuplicates(t *testing.T) {
	rc := startReceiver(t, map[string]string{"WEBHOOK_SECRET": secret}, nil)
	now := rc.now()

	captured := signed(t, "msg_1", now, body)
	if r := rc.post(t, captured, body); r.status != 200 {
		t.Fatalf("first delivery: %d %s", r.status, r.body)
	}
	// The same request again, within the tolerance: a duplicate, not a
	// second delivery.
	if r := rc.post(t, captured, body); r.status != 200 {
		t.Fatalf("duplicate: %d %s", r.status, r.body)
	}
	// The MTA's redelivery: a new timestamp and signature, the same id.
	if r := rc.post(t, signed(t, "msg_1", now.Add(time.Minute), body), body); r.status != 200 {
		t.Fatalf("redelivery: %d %s", r.status, r.body)
	}
	// The captured request replayed later: refused.
	rc.clock.Store(now.Add(10 * time.Minute).Unix())
	if r := rc.post(t, captured, body); r.status != http.StatusUnauthorized {
		t.Errorf("replay after the tolerance: %d, want 401", r.status)
	}
	// Unsigned: refused.
	unsigned := captured.Clone()
	unsigned.Del("webhook-signature")
	if r := rc.post(t, unsigned, body); r.status != http.StatusUnauthorized {
		t.Errorf("unsigned: %d, want 401", r.status)
	}

	want := "delivery id=msg_1 from=\"alice@example.org\" to=\"bob@example.com\" subject=\"Hi\" size=10 attachments=0 inlines=0 errors=0 flags=\"\" answer=\"200\"\n" +
		"duplicate id=msg_1 to=\"bob@example.com\"\n" +
		"duplicate id=msg_1 to=\"bob@example.com\"\n" +
		"refused id=msg_1: webhook-timestamp outside tolerance (replay?)\n" +
		"refused id=msg_1: missing webhook-id, webhook-timestamp or webhook-signature\n"
	if out := rc.out.String(); out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}
