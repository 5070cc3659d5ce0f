package payload

import "github.com/lmtp-webhook/lmtp-webhook/webhook/wire"

// meaning writes the reply and classification members, which follow errors.
func (w *jsonWriter) meaning(m *wire.Message) {
	w.raw(`,"reply":{"text":`)
	w.strLike(m.Reply.Text, m.Text, w.text)
	w.raw(`,"signature":`)
	w.str(m.Reply.Signature)
	w.raw(`,"quoted":`)
	w.bool(m.Reply.Quoted)

	c := &m.Classification
	w.raw(`},"classification":{"auto_submitted":`)
	if c.AutoSubmitted == nil {
		w.raw("null")
	} else {
		w.str(*c.AutoSubmitted)
	}
	w.raw(`,"auto_reply":`)
	w.bool(c.AutoReply)
	w.raw(`,"bounce":`)
	list(w, c.Bounce, func(b *wire.BounceRecipient) {
		w.raw(`{"action":`)
		w.str(b.Action)
		w.raw(`,"status":`)
		w.str(b.Status)
		w.raw(`,"final_recipient":`)
		w.str(b.FinalRecipient)
		w.raw(`,"diagnostic":`)
		w.str(b.Diagnostic)
		w.raw(`,"original_message_id":`)
		w.str(b.OriginalMessageID)
		w.raw(`,"original_recipient":`)
		w.str(b.OriginalRecipient)
		w.raw("}")
	})
	w.raw(`,"feedback_report":`)
	if r := c.FeedbackReport; r == nil {
		w.raw("null")
	} else {
		w.raw(`{"feedback_type":`)
		w.str(r.FeedbackType)
		w.raw(`,"original_mail_from":`)
		w.str(r.OriginalMailFrom)
		w.raw(`,"original_rcpt_to":`)
		w.strs(r.OriginalRcptTo)
		w.raw("}")
	}
	w.raw(`,"list":`)
	if l := c.List; l == nil {
		w.raw("null")
	} else {
		w.raw(`{"id":`)
		w.str(l.ID)
		w.raw(`,"post":`)
		w.str(l.Post)
		w.raw(`,"unsubscribe":`)
		w.strs(l.Unsubscribe)
		w.raw(`,"unsubscribe_post":`)
		w.str(l.UnsubscribePost)
		w.raw("}")
	}
	w.raw(`,"bulk":`)
	w.bool(c.Bulk)
	w.raw("}")
}
