package wire

// Spam is the payload's "spam": the verdict of an rspamd scan of the
// message. The payload has null instead when no scanner is configured or
// the scan failed, so a receiver can tell "not scanned" from "clean".
type Spam struct {
	// Score is the message's total score; higher is spammier.
	Score float64 `json:"score"`
	// RequiredScore is the score at which the scanner's own configuration
	// rejects a message (rspamd's "reject" threshold).
	RequiredScore float64 `json:"required_score"`
	// Action is the scanner's recommendation, in rspamd's words: "no
	// action", "greylist", "add header", "rewrite subject", "soft reject"
	// or "reject".
	Action string `json:"action"`
	// Symbols names the rules that matched, sorted; an empty list, never
	// null, when none did.
	Symbols []string `json:"symbols"`
}
