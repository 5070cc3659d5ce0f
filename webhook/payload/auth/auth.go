// Package auth computes the payload's "auth": SPF, DKIM and DMARC for a
// received message, per RFC 7208, 6376 and 7489, and the Authentication-
// Results of a trusted front server. It knows nothing about LMTP or HTTP.
//
// Nothing here fails a delivery: what depends on DNS and cannot be learned
// within the message's budget is temperror, so a misbehaving resolver costs
// at most Config.Timeout per message and never a deferral or a bounce.
package auth

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// DefaultTimeout is one message's budget for all its checks when
// Config.Timeout is zero: several DNS round trips to a slow resolver, well
// within the MTA's patience.
const DefaultTimeout = 5 * time.Second

// resolvConf is where an empty Config.Resolver finds the system's server.
const resolvConf = "/etc/resolv.conf"

// Config is what a Checker needs; zero values mean the defaults.
type Config struct {
	// Resolver is the host:port of the recursive DNS server the checks ask
	// (DNS_SERVER); empty means the first nameserver of /etc/resolv.conf.
	Resolver string
	// Timeout is one message's total budget for its checks (AUTH_TIMEOUT);
	// what is not answered by then is temperror.
	Timeout time.Duration
	// TrustedAuthservID is the authserv-id whose Authentication-Results
	// headers go into Upstream (AUTH_TRUSTED_AUTHSERV_ID); empty: none do.
	TrustedAuthservID string
	// CacheEntries bounds the DNS answers kept; zero: DefaultCacheEntries.
	CacheEntries int
}

// Checker computes sender authentication. It is safe for concurrent use,
// and its DNS cache is shared by all its checks, so one Checker should
// serve the whole program.
type Checker struct {
	timeout time.Duration
	trusted string
	dns     *resolver
}

// New returns a Checker for cfg. It fails only when Resolver is empty and
// the system's resolver configuration cannot be read.
func New(cfg Config) (*Checker, error) {
	server := cfg.Resolver
	if server == "" {
		var err error
		if server, err = systemServer(resolvConf); err != nil {
			return nil, err
		}
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	entries := cfg.CacheEntries
	if entries <= 0 {
		entries = DefaultCacheEntries
	}
	return &Checker{timeout: timeout, trusted: cfg.TrustedAuthservID, dns: newResolver(server, entries)}, nil
}

// Input is what the checks look at.
type Input struct {
	// Message is the message as received (header and body, CRLF lines).
	// Check only reads it.
	Message []byte
	// MailFrom is the MAIL FROM address, empty for the null sender.
	MailFrom string
	// HELO is the original client's HELO/EHLO name.
	HELO string
	// ClientIP is the original client's address; the zero Addr when the
	// MTA did not say, which makes SPF none.
	ClientIP netip.Addr
}

// Check returns the verdicts for in. It returns within the Checker's
// Timeout (or ctx's deadline, if sooner) plus the CPU time of hashing the
// body: SPF, DKIM and the DMARC record lookup run concurrently, and every
// lookup that does not finish in time is temperror. It never panics on
// hostile input: a check that panics is reported as temperror.
func (c *Checker) Check(ctx context.Context, in Input) wire.Auth {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hdr := scanHeader(in.Message)
	from, fromErr := fromDomain(hdr)

	var (
		wg     sync.WaitGroup
		spfRes *wire.SPFResult
		dkim   []wire.DKIMResult
		policy dmarcPolicy
	)
	run(&wg, func() { spfRes = c.spf(ctx, in) }, func() {
		spfRes = &wire.SPFResult{Result: wire.AuthTempError, Domain: spfDomain(in)}
	})
	run(&wg, func() { dkim = c.dkim(ctx, in.Message, hdr) }, func() { dkim = dkimPanicked(hdr) })
	if fromErr == nil {
		run(&wg, func() { policy = c.dmarcPolicy(ctx, from) }, func() { policy = dmarcPolicy{result: wire.AuthTempError} })
	}
	upstream := upstreamResults(hdr, c.trusted)
	wg.Wait()

	auth := wire.Auth{SPF: spfRes, DKIM: dkim, Upstream: upstream}
	if fromErr != nil {
		auth.DMARC = &wire.DMARCResult{Result: wire.AuthPermError}
	} else {
		auth.DMARC = evaluate(from, policy, spfRes, dkim)
	}
	return auth
}

// run starts f in a goroutine counted by wg; if f panics, onPanic sets the
// result instead, so a library bug costs one verdict, not the process.
func run(wg *sync.WaitGroup, f, onPanic func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			if recover() != nil {
				onPanic()
			}
		}()
		f()
	}()
}

// String describes the Checker for start-up logs.
func (c *Checker) String() string {
	return fmt.Sprintf("auth checks via %s, timeout %s", c.dns.server, c.timeout)
}
