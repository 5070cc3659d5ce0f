package main

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestREADMEPythonClient runs README's smtplib example, as written but for
// the bridge's port, against the bridge: each recipient gets its own reply
// after the data, the refused one included.
func TestREADMEPythonClient(t *testing.T) {
	python := peer(t, "python3")
	t.Parallel()
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery) {
		if d.Payload.Envelope.To == "carol@example.com" {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"code":550,"enhanced_code":"5.1.1","message":"no such user"}`))
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	b := startBridge(t, rc.url())
	_, port, _ := net.SplitHostPort(b.lmtpAddr)
	script := replaceIn(t, "README's Python example", readmeSnippet(t, "python-lmtp"),
		`smtplib.LMTP("127.0.0.1", 2424)`, `smtplib.LMTP("127.0.0.1", `+port+`)`)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README's Python example: %v\n%s", err, out)
	}
	want := `[('bob@example.com', (250, b'2.0.0 <bob@example.com> delivered')), ('carol@example.com', (550, b'5.1.1 <carol@example.com> no such user'))]`
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("README's Python example printed\n%s\nwant\n%s", got, want)
	}
}
