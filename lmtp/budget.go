package lmtp

import (
	"context"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp/memory"
)

// errNoMemory is every recipient's reply when a message does not fit the
// memory budget in time: the MTA keeps it and tries again later.
var errNoMemory = Reply(C451LocalErr, SeSys3MailSysFull1, "Insufficient system resources, try again later")

// meter charges a message's Hold as readMessage allocates: the bytes it
// buffers and, from the first byte of the message on, what the Deliverer
// says delivering them will cost, so that nothing is waited for once the
// message is in.
type meter struct {
	ctx  context.Context
	hold *memory.Hold
	cost func(size int64) int64 // nil: the Deliverer said nothing
	seen int64                  // message bytes whose cost is charged
}

func newMeter(ctx context.Context, hold *memory.Hold, d Deliverer) *meter {
	m := &meter{ctx: ctx, hold: hold}
	if c, ok := d.(MemoryCoster); ok {
		m.cost = c.MemoryCost
	}
	return m
}

// charge is readMessage's charge function.
func (m *meter) charge(alloc, msg int64) error {
	if m.hold == nil {
		return nil
	}
	return m.hold.Grow(m.ctx, alloc+m.more(msg))
}

// more returns the cost of msg more message bytes, and counts them.
func (m *meter) more(msg int64) int64 {
	if m.cost == nil || msg <= 0 {
		return 0
	}
	extra := m.cost(m.seen+msg) - m.cost(m.seen)
	m.seen += msg
	return extra
}

// settle gives back what was charged beyond the message as received:
// its buffer, and the cost of its real size.
func (m *meter) settle(data []byte) {
	if m.hold == nil {
		return
	}
	held := int64(cap(data))
	if m.cost != nil {
		held += m.cost(int64(len(data)))
	}
	m.hold.Shrink(held)
}
