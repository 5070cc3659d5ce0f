package auth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// fakeClock is the cache's clock in tests, moved by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestWarmCacheNoNetwork: the second check of a message asks the server
// nothing, whatever SPF, DKIM and DMARC looked up the first time.
func TestWarmCacheNoNetwork(t *testing.T) {
	srv := startDNS(t, testZones(t)...)
	c := testChecker(t, srv, 5*time.Second)
	msg := sign(t, message("Alice <alice@example.com>", body), "sel1", "example.com", "relaxed", "relaxed")
	in := Input{Message: msg, MailFrom: "alice@example.com", HELO: "mail.example.com", ClientIP: allowed}
	first := check(t, c, in)
	cold := srv.Queries.Load()
	if cold == 0 {
		t.Fatal("the first check asked the server nothing")
	}
	second := check(t, c, in)
	if n := srv.Queries.Load() - cold; n != 0 {
		t.Errorf("warm check sent %d queries, want 0", n)
	}
	if first.DMARC.Result != wire.AuthPass || second.DMARC.Result != wire.AuthPass || second.DKIM[0].Result != wire.AuthPass {
		t.Errorf("results changed or did not pass: %+v then %+v", first, second)
	}
}

// TestCacheTTL: an answer is reused until its TTL runs out, a negative one
// for the SOA's negative TTL (30s in the test zone), then asked again.
func TestCacheTTL(t *testing.T) {
	srv := startDNS(t, testZones(t)...)
	c := testChecker(t, srv, 5*time.Second)
	clock := &fakeClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	c.dns.cache.now = clock.now
	ctx := context.Background()

	steps := []struct {
		advance time.Duration
		name    string
		queries int64 // sent by this step
	}{
		{0, "example.com", 1},
		{testTTL*time.Second - time.Second, "example.com", 0},
		{2 * time.Second, "example.com", 1},
		{0, "missing.example.com", 1},
		{29 * time.Second, "missing.example.com", 0},
		{2 * time.Second, "missing.example.com", 1},
	}
	for i, s := range steps {
		clock.add(s.advance)
		before := srv.Queries.Load()
		txts, err := c.dns.LookupTXT(ctx, s.name)
		if strings.HasPrefix(s.name, "missing") != isNotFound(err) {
			t.Fatalf("step %d: LookupTXT(%s) = %q, %v", i, s.name, txts, err)
		}
		if n := srv.Queries.Load() - before; n != s.queries {
			t.Errorf("step %d (%s after +%s): %d queries, want %d", i, s.name, s.advance, n, s.queries)
		}
	}
}

// TestCacheBounded: past CacheEntries, the least recently used answer goes.
func TestCacheBounded(t *testing.T) {
	var zone []string
	for i := range 5 {
		zone = append(zone, txtRecord(fmt.Sprintf("d%d.example.", i), "v=spf1 -all"))
	}
	srv := startDNS(t, zone...)
	c, err := New(Config{Resolver: srv.Addr, CacheEntries: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 5 {
		if _, err := c.dns.LookupTXT(ctx, fmt.Sprintf("d%d.example", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.dns.cache.len(); n != 3 {
		t.Errorf("cache holds %d answers, want 3", n)
	}
	before := srv.Queries.Load()
	c.dns.LookupTXT(ctx, "d4.example") // recent: cached
	c.dns.LookupTXT(ctx, "d0.example") // evicted: asked again
	if n := srv.Queries.Load() - before; n != 1 {
		t.Errorf("%d queries, want 1 (d0 evicted, d4 kept)", n)
	}
}

// TestLargeAnswerOverTCP: an answer too large for UDP comes truncated and
// is asked again over TCP, as a 4096-bit DKIM key's would be.
func TestLargeAnswerOverTCP(t *testing.T) {
	long := strings.Repeat("k", 3000)
	srv := startDNS(t, txtRecord("big._domainkey.example.com.", long))
	c := testChecker(t, srv, 5*time.Second)
	txts, err := c.dns.LookupTXT(context.Background(), "big._domainkey.example.com")
	if err != nil || len(txts) != 1 || txts[0] != long {
		t.Fatalf("LookupTXT = %d records (%v), want the 3000-byte one", len(txts), err)
	}
}

// TestServerFailure: SERVFAIL is temperror everywhere, and is not cached.
func TestServerFailure(t *testing.T) {
	srv := startDNS(t, testZones(t)...)
	c := testChecker(t, srv, 5*time.Second)
	msg := sign(t, message("Alice <alice@example.com>", body), "sel1", "example.com", "relaxed", "relaxed")
	in := Input{Message: msg, MailFrom: "alice@example.com", HELO: "mail.example.com", ClientIP: allowed}
	srv.Fail.Store(true)
	got := check(t, c, in)
	if got.SPF.Result != wire.AuthTempError || got.DKIM[0].Result != wire.AuthTempError || got.DMARC.Result != wire.AuthTempError {
		t.Errorf("with SERVFAIL: spf %s, dkim %s, dmarc %s; want temperror for all",
			got.SPF.Result, got.DKIM[0].Result, got.DMARC.Result)
	}
	srv.Fail.Store(false)
	if got := check(t, c, in); got.SPF.Result != wire.AuthPass || got.DMARC.Result != wire.AuthPass {
		t.Errorf("after recovery: spf %s, dmarc %s; want pass (failures must not be cached)", got.SPF.Result, got.DMARC.Result)
	}
}

// TestDroppedQueries: a server that never answers gives temperror for
// every check within the Timeout, not an error and not a hang.
func TestDroppedQueries(t *testing.T) {
	srv := startDNS(t, testZones(t)...)
	srv.Drop.Store(true)
	const timeout = 700 * time.Millisecond
	c := testChecker(t, srv, timeout)
	msg := sign(t, message("Alice <alice@example.com>", body), "sel1", "example.com", "relaxed", "relaxed")
	in := Input{Message: msg, MailFrom: "alice@example.com", HELO: "mail.example.com", ClientIP: allowed}

	start := time.Now()
	got := check(t, c, in)
	elapsed := time.Since(start)
	t.Logf("all checks temperror after %s (timeout %s)", elapsed, timeout)
	if elapsed > timeout+300*time.Millisecond {
		t.Errorf("Check took %s, want at most the %s timeout (+300ms margin)", elapsed, timeout)
	}
	if got.SPF.Result != wire.AuthTempError || len(got.DKIM) != 1 || got.DKIM[0].Result != wire.AuthTempError ||
		got.DMARC.Result != wire.AuthTempError {
		t.Errorf("spf %s, dkim %+v, dmarc %s; want temperror for all", got.SPF.Result, got.DKIM, got.DMARC.Result)
	}
	if srv.Queries.Load() == 0 {
		t.Error("the server saw no query")
	}
}

// TestConcurrentChecks: many checks of one message at once, on a cold
// cache, all get the same verdicts and share their queries.
func TestConcurrentChecks(t *testing.T) {
	srv := startDNS(t, testZones(t)...)
	c := testChecker(t, srv, 5*time.Second)
	msg := sign(t, message("Alice <alice@example.com>", body), "sel1", "example.com", "relaxed", "relaxed")
	in := Input{Message: msg, MailFrom: "alice@example.com", HELO: "mail.example.com", ClientIP: allowed}
	const n = 20
	results := make([]wire.Auth, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = c.Check(context.Background(), in) })
	}
	wg.Wait()
	for i, r := range results {
		if r.SPF.Result != wire.AuthPass || r.DKIM[0].Result != wire.AuthPass || r.DMARC.Result != wire.AuthPass {
			t.Errorf("check %d: spf %s, dkim %s, dmarc %s", i, r.SPF.Result, r.DKIM[0].Result, r.DMARC.Result)
		}
	}
	// SPF's TXT, the key, _dmarc: three questions, each asked once.
	if q := srv.Queries.Load(); q != 3 {
		t.Errorf("%d concurrent checks sent %d queries, want 3", n, q)
	}
}

// TestSystemResolver: an empty Resolver means resolv.conf's first server;
// nothing is asked here, only the configuration read.
func TestSystemResolver(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(conf, []byte("search example\nnameserver 127.0.0.53\nnameserver 127.0.0.54\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := systemServer(conf)
	if err != nil || got != "127.0.0.53:53" {
		t.Errorf("systemServer = %q, %v; want 127.0.0.53:53", got, err)
	}
	if _, err := systemServer(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing resolv.conf gave no error")
	}
}
