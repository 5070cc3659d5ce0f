package wire

// Answer is the optional JSON object a webhook may send, on any status, to
// choose the recipient's reply itself.
type Answer struct {
	Code         *int    `json:"code,omitempty"`
	EnhancedCode *string `json:"enhanced_code,omitempty"`
	Message      *string `json:"message,omitempty"`
}

// CheckPayload is the JSON body of a CHECK_URL request.
type CheckPayload struct {
	// Stage is "mail" for MAIL FROM, "rcpt" for each RCPT TO.
	Stage string `json:"stage"`
	// From is MAIL FROM; empty for the null sender.
	From string `json:"from"`
	// To is the recipient being checked; empty at the mail stage.
	To         string `json:"to"`
	RemoteAddr string `json:"remote_addr"`
	Helo       string `json:"helo"`
}
