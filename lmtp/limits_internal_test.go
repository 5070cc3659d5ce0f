package lmtp

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestAllowed(t *testing.T) {
	nets := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for addr, want := range map[string]bool{
		"10.1.2.3":         true,
		"::ffff:10.1.2.3":  true, // an IPv4 client on an IPv6 socket
		"11.0.0.1":         false,
		"127.0.0.1":        false,
		"fd12::1":          true,
		"fe80::1":          false,
		"::1":              false,
		"::ffff:127.0.0.1": false,
	} {
		if got := allowed(nets, netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: allowed %t, want %t", addr, got, want)
		}
	}
	s := &Server{cfg: Config{Allow: nets}}
	if !s.allows(&net.UnixAddr{Name: "/run/lmtp.sock", Net: "unix"}) || !s.allows(&net.UnixAddr{Name: "@", Net: "unix"}) {
		t.Error("a Unix socket client was refused")
	}
	if s.allows(&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 25}) {
		t.Error("127.0.0.1 was allowed")
	}
	if !(&Server{}).allows(&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 25}) {
		t.Error("an empty list refused a client")
	}
}

// TestReadDeadline checks the data deadline at the rate's edge: n bytes
// are due ReadTimeout + n/MinDataRate after the data began, and no read
// may wait longer than ReadTimeout.
func TestReadDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &conn{srv: &Server{cfg: Config{ReadTimeout: 5 * time.Second, MinDataRate: 1024}}}
	c.inData.Store(true)
	check := func(now time.Time, bytes int64, want time.Time, wantSlow bool) {
		t.Helper()
		c.dataBytes = bytes
		got, slow := c.readDeadline(now)
		if !got.Equal(want) || slow != wantSlow {
			t.Errorf("at %v with %d bytes: %v (slow %t), want %v (slow %t)", now.Sub(t0), bytes, got.Sub(t0), slow, want.Sub(t0), wantSlow)
		}
	}
	check(t0, 0, t0.Add(5*time.Second), false)                                    // first read: the grace
	check(t0.Add(time.Second), 512, t0.Add(5500*time.Millisecond), true)          // behind the rate
	check(t0.Add(10*time.Second), 10*1024, t0.Add(15*time.Second), false)         // exactly at it
	check(t0.Add(10*time.Second), 10*1024-1, t0.Add(15*time.Second-976563), true) // one byte short
	check(t0.Add(10*time.Second), 1<<30, t0.Add(15*time.Second), false)           // far ahead: the pause bounds it

	// Commands: the whole line within ReadTimeout of the first wait for it.
	c.inData.Store(false)
	if d, _ := c.readDeadline(t0); !d.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("command deadline %v", d.Sub(t0))
	}
	c.lineLen = 3 // part of a line given: the deadline stays
	if d, _ := c.readDeadline(t0.Add(4 * time.Second)); !d.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("partial line deadline %v", d.Sub(t0))
	}
}
