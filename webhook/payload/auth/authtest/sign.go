package authtest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/lmtptest"
)

// Key is one RSA key pair for DKIM: the private half for the signer, the
// public half as a DKIM key record's value.
type Key struct {
	// PEM is the private key.
	PEM []byte
	// Record is the TXT value to publish at selector._domainkey.domain.
	Record string
}

// WriteFile writes the private key into a directory of tb's and returns
// its path, for a signer's command line.
func (k Key) WriteFile(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "key.pem")
	if err := os.WriteFile(path, k.PEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

var (
	keyOnce sync.Once
	key     Key
	keyErr  error
)

// NewKey returns the key pair of this test binary, made the first time it
// is asked for.
func NewKey(tb testing.TB) Key {
	tb.Helper()
	keyOnce.Do(func() {
		var priv *rsa.PrivateKey
		if priv, keyErr = rsa.GenerateKey(rand.Reader, 2048); keyErr != nil {
			return
		}
		key.PEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})
		var pub []byte
		if pub, keyErr = x509.MarshalPKIXPublicKey(&priv.PublicKey); keyErr != nil {
			return
		}
		key.Record = "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)
	})
	if keyErr != nil {
		tb.Fatal(keyErr)
	}
	return key
}

// Dkimsign returns the path of Debian's python3-dkim signer, skipping tb
// when it is not installed (failing it under lmtptest.RequirePeersEnv=1).
func Dkimsign(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("dkimsign")
	if err != nil {
		lmtptest.MissingPeer(tb, "dkimsign (python3-dkim) is not installed: %v", err)
	}
	return path
}

// Sign returns msg with a DKIM-Signature by dkimsign prepended, made with
// NewKey's key for selector and domain, with the given header and body
// canonicalisation ("relaxed" or "simple").
func Sign(tb testing.TB, msg []byte, selector, domain, hcanon, bcanon string) []byte {
	tb.Helper()
	cmd := exec.Command(Dkimsign(tb), "--hcanon", hcanon, "--bcanon", bcanon, selector, domain, NewKey(tb).WriteFile(tb))
	return RunSigner(tb, cmd, msg)
}

// RunSigner runs a signer command with msg on its input and returns its
// output, which must start with the signature.
func RunSigner(tb testing.TB, cmd *exec.Cmd, msg []byte) []byte {
	tb.Helper()
	var stderr bytes.Buffer
	cmd.Stdin = bytes.NewReader(msg)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("%s: %v: %s", cmd.Args[0], err, stderr.String())
	}
	if !bytes.HasPrefix(out, []byte("DKIM-Signature:")) {
		tb.Fatalf("%s wrote no signature: %.200q", cmd.Args[0], out)
	}
	return out
}
