package main

// README's Exim and OpenSMTPD wiring, applied as written to Debian's
// packages with their stock configuration. Their packages conflict with
// Postfix, so each runs in a container on the host's network: it reaches
// the bridge on 127.0.0.1 as README's snippets say, and the test reaches
// it on a loopback port. The container's resolver points at 127.0.0.1,
// where nothing answers, so nothing in it queries real DNS.
//
// .ci/mta-e2e builds the images from testdata/mta and runs these tests
// with the images' names in LMTP_WEBHOOK_EXIM_IMAGE and
// LMTP_WEBHOOK_OPENSMTPD_IMAGE; without them the tests skip.

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mtaContainerLabel marks the containers these tests start, so that
// .ci/mta-e2e can remove any that a killed test run left behind.
const mtaContainerLabel = "lmtp-webhook-mta-e2e"

// mtaImage returns the docker command and the image named by env, or skips
// the test when env is not set.
func mtaImage(t *testing.T, env string) (docker, image string) {
	t.Helper()
	image = os.Getenv(env)
	if image == "" {
		t.Skipf("%s is not set: this test runs from .ci/mta-e2e, which builds the image (it needs Docker)", env)
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatalf("%s is set but docker is not installed: %v", env, err)
	}
	return docker, image
}

// mtaContainer is an MTA running in a container on the host's network.
type mtaContainer struct {
	docker, name string
	smtpAddr     string   // where it takes SMTP, on the host's loopback
	logCmd       []string // prints its log, run inside the container; nil: its output
}

// startMTAContainer creates a container of image that runs
// testdata/mta/<mta>/run.sh with files (README's snippets) beside it in
// /mta-test, starts it, and waits for its SMTP greeting. The container is
// removed when the test ends, after its log is shown if the test failed.
func startMTAContainer(t *testing.T, docker, image, mta string, files map[string]string, logCmd ...string) *mtaContainer {
	t.Helper()
	dir := t.TempDir()
	run, err := os.ReadFile(filepath.Join("testdata", "mta", mta, "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), run, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	c := &mtaContainer{
		docker:   docker,
		name:     "lmtp-webhook-" + mta + "-" + hex.EncodeToString(suffix[:]),
		smtpAddr: freeAddr(t),
		logCmd:   logCmd,
	}
	_, port, _ := net.SplitHostPort(c.smtpAddr)
	if out, err := runTool(docker, "create", "--name", c.name, "--label", mtaContainerLabel, "--network", "host",
		"-e", "SMTP_PORT="+port, "-v", resolv+":/etc/resolv.conf:ro", image, "sh", "/mta-test/run.sh"); err != nil {
		t.Fatalf("docker create: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", mta, tail(c.log(), 60))
		}
		if out, err := runTool(docker, "rm", "-f", c.name); err != nil {
			t.Errorf("docker rm -f %s: %v\n%s", c.name, err, out)
		}
	})
	if out, err := runTool(docker, "cp", dir+"/.", c.name+":/mta-test"); err != nil {
		t.Fatalf("docker cp: %v\n%s", err, out)
	}
	if out, err := runTool(docker, "start", c.name); err != nil {
		t.Fatalf("docker start: %v\n%s", err, out)
	}
	var lastErr error
	if !poll(30*time.Second, 100*time.Millisecond, func() bool {
		if lastErr = c.greets(); lastErr != nil && !c.running() {
			lastErr = fmt.Errorf("the container stopped (%w)", lastErr)
			return true
		}
		return lastErr == nil
	}) || lastErr != nil {
		t.Fatalf("%s in container %s: no SMTP greeting on %s: %v", mta, c.name, c.smtpAddr, lastErr)
	}
	return c
}

// greets reports whether the MTA answers a connection with 220.
func (c *mtaContainer) greets() error {
	conn, err := net.DialTimeout("tcp", c.smtpAddr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("greeting %q, want 220", line)
	}
	return nil
}

func (c *mtaContainer) running() bool {
	out, err := runTool(c.docker, "inspect", "-f", "{{.State.Running}}", c.name)
	return err == nil && strings.TrimSpace(out) == "true"
}

// log returns the MTA's log so far.
func (c *mtaContainer) log() string {
	args := []string{"logs", c.name}
	if c.logCmd != nil {
		args = append([]string{"exec", c.name}, c.logCmd...)
	}
	out, _ := runTool(c.docker, args...)
	return out
}

// awaitLog waits for a line of the MTA's log that contains every one of
// parts.
func (c *mtaContainer) awaitLog(t *testing.T, what string, parts ...string) {
	t.Helper()
	if !poll(60*time.Second, 200*time.Millisecond, func() bool {
		for _, line := range strings.Split(c.log(), "\n") {
			if containsAll(line, parts) {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no line in the log within 60s saying %s: %q", what, parts)
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestReadmeExim adds README's relay setting, router and transport to
// Debian's stock Exim configuration and sends a message for two
// recipients from outside: one the webhook takes, one it refuses, which
// Exim bounces. Without the relay setting the domain is refused.
func TestReadmeExim(t *testing.T) {
	docker, image := mtaImage(t, "LMTP_WEBHOOK_EXIM_IMAGE")
	rc := newReceiver(t, refuseUnknown)
	b := startBridge(t, rc.url())
	_, port, _ := net.SplitHostPort(b.lmtpAddr)
	relay := readmeSnippet(t, "exim-debian-relay")
	router := readmeSnippet(t, "exim-router")
	transport := readmeSnippet(t, "exim-transport")
	if !strings.Contains(transport, "hosts = 127.0.0.1\n") {
		t.Fatalf("README.md's exim-transport does not point at 127.0.0.1, where the bridge listens:\n%s", transport)
	}
	transport = replaceIn(t, "exim-transport", transport, "port = 2424\n", "port = "+port+"\n")
	mainlog := []string{"cat", "/var/log/exim4/mainlog"}

	t.Run("without the relay domain", func(t *testing.T) {
		c := startMTAContainer(t, docker, image, "exim",
			map[string]string{"relay": "", "router": router, "transport": transport}, mainlog...)
		sendFromOutside(t, c.smtpAddr, []string{readmeRcpt}, "refused by Exim").
			requireRefused(t, readmeRcpt, 550, "relay not permitted")
	})
	t.Run("as README says", func(t *testing.T) {
		c := startMTAContainer(t, docker, image, "exim",
			map[string]string{"relay": relay, "router": router, "transport": transport}, mainlog...)
		subject := "README Exim"
		sendFromOutside(t, c.smtpAddr, []string{readmeRcpt, readmeUnknownRcpt}, subject).requireAccepted(t)
		awaitDelivery(t, rc, subject)
		c.awaitLog(t, "it was delivered over LMTP", "=> "+readmeRcpt, "R=webhook T=webhook_lmtp", "250 2.0.0")
		c.awaitLog(t, "the refused recipient bounced", "** "+readmeUnknownRcpt, "R=webhook T=webhook_lmtp", "550 5.1.1")
	})
}

// TestReadmeOpenSMTPD creates README's delivery user, adds README's lines
// to Debian's stock OpenSMTPD configuration and sends a message for two
// recipients from outside: one the webhook takes, one it refuses, which
// mail.lmtp turns into a temporary failure (README says so). Without the
// virtual table every recipient is refused.
func TestReadmeOpenSMTPD(t *testing.T) {
	docker, image := mtaImage(t, "LMTP_WEBHOOK_OPENSMTPD_IMAGE")
	rc := newReceiver(t, refuseUnknown)
	b := startBridge(t, rc.url())
	user := readmeSnippet(t, "opensmtpd-user")
	conf := readmeSnippet(t, "opensmtpd-conf")
	conf = replaceIn(t, "opensmtpd-conf", conf, readmeLMTPAddr, b.lmtpAddr)

	t.Run("without the virtual table", func(t *testing.T) {
		noVirtual := replaceIn(t, "opensmtpd-conf", conf, " virtual <webhook-users>", "")
		c := startMTAContainer(t, docker, image, "opensmtpd", map[string]string{"user.sh": user, "conf": noVirtual})
		sendFromOutside(t, c.smtpAddr, []string{readmeRcpt}, "refused by OpenSMTPD").
			requireRefused(t, readmeRcpt, 550, "Invalid recipient")
	})
	t.Run("as README says", func(t *testing.T) {
		c := startMTAContainer(t, docker, image, "opensmtpd", map[string]string{"user.sh": user, "conf": conf})
		subject := "README OpenSMTPD"
		sendFromOutside(t, c.smtpAddr, []string{readmeRcpt, readmeUnknownRcpt}, subject).requireAccepted(t)
		awaitDelivery(t, rc, subject)
		c.awaitLog(t, "it was delivered", "mda delivery", "rcpt=<"+readmeRcpt+">", "result=Ok")
		c.awaitLog(t, "the refused recipient was deferred", "mda delivery", "rcpt=<"+readmeUnknownRcpt+">", "result=TempFail")
	})
}
