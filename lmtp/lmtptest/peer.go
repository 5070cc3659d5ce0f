package lmtptest

import (
	"fmt"
	"os"
	"testing"
)

// RequirePeersEnv names the variable that, set to 1 (as in CI), turns a
// missing real peer from a skipped test into a failed one.
const RequirePeersEnv = "LMTP_WEBHOOK_REQUIRE_PEERS"

// MissingPeer ends tb because a real program it talks to (Postfix,
// swaks, rspamd, dkimsign, SeaweedFS) is not there: a skip on a
// developer's machine, a failure under RequirePeersEnv=1, so that CI
// cannot pass by testing nothing.
func MissingPeer(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequirePeersEnv) == "1" {
		tb.Fatalf("%s; %s=1 makes this a failure", msg, RequirePeersEnv)
	}
	tb.Skipf("%s; skipped (set %s=1 to make this a failure)", msg, RequirePeersEnv)
}
