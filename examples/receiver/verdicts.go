package main

import (
	"strconv"
	"strings"
)

// verdicts is the summary line's account of whether to trust the sender:
// the original client, SPF, DKIM (the signatures' results, comma
// separated), DMARC and the spam score over rspamd's threshold. What the
// payload does not carry (no XFORWARD, AUTH_CHECKS=false, no SPAM_URL or a
// failed scan) is left out, so the line is empty when the bridge has no
// verdict.
func verdicts(p *payload) string {
	var b strings.Builder
	if c := p.Envelope.Client; c != nil && c.IP != "" {
		b.WriteString(" client=" + c.IP)
	}
	if a := p.Auth; a != nil {
		if a.SPF != nil {
			b.WriteString(" spf=" + string(a.SPF.Result))
		}
		dkim := make([]string, len(a.DKIM))
		for i, d := range a.DKIM {
			dkim[i] = string(d.Result)
		}
		if len(dkim) == 0 {
			dkim = []string{"none"}
		}
		b.WriteString(" dkim=" + strings.Join(dkim, ","))
		if a.DMARC != nil {
			b.WriteString(" dmarc=" + string(a.DMARC.Result))
		}
	}
	if s := p.Spam; s != nil {
		b.WriteString(" spam=" + strconv.FormatFloat(s.Score, 'f', 2, 64) + "/" + strconv.FormatFloat(s.RequiredScore, 'f', 2, 64))
	}
	return b.String()
}
