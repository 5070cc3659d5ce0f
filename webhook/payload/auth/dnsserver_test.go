package auth

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// testTTL is the TTL of every test record.
const testTTL = 300

// testDNS is a real DNS server on loopback (miekg/dns, UDP and TCP on one
// port) serving the test zones, counting the queries it gets, and able to
// drop them all or fail them all, as a broken resolver does.
type testDNS struct {
	addr    string
	queries atomic.Int64
	drop    atomic.Bool
	fail    atomic.Bool // answer SERVFAIL

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case FQDN
}

// startDNS serves records, given in zone-file syntax, until the test ends.
func startDNS(t testing.TB, records ...string) *testDNS {
	t.Helper()
	s := &testDNS{records: map[string][]dns.RR{}}
	for _, r := range records {
		s.add(t, r)
	}
	pc, ln := listenUDPAndTCP(t)
	s.addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	started := make(chan struct{}, 2)
	udp.NotifyStartedFunc = func() { started <- struct{}{} }
	tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	<-started
	<-started
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return s
}

// listenUDPAndTCP takes one loopback port for both UDP and TCP. The UDP
// port is free when it is chosen, but its TCP twin may be another test's
// or process's: then it tries another port.
func listenUDPAndTCP(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	var last error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
		last = err
	}
	t.Fatalf("no loopback port free for both UDP and TCP: %v", last)
	return nil, nil
}

// add publishes one record, e.g. `example.com. 300 IN TXT "v=spf1 -all"`.
func (s *testDNS) add(t testing.TB, record string) {
	t.Helper()
	rr, err := dns.NewRR(record)
	if err != nil {
		t.Fatalf("record %q: %v", record, err)
	}
	name := strings.ToLower(rr.Header().Name)
	s.mu.Lock()
	s.records[name] = append(s.records[name], rr)
	s.mu.Unlock()
}

// ServeDNS answers from the records: NXDOMAIN for an unknown name, NODATA
// for a known name without the type, both with an SOA for negative
// caching; a reply larger than the client's UDP size is truncated, as a
// real server does, so the client must come back over TCP.
func (s *testDNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	if s.drop.Load() || len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	if s.fail.Load() {
		resp.Rcode = dns.RcodeServerFailure
		w.WriteMsg(resp)
		return
	}
	s.mu.Lock()
	rrs, known := s.records[strings.ToLower(q.Name)]
	for _, rr := range rrs {
		if rr.Header().Rrtype == q.Qtype {
			resp.Answer = append(resp.Answer, dns.Copy(rr))
		}
	}
	s.mu.Unlock()
	if len(resp.Answer) == 0 {
		if !known {
			resp.Rcode = dns.RcodeNameError
		}
		soa, _ := dns.NewRR(". 300 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 30")
		resp.Ns = []dns.RR{soa}
	}
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = int(opt.UDPSize())
	}
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		resp.Truncate(size)
	}
	w.WriteMsg(resp)
}

// txtRecord returns a TXT record for name holding value, split into the
// 255-byte strings DNS requires.
func txtRecord(name, value string) string {
	var quoted []string
	for len(value) > 255 {
		quoted = append(quoted, `"`+value[:255]+`"`)
		value = value[255:]
	}
	quoted = append(quoted, `"`+value+`"`)
	return fmt.Sprintf("%s %d IN TXT %s", name, testTTL, strings.Join(quoted, " "))
}
