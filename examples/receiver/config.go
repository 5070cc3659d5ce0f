package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The defaults, written once: loadConfig is where they become values.
const (
	// defaultListen is loopback: the receiver trusts whatever the bridge
	// signs, and nothing else needs to reach it. A container sets
	// RECEIVER_LISTEN=0.0.0.0:9000 (see the Dockerfile).
	defaultListen = "127.0.0.1:9000"
	// defaultMaxBody is far above the JSON of the bridge's default
	// 25 MiB message limit (base64 attachments make it about 34 MiB, and
	// WEBHOOK_INCLUDE_RAW adds the message again).
	defaultMaxBody = 128 << 20
	// readHeaderTimeout, readTimeout and writeTimeout bound a slow or
	// stalled client: 128 MiB at 100 Mbit/s takes about 11 s. The write
	// timeout runs from the end of the headers, so it covers the body too.
	readHeaderTimeout = 10 * time.Second
	readTimeout       = time.Minute
	writeTimeout      = 75 * time.Second
	// idleTimeout is above the bridge's 90 s idle-connection timeout, so
	// that the bridge is the side that closes a kept-alive connection.
	idleTimeout = 2 * time.Minute
)

// config is the receiver's environment, read once.
type config struct {
	listen    string
	key       []byte // nil: signatures are not checked
	tolerance time.Duration
	maxBody   int64
	fallback  reply   // RECEIVER_REPLY: for recipients without an answer of their own
	answers   answers // RECEIVER_ANSWERS
	printJSON bool

	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout time.Duration
}

// loadConfig reads the environment through getenv; an empty variable
// takes its default. An error names the variable at fault.
func loadConfig(getenv func(string) string) (config, error) {
	or := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	cfg := config{
		listen:            or("RECEIVER_LISTEN", defaultListen),
		printJSON:         getenv("RECEIVER_PRINT_JSON") == "true",
		readHeaderTimeout: readHeaderTimeout,
		readTimeout:       readTimeout,
		writeTimeout:      writeTimeout,
		idleTimeout:       idleTimeout,
	}
	var err error
	if cfg.tolerance, err = time.ParseDuration(or("RECEIVER_TOLERANCE", "5m")); err != nil || cfg.tolerance <= 0 {
		return cfg, fmt.Errorf("RECEIVER_TOLERANCE: want a positive duration such as 5m, got %q", getenv("RECEIVER_TOLERANCE"))
	}
	if cfg.maxBody, err = strconv.ParseInt(or("RECEIVER_MAX_BODY", strconv.Itoa(defaultMaxBody)), 10, 64); err != nil || cfg.maxBody <= 0 {
		return cfg, fmt.Errorf("RECEIVER_MAX_BODY: want a positive number of bytes, got %q", getenv("RECEIVER_MAX_BODY"))
	}
	if cfg.key, err = parseSecret(getenv("WEBHOOK_SECRET")); err != nil {
		return cfg, fmt.Errorf("WEBHOOK_SECRET: %w", err)
	}
	if cfg.fallback, err = parseReply(or("RECEIVER_REPLY", "200")); err != nil {
		return cfg, fmt.Errorf("RECEIVER_REPLY: %w", err)
	}
	if cfg.answers, err = parseAnswers(getenv("RECEIVER_ANSWERS")); err != nil {
		return cfg, fmt.Errorf("RECEIVER_ANSWERS: %w", err)
	}
	return cfg, nil
}

// reply is one configured answer to a delivery.
type reply struct {
	status  int
	body    []byte // a JSON answer, or nil
	label   string // as configured, for the delivery line
	accepts bool   // the message is delivered: remember its id
}

// parseReply reads RECEIVER_REPLY: a bare HTTP status, or a JSON answer
// sent with status 200.
func parseReply(s string) (reply, error) {
	r := reply{status: http.StatusOK, label: s}
	if strings.HasPrefix(s, "{") {
		var a answer
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			return r, fmt.Errorf("not a JSON answer: %w", err)
		}
		r.body, r.accepts = []byte(s), a.Code == nil || *a.Code/100 == 2
		return r, nil
	}
	code, err := strconv.Atoi(s)
	if err != nil || code < 200 || code > 599 {
		return r, fmt.Errorf("want an HTTP status or a JSON answer, got %q", s)
	}
	r.status, r.accepts = code, code/100 == 2
	return r, nil
}

// parseSMTPReply reads "CODE [X.Y.Z] [text]", such as "550 5.1.1 no such
// user", into a JSON answer sent with status 200. The code must mean
// something for one recipient (class 2, 4 or 5, and not 221 or 421,
// which speak of the connection); the enhanced code shares its class.
func parseSMTPReply(s string) (reply, error) {
	r := reply{status: http.StatusOK, label: s}
	f := strings.Fields(s)
	if len(f) == 0 {
		return r, errors.New("empty reply")
	}
	code, err := strconv.Atoi(f[0])
	if err != nil || len(f[0]) != 3 || code < 200 || code > 599 || code/100 == 3 || code == 221 || code == 421 {
		return r, fmt.Errorf("reply %q: want an SMTP code of class 2, 4 or 5 other than 221 and 421", s)
	}
	a := answer{Code: &code}
	rest := f[1:]
	if len(rest) > 0 && strings.Count(rest[0], ".") == 2 && strings.Trim(rest[0], "0123456789.") == "" {
		if !enhancedCode(rest[0], code/100) {
			return r, fmt.Errorf("reply %q: enhanced code %s is not class.subject.detail of class %d", s, rest[0], code/100)
		}
		a.EnhancedCode = &rest[0]
		rest = rest[1:]
	}
	if msg := strings.Join(rest, " "); msg != "" {
		a.Message = &msg
	}
	if r.body, err = json.Marshal(a); err != nil {
		return r, fmt.Errorf("reply %q: %w", s, err)
	}
	r.accepts = code/100 == 2
	return r, nil
}

// enhancedCode reports whether s is an RFC 3463 enhanced status code of
// the given class.
func enhancedCode(s string, class int) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] != strconv.Itoa(class) {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 {
			return false
		}
	}
	return true
}

// answers is RECEIVER_ANSWERS: replies for some recipients, chosen by
// exact address before domain. Addresses and domains are compared without
// regard to case.
type answers struct {
	byAddress map[string]reply
	byDomain  map[string]reply
}

// parseAnswers reads "pattern=reply,pattern=reply", where a pattern is an
// address or "*@domain" and a reply is read by parseSMTPReply (so reply
// text cannot hold a comma).
func parseAnswers(s string) (answers, error) {
	a := answers{byAddress: map[string]reply{}, byDomain: map[string]reply{}}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		pattern, text, ok := strings.Cut(item, "=")
		pattern = strings.ToLower(strings.TrimSpace(pattern))
		if !ok || pattern == "" {
			return a, fmt.Errorf("%q: want pattern=reply, such as bob@example.com=550 5.1.1 no such user", item)
		}
		table, key := a.byAddress, pattern
		switch {
		case pattern == "*":
			return a, errors.New(`pattern "*": RECEIVER_REPLY answers everyone without a pattern of their own`)
		case strings.HasPrefix(pattern, "*@"):
			table, key = a.byDomain, pattern[2:]
			if key == "" || strings.ContainsAny(key, "*@ ") {
				return a, fmt.Errorf("pattern %q: want *@domain", pattern)
			}
		case strings.Count(pattern, "@") != 1 || strings.ContainsAny(pattern, "* ") || pattern[0] == '@' || pattern[len(pattern)-1] == '@':
			return a, fmt.Errorf("pattern %q: want an address or *@domain", pattern)
		}
		if _, dup := table[key]; dup {
			return a, fmt.Errorf("pattern %q given twice", pattern)
		}
		r, err := parseSMTPReply(strings.TrimSpace(text))
		if err != nil {
			return a, fmt.Errorf("%s: %w", pattern, err)
		}
		table[key] = r
	}
	return a, nil
}

// lookup returns the reply configured for rcpt: its exact address first,
// then its domain.
func (a answers) lookup(rcpt string) (reply, bool) {
	addr := strings.ToLower(rcpt)
	if r, ok := a.byAddress[addr]; ok {
		return r, true
	}
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		r, ok := a.byDomain[addr[at+1:]]
		return r, ok
	}
	return reply{}, false
}
