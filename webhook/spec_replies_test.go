package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// representative gives the statuses tried for a response key of the
// contract: the status itself, or two of a range.
func representative(key string) []int {
	switch key {
	case "2XX":
		return []int{200, 204}
	case "4XX":
		return []int{400, 422}
	case "5XX":
		return []int{500, 503}
	case "default":
		return []int{300, 302}
	}
	n, err := strconv.Atoi(key)
	if err != nil {
		return nil
	}
	return []int{n}
}

// specReplies reads the x-lmtp-reply of each response of op: the status
// tried, the LMTP reply expected (with <rcpt> for the recipient), and
// whether the status is retried.
func specReplies(t *testing.T, k *contract, op string) map[int]struct {
	reply   string
	retried bool
} {
	t.Helper()
	out := map[int]struct {
		reply   string
		retried bool
	}{}
	_, responses := k.resolve(t, op+"/responses")
	for key := range responses.(map[string]any) {
		_, v := k.resolve(t, op+"/responses/"+key)
		resp := v.(map[string]any)
		tmpl, ok := resp["x-lmtp-reply"].(string)
		if !ok {
			continue
		}
		code, rest, _ := strings.Cut(tmpl, " ")
		enh, text, _ := strings.Cut(rest, " ")
		statuses := representative(key)
		if len(statuses) == 0 {
			t.Fatalf("response %s: no status to try", key)
		}
		for _, s := range statuses {
			status := strconv.Itoa(s) + " " + http.StatusText(s)
			out[s] = struct {
				reply   string
				retried bool
			}{code + " " + enh + " <rcpt> " + strings.ReplaceAll(text, "{status}", status), resp["x-retried"] == true}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no response has an x-lmtp-reply", op)
	}
	return out
}

// TestSpecRepliesOverTheWire holds the bridge to the x-lmtp-reply and
// x-retried of every response openapi.yaml lists for a delivery.
func TestSpecRepliesOverTheWire(t *testing.T) {
	k := openContract(t)
	want := specReplies(t, k, deliveryOp)
	rc := newReceiver(t, statusFromAddress)
	addr := startBridge(t, rc.URL, func(c *webhook.Config, _ *lmtp.Config) { c.Retry.MaxAttempts = 2 })
	var statuses []int
	for s := range want {
		statuses = append(statuses, s)
	}
	slices.Sort(statuses)
	var rcpts []string
	for _, s := range statuses {
		rcpts = append(rcpts, fmt.Sprintf("s%d@example.com", s))
	}
	replies := lhlo(t, addr).Send("alice@example.org", rcpts, simpleMessage)
	for i, s := range statuses {
		w := want[s]
		if exp := strings.Replace(w.reply, "<rcpt>", "<"+rcpts[i]+">", 1); replies[i] != exp {
			t.Errorf("HTTP %d: reply %q, openapi.yaml says %q", s, replies[i], exp)
		}
		attempts := 1
		if w.retried {
			attempts = 2
		}
		if n := len(forRcpt(rc, rcpts[i])); n != attempts {
			t.Errorf("HTTP %d: %d attempts, want %d (x-retried: %v)", s, n, attempts, w.retried)
		}
	}
}

// TestSpecCheckRepliesOverTheWire does the same for CHECK_URL, whose
// answers are never retried.
func TestSpecCheckRepliesOverTheWire(t *testing.T) {
	k := openContract(t)
	want := specReplies(t, k, checkOp)
	cr := newCheckRecorder(t)
	rc := newReceiver(t, nil)
	addr := startBridge(t, rc.URL, withChecker(t, cr.URL, nil))
	cl := lhlo(t, addr)
	cl.Expect("250 ", "MAIL FROM:<alice@example.org>")
	for s, w := range want {
		rcpt := fmt.Sprintf("s%d@example.com", s)
		before := len(cr.Requests())
		exp := strings.Replace(w.reply, "<rcpt> ", "", 1)
		if got := cl.Cmd("RCPT TO:<%s>", rcpt); got != exp {
			t.Errorf("HTTP %d at RCPT: reply %q, openapi.yaml says %q", s, got, exp)
		}
		if n := len(cr.Requests()) - before; n != 1 {
			t.Errorf("HTTP %d: %d check requests, want 1", s, n)
		}
	}
	// 2xx accepts.
	cl.Expect("250 ", "RCPT TO:<s204@example.com>")
}

// TestAnswerSchemaAgreesWithBridge sends answer bodies both to the Answer
// schema and to the running bridge: what the schema calls valid is obeyed,
// what it refuses is not, and the leniencies its description promises
// hold.
func TestAnswerSchemaAgreesWithBridge(t *testing.T) {
	k := openContract(t)
	cases := []struct {
		name   string
		status int
		ctype  string
		body   string
		valid  bool   // against the Answer schema
		reply  string // for recipient <r>
	}{
		{"refusal", 200, "application/json", `{"code":550,"enhanced_code":"5.1.1","message":"no such user"}`, true, "550 5.1.1 <r> no such user"},
		{"deferral on 500", 500, "application/json", `{"code":451,"enhanced_code":"4.2.1","message":"busy"}`, true, "451 4.2.1 <r> busy"},
		{"success text", 202, "application/json; charset=utf-8", `{"code":250,"message":"queued as 1"}`, true, "250 2.0.0 <r> queued as 1"},
		{"code alone", 200, "application/json", `{"code":554}`, true, "554 5.0.0 <r> rejected by webhook"},
		{"message alone", 404, "application/json", `{"message":"unknown list"}`, true, "550 5.1.1 <r> unknown list"},
		{"own members", 200, "application/problem+json", `{"code":550,"trace":"abc"}`, true, "550 5.0.0 <r> rejected by webhook"},
		{"class 3", 200, "application/json", `{"code":354}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"above 599", 200, "application/json", `{"code":600}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"below 200", 200, "application/json", `{"code":199}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"221 closes the connection", 200, "application/json", `{"code":221}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"421 closes the connection", 503, "application/json", `{"code":421,"enhanced_code":"4.3.2"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"422 is per recipient", 200, "application/json", `{"code":422,"enhanced_code":"4.2.2"}`, true, "422 4.2.2 <r> deferred by webhook"},
		{"string code", 200, "application/json", `{"code":"550"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"fraction", 200, "application/json", `{"code":550.5}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"class mismatch", 200, "application/json", `{"code":550,"enhanced_code":"4.1.1"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"short enhanced", 200, "application/json", `{"code":550,"enhanced_code":"5.1"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"class 6 enhanced", 200, "application/json", `{"code":550,"enhanced_code":"6.1.1"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"long enhanced", 200, "application/json", `{"code":550,"enhanced_code":"5.1000.1"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		{"enhanced without code", 200, "application/json", `{"enhanced_code":"5.1.1","message":"x"}`, false, "451 4.3.0 <r> webhook gave an invalid answer"},
		// Not an answer: the status decides.
		{"no code nor message", 200, "application/json", `{"ok":true}`, false, "250 2.0.0 <r> delivered"},
		{"declared as text", 200, "text/html", `{"code":550}`, false, "250 2.0.0 <r> delivered"},
		// Leniencies the description promises.
		{"empty enhanced", 200, "application/json", `{"code":550,"enhanced_code":""}`, false, "550 5.0.0 <r> rejected by webhook"},
		{"null code", 404, "application/json", `{"code":null,"message":"gone"}`, false, "550 5.1.1 <r> gone"},
		// A text/plain reason on a non-2xx status.
		{"plain reason", 403, "text/plain", "mailbox disabled\r\n", false, "451 4.7.0 <r> mailbox disabled"},
	}
	byRcpt := map[string]int{}
	var rcpts []string
	for i := range cases {
		rcpt := fmt.Sprintf("a%d@example.com", i)
		byRcpt[rcpt] = i
		rcpts = append(rcpts, rcpt)
	}
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, p wire.Payload, _ int) {
		c := cases[byRcpt[p.Envelope.To]]
		w.Header().Set("Content-Type", c.ctype)
		w.WriteHeader(c.status)
		io.WriteString(w, c.body)
	})
	addr := startBridge(t, rc.URL, func(c *webhook.Config, _ *lmtp.Config) { c.Retry.MaxAttempts = 1 })
	replies := lhlo(t, addr).Send("alice@example.org", rcpts, simpleMessage)
	for i, c := range cases {
		if c.ctype == "application/json" || strings.HasSuffix(c.ctype, "+json") {
			if got := k.valid(t, answerSchema, []byte(c.body)); got != c.valid {
				t.Errorf("%s: %s is valid against Answer: %v, want %v", c.name, c.body, got, c.valid)
			}
		}
		if want := strings.Replace(c.reply, "<r>", "<"+rcpts[i]+">", 1); replies[i] != want {
			t.Errorf("%s: reply %q, want %q", c.name, replies[i], want)
		}
	}
}
