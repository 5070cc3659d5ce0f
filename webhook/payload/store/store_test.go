package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const mib = 1 << 20

// content returns n reproducible pseudo-random bytes and their sum.
func content(seed uint64, n int) ([]byte, [32]byte) {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b, sha256.Sum256(b)
}

// newTestStore makes a Store for bucket on w, the way the program does:
// from STORAGE_URL and the credential variables.
func newTestStore(t *testing.T, w *weed, bucket string, expiry time.Duration) (*Store, *Metrics) {
	t.Helper()
	t.Setenv(envAccessKeyID, testAccessKey)
	t.Setenv(envSecretAccessKey, testSecretKey)
	cfg, err := Parse(w.StorageURL(bucket))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	cfg.Metrics = NewMetrics(prometheus.NewPedanticRegistry())
	s, err := New(cfg, expiry)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, cfg.Metrics
}

// sharedBucket makes a bucket on the shared server and a Store for it.
func sharedBucket(t *testing.T, bucket string, expiry time.Duration) (*weed, *Store, *Metrics) {
	t.Helper()
	w := sharedWeed(t)
	w.MakeBucket(t, bucket)
	s, m := newTestStore(t, w, bucket, expiry)
	return w, s, m
}

// download fetches a presigned link the way a receiver would, without
// credentials, and returns the body's sum and the Content-Type.
func download(t *testing.T, link string) ([32]byte, int64, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(link)
	if err != nil {
		t.Fatalf("GET presigned link: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		t.Fatalf("GET presigned link: %s: %s", resp.Status, body)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatalf("reading the object: %v", err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, n, resp.Header.Get("Content-Type")
}

func counts(m *Metrics) (uploads, bytes, reuses, failures float64) {
	return testutil.ToFloat64(m.uploads), testutil.ToFloat64(m.bytes), testutil.ToFloat64(m.reuses), testutil.ToFloat64(m.failures)
}

func TestPutLargePartOnceAndReuse(t *testing.T) {
	const expiry = 24 * time.Hour
	w, s, m := sharedBucket(t, "large-part", expiry)
	data, sum := content(1, 20*mib)
	ctx := context.Background()

	before := time.Now()
	link, err := s.Put(ctx, PartKey(sum), int64(len(data)), "application/pdf", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, n, ctype := download(t, link.URL)
	if got != sum || n != int64(len(data)) {
		t.Fatalf("download: %d bytes, sha256 %x; want %d bytes, %x", n, got, len(data), sum)
	}
	if ctype != "application/pdf" {
		t.Errorf("Content-Type of the download = %q, want application/pdf", ctype)
	}
	// The link carries its lifetime; ExpiresAt may be early by the
	// rounding to a second, never late.
	u, _ := url.Parse(link.URL)
	if q := u.Query().Get("X-Amz-Expires"); q != strconv.Itoa(int(expiry.Seconds())) {
		t.Errorf("X-Amz-Expires = %q, want %d", q, int(expiry.Seconds()))
	}
	signedAt, err := time.Parse("20060102T150405Z", u.Query().Get("X-Amz-Date"))
	if err != nil {
		t.Fatalf("X-Amz-Date: %v", err)
	}
	if end := signedAt.Add(expiry); link.ExpiresAt.After(end) || link.ExpiresAt.Before(before.Add(expiry).Add(-time.Second)) {
		t.Errorf("ExpiresAt = %s; the link expires at %s, Put started at %s", link.ExpiresAt, end, before)
	}
	if !strings.Contains(link.URL, "/large-part/sha256/") {
		t.Errorf("link %s is not path-style for the part key", link.URL)
	}

	// The same bytes again (a redelivery, or the same file in another
	// message, typed differently there): nothing is uploaded, and the new
	// link serves them with the new part's type.
	again, err := s.Put(ctx, PartKey(sum), int64(len(data)), "application/octet-stream", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("second Put: %v", err)
	}
	if got, _, ctype := download(t, again.URL); got != sum || ctype != "application/octet-stream" {
		t.Fatalf("second link downloads sha256 %x as %q, want %x as application/octet-stream", got, ctype, sum)
	}

	uploads, up, reuses, failures := counts(m)
	if uploads != 1 || up != float64(len(data)) || reuses != 1 || failures != 0 {
		t.Errorf("metrics: uploads %v, bytes %v, reuses %v, failures %v; want 1, %d, 1, 0", uploads, up, reuses, failures, len(data))
	}
	if n := w.UploadedObjects(t, "large-part"); n != 1 {
		t.Errorf("SeaweedFS counted %v uploads into the bucket, want 1", n)
	}
}

func TestPutReplacesObjectOfOtherSize(t *testing.T) {
	w, s, m := sharedBucket(t, "other-size", time.Hour)
	data, sum := content(2, 3*mib)
	key := PartKey(sum)
	// An object under the key that cannot be this content: a partial
	// upload from a tool other than ours, say.
	stale := data[:1000]
	if _, err := w.Client().PutObject(context.Background(), "other-size", key, bytes.NewReader(stale), int64(len(stale)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("setup: %v", err)
	}
	link, err := s.Put(context.Background(), key, int64(len(data)), "application/octet-stream", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, n, _ := download(t, link.URL); got != sum {
		t.Fatalf("download: %d bytes, sha256 %x; want the full %d bytes", n, got, len(data))
	}
	if uploads, _, reuses, _ := counts(m); uploads != 1 || reuses != 0 {
		t.Errorf("uploads %v, reuses %v; want 1, 0", uploads, reuses)
	}
}

// failingReader gives n bytes, then an error: a source that breaks.
type failingReader struct {
	r io.Reader
	n int
}

var errSourceBroke = errors.New("source broke")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errSourceBroke
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestPutBrokenSourceStoresNothing(t *testing.T) {
	w, s, m := sharedBucket(t, "broken-source", time.Hour)
	data, sum := content(3, 4*mib)
	key := PartKey(sum)
	// Not seekable, so after the first failure there is nothing to retry
	// with: one attempt, and no truncated object under the key.
	_, err := s.Put(context.Background(), key, int64(len(data)), "", &failingReader{r: bytes.NewReader(data), n: mib})
	if err == nil {
		t.Fatal("Put from a broken source succeeded")
	}
	if !errors.Is(err, errSourceBroke) || !strings.Contains(err.Error(), "(attempts: 1)") {
		t.Errorf("error %q: want the source's error, after 1 attempt", err)
	}
	if _, err := w.Client().StatObject(context.Background(), "broken-source", key, minio.StatObjectOptions{}); statusCode(err) != http.StatusNotFound {
		t.Errorf("HEAD after the failed Put: %v, want 404", err)
	}
	if _, _, _, failures := counts(m); failures != 1 {
		t.Errorf("failures = %v, want 1", failures)
	}
}

func TestPutWrongSecretFailsAtOnce(t *testing.T) {
	w := sharedWeed(t)
	w.MakeBucket(t, "wrong-secret")
	t.Setenv(envAccessKeyID, testAccessKey)
	const wrong = "wrong-Secret-Value-987654321"
	t.Setenv(envSecretAccessKey, wrong)
	cfg, err := Parse(w.StorageURL("wrong-secret"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	s, err := New(cfg, time.Hour)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	data, sum := content(4, 1000)
	_, err = s.Put(context.Background(), PartKey(sum), int64(len(data)), "", bytes.NewReader(data))
	if err == nil {
		t.Fatal("Put with a wrong secret succeeded")
	}
	// Denied is not transient: no retries.
	if !strings.Contains(err.Error(), "(attempts: 1)") || statusCode(err) != http.StatusForbidden {
		t.Errorf("error %q (status %d): want 403 after 1 attempt", err, statusCode(err))
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q contains the secret", err)
	}
	if err := s.Check(context.Background()); err == nil {
		t.Error("Check with a wrong secret succeeded")
	}
}

func TestCheck(t *testing.T) {
	w, s, _ := sharedBucket(t, "checked", time.Hour)
	if err := s.Check(context.Background()); err != nil {
		t.Errorf("Check of an existing bucket: %v", err)
	}
	missing, _ := newTestStore(t, w, "not-made", time.Hour)
	err := missing.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "bucket not-made does not exist") {
		t.Errorf("Check of a missing bucket: %v", err)
	}
}

func TestPutStoreDownThenBack(t *testing.T) {
	w := ownWeed(t)
	w.MakeBucket(t, "outage")
	s, m := newTestStore(t, w, "outage", time.Hour)
	ctx := context.Background()
	data, sum := content(5, 2*mib)
	if _, err := s.Put(ctx, PartKey(sum), int64(len(data)), "", bytes.NewReader(data)); err != nil {
		t.Fatalf("Put before the outage: %v", err)
	}

	w.Stop()
	data2, sum2 := content(6, 2*mib)
	start := time.Now()
	_, err := s.Put(ctx, PartKey(sum2), int64(len(data2)), "", bytes.NewReader(data2))
	took := time.Since(start)
	if err == nil {
		t.Fatal("Put with the store down succeeded")
	}
	// Its own retries, then an answer well inside an LMTP transaction.
	if took > 10*time.Second {
		t.Errorf("Put took %s to fail, want under 10s", took)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) || !strings.Contains(err.Error(), "(attempts: 3)") {
		t.Errorf("error %q: want a wrapped network error after 3 attempts", err)
	}
	if strings.Contains(err.Error(), testSecretKey) {
		t.Errorf("error %q contains the secret", err)
	}
	t.Logf("store down: Put failed after %s: %v", took.Round(time.Millisecond), err)

	if err := w.Start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	link, err := s.Put(ctx, PartKey(sum2), int64(len(data2)), "", bytes.NewReader(data2))
	if err != nil {
		t.Fatalf("Put after the restart: %v", err)
	}
	if got, _, _ := download(t, link.URL); got != sum2 {
		t.Fatalf("download after the restart: sha256 %x, want %x", got, sum2)
	}
	if uploads, _, _, failures := counts(m); uploads != 2 || failures != 1 {
		t.Errorf("uploads %v, failures %v; want 2, 1", uploads, failures)
	}
}
