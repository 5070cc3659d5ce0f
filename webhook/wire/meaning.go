package wire

// Reply is the new text of a reply, cut from the quoted history and the
// signature, so that a receiver does not have to write that fragile code
// again. The full body stays untouched beside it in the payload.
type Reply struct {
	// Text is what the sender wrote this time; it equals the text body
	// when nothing was recognised.
	Text string `json:"text"`
	// Signature is the signature block that was cut, or "".
	Signature string `json:"signature"`
	// Quoted says whether quoted history was cut.
	Quoted bool `json:"quoted"`
}

// Classification says what kind of mail this is for the receiver's logic:
// the robots (auto-replies, bounces, abuse reports, bulk and list mail) that
// must not be answered, so that two programs do not mail each other forever.
type Classification struct {
	// AutoSubmitted is the Auto-Submitted header's value (RFC 3834), or nil.
	AutoSubmitted *string `json:"auto_submitted"`
	// AutoReply is true for vacation and out-of-office answers.
	AutoReply bool `json:"auto_reply"`
	// Bounce lists the recipients a delivery status notification reports
	// as failed; nil (JSON null) when the message is not a bounce.
	Bounce []BounceRecipient `json:"bounce"`
	// FeedbackReport is the abuse report (RFC 5965), or nil.
	FeedbackReport *FeedbackReport `json:"feedback_report"`
	// List holds the List-* headers (RFC 2369, 2919, 8058), or nil.
	List *List `json:"list"`
	// Bulk is true for Precedence: bulk, list or junk.
	Bulk bool `json:"bulk"`
}

// BounceRecipient is one recipient of a bounce (RFC 3464 section 2.3).
// Fields the report does not give are "".
type BounceRecipient struct {
	// Action is "failed" or "delayed".
	Action string `json:"action"`
	// Status is the enhanced status code, such as "5.1.1".
	Status string `json:"status"`
	// FinalRecipient is the address that could not be delivered to.
	FinalRecipient string `json:"final_recipient"`
	// Diagnostic is the remote server's answer or the MTA's explanation.
	Diagnostic string `json:"diagnostic"`
	// OriginalMessageID is the Message-ID of the message that bounced.
	OriginalMessageID string `json:"original_message_id"`
	// OriginalRecipient is the address as first given, when reported.
	OriginalRecipient string `json:"original_recipient"`
}

// FeedbackReport is an abuse or complaint report (RFC 5965).
type FeedbackReport struct {
	// FeedbackType is "abuse", "fraud", "virus", "other" and so on.
	FeedbackType string `json:"feedback_type"`
	// OriginalMailFrom is the envelope sender of the reported message.
	OriginalMailFrom string `json:"original_mail_from"`
	// OriginalRcptTo lists the envelope recipients of the reported message.
	OriginalRcptTo []string `json:"original_rcpt_to"`
}

// List describes mailing-list mail from its List-* headers, with the URLs
// taken out of their angle brackets.
type List struct {
	// ID is the List-Id's identifier (RFC 2919), without the brackets.
	ID string `json:"id"`
	// Post is the first List-Post URL, or "" (also for "NO").
	Post string `json:"post"`
	// Unsubscribe lists the List-Unsubscribe URLs (RFC 2369).
	Unsubscribe []string `json:"unsubscribe"`
	// UnsubscribePost is the List-Unsubscribe-Post value (RFC 8058),
	// "List-Unsubscribe=One-Click" when one-click unsubscription works.
	UnsubscribePost string `json:"unsubscribe_post"`
}
