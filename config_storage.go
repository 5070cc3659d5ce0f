package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/store"
)

// StorageEnv configures object storage for large parts. It is exported
// only because envconfig reads exported fields only.
//
// The threshold's default, 256 KiB, keeps in the payload what most
// receivers want without a second request (signatures, logos, small
// documents: about 340 KiB of base64 at most each) and sends links for
// what makes request bodies hit the 1 to 10 MB limits of hosted platforms
// and proxies.
type StorageEnv struct {
	StorageURL       string        `envconfig:"STORAGE_URL" desc:"S3-compatible bucket for large parts, s3://BUCKET?endpoint=http://HOST:PORT&region=REGION (or s3://BUCKET on AWS); credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; empty: parts stay inline"`
	StorageThreshold string        `envconfig:"STORAGE_THRESHOLD" default:"256KiB" desc:"attachments and inlines larger than this (bytes, or KiB/MiB) go to STORAGE_URL and the payload gets a link"`
	StorageURLExpiry time.Duration `envconfig:"STORAGE_URL_EXPIRY" default:"168h" desc:"lifetime of the presigned links, at most 168h (7 days, S3's limit)"`
	StorageRaw       bool          `envconfig:"STORAGE_RAW" default:"false" desc:"also store the whole message and give raw_url"`
}

// storageSettings are object storage's ready values; nil in settings when
// STORAGE_URL is empty.
type storageSettings struct {
	cfg       store.Config
	expiry    time.Duration
	threshold int64
	raw       bool
}

// storage checks the variables and returns their ready values, or nil
// when object storage is off.
func (e StorageEnv) storage() (*storageSettings, error) {
	threshold, err := parseByteSize(e.StorageThreshold)
	if err != nil {
		return nil, &configError{"STORAGE_THRESHOLD", err}
	}
	switch {
	case e.StorageURLExpiry <= 0:
		return nil, &configError{"STORAGE_URL_EXPIRY", fmt.Errorf("must be a positive duration, got %s", e.StorageURLExpiry)}
	case e.StorageURLExpiry > store.MaxExpiry:
		return nil, &configError{"STORAGE_URL_EXPIRY", fmt.Errorf("at most %s (7 days: S3 refuses longer presigned links), got %s", store.MaxExpiry, e.StorageURLExpiry)}
	}
	if strings.TrimSpace(e.StorageURL) == "" {
		return nil, nil
	}
	cfg, err := store.Parse(e.StorageURL)
	if err != nil {
		return nil, &configError{"STORAGE_URL", unprefixed{err}}
	}
	return &storageSettings{cfg: cfg, expiry: e.StorageURLExpiry, threshold: threshold, raw: e.StorageRaw}, nil
}

// stage makes the storage stage, whose uploads share the deliveries'
// budget, and checks the bucket: a failed check is logged, never fatal,
// since the store may come up after the bridge (each message that cannot
// be stored is deferred, not lost).
func (s *storageSettings) stage(reg prometheus.Registerer, log zerolog.Logger, budget time.Duration) (payload.Stage, error) {
	cfg := s.cfg
	cfg.Metrics = store.NewMetrics(reg)
	st, err := store.New(cfg, s.expiry)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev := log.Info()
	if err := st.Check(ctx); err != nil {
		ev = log.Warn().Err(err)
	}
	ev.Str("store", cfg.String()).Int64("threshold", s.threshold).Dur("url_expiry", s.expiry).
		Bool("raw", s.raw).Msg("object storage for large parts")
	return &payload.Storage{Store: st, Threshold: s.threshold, Raw: s.raw, Budget: budget}, nil
}

// unprefixed drops the variable's name that store.Parse starts its errors
// with: the configuration error names it already.
type unprefixed struct{ err error }

func (u unprefixed) Error() string {
	msg := strings.TrimPrefix(u.err.Error(), "STORAGE_URL")
	return strings.TrimSpace(strings.TrimPrefix(msg, ":"))
}

func (u unprefixed) Unwrap() error { return u.err }

// parseByteSize reads a number of bytes written plainly or with a binary
// suffix: 262144, 256KiB, 1MiB.
func parseByteSize(value string) (int64, error) {
	v := strings.TrimSpace(value)
	unit := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if s, ok := strings.CutSuffix(v, u.suffix); ok {
			v, unit = strings.TrimSpace(s), u.n
			break
		}
	}
	n, err := strconv.ParseUint(v, 10, 62)
	if err != nil || int64(n) > (1<<62)/unit {
		return 0, fmt.Errorf("want a number of bytes, optionally with KiB, MiB or GiB (like 256KiB), got %q", value)
	}
	return int64(n) * unit, nil
}
