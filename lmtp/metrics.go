package lmtp

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the protocol-side Prometheus metrics. A nil *Metrics is
// valid and records nothing.
type Metrics struct {
	connsOpen     prometheus.Gauge
	connsTotal    prometheus.Counter
	connsRejected prometheus.Counter
	connsDenied   prometheus.Counter
	connsCut      *prometheus.CounterVec
	messages      prometheus.Counter
	messageBytes  prometheus.Counter
	replyDuration prometheus.Histogram
	noMemoryTotal prometheus.Counter
}

// NewMetrics registers the LMTP metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lmtp_webhook_lmtp_connections_open",
			Help: "LMTP client connections open now.",
		}),
		connsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lmtp_webhook_lmtp_connections_total",
			Help: "LMTP client connections accepted.",
		}),
		connsRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lmtp_webhook_lmtp_connections_rejected_total",
			Help: "LMTP client connections turned away because LMTP_MAX_CONNECTIONS were open.",
		}),
		connsDenied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lmtp_webhook_lmtp_connections_denied_total",
			Help: "LMTP client connections refused at the greeting because the client address is not in LMTP_ALLOW.",
		}),
		connsCut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lmtp_webhook_lmtp_connections_cut_total",
			Help: "LMTP client connections closed by the server, by reason: timeout, slow_data, junk_commands, failed_commands.",
		}, []string{"reason"}),
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lmtp_webhook_messages_received_total",
			Help: "Messages received in full (end of DATA).",
		}),
		messageBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lmtp_webhook_message_bytes_received_total",
			Help: "Bytes of messages received in full.",
		}),
		replyDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lmtp_webhook_reply_duration_seconds",
			Help:    "Time from the end of DATA to a recipient's reply being known.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		noMemoryTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lmtp_webhook_messages_deferred_memory_total",
			Help: "Messages answered 451 4.3.1 because they did not fit MEMORY_LIMIT in time.",
		}),
	}
	for _, reason := range []string{"timeout", "slow_data", "junk_commands", "failed_commands"} {
		m.connsCut.WithLabelValues(reason) // shown from the start, at zero
	}
	reg.MustRegister(m.connsOpen, m.connsTotal, m.connsRejected, m.connsDenied, m.connsCut,
		m.messages, m.messageBytes, m.replyDuration, m.noMemoryTotal)
	return m
}

func (m *Metrics) connOpened() {
	if m != nil {
		m.connsOpen.Inc()
		m.connsTotal.Inc()
	}
}

func (m *Metrics) connClosed() {
	if m != nil {
		m.connsOpen.Dec()
	}
}

func (m *Metrics) connRejected() {
	if m != nil {
		m.connsRejected.Inc()
	}
}

func (m *Metrics) connDenied() {
	if m != nil {
		m.connsDenied.Inc()
	}
}

func (m *Metrics) cutOff(reason string) {
	if m != nil {
		m.connsCut.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) received(size int) {
	if m != nil {
		m.messages.Inc()
		m.messageBytes.Add(float64(size))
	}
}

func (m *Metrics) replied(d time.Duration) {
	if m != nil {
		m.replyDuration.Observe(d.Seconds())
	}
}

func (m *Metrics) noMemory() {
	if m != nil {
		m.noMemoryTotal.Inc()
	}
}
