package store

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the object store's Prometheus counters. A nil *Metrics is
// valid and records nothing.
type Metrics struct {
	uploads  prometheus.Counter
	bytes    prometheus.Counter
	reuses   prometheus.Counter
	failures prometheus.Counter
}

// NewMetrics registers the store's counters with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		uploads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lmtp_webhook_storage_uploads_total",
			Help: "Objects uploaded to the store (parts and raw messages).",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lmtp_webhook_storage_uploaded_bytes_total",
			Help: "Bytes of the objects uploaded to the store.",
		}),
		reuses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lmtp_webhook_storage_reuses_total",
			Help: "Puts that found the object already stored (same key and size) and uploaded nothing.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lmtp_webhook_storage_failures_total",
			Help: "Puts that failed after their retries; each defers its message.",
		}),
	}
	reg.MustRegister(m.uploads, m.bytes, m.reuses, m.failures)
	return m
}

func (m *Metrics) uploaded(size int64) {
	if m != nil {
		m.uploads.Inc()
		m.bytes.Add(float64(size))
	}
}

func (m *Metrics) reused() {
	if m != nil {
		m.reuses.Inc()
	}
}

func (m *Metrics) failed() {
	if m != nil {
		m.failures.Inc()
	}
}
