package lmtp

import (
	"bytes"
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// Client is the original SMTP client as the MTA describes it with
// XFORWARD (Postfix: lmtp_send_xforward_command = yes). The bridge only
// sees the MTA's own connection; this is who the MTA received the
// message from, which sender authentication and spam scanning need.
type Client struct {
	// IP is the client's address (ADDR); the zero Addr when unknown.
	IP netip.Addr
	// Port is the client's TCP port (PORT); 0 when unknown.
	Port int
	// Name is the client's verified reverse name (NAME); empty when
	// unknown.
	Name string
	// Helo is the name the client gave with HELO or EHLO (HELO).
	Helo string
	// Proto is the protocol the message came in with (PROTO), such as
	// SMTP or ESMTP.
	Proto string
	// Ident is the MTA's queue id (IDENT), for logs; not in the payload.
	Ident string
}

// xforwardKeyword is the LHLO keyword: the attributes this server takes.
const xforwardKeyword = "XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE"

// maxXForwardValue is the longest attribute value XFORWARD_README allows.
const maxXForwardValue = 255

// The replies to XFORWARD, in the words of Postfix's smtpd.
const (
	xforwardOK          = "250 2.0.0 Ok\r\n"
	xforwardSyntax      = "501 5.5.4 Syntax: XFORWARD attribute=value...\r\n"
	xforwardNeedsLHLO   = "503 5.5.1 Error: send LHLO first\r\n"
	xforwardInMailTrans = "503 5.5.1 Error: MAIL transaction in progress\r\n"
)

var errXForward = errors.New("lmtp: bad XFORWARD attribute")

// parseXForward applies the attributes of one XFORWARD command (args is
// what follows the command word) to a copy of c and returns it. Values
// are xtext (RFC 3461 section 4); [UNAVAILABLE] and [TEMPUNAVAIL] make
// the attribute unknown; ADDR may carry an IPV6: prefix. An unknown
// attribute, a bad value or no attribute at all is an error, and c is
// then unchanged.
func parseXForward(args string, c Client) (Client, error) {
	fields := strings.FieldsFunc(args, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(fields) == 0 {
		return c, errXForward
	}
	out := c
	for _, f := range fields {
		name, raw, ok := strings.Cut(f, "=")
		if !ok {
			return c, errXForward
		}
		v, err := xtextDecode(raw)
		if err != nil || len(v) > maxXForwardValue {
			return c, errXForward
		}
		if strings.EqualFold(v, "[UNAVAILABLE]") || strings.EqualFold(v, "[TEMPUNAVAIL]") {
			v = ""
		}
		switch strings.ToUpper(name) {
		case "NAME":
			out.Name = v
		case "ADDR":
			out.IP = netip.Addr{}
			if v == "" {
				continue
			}
			if len(v) > 5 && strings.EqualFold(v[:5], "IPV6:") {
				v = v[5:]
			}
			ip, err := netip.ParseAddr(v)
			if err != nil || ip.Zone() != "" {
				return c, errXForward
			}
			out.IP = ip.Unmap()
		case "PORT":
			out.Port = 0
			if v == "" {
				continue
			}
			p, err := strconv.Atoi(v)
			if err != nil || p < 0 || p > 65535 {
				return c, errXForward
			}
			out.Port = p
		case "PROTO":
			if len(v) > 64 {
				return c, errXForward
			}
			out.Proto = v
		case "HELO":
			out.Helo = v
		case "IDENT":
			out.Ident = v
		case "SOURCE":
			if v != "" && !strings.EqualFold(v, "LOCAL") && !strings.EqualFold(v, "REMOTE") {
				return c, errXForward
			}
		default:
			return c, errXForward
		}
	}
	return out, nil
}

// xtextDecode decodes RFC 3461 xtext: "+" and two hex digits stand for
// one byte. The result must be printable ASCII without spaces, as
// XFORWARD_README requires of every decoded value.
func xtextDecode(s string) (string, error) {
	if !strings.Contains(s, "+") {
		for i := 0; i < len(s); i++ {
			if s[i] <= ' ' || s[i] > '~' {
				return "", errXForward
			}
		}
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '+' {
			if i+2 >= len(s) {
				return "", errXForward
			}
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", errXForward
			}
			ch = byte(n)
			i += 2
		}
		if ch <= ' ' || ch > '~' {
			return "", errXForward
		}
		b.WriteByte(ch)
	}
	return b.String(), nil
}

// known reports whether the MTA said anything about the client.
func (c *Client) known() bool { return *c != Client{} }

// commandFraming is what a conn needs to answer XFORWARD itself: go-smtp
// has no hook for the command, so the conn takes it out of what the
// client sends before go-smtp sees it, and answers in its place, in
// order with the replies to the commands around it.
//
// The bytes read from the client pass through cmdq, scanned line by
// line: lines are given to go-smtp as they come, except an XFORWARD line,
// which is held until it is whole and go-smtp has read every command
// before it, and then answered here. A BDAT command's chunk is message
// data and passes through unscanned. Only the goroutine reading the
// connection uses these fields; client is under wmu.
type commandFraming struct {
	cmdq    []byte // bytes read and not yet given to go-smtp
	ready   int    // how many at the head of cmdq are scanned and may go
	midLine bool   // the scan is inside a line that is no XFORWARD
	chunk   int64  // bytes of a BDAT chunk the scan passes through

	client Client // what XFORWARD said for the next transaction
}

// readCommands reads what go-smtp is given: what the client sent, less
// its XFORWARD commands (see commandFraming).
func (c *conn) readCommands(b []byte) (int, error) {
	for {
		if c.ready > 0 {
			n := copy(b, c.cmdq[:c.ready])
			c.ready -= n
			if c.cmdq = c.cmdq[n:]; len(c.cmdq) == 0 {
				c.cmdq = nil
			}
			return n, nil
		}
		if len(c.cmdq) > 0 {
			plain, line := c.scanCommands(c.cmdq)
			if plain > 0 {
				c.ready = plain
				continue
			}
			if line > 0 {
				c.answerXForward(c.cmdq[:line])
				if c.cmdq = c.cmdq[line:]; len(c.cmdq) == 0 {
					c.cmdq = nil
				}
				continue
			}
			// An XFORWARD line not yet whole: read the rest.
		}
		n, err := c.readRaw(b)
		n = c.cutAfterData(b[:n])
		if len(c.cmdq) > 0 {
			c.cmdq = append(c.cmdq, b[:n]...)
			if err != nil {
				return 0, err
			}
			continue
		}
		if err != nil {
			return n, err
		}
		plain, _ := c.scanCommands(b[:n])
		if plain == n {
			return n, nil // the usual case: nothing to take out
		}
		c.cmdq = append([]byte(nil), b[plain:n]...)
		if plain > 0 {
			return plain, nil
		}
	}
}

// scanCommands scans p from the scan's state and returns how many of its
// first bytes go to go-smtp as they are; the state moves past those only.
// When the bytes after them start an XFORWARD line, line is its length,
// or 0 while it is not whole. A BDAT line, whose chunk must not be read
// as commands, is also scanned only when whole. A line longer than the
// command line limit is given as it is, for Read to refuse.
func (c *conn) scanCommands(p []byte) (plain, line int) {
	limit := c.srv.cfg.MaxLineLength
	i := 0
	for i < len(p) {
		if c.chunk > 0 {
			k := int(min(c.chunk, int64(len(p)-i)))
			c.chunk -= int64(k)
			i += k
			continue
		}
		if c.midLine {
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				return len(p), 0
			}
			i += j + 1
			c.midLine = false
			continue
		}
		rest := p[i:]
		xf, bdat := startsWord(rest, "XFORWARD"), startsWord(rest, "BDAT")
		if !xf && !bdat {
			c.midLine = true
			continue
		}
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			if limit > 0 && len(rest) > limit+2 {
				c.midLine = true
				continue
			}
			return i, 0 // wait for the rest of the line
		}
		if xf && len(rest) > len("XFORWARD") {
			return i, j + 1
		}
		if bdat && len(rest) > len("BDAT") {
			c.chunk = bdatChunk(rest[:j+1])
		}
		i += j + 1
	}
	return i, 0
}

// startsWord reports whether p may be the start of a command line for
// the command word w: what there is of p matches w, case aside, and is
// followed by a space or the line end when longer than w.
func startsWord(p []byte, w string) bool {
	n := min(len(p), len(w))
	if !bytes.EqualFold(p[:n], []byte(w[:n])) {
		return false
	}
	if len(p) <= len(w) {
		return true
	}
	switch p[len(w)] {
	case ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// bdatChunk returns the size of the chunk that follows a BDAT line, as
// go-smtp reads it (handleBdat): the chunk follows whenever the size and
// the LAST argument parse, whether or not the command is accepted; 0 when
// they do not.
func bdatChunk(line []byte) int64 {
	s := strings.TrimRight(string(line), "\r\n")
	if len(s) < 6 || s[4] != ' ' {
		return 0
	}
	args := strings.Fields(s[5:])
	if len(args) == 0 || len(args) > 2 || (len(args) == 2 && !strings.EqualFold(args[1], "LAST")) {
		return 0
	}
	n, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil {
		return 0
	}
	return int64(n)
}

// answerXForward answers one XFORWARD line, after go-smtp's replies to
// the commands before it. The command is valid after LHLO and outside a
// transaction (XFORWARD_README: not between MAIL and the end of data or
// RSET); its attributes add up until the next transaction, which takes
// them, and then start again (see takeClient).
func (c *conn) answerXForward(line []byte) {
	args := strings.TrimRight(string(line[len("XFORWARD"):]), "\r\n")
	reply := xforwardOK
	helo, _ := c.helo.Load().(string)
	switch {
	case helo == "":
		reply = xforwardNeedsLHLO
	case c.busy.Load():
		reply = xforwardInMailTrans
	default:
		c.wmu.Lock()
		cl, err := parseXForward(args, c.client)
		if err == nil {
			c.client = cl
		}
		c.wmu.Unlock()
		if err != nil {
			reply = xforwardSyntax
			c.log.Info().Msg("bad XFORWARD command")
		}
	}
	_, _ = c.Write([]byte(reply))
}

// takeClient returns what XFORWARD said for the transaction under way,
// nil when nothing.
func (c *conn) takeClient() *Client {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.client.known() {
		return nil
	}
	cl := c.client
	return &cl
}

// forgetClient starts the XFORWARD attributes again, at the end of a
// transaction, at RSET and at LHLO, as Postfix's smtpd does.
func (c *conn) forgetClient() {
	c.wmu.Lock()
	c.client = Client{}
	c.wmu.Unlock()
}
