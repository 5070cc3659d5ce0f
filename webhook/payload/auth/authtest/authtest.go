// Package authtest gives tests what sender authentication needs without
// the Internet: a real DNS server on loopback serving test records, a
// DKIM key pair, and messages signed by a signer this project did not
// write (Debian's python3-dkim). Tests of any package that runs the
// checks use it, so that none ever asks the machine's own resolver.
package authtest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// TTL is the TTL of every record added with TXT.
const TTL = 300

// DNS is a real DNS server on loopback (miekg/dns, UDP and TCP on one
// port) serving records, counting the queries it gets, and able to drop
// them all or fail them all, as a broken resolver does.
type DNS struct {
	// Addr is host:port, for DNS_SERVER or auth.Config.Resolver.
	Addr string
	// Queries counts the queries received, answered or not.
	Queries atomic.Int64
	// Drop, when set, makes the server answer nothing.
	Drop atomic.Bool
	// Fail, when set, makes it answer SERVFAIL.
	Fail atomic.Bool

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case FQDN
}

// StartDNS serves records, given in zone-file syntax, until tb ends.
func StartDNS(tb testing.TB, records ...string) *DNS {
	tb.Helper()
	s := &DNS{records: map[string][]dns.RR{}}
	for _, r := range records {
		s.Add(tb, r)
	}
	pc, ln := listenUDPAndTCP(tb)
	s.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	started := make(chan struct{}, 2)
	udp.NotifyStartedFunc = func() { started <- struct{}{} }
	tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	<-started
	<-started
	tb.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return s
}

// Add publishes one record, e.g. `example.com. 300 IN TXT "v=spf1 -all"`.
func (s *DNS) Add(tb testing.TB, record string) {
	tb.Helper()
	rr, err := dns.NewRR(record)
	if err != nil {
		tb.Fatalf("record %q: %v", record, err)
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
func (s *DNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	s.Queries.Add(1)
	if s.Drop.Load() || len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	if s.Fail.Load() {
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

// TXT returns a TXT record for name holding value, split into the
// 255-byte strings DNS requires.
func TXT(name, value string) string {
	var quoted []string
	for len(value) > 255 {
		quoted = append(quoted, `"`+value[:255]+`"`)
		value = value[255:]
	}
	quoted = append(quoted, `"`+value+`"`)
	return fmt.Sprintf("%s %d IN TXT %s", name, TTL, strings.Join(quoted, " "))
}

// listenUDPAndTCP takes one loopback port for both UDP and TCP. The UDP
// port is free when it is chosen, but its TCP twin may be another test's
// or process's: then it tries another port.
func listenUDPAndTCP(tb testing.TB) (net.PacketConn, net.Listener) {
	tb.Helper()
	var last error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
		last = err
	}
	tb.Fatalf("no loopback port free for both UDP and TCP: %v", last)
	return nil, nil
}
