// Package payload turns one received message into the JSON document that
// every recipient's webhook request carries (a wire.Payload): the MIME
// walk, the header scan, the bounds on hostile shapes, the decoding of
// legacy file names, the analysis stages, one encoding of the shared
// JSON, then per recipient only a small prefix and a stable delivery id.
//
// The data path through it reads top to bottom: Encode calls Parse
// (parse.go, with headers.go, shape.go, lift.go for large parts,
// filename.go and htmltext.go, and meaning.go, which ends it with the
// reply and the classification), within its time budget (parsetime.go),
// runs each Stage (stage.go; storage.go moves large parts to object
// storage, package store), and writes the JSON once (json.go), within
// its cap (budget.go);
// Encoded.ID and Encoded.Prefix give each recipient its part.
//
// It knows nothing about sockets, LMTP replies, HTTP deliveries, signing,
// retries, metrics or logs: those belong to package webhook, which calls
// it. (The storage stage uploads to a bucket through package store, and
// logs why an upload failed through the context's logger.)
package payload
