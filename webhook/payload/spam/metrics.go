package spam

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// Metrics are the scanner's Prometheus metrics. A nil *Metrics is valid and
// records nothing.
type Metrics struct {
	checks   prometheus.Counter
	failures *prometheus.CounterVec
	verdicts *prometheus.CounterVec
	duration prometheus.Histogram
}

// NewMetrics registers the scanner's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		checks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lmtp_webhook_spam_checks_total",
			Help: "Messages sent to rspamd for a verdict, one per message.",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lmtp_webhook_spam_check_failures_total",
			Help: "Scans that gave no verdict (the payload's spam is null), by reason: timeout, unreachable, answer or too_large.",
		}, []string{"reason"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lmtp_webhook_spam_verdicts_total",
			Help: "Verdicts received, by rspamd's recommended action.",
		}, []string{"action"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lmtp_webhook_spam_check_duration_seconds",
			Help:    "Time from sending a message to rspamd to its verdict, or the failure.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	reg.MustRegister(m.checks, m.failures, m.verdicts, m.duration)
	return m
}

// actions are rspamd's action names; any other becomes "other", so a
// scanner's configuration cannot grow the label set without bound.
var actions = map[string]bool{
	"no action": true, "greylist": true, "add header": true, "rewrite subject": true,
	"soft reject": true, "reject": true, "discard": true, "quarantine": true,
}

// checked records one scan: its verdict, or the reason it has none.
func (m *Metrics) checked(v *wire.Spam, reason string, d time.Duration) {
	if m == nil {
		return
	}
	m.checks.Inc()
	m.duration.Observe(d.Seconds())
	if v == nil {
		m.failures.WithLabelValues(reason).Inc()
		return
	}
	action := v.Action
	if !actions[action] {
		action = "other"
	}
	m.verdicts.WithLabelValues(action).Inc()
}
