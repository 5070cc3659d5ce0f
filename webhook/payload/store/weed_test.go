package store

// The store's tests run against a real S3 server: storetest's SeaweedFS.

import (
	"os"
	"testing"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/store/storetest"
)

const (
	testAccessKey = storetest.AccessKey
	testSecretKey = storetest.SecretKey
)

type weed = storetest.Server

func sharedWeed(t testing.TB) *weed { return storetest.Shared(t) }

func ownWeed(t testing.TB) *weed { return storetest.Own(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.StopShared()
	os.Exit(code)
}
