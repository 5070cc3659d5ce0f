package auth

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/auth/authtest"
)

// signerPython returns the interpreter dkimsign runs with, which is the
// one that has the dkim module (another python3 may come first in PATH).
func signerPython(t testing.TB) string {
	t.Helper()
	f, err := os.Open(authtest.Dkimsign(t))
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
	return authtest.Sign(t, msg, selector, domain, hcanon, bcanon)
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
	cmd := exec.Command(signerPython(t), "-c", pySign, selector, domain, authtest.NewKey(t).WriteFile(t), flag(length), flag(expired))
	return authtest.RunSigner(t, cmd, msg)
}
