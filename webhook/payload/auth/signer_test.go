package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// requirePeersEnv turns a missing signer from a skip into a failure, as
// for the other interoperability tests.
const requirePeersEnv = "LMTP_WEBHOOK_REQUIRE_PEERS"

// dkimKey is one RSA key pair for every test selector: the private half in
// a file for the signer, the public half as a DKIM key record.
type dkimKey struct {
	file   string
	record string
}

var (
	keyOnce sync.Once
	keyDir  string
	key     dkimKey
	keyErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if keyDir != "" {
		os.RemoveAll(keyDir)
	}
	os.Exit(code)
}

// testKey makes the key pair once per test binary.
func testKey(t testing.TB) dkimKey {
	t.Helper()
	keyOnce.Do(func() {
		var priv *rsa.PrivateKey
		if priv, keyErr = rsa.GenerateKey(rand.Reader, 2048); keyErr != nil {
			return
		}
		if keyDir, keyErr = os.MkdirTemp("", "auth-dkim-"); keyErr != nil {
			return
		}
		key.file = filepath.Join(keyDir, "key.pem")
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})
		if keyErr = os.WriteFile(key.file, pemKey, 0o600); keyErr != nil {
			return
		}
		var pub []byte
		if pub, keyErr = x509.MarshalPKIXPublicKey(&priv.PublicKey); keyErr != nil {
			return
		}
		key.record = "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)
	})
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return key
}

// dkimsign returns the path of Debian's python3-dkim signer, skipping the
// test when it is not installed (failing under LMTP_WEBHOOK_REQUIRE_PEERS=1).
func dkimsign(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("dkimsign")
	if err != nil {
		if os.Getenv(requirePeersEnv) == "1" {
			t.Fatalf("dkimsign (python3-dkim) is required: %v", err)
		}
		t.Skipf("dkimsign (python3-dkim) not installed: %v", err)
	}
	return path
}

// signerPython returns the interpreter dkimsign runs with, which is the
// one that has the dkim module (another python3 may come first in PATH).
func signerPython(t testing.TB) string {
	t.Helper()
	f, err := os.Open(dkimsign(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	interp, ok := strings.CutPrefix(strings.TrimSpace(line), "#!")
	if !ok {
		t.Fatalf("dkimsign has no #! line: %q", line)
	}
	return strings.Fields(interp)[0]
}

// sign returns msg with a DKIM-Signature by dkimsign prepended, with the
// given header and body canonicalisation.
func sign(t testing.TB, msg []byte, selector, domain, hcanon, bcanon string) []byte {
	t.Helper()
	cmd := exec.Command(dkimsign(t), "--hcanon", hcanon, "--bcanon", bcanon, selector, domain, testKey(t).file)
	return runSigner(t, cmd, msg)
}

// pySign is the script for what dkimsign has no option for: l= (length),
// and an x= already past, made by signing with the clock two hours back
// and an expiry one hour back.
const pySign = `
import sys, time, dkim
selector, domain, keyfile, length, expired = sys.argv[1:6]
msg = sys.stdin.buffer.read()
key = open(keyfile, "rb").read()
if expired == "1":
    real = time.time
    time.time = lambda: real() - 7200
    gen = dkim.DKIM.gen_header
    def with_expiry(self, fields, *args):
        fields = fields + [(b"x", str(int(real()) - 3600).encode())]
        return gen(self, fields, *args)
    dkim.DKIM.gen_header = with_expiry
sig = dkim.sign(msg, selector.encode(), domain.encode(), key,
                canonicalize=(b"relaxed", b"relaxed"), length=(length == "1"))
sys.stdout.buffer.write(sig + msg)
`

// signWith signs msg (relaxed/relaxed) through python3-dkim's library,
// with l= and/or an expired x=.
func signWith(t testing.TB, msg []byte, selector, domain string, length, expired bool) []byte {
	t.Helper()
	flag := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	cmd := exec.Command(signerPython(t), "-c", pySign, selector, domain, testKey(t).file, flag(length), flag(expired))
	return runSigner(t, cmd, msg)
}

func runSigner(t testing.TB, cmd *exec.Cmd, msg []byte) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stdin = bytes.NewReader(msg)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v: %s", cmd.Args[0], err, stderr.String())
	}
	if !bytes.HasPrefix(out, []byte("DKIM-Signature:")) {
		t.Fatalf("%s wrote no signature: %.200q", cmd.Args[0], out)
	}
	return out
}
