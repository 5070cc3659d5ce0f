package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/auth"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/spam"
)

// TrustEnv is the configuration of what tells a receiver whether to
// believe a message: sender authentication and the spam verdict. It is
// exported only because envconfig reads exported fields only.
type TrustEnv struct {
	AuthChecks            bool          `envconfig:"AUTH_CHECKS" default:"true" desc:"compute SPF, DKIM and DMARC for the payload's auth; false: auth is null"`
	DNSServer             string        `envconfig:"DNS_SERVER" desc:"host:port of the recursive resolver the checks ask (default: the first nameserver of /etc/resolv.conf)"`
	AuthTimeout           time.Duration `envconfig:"AUTH_TIMEOUT" default:"5s" desc:"one message's budget for all its checks; what is not answered by then is temperror, never a deferral"`
	AuthTrustedAuthservID string        `envconfig:"AUTH_TRUSTED_AUTHSERV_ID" desc:"Authentication-Results with this authserv-id go into auth.upstream; all others are ignored"`
	AuthRejectDMARC       bool          `envconfig:"AUTH_REJECT_DMARC" default:"false" desc:"refuse (550 5.7.1) a message whose DMARC result is fail on a p=reject domain"`
	SpamURL               string        `envconfig:"SPAM_URL" desc:"base URL of an rspamd worker (http://127.0.0.1:11333); empty: no scan, spam is null"`
	SpamRejectScore       string        `envconfig:"SPAM_REJECT_SCORE" desc:"refuse (550 5.7.1) a message scoring at or above this; empty: never"`
	SpamTimeout           time.Duration `envconfig:"SPAM_TIMEOUT" default:"10s" desc:"time limit of one scan; a scan that fails gives spam null and an errors entry"`
}

// trustSettings are TrustEnv's ready values.
type trustSettings struct {
	// checker is nil when AUTH_CHECKS=false.
	checker     *auth.Checker
	rejectDMARC bool
	// spam is the scanner's configuration; its URL is empty without
	// SPAM_URL. Its metrics are added when the program's registry exists.
	spam        spam.Config
	rejectScore float64
	reject      bool
}

// trust checks TrustEnv and returns its ready values. maxMessage is
// LMTP_MAX_MESSAGE_BYTES: larger messages cannot arrive, and the scanner
// is given no larger bound.
func (e *TrustEnv) trust(maxMessage int64) (trustSettings, error) {
	var t trustSettings
	if e.AuthTimeout <= 0 {
		return t, &configError{"AUTH_TIMEOUT", fmt.Errorf("must be a positive duration, got %s", e.AuthTimeout)}
	}
	if e.SpamTimeout <= 0 {
		return t, &configError{"SPAM_TIMEOUT", fmt.Errorf("must be a positive duration, got %s", e.SpamTimeout)}
	}
	if e.DNSServer != "" {
		if err := checkHostPort(e.DNSServer); err != nil {
			return t, &configError{"DNS_SERVER", err}
		}
	}
	if e.AuthChecks {
		c, err := auth.New(auth.Config{Resolver: e.DNSServer, Timeout: e.AuthTimeout, TrustedAuthservID: e.AuthTrustedAuthservID})
		if err != nil {
			return t, &configError{"DNS_SERVER", fmt.Errorf("no resolver given and none found: %w", err)}
		}
		t.checker, t.rejectDMARC = c, e.AuthRejectDMARC
	} else if e.AuthRejectDMARC {
		return t, &configError{"AUTH_REJECT_DMARC", errors.New("needs AUTH_CHECKS=true")}
	}
	if e.SpamRejectScore != "" {
		s, err := strconv.ParseFloat(e.SpamRejectScore, 64)
		if err != nil || math.IsNaN(s) || math.IsInf(s, 0) {
			return t, &configError{"SPAM_REJECT_SCORE", fmt.Errorf("want a number, got %q", e.SpamRejectScore)}
		}
		if e.SpamURL == "" {
			return t, &configError{"SPAM_REJECT_SCORE", errors.New("needs SPAM_URL")}
		}
		t.rejectScore, t.reject = s, true
	}
	if e.SpamURL != "" {
		t.spam = spam.Config{URL: e.SpamURL, Timeout: e.SpamTimeout, MaxMessageBytes: maxMessage}
		if _, err := spam.New(t.spam); err != nil {
			return t, &configError{"SPAM_URL", err}
		}
	}
	return t, nil
}

// stages returns the payload stages the settings switch on, the scanner's
// metrics registered with reg.
func (t *trustSettings) stages(reg prometheus.Registerer, userAgent string) ([]payload.Stage, error) {
	var stages []payload.Stage
	if t.checker != nil {
		stages = append(stages, &auth.Stage{Checker: t.checker, RejectDMARC: t.rejectDMARC})
	}
	if t.spam.URL != "" {
		sc := t.spam
		sc.Metrics, sc.UserAgent = spam.NewMetrics(reg), userAgent
		c, err := spam.New(sc)
		if err != nil {
			return nil, err
		}
		stages = append(stages, &spam.Stage{Client: c, RejectScore: t.rejectScore, Reject: t.reject})
	}
	return stages, nil
}

// describe is the start-up log's account of the checks.
func (t *trustSettings) describe() string {
	s := "auth checks off"
	if t.checker != nil {
		s = t.checker.String()
	}
	if t.spam.URL != "" {
		s += "; spam scans via " + redact(t.spam.URL)
	}
	return s
}
