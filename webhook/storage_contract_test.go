package webhook_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/store"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.StopShared()
	os.Exit(code)
}

// TestStoredPartsMatchSchema: payloads whose parts, and raw message, are
// links into a real bucket are what openapi.yaml says, and a part with
// both content and a link is not.
func TestStoredPartsMatchSchema(t *testing.T) {
	k := openContract(t)
	w := storetest.Shared(t)
	w.MakeBucket(t, "contract")
	storetest.SetCredentials(t)
	cfg, err := store.Parse(w.StorageURL("contract"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.New(cfg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Every part of attachmentsMessage is larger than this.
	stage := &payload.Storage{Store: s, Threshold: 16, Raw: true, Budget: 30 * time.Second}
	reqs := deliverAll(t, func(c *webhook.Config, _ *lmtp.Config) {
		c.Parse.Stages = []payload.Stage{stage}
	}, "alice@example.org", []string{"bob@example.com", "carol@example.com"}, attachmentsMessage)
	for _, r := range reqs {
		k.validate(t, payloadSchema, r.Body)
		p := r.Payload
		if p.RawURL == "" {
			t.Errorf("%s: no raw_url", p.Envelope.To)
		}
		for _, a := range append(p.Attachments, p.Inlines...) {
			if a.URL == "" || a.Content != nil {
				t.Errorf("%s: part %q not linked", p.Envelope.To, a.Filename)
			}
		}
	}
	both := strings.Replace(string(reqs[0].Body), `"url":`, `"content":"AAAA","url":`, 1)
	if k.valid(t, payloadSchema, []byte(both)) {
		t.Error("the schema accepts a part with both content and url")
	}
	noExpiry := regexp.MustCompile(`,"url_expires_at":"[^"]*"`).ReplaceAllString(string(reqs[0].Body), "")
	if k.valid(t, payloadSchema, []byte(noExpiry)) {
		t.Error("the schema accepts a url without url_expires_at")
	}
}
