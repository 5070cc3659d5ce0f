package payload

import (
	"bytes"
	"encoding/json"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// wireClient is the payload's envelope.client for what the MTA said with
// XFORWARD; nil when it said nothing.
func wireClient(c *Client) *wire.Client {
	if c == nil {
		return nil
	}
	out := &wire.Client{Port: c.Port, Name: c.Name, Helo: c.Helo, Proto: c.Proto}
	if c.IP.IsValid() {
		out.IP = c.IP.String()
	}
	return out
}

// client writes envelope.client as encoding/json does.
func (w *jsonWriter) client(c *wire.Client) {
	if c == nil {
		w.raw("null")
		return
	}
	w.raw(`{"ip":`)
	w.str(c.IP)
	w.raw(`,"port":`)
	w.int(int64(c.Port))
	w.raw(`,"name":`)
	w.str(c.Name)
	w.raw(`,"helo":`)
	w.str(c.Helo)
	w.raw(`,"proto":`)
	w.str(c.Proto)
	w.raw("}")
}

// verdicts is the payload's auth and spam, encoded once, before the
// jsonWriter's two passes: they are small, and encoding/json writes their
// floats and maps as a receiver's decoder expects.
type verdicts struct {
	auth, spam []byte
}

func encodeVerdicts(m *wire.Message) (verdicts, error) {
	if m.Auth == nil && m.Spam == nil {
		return verdicts{auth: null, spam: null}, nil
	}
	auth, err := marshal(m.Auth)
	if err != nil {
		return verdicts{}, err
	}
	spam, err := marshal(m.Spam)
	return verdicts{auth: auth, spam: spam}, err
}

var null = []byte("null")

// marshal encodes v as encoding/json does with SetEscapeHTML(false).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// verdicts writes the message's auth and spam members.
func (w *jsonWriter) verdicts(v verdicts) {
	w.raw(`,"auth":`)
	w.raw(string(v.auth))
	w.raw(`,"spam":`)
	w.raw(string(v.spam))
}
