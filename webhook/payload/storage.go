package payload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload/store"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// StorageStageName names the storage stage in decisions, logs and metrics.
const StorageStageName = "storage"

// storageDeferReason is what the MTA is told when a part could not be
// stored: the message stays queued and comes back.
const storageDeferReason = "could not store a large part, try again later"

// Storage is the Stage that moves large parts to object storage, so that
// a payload carries a link instead of megabytes of base64 posted once per
// recipient. Every attachment and inline larger than Threshold is
// uploaded once per message, from its decoded bytes, under its content's
// key (see store.PartKey), before any webhook is called; the part then
// has url and url_expires_at and no content. A part that cannot be stored
// defers the whole message: dropping it would lose mail, and inlining it
// would post the very body the store is there to avoid.
//
// Put it after the stages that read the parts' content: its Finish drops
// the content of what it stored.
type Storage struct {
	// Store is the bucket the parts go to.
	Store *store.Store
	// Threshold is the largest part, in decoded bytes, that stays inline.
	Threshold int64
	// Raw also stores the message as received and gives raw_url.
	Raw bool
	// Budget bounds the uploads from the end of DATA: the delivery's own
	// budget (RETRY_MAX_ELAPSED), so that a store that hangs defers the
	// message in time for the MTA to hear it. Zero (or an Input without
	// ReceivedAt) leaves only ctx.
	Budget time.Duration
}

// Start implements Stage: everything happens on the parsed document.
func (s *Storage) Start(_ context.Context, in *Input) Finish {
	return func(ctx context.Context, m *wire.Message) Decision { return s.finish(ctx, in, m) }
}

// finish uploads what is too large to inline and links it from m.
func (s *Storage) finish(ctx context.Context, in *Input, m *wire.Message) Decision {
	if s.Budget > 0 && !in.ReceivedAt.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, in.ReceivedAt.Add(s.Budget))
		defer cancel()
	}
	u := uploads{s: s, done: map[linkKey]store.Link{}}
	for _, parts := range [][]wire.Attachment{m.Attachments, m.Inlines} {
		for i := range parts {
			if err := u.part(ctx, &parts[i]); err != nil {
				return s.deferred(ctx, err)
			}
		}
	}
	if err := u.raw(ctx, in, m); err != nil {
		return s.deferred(ctx, err)
	}
	return Decision{}
}

// deferred logs why a part could not be stored and defers the message.
func (s *Storage) deferred(ctx context.Context, err error) Decision {
	zerolog.Ctx(ctx).Error().Err(err).Str("stage", StorageStageName).Msg("object storage upload failed")
	return Decision{Action: Defer, Reason: storageDeferReason, Stage: StorageStageName}
}

// linkKey tells apart the links of one message: a link names the type
// the download is served as, so equal bytes of two types get two links
// (to one object).
type linkKey struct{ sha256, contentType string }

// uploads is one message's uploads: each content is put once, however
// many parts carry it.
type uploads struct {
	s    *Storage
	done map[linkKey]store.Link
}

// part stores a, when it is larger than the threshold and has content
// (WEBHOOK_ATTACHMENTS=omit leaves none to store), and links it.
func (u *uploads) part(ctx context.Context, a *wire.Attachment) error {
	if int64(a.Size) <= u.s.Threshold || len(a.Content) == 0 {
		return nil
	}
	k := linkKey{a.SHA256, a.ContentType}
	link, ok := u.done[k]
	if !ok {
		var sum [sha256.Size]byte
		if n, err := hex.Decode(sum[:], []byte(a.SHA256)); err != nil || n != len(sum) {
			// Parse always sets it; recompute rather than trust a stranger.
			sum = sha256.Sum256(a.Content)
		}
		var err error
		link, err = u.s.Store.Put(ctx, store.PartKey(sum), int64(len(a.Content)), a.ContentType, bytes.NewReader(a.Content))
		if err != nil {
			return fmt.Errorf("payload: store part of %d bytes: %w", len(a.Content), err)
		}
		u.done[k] = link
	}
	a.Content, a.URL, a.URLExpiresAt = nil, link.URL, link.ExpiresAt
	return nil
}

// raw stores the message as received when STORAGE_RAW asks for it, or
// when the payload would carry it inline (WEBHOOK_INCLUDE_RAW, or a
// message that could not be parsed) and it is larger than the threshold:
// raw_url then replaces raw, as url replaces a large part's content.
func (u *uploads) raw(ctx context.Context, in *Input, m *wire.Message) error {
	large := int64(len(in.Data)) > u.s.Threshold
	if !u.s.Raw && (m.Raw == nil || !large) {
		return nil
	}
	sum := sha256.Sum256(in.Data)
	link, err := u.s.Store.Put(ctx, store.RawKey(m.MessageID, sum), int64(len(in.Data)), "message/rfc822", bytes.NewReader(in.Data))
	if err != nil {
		return fmt.Errorf("payload: store message of %d bytes: %w", len(in.Data), err)
	}
	m.RawURL, m.RawURLExpiresAt = link.URL, link.ExpiresAt
	if large {
		m.Raw = nil
	}
	return nil
}
