package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
)

// LMTPLimitsEnv is the part of env that says who may connect over LMTP
// and how slow or noisy a client may be. It is exported only because
// envconfig reads exported fields only. The numeric defaults are the lmtp
// package's, set in envDefaults; 0 turns a limit off.
type LMTPLimitsEnv struct {
	LMTPAllow             []string `envconfig:"LMTP_ALLOW" default:"127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7" desc:"client networks (CIDR, or single addresses) allowed to connect over TCP; others get 554 5.7.1; 0.0.0.0/0,::/0 allows any"`
	LMTPMinDataRate       int64    `envconfig:"LMTP_MIN_DATA_RATE" desc:"slowest message data in bytes per second, on average after LMTP_READ_TIMEOUT's grace; slower gets 421 4.4.2; 0 turns it off"`
	LMTPMaxJunkCommands   int      `envconfig:"LMTP_MAX_JUNK_COMMANDS" desc:"NOOP, RSET, VRFY, HELP, EXPN and unknown commands allowed between two messages; more get 421 4.7.0; 0 means no limit"`
	LMTPMaxFailedCommands int      `envconfig:"LMTP_MAX_FAILED_COMMANDS" desc:"commands answered 4xx or 5xx allowed between two messages (replies to recipients after DATA aside); more get 421 4.7.0; 0 means no limit"`
}

// lmtpLimitsDefaults are the lmtp package's own defaults, so that -h shows
// them and an unset variable gives them.
func lmtpLimitsDefaults() LMTPLimitsEnv {
	return LMTPLimitsEnv{
		LMTPMinDataRate:       lmtp.DefaultMinDataRate,
		LMTPMaxJunkCommands:   lmtp.DefaultMaxJunkCommands,
		LMTPMaxFailedCommands: lmtp.DefaultMaxFailedCommands,
	}
}

// lmtpLimits are the ready values, in lmtp.Config's terms.
type lmtpLimits struct {
	allow                              []netip.Prefix
	minDataRate                        int64
	maxJunkCommands, maxFailedCommands int
}

// limits checks the variables and turns them into lmtpLimits: 0 becomes
// lmtp's "no limit" (-1), whose own zero would mean its default.
func (e *LMTPLimitsEnv) limits() (lmtpLimits, error) {
	var l lmtpLimits
	allow, err := parseAllow(e.LMTPAllow)
	if err != nil {
		return l, &configError{"LMTP_ALLOW", err}
	}
	l.allow = allow
	if l.minDataRate, err = offAtZero(e.LMTPMinDataRate); err != nil {
		return l, &configError{"LMTP_MIN_DATA_RATE", err}
	}
	n, err := offAtZero(int64(e.LMTPMaxJunkCommands))
	if err != nil {
		return l, &configError{"LMTP_MAX_JUNK_COMMANDS", err}
	}
	l.maxJunkCommands = int(n)
	if n, err = offAtZero(int64(e.LMTPMaxFailedCommands)); err != nil {
		return l, &configError{"LMTP_MAX_FAILED_COMMANDS", err}
	}
	l.maxFailedCommands = int(n)
	return l, nil
}

// applyTo sets the limits in c.
func (l lmtpLimits) applyTo(c *lmtp.Config) {
	c.Allow, c.MinDataRate = l.allow, l.minDataRate
	c.MaxJunkCommands, c.MaxFailedCommands = l.maxJunkCommands, l.maxFailedCommands
}

func offAtZero(n int64) (int64, error) {
	switch {
	case n < 0:
		return 0, errors.New("must not be negative (0 turns the limit off)")
	case n == 0:
		return -1, nil
	}
	return n, nil
}

// parseAllow reads a list of networks; a bare address is a network of
// one (/32 or /128). An empty list is refused rather than read as "any",
// which must be asked for as 0.0.0.0/0,::/0.
func parseAllow(items []string) ([]netip.Prefix, error) {
	var nets []netip.Prefix
	for _, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, errors.New("empty entry: give networks such as 10.0.0.0/8, or 0.0.0.0/0,::/0 to allow any client")
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			nets = append(nets, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is not a network (CIDR such as 10.0.0.0/8) nor an address", item)
		}
		nets = append(nets, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(nets) == 0 {
		return nil, errors.New("empty: give networks such as 10.0.0.0/8, or 0.0.0.0/0,::/0 to allow any client")
	}
	return nets, nil
}
