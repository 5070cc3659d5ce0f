// Command s3 runs a local S3 server for the benchmark's object-storage
// variant: SeaweedFS (the binary .ci/seaweedfs builds) on loopback ports,
// with one bucket made. It prints the STORAGE_URL to use on stdout once
// the server accepts writes, then serves until SIGTERM or SIGINT, when it
// stops the server and removes its data. The credentials are
// storetest's, printed as AWS_ACCESS_KEY_ID=... lines after the URL.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/store/storetest"
)

func main() {
	bin := flag.String("weed", "", "SeaweedFS binary (from .ci/seaweedfs)")
	bucket := flag.String("bucket", "bench-parts", "bucket to make")
	flag.Parse()
	if *bin == "" {
		fail(fmt.Errorf("-weed is required"))
	}
	dir, err := os.MkdirTemp("", "lmtp-webhook-bench-s3-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	w, err := storetest.New(*bin, dir)
	if err != nil {
		fail(err)
	}
	defer w.Stop()
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = w.Client().MakeBucket(mctx, *bucket, minio.MakeBucketOptions{Region: "us-east-1"})
	cancel()
	if err != nil {
		w.Stop()
		fail(err)
	}
	fmt.Println(w.StorageURL(*bucket))
	for _, kv := range storetest.Env() {
		fmt.Println(kv)
	}
	<-ctx.Done()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "s3:", err)
	os.Exit(1)
}
