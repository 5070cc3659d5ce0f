package lmtp

import "github.com/emersion/go-smtp"

// Reply codes (RFC 5321 section 4.2.3), named once so that a reply reads
// Reply(C451LocalErr, SeSys3Other0, "...") rather than a row of numbers.
// Only the codes lmtp-webhook itself gives are named (go-smtp writes
// its own for the limits it enforces).
const (
	C250Completed      = 250 // requested action okay, completed
	C421ServiceUnavail = 421 // service not available, closing the channel
	C451LocalErr       = 451 // aborted: local error in processing
	C502CmdNotImpl     = 502 // command not implemented
	C550MailboxUnavail = 550 // mailbox unavailable, or the message refused
	C552MailboxFull    = 552 // exceeded storage allocation (message too large)
)

// Se is the subject and detail of an enhanced status code (RFC 3463
// section 3); the class is always the reply code's first digit, so it is
// not part of the name. SeSys3Other0 is X.3.0.
type Se uint16

// Enhanced status codes, as subject<<8 | detail, named as in RFC 3463
// section 3.1 onwards.
const (
	SeOther00                  Se = 0<<8 | 0 // X.0.0 other undefined status
	SeAddr1UnknownDestMailbox1 Se = 1<<8 | 1 // X.1.1 bad destination mailbox address
	SeAddr1UnknownSystem2      Se = 1<<8 | 2 // X.1.2 bad destination system address
	SeSys3Other0               Se = 3<<8 | 0 // X.3.0 other or undefined mail system status
	SeSys3MailSysFull1         Se = 3<<8 | 1 // X.3.1 mail system full (insufficient system resources)
	SeSys3NotAccepting2        Se = 3<<8 | 2 // X.3.2 system not accepting network messages
	SeSys3MsgLimitExceeded4    Se = 3<<8 | 4 // X.3.4 message too big for system
	SeNet4NoAnswer1            Se = 4<<8 | 1 // X.4.1 no answer from host
	SeNet4BadConn2             Se = 4<<8 | 2 // X.4.2 bad connection
	SeProto5BadCmdOrSeq1       Se = 5<<8 | 1 // X.5.1 invalid command
	SeSec7Other0               Se = 7<<8 | 0 // X.7.0 other or undefined security status
	SeSec7DeliveryNotAuth1     Se = 7<<8 | 1 // X.7.1 delivery not authorized, message refused
)

// Enhanced returns the whole enhanced code of se under reply code code.
func (se Se) Enhanced(code int) smtp.EnhancedCode {
	return smtp.EnhancedCode{code / 100, int(se >> 8), int(se & 0xff)}
}

// Reply builds one recipient's or one command's reply.
func Reply(code int, se Se, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: se.Enhanced(code), Message: msg}
}
