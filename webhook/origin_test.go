package webhook

import (
	"net/url"
	"testing"
)

func TestOrigin(t *testing.T) {
	cases := []struct {
		a, b string
		same bool
	}{
		{"http://hook.test/a", "http://hook.test:80/b?x=1", true},
		{"https://hook.test/a", "https://HOOK.test:443/b", true},
		{"https://user:pw@hook.test/a", "https://hook.test/b", true},
		{"http://[::1]:8080/a", "http://[::1]:8080/b", true},
		{"https://hook.test/a", "http://hook.test/a", false},
		{"https://hook.test/a", "http://hook.test:443/a", false},
		{"http://hook.test/a", "http://hook.test:8080/a", false},
		{"http://hook.test/a", "http://evil.test/a", false},
		{"http://hook.test/a", "http://hook.test.evil.test/a", false},
	}
	for _, c := range cases {
		a, _ := url.Parse(c.a)
		b, _ := url.Parse(c.b)
		if same := origin(a) == origin(b); same != c.same {
			t.Errorf("%s and %s: same origin %v (%s, %s), want %v", c.a, c.b, same, origin(a), origin(b), c.same)
		}
	}
}
