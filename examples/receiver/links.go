package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Limits on downloading a part the bridge put in object storage: a link
// that serves more, or too slowly, is reported, never followed forever.
const (
	// maxLinkedPart is above the largest part of the bridge's default
	// 25 MiB message limit.
	maxLinkedPart = 64 << 20
	// linkTimeout bounds one download, well inside the bridge's 30 s
	// default WEBHOOK_TIMEOUT for the whole answer.
	linkTimeout = 20 * time.Second
)

// part is what the receiver reads of an attachment or inline.
type part = wireAttachment

// checkLinks downloads every part of p that is in object storage and
// compares its bytes with the payload's size and sha256. It returns, for
// the delivery line, "name=ok" or "name=mismatch" (or "name=error: why")
// for each, comma-separated, or "" when no part has a link. The links
// themselves are never printed: they are credentials until they expire.
func checkLinks(ctx context.Context, client *http.Client, p *payload) string {
	var results []string
	for _, list := range [][]part{p.Attachments, p.Inlines} {
		for i := range list {
			a := &list[i]
			if a.URL == "" {
				continue
			}
			name := a.Filename
			if name == "" {
				name = a.ContentType
			}
			results = append(results, name+"="+checkLink(ctx, client, a))
		}
	}
	return strings.Join(results, ",")
}

// checkLink downloads one part, at most maxLinkedPart bytes within
// linkTimeout, and says whether it is the part the payload describes.
func checkLink(ctx context.Context, client *http.Client, a *part) string {
	ctx, cancel := context.WithTimeout(ctx, linkTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return "error: bad link"
	}
	resp, err := client.Do(req)
	if err != nil {
		// url.Error repeats the link; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "error: " + resp.Status
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(resp.Body, maxLinkedPart+1))
	switch {
	case err != nil:
		return "error: reading: " + err.Error()
	case n > maxLinkedPart:
		return fmt.Sprintf("error: more than %d bytes", maxLinkedPart)
	case n != int64(a.Size) || hex.EncodeToString(h.Sum(nil)) != a.SHA256:
		return "mismatch"
	}
	return "ok"
}
