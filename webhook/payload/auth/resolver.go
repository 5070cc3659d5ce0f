package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

const (
	// attemptTimeout bounds one query over the network; a lost UDP packet
	// costs this much before the query is sent again.
	attemptTimeout = 2 * time.Second
	// maxAttempts bounds how often one query is sent; the caller's context
	// usually ends the loop first.
	maxAttempts = 3
	// ednsSize is the UDP payload size we offer (the DNS flag day 2020
	// value, which avoids IP fragmentation); larger answers come over TCP.
	ednsSize = 1232
	// maxTTL caps how long a positive answer is kept, whatever its TTL.
	maxTTL = time.Hour
	// maxNegativeTTL caps how long "no such name / no such record" is kept
	// (RFC 2308), so a record that was just published is seen soon.
	maxNegativeTTL = time.Minute
)

// resolver answers the lookups of the SPF, DKIM and DMARC code from one
// recursive DNS server, through a cache shared by all of them. It returns
// *net.DNSError values, as net.Resolver does, because the SPF and DKIM
// libraries classify errors by that type: IsNotFound for NXDOMAIN and
// NODATA, IsTimeout or IsTemporary for everything that may work later.
type resolver struct {
	server string
	udp    *dns.Client
	tcp    *dns.Client
	cache  *cache
}

func newResolver(server string, cacheEntries int) *resolver {
	return &resolver{
		server: server,
		udp:    &dns.Client{Net: "udp", Timeout: attemptTimeout, UDPSize: ednsSize},
		tcp:    &dns.Client{Net: "tcp", Timeout: attemptTimeout},
		cache:  newCache(cacheEntries, time.Now),
	}
}

// systemServer returns the first name server of /etc/resolv.conf, so that
// an empty DNS_SERVER still goes through our cache and timeouts.
func systemServer(resolvConf string) (string, error) {
	cc, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil {
		return "", fmt.Errorf("auth: read %s: %w", resolvConf, err)
	}
	if len(cc.Servers) == 0 {
		return "", fmt.Errorf("auth: %s names no nameserver", resolvConf)
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port), nil
}

// LookupTXT returns one string per TXT record, its strings joined, as
// net.LookupTXT does.
func (r *resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	txts := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		txts = append(txts, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return txts, nil
}

// LookupMX returns the MX records of name, most preferred first.
func (r *resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	mxs := make([]*net.MX, 0, len(rrs))
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		mxs = append(mxs, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	return mxs, nil
}

// LookupIPAddr returns the A and AAAA addresses of host, both asked at
// once. Addresses of one family are returned even when the other failed.
func (r *resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	var (
		wg         sync.WaitGroup
		a, aaaa    []dns.RR
		aErr, eErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		aaaa, eErr = r.lookup(ctx, host, dns.TypeAAAA)
	}()
	a, aErr = r.lookup(ctx, host, dns.TypeA)
	wg.Wait()
	addrs := make([]net.IPAddr, 0, len(a)+len(aaaa))
	for _, rr := range a {
		addrs = append(addrs, net.IPAddr{IP: rr.(*dns.A).A})
	}
	for _, rr := range aaaa {
		addrs = append(addrs, net.IPAddr{IP: rr.(*dns.AAAA).AAAA})
	}
	if len(addrs) > 0 {
		return addrs, nil
	}
	if aErr != nil && !isNotFound(aErr) {
		return nil, aErr
	}
	if eErr != nil && !isNotFound(eErr) {
		return nil, eErr
	}
	return nil, notFound(host)
}

// LookupAddr returns the names of addr's PTR records (SPF's ptr mechanism
// and %{p} macro).
func (r *resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	arpa, err := dns.ReverseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	rrs, err := r.lookup(ctx, arpa, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		names = append(names, rr.(*dns.PTR).Ptr)
	}
	return names, nil
}

// lookup returns the records of qtype at name, from the cache when it
// holds a live answer, else from the server; concurrent lookups of the same
// question share one query.
func (r *resolver) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	fqdn := dns.CanonicalName(name)
	if _, ok := dns.IsDomainName(fqdn); !ok || fqdn == "." {
		return nil, &net.DNSError{Err: "invalid domain name", Name: name}
	}
	return r.cache.get(ctx, cacheKey{fqdn, qtype}, func() answer {
		return r.query(ctx, fqdn, qtype)
	})
}

// query asks the server, over UDP and then TCP when the answer was
// truncated, sending again after a lost packet while ctx allows.
func (r *resolver) query(ctx context.Context, fqdn string, qtype uint16) answer {
	m := new(dns.Msg)
	m.SetQuestion(fqdn, qtype)
	m.SetEdns0(ednsSize, false)
	var lastErr error
	for range maxAttempts {
		if ctx.Err() != nil {
			break
		}
		resp, _, err := r.udp.ExchangeContext(ctx, m, r.server)
		if err == nil && resp.Truncated {
			resp, _, err = r.tcp.ExchangeContext(ctx, m, r.server)
		}
		if err != nil {
			lastErr = err
			continue
		}
		return r.answer(fqdn, qtype, resp)
	}
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	return answer{err: &net.DNSError{
		Err: "lookup timed out: " + errText(lastErr), Name: fqdn, Server: r.server, IsTimeout: true,
	}}
}

func errText(err error) string {
	if err == nil {
		return "no answer"
	}
	return err.Error()
}

// answer turns a response into the records asked for and how long they may
// be kept. Negative answers are kept for the SOA's negative TTL (RFC 2308
// section 5), and not at all without an SOA; failures are not kept.
func (r *resolver) answer(fqdn string, qtype uint16, resp *dns.Msg) answer {
	switch resp.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return answer{err: &net.DNSError{
			Err: "server answered " + dns.RcodeToString[resp.Rcode], Name: fqdn, Server: r.server, IsTemporary: true,
		}}
	}
	var rrs []dns.RR
	ttl := maxTTL
	for _, rr := range resp.Answer {
		ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
		if rr.Header().Rrtype == qtype {
			rrs = append(rrs, rr)
		}
	}
	if resp.Rcode == dns.RcodeSuccess && len(rrs) > 0 {
		return answer{rrs: rrs, ttl: ttl}
	}
	neg := time.Duration(0)
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			neg = min(maxNegativeTTL, time.Duration(min(soa.Hdr.Ttl, soa.Minttl))*time.Second)
		}
	}
	return answer{err: notFound(fqdn), ttl: neg}
}

func notFound(name string) *net.DNSError {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func isNotFound(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

// isTemporary reports whether a lookup error may go away when asked again
// (a timeout, a server failure): RFC 8601's temperror.
func isTemporary(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && (dnsErr.IsTimeout || dnsErr.IsTemporary)
}
