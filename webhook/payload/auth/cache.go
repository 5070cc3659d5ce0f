package auth

import (
	"container/list"
	"context"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// DefaultCacheEntries is the number of DNS answers kept when
// Config.CacheEntries is zero: a few per sending domain, for thousands of
// domains, in well under a few megabytes.
const DefaultCacheEntries = 10000

type cacheKey struct {
	name  string
	qtype uint16
}

// answer is what one question got: records, or an error (a *net.DNSError),
// and for how long it may be reused (zero: not at all).
type answer struct {
	rrs []dns.RR
	err error
	ttl time.Duration
}

type cacheEntry struct {
	key     cacheKey
	rrs     []dns.RR
	err     error
	expires time.Time
}

// flight is a query in progress; those asking the same question meanwhile
// wait for it instead of sending their own.
type flight struct {
	done chan struct{}
	ans  answer
}

// cache keeps answers for their TTL, at most max of them, dropping the
// least recently used first.
type cache struct {
	mu      sync.Mutex
	max     int
	now     func() time.Time
	lru     *list.List // of *cacheEntry, most recent first
	entries map[cacheKey]*list.Element
	flights map[cacheKey]*flight
}

func newCache(max int, now func() time.Time) *cache {
	return &cache{
		max:     max,
		now:     now,
		lru:     list.New(),
		entries: make(map[cacheKey]*list.Element),
		flights: make(map[cacheKey]*flight),
	}
}

// get returns the live cached answer for key, or waits for the query in
// flight for it, or runs fill and keeps what it returns for its TTL. A
// waiter gets the outcome of the query it waited for, which ran within
// the first asker's budget; a waiter whose own ctx ends first gets a
// timeout.
func (c *cache) get(ctx context.Context, key cacheKey, fill func() answer) ([]dns.RR, error) {
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		if c.now().Before(e.expires) {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e.rrs, e.err
		}
		c.lru.Remove(el)
		delete(c.entries, key)
	}
	if f, ok := c.flights[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.ans.rrs, f.ans.err
		case <-ctx.Done():
			return nil, &net.DNSError{Err: "lookup timed out: " + ctx.Err().Error(), Name: key.name, IsTimeout: true}
		}
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()

	f.ans = fill()

	c.mu.Lock()
	delete(c.flights, key)
	if f.ans.ttl > 0 {
		c.put(&cacheEntry{key: key, rrs: f.ans.rrs, err: f.ans.err, expires: c.now().Add(f.ans.ttl)})
	}
	c.mu.Unlock()
	close(f.done)
	return f.ans.rrs, f.ans.err
}

// put adds e, evicting the least recently used entries past max. The
// caller holds c.mu.
func (c *cache) put(e *cacheEntry) {
	if old, ok := c.entries[e.key]; ok {
		c.lru.Remove(old)
	}
	c.entries[e.key] = c.lru.PushFront(e)
	for c.lru.Len() > c.max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.entries, last.Value.(*cacheEntry).key)
	}
}

// len returns the number of answers held, live or expired.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
