package main

import (
	"net/http"
	"strings"
	"testing"
)

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
			env := map[string]string{"RECEIVER_REPLY": c.reply}
			if c.problem != "" {
				_, err := loadConfig(func(name string) string { return env[name] })
				if err == nil || !strings.Contains(err.Error(), c.problem) || !strings.HasPrefix(err.Error(), "RECEIVER_REPLY:") {
					t.Fatalf("error %v, want RECEIVER_REPLY and %q", err, c.problem)
				}
				return
			}
			rc := startReceiver(t, env, nil)
			hdr := http.Header{}
			hdr.Set("webhook-id", "msg_1")
			// Twice: a reply that does not deliver must not make the retry
			// look like a duplicate.
			for attempt := 1; attempt <= 2; attempt++ {
				r := rc.post(t, hdr, body)
				wantStatus, wantBody := c.status, c.body
				if attempt == 2 && c.accepts {
					wantStatus, wantBody = 200, ""
				}
				if r.status != wantStatus || r.body != wantBody {
					t.Errorf("attempt %d: %d %q, want %d %q", attempt, r.status, r.body, wantStatus, wantBody)
				}
				if ct := r.header.Get("Content-Type"); (wantBody != "") != (ct == "application/json") {
					t.Errorf("attempt %d: Content-Type %q with body %q", attempt, ct, wantBody)
				}
			}
			deliveries := strings.Count(rc.out.String(), "delivery id=msg_1 ")
			if want := map[bool]int{true: 1, false: 2}[c.accepts]; deliveries != want {
				t.Errorf("%d delivery lines, want %d:\n%s", deliveries, want, rc.out.String())
			}
		})
	}
}

// TestAnswers sends one delivery per recipient: the exact address beats
// its domain, a domain pattern covers the rest of it, and everyone else
// gets RECEIVER_REPLY.
func TestAnswers(t *testing.T) {
	rc := startReceiver(t, map[string]string{
		"RECEIVER_ANSWERS": "carol@example.com=550 5.1.1 no such user, *@slow.example=451 4.2.0 try later, " +
			"Fast@Slow.Example=250 2.0.0 taken at once, *@quiet.example=552",
		"RECEIVER_REPLY": "503",
	}, nil)
	cases := []struct {
		rcpt   string
		status int
		body   string
	}{
		{"carol@example.com", 200, `{"code":550,"enhanced_code":"5.1.1","message":"no such user"}`},
		{"CAROL@example.COM", 200, `{"code":550,"enhanced_code":"5.1.1","message":"no such user"}`},
		{"dave@slow.example", 200, `{"code":451,"enhanced_code":"4.2.0","message":"try later"}`},
		{"fast@slow.example", 200, `{"code":250,"enhanced_code":"2.0.0","message":"taken at once"}`},
		{"erin@quiet.example", 200, `{"code":552}`},
		{"bob@example.com", 503, ""},
		{"carol@example.com.evil", 503, ""},
		{"dave@sub.slow.example", 503, ""},
	}
	for i, c := range cases {
		hdr := http.Header{}
		hdr.Set("webhook-id", "msg_"+string(rune('a'+i)))
		r := rc.post(t, hdr, bodyTo(c.rcpt))
		if r.status != c.status || r.body != c.body {
			t.Errorf("%s: %d %q, want %d %q", c.rcpt, r.status, r.body, c.status, c.body)
		}
		if c.body != "" && r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", c.rcpt, r.header.Get("Content-Type"))
		}
	}
	if out := rc.out.String(); !strings.Contains(out, `to="carol@example.com" subject="Hi" size=10 attachments=0 inlines=0 errors=0 flags="" answer="550 5.1.1 no such user"`+"\n") {
		t.Errorf("delivery lines do not show the answer:\n%s", out)
	}
}

func TestAnswersRefused(t *testing.T) {
	cases := map[string]string{
		"bob@example.com":                         "want pattern=reply",
		"=550":                                    "want pattern=reply",
		"*=550":                                   "RECEIVER_REPLY answers everyone",
		"bob=550":                                 "want an address or *@domain",
		"*@=550":                                  "want *@domain",
		"*@a@b=550":                               "want *@domain",
		"bob@example.com=":                        "empty reply",
		"bob@example.com=no such user":            "want an SMTP code",
		"bob@example.com=354 go ahead":            "want an SMTP code",
		"bob@example.com=221 bye":                 "other than 221 and 421",
		"bob@example.com=421 closing":             "other than 221 and 421",
		"bob@example.com=5500":                    "want an SMTP code",
		"bob@example.com=550 4.1.1 mixed":         "not class.subject.detail of class 5",
		"bob@example.com=550 5.1.1234 long":       "not class.subject.detail of class 5",
		"bob@example.com=550,bob@example.com=450": "given twice",
		"*@Example.com=550,*@example.COM=450":     "given twice",
	}
	for value, problem := range cases {
		_, err := parseAnswers(value)
		if err == nil || !strings.Contains(err.Error(), problem) {
			t.Errorf("%q: error %v, want %q", value, err, problem)
		}
	}
}
