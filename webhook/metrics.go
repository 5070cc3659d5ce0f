package webhook

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
)

// Metrics are the delivery-side Prometheus metrics. A nil *Metrics is
// valid and records nothing.
type Metrics struct {
	deliveries      *prometheus.CounterVec
	attempts        *prometheus.CounterVec
	requestDuration prometheus.Histogram
	parseDuration   prometheus.Histogram
	retries         prometheus.Counter
	inFlight        prometheus.Gauge
	decisions       *prometheus.CounterVec
}

// NewMetrics registers the delivery metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lmtp_webhook_deliveries_total",
			Help: "Deliveries finished, by the class and code of the recipient's LMTP reply.",
		}, []string{"class", "code"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lmtp_webhook_webhook_attempts_total",
			Help: "Webhook requests made, by outcome: success, reject, defer, retry (transient) or invalid.",
		}, []string{"outcome"}),
		requestDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lmtp_webhook_webhook_request_duration_seconds",
			Help:    "Time from sending a webhook request to its answer's headers, or its failure.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		parseDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lmtp_webhook_parse_duration_seconds",
			Help:    "Time to parse a message and encode its JSON, once per message.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lmtp_webhook_retries_total",
			Help: "Webhook attempts beyond the first for a recipient.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lmtp_webhook_deliveries_in_flight",
			Help: "Recipients whose delivery is under way.",
		}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lmtp_webhook_messages_not_posted_total",
			Help: "Messages refused or deferred by an analysis stage (spam, DMARC, storage) before any webhook was called, by stage and action.",
		}, []string{"stage", "action"}),
	}
	reg.MustRegister(m.deliveries, m.attempts, m.requestDuration, m.parseDuration, m.retries, m.inFlight, m.decisions)
	return m
}

func (m *Metrics) decided(d payload.Decision) {
	if m == nil {
		return
	}
	action := "defer"
	if d.Action == payload.Refuse {
		action = "refuse"
	}
	m.decisions.WithLabelValues(d.Stage, action).Inc()
}

func (m *Metrics) delivered(code, attempts int) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(strconv.Itoa(code/100)+"xx", strconv.Itoa(code)).Inc()
	if attempts > 1 {
		m.retries.Add(float64(attempts - 1))
	}
}

func (m *Metrics) attempt(o outcome) {
	if m == nil {
		return
	}
	label := "success"
	switch {
	case o.invalid != "":
		label = "invalid"
	case o.retry:
		label = "retry"
	case o.reply.Code/100 == 4:
		label = "defer"
	case o.reply.Code/100 == 5:
		label = "reject"
	}
	m.attempts.WithLabelValues(label).Inc()
}

func (m *Metrics) request(d time.Duration) {
	if m != nil {
		m.requestDuration.Observe(d.Seconds())
	}
}

func (m *Metrics) parsed(d time.Duration) {
	if m != nil {
		m.parseDuration.Observe(d.Seconds())
	}
}

func (m *Metrics) inflight(delta float64) {
	if m != nil {
		m.inFlight.Add(delta)
	}
}
