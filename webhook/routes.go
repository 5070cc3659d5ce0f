package webhook

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Route sends the recipients that match Pattern to their own URL.
type Route struct {
	// Pattern is an exact address, "*@domain" or "*".
	Pattern string
	ep      *endpoint
}

// Routes is a WEBHOOK_ROUTES list. The most specific match wins: the exact
// address, then the address without its +tag, then its domain, then "*".
type Routes []Route

// ParseRoutes reads "pattern=url,pattern=url". A pattern is an exact
// address, "*@domain" or "*"; a URL may itself contain '=' but not ','.
func ParseRoutes(s string) (Routes, error) {
	var rs Routes
	seen := map[string]bool{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		pattern, raw, ok := strings.Cut(item, "=")
		pattern = strings.ToLower(strings.TrimSpace(pattern))
		if !ok || pattern == "" {
			return nil, fmt.Errorf("%q: want pattern=url", truncate(item, 60))
		}
		if err := checkPattern(pattern); err != nil {
			return nil, err
		}
		if seen[pattern] {
			return nil, fmt.Errorf("pattern %q given twice", pattern)
		}
		seen[pattern] = true
		ep, err := parseEndpoint(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", pattern, err)
		}
		rs = append(rs, Route{Pattern: pattern, ep: ep})
	}
	return rs, nil
}

func checkPattern(p string) error {
	switch {
	case p == "*":
		return nil
	case strings.HasPrefix(p, "*@"):
		if d := p[2:]; d == "" || strings.ContainsAny(d, "*@ ") {
			return fmt.Errorf("pattern %q: want *@domain", p)
		}
		return nil
	case strings.Count(p, "@") == 1 && !strings.ContainsAny(p, "* ") && p[0] != '@' && p[len(p)-1] != '@':
		return nil
	}
	return fmt.Errorf("pattern %q: want an address, *@domain or *", p)
}

// match returns the endpoint of the most specific route for rcpt, or nil.
func (rs Routes) match(rcpt string) *endpoint {
	if len(rs) == 0 {
		return nil
	}
	addr := strings.ToLower(rcpt)
	domain, untagged := "", addr
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		domain = "*@" + addr[at+1:]
		if plus := strings.IndexByte(addr[:at], '+'); plus >= 0 {
			untagged = addr[:plus] + addr[at:]
		}
	}
	var byUntagged, byDomain, any *endpoint
	for _, r := range rs {
		switch r.Pattern {
		case addr:
			return r.ep
		case untagged:
			byUntagged = r.ep
		case domain:
			byDomain = r.ep
		case "*":
			any = r.ep
		}
	}
	if byUntagged != nil {
		return byUntagged
	}
	if byDomain != nil {
		return byDomain
	}
	return any
}

// String lists the routes with credentials hidden, for logs.
func (rs Routes) String() string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Pattern + "=" + r.ep.redacted
	}
	return strings.Join(parts, ",")
}

// endpoint is one destination URL, parsed once.
type endpoint struct {
	url        string // without user information
	redacted   string // safe for logs: see LogURL
	user, pass string
	basic      bool
}

// CheckURL reports what is wrong with raw as a webhook URL (Config.URL,
// NewChecker), so that a configuration can be refused at start-up.
func CheckURL(raw string) error {
	_, err := parseEndpoint(raw)
	return err
}

func parseEndpoint(raw string) (*endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, credentials and all: keep only
		// what is wrong.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme must be http or https", logForm(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q: no host", logForm(u))
	}
	e := &endpoint{redacted: logForm(u)}
	if u.User != nil {
		e.basic = true
		e.user = u.User.Username()
		e.pass, _ = u.User.Password()
		u.User = nil
	}
	e.url = u.String()
	return e, nil
}

func (c *Client) endpointFor(rcpt string) *endpoint {
	if ep := c.cfg.Routes.match(rcpt); ep != nil {
		return ep
	}
	return c.def
}
