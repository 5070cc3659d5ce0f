package webhook_test

import (
	"strings"
	"testing"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// Hostile attachment names arrive as sent in filename and made safe in
// safe_filename, and the payload still matches the schema.
func TestHostileFilenamesArriveWithASafeOne(t *testing.T) {
	parts := []struct{ disposition, filename, safe string }{
		{`attachment; filename="../../../etc/cron.d/x"`, "../../../etc/cron.d/x", "x"},
		{`attachment; filename="/abs/path.sh"`, "/abs/path.sh", "path.sh"},
		{`attachment; filename="C:\\Windows\\system32\\x.dll"`, `C:\Windows\system32\x.dll`, "x.dll"},
		{`attachment; filename*=utf-8''evil.sh%00.pdf`, "evil.sh\x00.pdf", "evil.sh.pdf"},
		{`attachment; filename=".."`, "..", "attachment"},
		{`attachment; filename="CON.txt"`, "CON.txt", "_CON.txt"},
		{`attachment; filename="=?UTF-8?Q?Gr=C3=BC=C3=9Fe.txt?="`, "Grüße.txt", "Grüße.txt"},
		{`attachment`, "", ""},
	}
	var msg strings.Builder
	msg.WriteString("Subject: names\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n")
	for _, p := range parts {
		msg.WriteString("--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: " + p.disposition + "\r\n\r\nx\r\n")
	}
	msg.WriteString("--b--\r\n")

	reqs := deliverAll(t, nil, "a@example.org", []string{"r@example.com"}, msg.String())
	openContract(t).validate(t, payloadSchema, reqs[0].Body)
	p := reqs[0].Payload
	got := append(append([]wire.Attachment{}, p.Attachments...), p.Inlines...)
	if len(got) != len(parts) {
		t.Fatalf("%d parts arrived, want %d: %+v", len(got), len(parts), got)
	}
	for _, want := range parts {
		found := false
		for _, a := range got {
			if a.Filename == want.filename {
				found = true
				if a.SafeFilename != want.safe {
					t.Errorf("%q: safe_filename %q, want %q", want.filename, a.SafeFilename, want.safe)
				}
			}
		}
		if !found {
			t.Errorf("no part with filename %q arrived as sent", want.filename)
		}
	}
}
