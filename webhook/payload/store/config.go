// Package store keeps large message parts in an S3-compatible bucket and
// hands out presigned GET links to them, so that a webhook payload carries
// a link instead of megabytes of base64.
//
// Objects are content-addressed (see PartKey and RawKey): the same bytes
// always land under the same key, so an MTA's redelivery of a message
// stores nothing twice and links handed out earlier stay valid. The package
// knows nothing about mail, HTTP receivers or LMTP; it uploads, reuses and
// presigns.
package store

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// The environment variables that hold the credentials. They are the AWS
// tools' standard names, so one set of variables serves both.
const (
	envAccessKeyID     = "AWS_ACCESS_KEY_ID"
	envSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	envSessionToken    = "AWS_SESSION_TOKEN"
)

// awsEndpoint is the host used when STORAGE_URL names no endpoint; the
// client turns it into the bucket's regional endpoint.
const awsEndpoint = "s3.amazonaws.com"

// defaultRegion is the region signed for when a custom endpoint names
// none: self-hosted stores (SeaweedFS, MinIO, Garage) accept it.
const defaultRegion = "us-east-1"

// Config says which bucket to use and how to reach and sign for it. Parse
// makes one from STORAGE_URL and the credential variables.
type Config struct {
	// Bucket is the bucket name.
	Bucket string
	// Endpoint is the store's host[:port], without scheme.
	Endpoint string
	// Secure is true for https endpoints.
	Secure bool
	// PathStyle puts the bucket in the path (http://host/bucket/key)
	// rather than in the host name: self-hosted stores need it.
	PathStyle bool
	// Region is the region signed for; empty lets the client ask the
	// bucket (AWS only).
	Region string

	// AccessKeyID, SecretAccessKey and SessionToken sign requests and
	// links (SigV4). The secrets print as "[redacted]".
	AccessKeyID     string
	SecretAccessKey Secret
	SessionToken    Secret

	// Metrics receives the store's counters; nil records nothing.
	Metrics *Metrics
}

// Secret is a string that never prints: fmt, %v of a struct holding it and
// JSON or text encodings all give "[redacted]", so a logged Config cannot
// leak a key.
type Secret string

const redacted = "[redacted]"

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]", for %#v.
func (Secret) GoString() string { return redacted }

// MarshalText returns "[redacted]", for JSON and text encoders.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// String describes the store for a start-up log line, without credentials.
func (c Config) String() string {
	scheme := "http"
	if c.Secure {
		scheme = "https"
	}
	style := "virtual-host"
	if c.PathStyle {
		style = "path-style"
	}
	region := c.Region
	if region == "" {
		region = "bucket's region"
	}
	return fmt.Sprintf("s3://%s at %s://%s (%s, %s)", c.Bucket, scheme, c.Endpoint, region, style)
}

var regionPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Parse reads STORAGE_URL: s3://BUCKET for AWS itself, or
// s3://BUCKET?endpoint=http://HOST:PORT&region=REGION for any other
// S3-compatible store (requests then go path-style). The credentials come
// from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN
// for temporary ones). Errors name the part that is wrong and never
// repeat the URL or a credential.
func Parse(rawURL string) (Config, error) {
	if strings.TrimSpace(rawURL) == "" {
		return Config{}, errors.New("STORAGE_URL is empty")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the whole URL, which may hold a secret the
		// user pasted by mistake: keep only its reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Config{}, fmt.Errorf("STORAGE_URL is not a valid URL: %w", err)
	}
	if u.Scheme != "s3" {
		return Config{}, fmt.Errorf("STORAGE_URL: scheme must be s3 (s3://BUCKET?endpoint=...), not %q", u.Scheme)
	}
	if u.User != nil {
		return Config{}, fmt.Errorf("STORAGE_URL: credentials do not belong in the URL; set %s and %s", envAccessKeyID, envSecretAccessKey)
	}
	if u.Opaque != "" || u.Host == "" {
		return Config{}, errors.New("STORAGE_URL: no bucket name (s3://BUCKET)")
	}
	cfg := Config{Bucket: u.Host}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return Config{}, fmt.Errorf("STORAGE_URL: bucket name %q: %w", cfg.Bucket, err)
	}
	if u.Path != "" && u.Path != "/" {
		return Config{}, errors.New("STORAGE_URL: a path after the bucket is not supported (s3://BUCKET, keys are chosen by the program)")
	}
	if u.Fragment != "" {
		return Config{}, errors.New("STORAGE_URL: a #fragment is not supported")
	}
	if err := cfg.parseQuery(u.RawQuery); err != nil {
		return Config{}, err
	}
	if err := cfg.readCredentials(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// parseQuery reads the endpoint and region parameters.
func (c *Config) parseQuery(rawQuery string) error {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fmt.Errorf("STORAGE_URL: query: %w", err)
	}
	for name, values := range q {
		if name != "endpoint" && name != "region" {
			return fmt.Errorf("STORAGE_URL: unknown parameter %q (known: endpoint, region)", name)
		}
		if len(values) != 1 {
			return fmt.Errorf("STORAGE_URL: parameter %q given %d times", name, len(values))
		}
	}

	c.Endpoint, c.Secure = awsEndpoint, true
	if raw, ok := q["endpoint"]; ok {
		host, secure, err := parseEndpoint(raw[0])
		if err != nil {
			return err
		}
		c.Endpoint, c.Secure, c.PathStyle = host, secure, true
		c.Region = defaultRegion
	}
	if raw, ok := q["region"]; ok {
		if !regionPattern.MatchString(raw[0]) {
			return fmt.Errorf("STORAGE_URL: region %q is not a region name (like us-east-1)", raw[0])
		}
		c.Region = raw[0]
	}
	return nil
}

// parseEndpoint checks an endpoint URL and returns its host[:port] and
// whether it is https.
func parseEndpoint(raw string) (host string, secure bool, err error) {
	e, err := url.Parse(raw)
	if err != nil || e.Host == "" {
		return "", false, errors.New("STORAGE_URL: endpoint must be an http:// or https:// URL with a host, like http://127.0.0.1:8333")
	}
	switch {
	case e.Scheme != "http" && e.Scheme != "https":
		return "", false, fmt.Errorf("STORAGE_URL: endpoint scheme must be http or https, not %q", e.Scheme)
	case e.User != nil:
		return "", false, fmt.Errorf("STORAGE_URL: endpoint: credentials do not belong in the URL; set %s and %s", envAccessKeyID, envSecretAccessKey)
	case e.Path != "" && e.Path != "/":
		return "", false, errors.New("STORAGE_URL: endpoint must have no path (the bucket goes in s3://BUCKET)")
	case e.RawQuery != "" || e.Fragment != "":
		return "", false, errors.New("STORAGE_URL: endpoint must have no query or fragment (escape it: endpoint=http%3A%2F%2Fhost%3A8333)")
	}
	return e.Host, e.Scheme == "https", nil
}

// readCredentials takes the static credentials from the environment.
func (c *Config) readCredentials() error {
	c.AccessKeyID = os.Getenv(envAccessKeyID)
	c.SecretAccessKey = Secret(os.Getenv(envSecretAccessKey))
	c.SessionToken = Secret(os.Getenv(envSessionToken))
	switch {
	case c.AccessKeyID == "" && c.SecretAccessKey == "":
		return fmt.Errorf("STORAGE_URL is set but %s and %s are not", envAccessKeyID, envSecretAccessKey)
	case c.AccessKeyID == "":
		return fmt.Errorf("STORAGE_URL is set and %s too, but %s is not", envSecretAccessKey, envAccessKeyID)
	case c.SecretAccessKey == "":
		return fmt.Errorf("STORAGE_URL is set and %s too, but %s is not", envAccessKeyID, envSecretAccessKey)
	}
	return nil
}
