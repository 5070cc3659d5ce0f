package main

// The receiver's only contact with the bridge's own packages: the JSON
// document it receives, the answer it may send, and the secret's format.
// Everything else in the receiver uses these names.

import "github.com/lmtp-webhook/lmtp-webhook/webhook/wire"

type (
	// payload is the delivery document the bridge POSTs.
	payload = wire.Payload
	// answer is the JSON object that chooses the recipient's LMTP reply.
	answer = wire.Answer
	// classification says whether a delivery comes from a robot.
	classification = wire.Classification
	// wireAttachment is one attachment or inline of a payload.
	wireAttachment = wire.Attachment
)

// parseSecret decodes WEBHOOK_SECRET exactly as the bridge does.
var parseSecret = wire.ParseSecret
