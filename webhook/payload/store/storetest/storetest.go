// Package storetest runs a real S3 server for tests: SeaweedFS's weed,
// built by .ci/seaweedfs (cached by version), started on loopback with
// every port chosen here and an identity, so that SigV4 is checked. Tests
// of the store and of everything that stores parts share it.
//
// A test that needs the server skips when the binary is absent, unless
// LMTP_WEBHOOK_REQUIRE_PEERS=1 (as in CI), which makes that a failure.
// It is for tests only and knows nothing of the program's own packages.
package storetest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

const (
	weedEnv = "LMTP_WEBHOOK_WEED"
	// versionFile, under the module's root, pins the version
	// .ci/seaweedfs builds; it keys the binary's cache path.
	versionFile = "examples/seaweedfs/VERSION"
)

// The one identity the server knows. The secret is long and distinctive,
// so that a test can assert it appears in no log or error.
const (
	AccessKey = "lmtp-webhook-test"
	SecretKey = "s3cr3t-Never-In-Logs-0123456789"
)

// Env returns the credential variables a program needs to use the
// server, for a subprocess's environment.
func Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + AccessKey, "AWS_SECRET_ACCESS_KEY=" + SecretKey}
}

// SetCredentials sets the credential variables for the test's own
// process, until it ends.
func SetCredentials(t testing.TB) {
	t.Helper()
	for _, kv := range Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_SESSION_TOKEN", "")
}

// Binary finds the SeaweedFS binary, or skips the test (fails it when
// peers are required).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(weedEnv); p != "" {
		if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
			t.Fatalf("%s=%s is not an executable", weedEnv, p)
		}
		return p
	}
	version, err := seaweedVersion()
	if err != nil {
		t.Fatalf("SeaweedFS version: %v", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		lmtptest.MissingPeer(t, "no cache directory for the SeaweedFS binary: %v", err)
	}
	p := filepath.Join(cache, "lmtp-webhook", "weed-"+version)
	if _, err := os.Stat(p); err != nil {
		lmtptest.MissingPeer(t, "SeaweedFS is not built (%s missing; run .ci/seaweedfs or set %s)", p, weedEnv)
	}
	return p
}

// seaweedVersion reads the pinned version, written once for the build
// script, the compose image and this helper, from the module's root
// above the test's directory.
func seaweedVersion() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
	path := filepath.Join(dir, versionFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

// Server is one SeaweedFS server (master, volume, filer and S3 in one
// process) with its data directory; it can be stopped and started again
// on the same data and ports.
type Server struct {
	bin, dir string
	ports    map[string]int
	cmd      *exec.Cmd
	exited   chan struct{}
	logPath  string
}

// portNames are the listeners weed opens; every one is set, since the
// gRPC ports default to port+10000, which overflows for high ports.
var portNames = []string{
	"master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
	"filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "metricsPort",
}

// New prepares a server of the binary bin in a fresh directory dir and
// starts it; it returns once the server accepts writes.
func New(bin, dir string) (*Server, error) {
	w := &Server{bin: bin, dir: dir, ports: map[string]int{}, logPath: filepath.Join(dir, "weed.log")}
	ports, err := freePorts(len(portNames))
	if err != nil {
		return nil, err
	}
	for i, name := range portNames {
		w.ports[name] = ports[i]
	}
	identities := map[string]any{"identities": []any{map[string]any{
		"name":        "test",
		"credentials": []any{map[string]string{"accessKey": AccessKey, "secretKey": SecretKey}},
		"actions":     []string{"Admin", "Read", "Write", "List", "Tagging"},
	}}}
	b, _ := json.Marshal(identities)
	if err := os.WriteFile(filepath.Join(dir, "identities.json"), b, 0o600); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	return w, w.Start()
}

// freePorts returns n distinct loopback ports nobody listens on now.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Start runs the server and returns once it accepts S3 requests: about
// 7 s for a fresh one, 17 s on old data (the master's warm-up).
func (w *Server) Start() error {
	// -logtostderr is the program's flag, before the command: without it
	// glog writes files into /tmp.
	args := []string{"-logtostderr", "server", "-filer", "-s3",
		"-dir=" + filepath.Join(w.dir, "data"),
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-s3.config=" + filepath.Join(w.dir, "identities.json"),
		"-master.telemetry=false", "-master.electionTimeout=1s",
		// Each bucket is a collection with volumes of its own: room for
		// many small ones.
		"-master.volumeSizeLimitMB=64", "-volume.max=200",
		// As on AWS: a missing bucket is an error, not created on upload.
		"-s3.autoCreateBucket=false",
		"-s3.port.iceberg=0", "-s3.port.lance=0",
		"-filer.localSocket=" + filepath.Join(w.dir, "filer.sock"),
		"-s3.localSocket=" + filepath.Join(w.dir, "s3.sock"),
	}
	for _, name := range portNames {
		args = append(args, "-"+name+"="+strconv.Itoa(w.ports[name]))
	}
	logFile, err := os.OpenFile(w.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	w.cmd = exec.Command(w.bin, args...)
	w.cmd.Stdout, w.cmd.Stderr = logFile, logFile
	if err := w.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start weed: %w", err)
	}
	w.exited = make(chan struct{})
	go func() {
		w.cmd.Wait()
		logFile.Close()
		close(w.exited)
	}()
	if err := w.waitReady(90 * time.Second); err != nil {
		w.Stop()
		return fmt.Errorf("%w\n--- weed log (end) ---\n%s", err, w.LogTail(40))
	}
	return nil
}

// waitReady polls until the master hands out a file id (it refuses writes
// while warming up, about 15 s after a restart) and the S3 gateway answers
// a signed request.
func (w *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := w.Client()
	assign := fmt.Sprintf("http://127.0.0.1:%d/dir/assign", w.ports["master.port"])
	step := "master assigns a file id"
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		select {
		case <-w.exited:
			return fmt.Errorf("weed exited while waiting until %s", step)
		case <-time.After(min(time.Duration(attempt)*50*time.Millisecond, 500*time.Millisecond)):
		}
		if step == "master assigns a file id" {
			if !masterAssigns(assign) {
				continue
			}
			step = "the S3 gateway lists buckets"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := client.ListBuckets(ctx)
		cancel()
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("weed not ready after %s: waiting until %s", limit, step)
}

func masterAssigns(url string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var a struct {
		Fid string `json:"fid"`
	}
	return json.NewDecoder(resp.Body).Decode(&a) == nil && a.Fid != ""
}

// Stop kills the server (SIGTERM takes about 16 s; the tests lose nothing
// by SIGKILL) and waits until it is gone.
func (w *Server) Stop() {
	if w.cmd == nil || w.cmd.Process == nil {
		return
	}
	w.cmd.Process.Kill()
	<-w.exited
	w.cmd = nil
	// weed puts a gRPC socket per service in /tmp whatever its flags say.
	for _, svc := range []string{"master", "volume", "filer", "s3"} {
		os.Remove(fmt.Sprintf("/tmp/seaweedfs-%s-grpc-%d.sock", svc, w.ports[svc+".port.grpc"]))
	}
}

// Endpoint is the S3 gateway's host:port.
func (w *Server) Endpoint() string {
	return "127.0.0.1:" + strconv.Itoa(w.ports["s3.port"])
}

// StorageURL is the STORAGE_URL a user would write for this server.
func (w *Server) StorageURL(bucket string) string {
	return "s3://" + bucket + "?endpoint=http://" + w.Endpoint() + "&region=us-east-1"
}

// Client is a plain minio client, for setting up buckets and objects
// behind the program's back.
func (w *Server) Client() *minio.Client {
	c, err := minio.New(w.Endpoint(), &minio.Options{
		Creds:        credentials.NewStaticV4(AccessKey, SecretKey, ""),
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   1,
	})
	if err != nil {
		panic(err) // only on a malformed endpoint, which is ours
	}
	return c
}

// MakeBucket creates a bucket for one test.
func (w *Server) MakeBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Client().MakeBucket(ctx, name, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatalf("make bucket %s: %v", name, err)
	}
}

// UploadedObjects reads SeaweedFS's own count of objects uploaded into
// bucket (SeaweedFS_s3_uploaded_objects), an account independent of the
// program's.
func (w *Server) UploadedObjects(t testing.TB, bucket string) float64 {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", w.ports["metricsPort"]))
	if err != nil {
		t.Fatalf("weed metrics: %v", err)
	}
	defer resp.Body.Close()
	prefix := `SeaweedFS_s3_uploaded_objects{bucket="` + bucket + `"} `
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("weed metrics line %q: %v", sc.Text(), err)
			}
			return f
		}
	}
	return 0
}

// LogTail returns the last n lines the server wrote.
func (w *Server) LogTail(n int) string {
	b, err := os.ReadFile(w.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// shared is one server for the tests of a package that do not stop it;
// it starts on first use and StopShared stops it.
var shared struct {
	once sync.Once
	w    *Server
	dir  string
	err  error
}

// Shared returns the package's shared server, started on first use. A
// test must not stop it; each uses buckets of its own. Call StopShared
// from TestMain after the tests ran.
func Shared(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t) // skips before anything starts
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "lmtp-webhook-weed-")
		if shared.err == nil {
			shared.w, shared.err = New(bin, shared.dir)
		}
	})
	if shared.err != nil {
		t.Fatalf("SeaweedFS: %v", shared.err)
	}
	return shared.w
}

// StopShared stops the shared server, if one started, and removes its
// data.
func StopShared() {
	if shared.w != nil {
		shared.w.Stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

// Own starts a server for one test (one it may stop and start again),
// stopped when the test ends.
func Own(t testing.TB) *Server {
	t.Helper()
	w, err := New(Binary(t), t.TempDir())
	if err != nil {
		t.Fatalf("SeaweedFS: %v", err)
	}
	t.Cleanup(w.Stop)
	return w
}
