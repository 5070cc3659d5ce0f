package wire

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// secretPrefix starts every Standard Webhooks secret.
const secretPrefix = "whsec_"

// ParseSecret decodes a Standard Webhooks secret ("whsec_" and base64).
// An empty secret means requests are not signed.
func ParseSecret(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	enc, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return nil, errors.New(`must start with "whsec_"`)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("after whsec_, not base64: %w", err)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("key is %d bytes; Standard Webhooks keys are 24 to 64 bytes", len(key))
	}
	return key, nil
}
