package lmtp_test

import (
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

func prefixes(t *testing.T, nets ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, n := range nets {
		out = append(out, netip.MustParsePrefix(n))
	}
	return out
}

func TestAllowList(t *testing.T) {
	reg := prometheus.NewRegistry()
	d := &deliverer{}
	addr, _ := start(t, d, func(c *lmtp.Config) {
		c.Allow = prefixes(t, "10.0.0.0/8", "192.168.0.0/16")
		c.Metrics = lmtp.NewMetrics(reg)
	})
	for range 2 {
		cl := lmtptest.Dial(t, addr)
		if cl.Greeting != "554 5.7.1 bridge.test Access denied, closing connection" {
			t.Errorf("client outside the allow list: %q", cl.Greeting)
		}
		if line, err := cl.ReadLine(); err != io.EOF {
			t.Errorf("not closed: %q %v", line, err)
		}
	}
	if n := metricValue(t, reg, "lmtp_webhook_lmtp_connections_denied_total"); n != 2 {
		t.Errorf("%v connections counted as denied, want 2", n)
	}
	if n := metricValue(t, reg, "lmtp_webhook_lmtp_connections_total"); n != 0 {
		t.Errorf("%v denied connections counted as accepted", n)
	}

	// A network that holds the client lets it in.
	addr, _ = start(t, d, func(c *lmtp.Config) { c.Allow = prefixes(t, "10.0.0.0/8", "127.0.0.0/8") })
	cl := lmtptest.LHLO(t, addr)
	if r := cl.Send("a@x.test", []string{"r@x.test"}, msg); r[0] != "250 2.0.0 <r@x.test> OK: queued" {
		t.Errorf("allowed client: %q", r[0])
	}

	// A single address, written without its length's zero bits.
	addr, _ = start(t, d, func(c *lmtp.Config) { c.Allow = prefixes(t, "127.0.0.1/32") })
	lmtptest.LHLO(t, addr)
}

func TestAllowListDoesNotApplyToUnixSockets(t *testing.T) {
	addr, _ := start(t, &deliverer{}, func(c *lmtp.Config) {
		c.Listen = "unix:" + filepath.Join(t.TempDir(), "lmtp.sock")
		c.Allow = prefixes(t, "10.0.0.0/8")
	})
	lmtptest.LHLO(t, addr)
}

func TestAllowListIsChecked(t *testing.T) {
	_, err := lmtp.New(lmtp.Config{Deliverer: &deliverer{}, Allow: []netip.Prefix{{}}})
	if err == nil || !strings.Contains(err.Error(), "Allow[0]") {
		t.Errorf("invalid network: %v", err)
	}
}

// metricValue returns the value of the counter or gauge name in reg (the
// sum over its labels).
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		return sum
	}
	t.Fatalf("no metric %s", name)
	return 0
}
