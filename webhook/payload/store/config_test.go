package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Setenv(envAccessKeyID, "AKIDEXAMPLE")
	t.Setenv(envSecretAccessKey, "wJalrXUtnFEMI-secret")
	t.Setenv(envSessionToken, "")
	tests := []struct {
		name, url string
		want      Config
	}{
		{"custom endpoint", "s3://inbound-mail?endpoint=http://127.0.0.1:8333&region=us-east-1",
			Config{Bucket: "inbound-mail", Endpoint: "127.0.0.1:8333", PathStyle: true, Region: "us-east-1"}},
		{"custom endpoint, region defaults", "s3://inbound-mail?endpoint=https://s3.example.net",
			Config{Bucket: "inbound-mail", Endpoint: "s3.example.net", Secure: true, PathStyle: true, Region: "us-east-1"}},
		{"escaped endpoint, trailing slash", "s3://inbound-mail/?endpoint=http%3A%2F%2Fseaweedfs%3A8333%2F&region=eu-central-1",
			Config{Bucket: "inbound-mail", Endpoint: "seaweedfs:8333", PathStyle: true, Region: "eu-central-1"}},
		{"AWS", "s3://inbound-mail",
			Config{Bucket: "inbound-mail", Endpoint: "s3.amazonaws.com", Secure: true}},
		{"AWS with region", "s3://inbound-mail?region=eu-west-1",
			Config{Bucket: "inbound-mail", Endpoint: "s3.amazonaws.com", Secure: true, Region: "eu-west-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.url)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.url, err)
			}
			tt.want.AccessKeyID, tt.want.SecretAccessKey = "AKIDEXAMPLE", "wJalrXUtnFEMI-secret"
			if got != tt.want {
				t.Errorf("Parse(%q) = %#v, want %#v", tt.url, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const secret = "wJalrXUtnFEMI-secret"
	tests := []struct {
		name, url string
		unsetKey  bool
		unsetAll  bool
		want      string // a part of the error
	}{
		{"empty", "", false, false, "STORAGE_URL is empty"},
		{"not a URL", "s3://bucket?endpoint=http://[::1", false, false, "endpoint must be an http:// or https:// URL"},
		{"bad escape", "s3://bu%zzcket", false, false, "STORAGE_URL is not a valid URL"},
		{"wrong scheme", "https://bucket.s3.amazonaws.com", false, false, `scheme must be s3 (s3://BUCKET?endpoint=...), not "https"`},
		{"no bucket", "s3://?endpoint=http://127.0.0.1:8333", false, false, "no bucket name"},
		{"no bucket, opaque", "s3:bucket", false, false, "no bucket name"},
		{"bad bucket", "s3://Inbound_Mail", false, false, `bucket name "Inbound_Mail"`},
		{"path", "s3://bucket/prefix", false, false, "a path after the bucket is not supported"},
		{"credentials in URL", "s3://AKID:" + secret + "@bucket", false, false, "credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
		{"credentials in endpoint", "s3://bucket?endpoint=http://AKID:" + secret + "@127.0.0.1:8333", false, false, "endpoint: credentials do not belong in the URL"},
		{"unknown parameter", "s3://bucket?endpoint=http://127.0.0.1:8333&pathstyle=true", false, false, `unknown parameter "pathstyle" (known: endpoint, region)`},
		{"repeated parameter", "s3://bucket?region=us-east-1&region=eu-west-1", false, false, `parameter "region" given 2 times`},
		{"endpoint scheme", "s3://bucket?endpoint=ftp://127.0.0.1:8333", false, false, `endpoint scheme must be http or https, not "ftp"`},
		{"endpoint without scheme", "s3://bucket?endpoint=127.0.0.1:8333", false, false, "endpoint must be an http:// or https:// URL with a host"},
		{"endpoint path", "s3://bucket?endpoint=http://127.0.0.1:8333/s3", false, false, "endpoint must have no path"},
		{"bad region", "s3://bucket?region=US_EAST", false, false, `region "US_EAST" is not a region name`},
		{"no credentials", "s3://bucket", false, true, "STORAGE_URL is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not"},
		{"no secret", "s3://bucket", true, false, "AWS_ACCESS_KEY_ID too, but AWS_SECRET_ACCESS_KEY is not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envAccessKeyID, "AKIDEXAMPLE")
			t.Setenv(envSecretAccessKey, secret)
			if tt.unsetKey || tt.unsetAll {
				t.Setenv(envSecretAccessKey, "")
			}
			if tt.unsetAll {
				t.Setenv(envAccessKeyID, "")
			}
			_, err := Parse(tt.url)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.url)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) = %q, want it to say %q", tt.url, err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Parse(%q) error %q repeats the secret", tt.url, err)
			}
		})
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	const secret, token = "wJalrXUtnFEMI-secret", "session-token-value"
	cfg := Config{Bucket: "b", Endpoint: "127.0.0.1:8333", PathStyle: true, Region: "us-east-1",
		AccessKeyID: "AKID", SecretAccessKey: secret, SessionToken: token}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprint(cfg.SecretAccessKey), string(js),
	} {
		if strings.Contains(out, secret) || strings.Contains(out, token) {
			t.Errorf("printed config holds a secret: %s", out)
		}
	}
	if got, want := cfg.String(), "s3://b at http://127.0.0.1:8333 (us-east-1, path-style)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestNewExpiry(t *testing.T) {
	cfg := Config{Bucket: "b", Endpoint: "127.0.0.1:8333", PathStyle: true, Region: "us-east-1", AccessKeyID: "a", SecretAccessKey: "s"}
	for _, tt := range []struct {
		expiry time.Duration
		ok     bool
	}{
		{0, false}, {-time.Hour, false}, {time.Second, true}, {MaxExpiry, true}, {MaxExpiry + time.Second, false},
	} {
		_, err := New(cfg, tt.expiry)
		if (err == nil) != tt.ok {
			t.Errorf("New(expiry %s): error %v, want ok=%v", tt.expiry, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "link expiry") {
			t.Errorf("New(expiry %s): error %q does not name the expiry", tt.expiry, err)
		}
	}
}

func TestKeys(t *testing.T) {
	var sum, other [32]byte
	sum[0], other[0] = 0xab, 0xcd
	if got, want := PartKey(sum), "sha256/ab"+strings.Repeat("00", 31); got != want {
		t.Errorf("PartKey = %s, want %s", got, want)
	}
	k := RawKey("<a@example.com>", sum)
	if !strings.HasPrefix(k, "raw/") || !strings.HasSuffix(k, ".eml") || len(k) != len("raw/")+64+len(".eml") {
		t.Errorf("RawKey = %s, want raw/<64 hex>.eml", k)
	}
	if RawKey("<a@example.com>", sum) != k {
		t.Error("RawKey is not stable for the same message")
	}
	// A sender may reuse someone else's Message-ID: other bytes, other key.
	for _, other := range []string{RawKey("<a@example.com>", other), RawKey("<b@example.com>", sum), RawKey("", sum)} {
		if other == k {
			t.Errorf("RawKey collides for different messages: %s", k)
		}
	}
}
