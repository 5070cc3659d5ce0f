package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lmtp-webhook/lmtp-webhook/retry"
)

// MaxExpiry is the longest lifetime of a presigned link: SigV4 refuses
// more than 7 days.
const MaxExpiry = 7 * 24 * time.Hour

// MaxObjectSize is the largest object Put accepts: S3's limit for one PUT.
// Put never uses multipart uploads, whose client buffers a whole part
// (16 MiB) in memory; messages are far below this limit.
const MaxObjectSize = 5 << 30

// Link is a presigned GET link to a stored object.
type Link struct {
	// URL downloads the object without credentials until ExpiresAt.
	URL string
	// ExpiresAt is when the link stops working (at the latest: it is
	// computed from a moment just before signing).
	ExpiresAt time.Time
}

// Store uploads objects to one bucket and presigns links to them. It is
// safe for concurrent use.
type Store struct {
	client  *minio.Client
	bucket  string
	expiry  time.Duration
	metrics *Metrics
	// policy retries an object's HEAD and PUT together.
	policy retry.Policy
	// now is the clock for ExpiresAt.
	now func() time.Time
}

// defaultPolicy retries transient failures (refused connections, 5xx,
// throttling) twice, within a few seconds: long enough to ride out a
// restarting connection, short enough that a store that is down defers
// the message quickly and the MTA keeps it.
var defaultPolicy = retry.Policy{
	MaxAttempts:     3,
	InitialInterval: 250 * time.Millisecond,
	MaxInterval:     2 * time.Second,
}

// New makes a Store for cfg whose links live for expiry (more than zero,
// at most MaxExpiry). It does not contact the store; Check does.
func New(cfg Config, expiry time.Duration) (*Store, error) {
	if expiry <= 0 || expiry > MaxExpiry {
		return nil, fmt.Errorf("store: link expiry %s out of range (more than 0, at most %s)", expiry, MaxExpiry)
	}
	if cfg.Bucket == "" || cfg.Endpoint == "" {
		return nil, errors.New("store: config has no bucket or endpoint (make it with Parse)")
	}
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, errors.New("store: config has no credentials")
	}
	transport, err := minio.DefaultTransport(cfg.Secure)
	if err != nil {
		return nil, fmt.Errorf("store: transport: %w", err)
	}
	// A store that does not answer should fail the attempt quickly; the
	// per-request deadline is the caller's context.
	transport.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKeyID, string(cfg.SecretAccessKey), string(cfg.SessionToken)),
		Secure:       cfg.Secure,
		Transport:    transport,
		Region:       cfg.Region,
		BucketLookup: lookup,
		// Retries are ours (policy): the client's own would retry each
		// request up to ten times and make a dead store slow to report.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("store: client for %s: %w", cfg.Endpoint, err)
	}
	return &Store{
		client:  client,
		bucket:  cfg.Bucket,
		expiry:  expiry,
		metrics: cfg.Metrics,
		policy:  defaultPolicy,
		now:     time.Now,
	}, nil
}

// Check reports whether the bucket exists and the credentials may see it;
// run it at start-up to find a wrong STORAGE_URL before mail arrives.
func (s *Store) Check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("store: check bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("store: bucket %s does not exist", s.bucket)
	}
	return nil
}

// Put stores size bytes read from r under key, unless an object with that
// key and size is already there (keys are content-addressed, so that
// object holds the same bytes), and returns a presigned GET link to it.
//
// The bytes stream from r, which must give exactly size bytes, to the
// store in one PUT; Put holds no copy of them. ctx bounds the whole Put,
// retries included: a store that takes connections and never answers
// holds Put until ctx ends, so pass the delivery's deadline. Transient
// failures are retried a few times; a retry after r was partly read
// needs r to be an io.Seeker (a bytes.Reader is), otherwise the first
// failure is final. The error, when there is one, wraps the
// last cause and names the key, never a credential.
func (s *Store) Put(ctx context.Context, key string, size int64, contentType string, r io.Reader) (Link, error) {
	if size < 0 || size > MaxObjectSize {
		return Link{}, fmt.Errorf("store: put %s: size %d out of range (0 to %d)", key, size, int64(MaxObjectSize))
	}
	body, err := newRewinder(r)
	if err != nil {
		return Link{}, fmt.Errorf("store: put %s: %w", key, err)
	}
	_, attempts, err := retry.Do(ctx, s.policy, func(ctx context.Context, _ int) (struct{}, error) {
		return struct{}{}, s.ensure(ctx, key, size, contentType, body)
	})
	if err != nil {
		s.metrics.failed()
		return Link{}, fmt.Errorf("store: put %s (attempts: %d): %w", key, attempts, err)
	}
	link, err := s.presign(ctx, key, contentType)
	if err != nil {
		s.metrics.failed()
		return Link{}, err
	}
	return link, nil
}

// ensure makes one attempt at having the object stored: HEAD, then PUT
// when it is missing or has another size.
func (s *Store) ensure(ctx context.Context, key string, size int64, contentType string, body *rewinder) error {
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	switch {
	case err == nil && info.Size == size:
		s.metrics.reused()
		return nil
	case err != nil && statusCode(err) != http.StatusNotFound:
		return classify(fmt.Errorf("head: %w", err))
	}
	if err := body.rewind(); err != nil {
		return err
	}
	_, err = s.client.PutObject(ctx, s.bucket, key, body, size, minio.PutObjectOptions{
		ContentType: contentType,
		// One streaming PUT: the multipart path reads each part into a
		// buffer of its part size first.
		DisableMultipart: true,
	})
	if err != nil {
		err = fmt.Errorf("upload: %w", err)
		if !body.canRewind() {
			// The bytes already read are gone: another attempt would
			// upload a truncated object.
			return err
		}
		return classify(err)
	}
	s.metrics.uploaded(size)
	return nil
}

// presign makes the GET link. With the region known (always for custom
// endpoints) it is computed locally, without a request. The link sets the
// download's Content-Type itself: a reused object may have been stored by
// a part with the same bytes and another type.
func (s *Store) presign(ctx context.Context, key, contentType string) (Link, error) {
	// The link's lifetime counts from its X-Amz-Date, taken inside the
	// call and rounded down to the second: a moment taken before the
	// call, rounded the same way, never makes ExpiresAt late.
	signed := s.now().UTC().Truncate(time.Second)
	var params url.Values
	if contentType != "" {
		params = url.Values{"response-content-type": {contentType}}
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, s.expiry, params)
	if err != nil {
		return Link{}, fmt.Errorf("store: presign %s: %w", key, err)
	}
	return Link{URL: u.String(), ExpiresAt: signed.Add(s.expiry)}, nil
}

// classify marks the failures another attempt may cure: no answer at all
// (refused, reset, timed out), 5xx, 408 and 429. Other answers (denied,
// no such bucket, bad signature) are the configuration's fault and final.
func classify(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	switch code := statusCode(err); {
	case code == 0, code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return retry.Temporary(err, 0)
	}
	return err
}

// statusCode is the HTTP status of the store's answer in err's chain, or
// 0 when the store did not answer.
func statusCode(err error) int {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.StatusCode
	}
	return 0
}

// rewinder counts what was read from a body, so that an attempt after a
// failed upload starts again at the body's first byte, or knows it cannot.
type rewinder struct {
	r      io.Reader
	seeker io.Seeker // nil when r cannot seek
	start  int64
	n      int64
}

func newRewinder(r io.Reader) (*rewinder, error) {
	if r == nil {
		return nil, errors.New("nil reader")
	}
	w := &rewinder{r: r}
	if s, ok := r.(io.Seeker); ok {
		if start, err := s.Seek(0, io.SeekCurrent); err == nil {
			w.seeker, w.start = s, start
		}
	}
	return w, nil
}

// Read reads from the body, counting.
func (w *rewinder) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.n += int64(n)
	return n, err
}

func (w *rewinder) canRewind() bool { return w.n == 0 || w.seeker != nil }

// rewind goes back to the first byte; canRewind must hold.
func (w *rewinder) rewind() error {
	if w.n == 0 {
		return nil
	}
	if w.seeker == nil {
		return errors.New("the body was partly read and cannot seek back")
	}
	if _, err := w.seeker.Seek(w.start, io.SeekStart); err != nil {
		return fmt.Errorf("seek back to the body's start: %w", err)
	}
	w.n = 0
	return nil
}
