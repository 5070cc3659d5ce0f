package webhook

import "net/url"

// LogURL returns a webhook URL as logs and error messages may show it:
// scheme, host and path only. User information and the query often
// carry credentials (https://user:pass@host, ?token=...), and a fragment
// is of no use to an operator. A URL that does not parse gives "".
func LogURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return logForm(u)
}

func logForm(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return v.String()
}
