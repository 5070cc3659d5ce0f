package webhook

import (
	"net"
	"net/url"
	"strings"
)

// crossOriginError is a 307 or 308 to another origin: a contract error,
// since following it would hand the body, its signature and the
// configured headers to a host the operator did not name.
type crossOriginError struct {
	from, to string // origins only: no path, query or user information
}

// Error names both origins, which are safe to log.
func (e *crossOriginError) Error() string {
	return "webhook: redirect from " + e.from + " to another origin, " + e.to + ", not followed"
}

// origin returns a URL's scheme, host and port in one comparable form
// (RFC 6454): lower case, the default port written out, so that
// http://Hook and http://hook:80 are one origin, and https://hook and
// http://hook are two.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
