package payload

import (
	"errors"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// obsoleteZones are the zone names RFC 5322 section 4.3 still asks a
// reader to understand. Go's time package reads a name it does not know
// for the local zone as UTC, so "EST" would be five hours off.
var obsoleteZones = map[string]int{
	"UT": 0, "GMT": 0, "Z": 0,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
	"MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}

var months = map[string]time.Month{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

// parseDate reads a Date field: strictly with net/mail first, then
// leniently, as mail readers do, for what real software writes: obsolete
// zone names, two-digit years, a missing zone or seconds, a zone in a
// comment, "-600" for -0600, AM/PM. A zone that cannot be read is -0000
// (RFC 5322: the local time is known, its zone is not), given as UTC.
func parseDate(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, ok := canonicalDate(v); ok {
		return t, nil
	}
	if t, err := mail.ParseDate(v); err == nil {
		if name, offset := t.Zone(); offset != 0 || obsoleteZones[strings.ToUpper(name)] == 0 {
			return t, nil
		}
	}
	return lenientDate(v)
}

var errDate = errors.New("not a date")

// canonicalDate reads the form nearly every Date field has, RFC 5322's
// "[Mon, ]2 Jan 2006 15:04[:05] -0700", with an optional zone comment
// after it, by hand: net/mail tries its layouts one by one and builds an
// error for each that fails, which cost more than the rest of a small
// message's header. Anything else is left to net/mail (false). It gives
// what net/mail gives: the same instant and offset.
func canonicalDate(v string) (time.Time, bool) {
	s := v
	if len(s) > 4 && s[3] == ',' {
		if !dayNames[s[:3]] || s[4] != ' ' { // net/mail wants the space
			return time.Time{}, false
		}
		s = strings.TrimLeft(s[4:], " ")
	}
	day, s, ok := digits(s, 1, 2)
	if !ok || !cutSpace(&s) || len(s) < 4 {
		return time.Time{}, false
	}
	month, ok := monthNames[s[:3]]
	if s = s[3:]; !ok || !cutSpace(&s) {
		return time.Time{}, false
	}
	year, s, ok := digits(s, 4, 4)
	if !ok || !cutSpace(&s) {
		return time.Time{}, false
	}
	hour, s, ok := digits(s, 2, 2)
	if !ok || !strings.HasPrefix(s, ":") {
		return time.Time{}, false
	}
	minute, s, ok := digits(s[1:], 2, 2)
	if !ok {
		return time.Time{}, false
	}
	second := 0
	if strings.HasPrefix(s, ":") {
		if second, s, ok = digits(s[1:], 2, 2); !ok {
			return time.Time{}, false
		}
	}
	if !cutSpace(&s) || len(s) < 5 || (s[0] != '+' && s[0] != '-') {
		return time.Time{}, false
	}
	zh, _, ok1 := digits(s[1:3], 2, 2)
	zm, _, ok2 := digits(s[3:5], 2, 2)
	if !ok1 || !ok2 || zh > 23 || zm > 59 {
		return time.Time{}, false
	}
	if rest := strings.TrimLeft(s[5:], " \t"); rest != "" {
		// Only a comment, with no parentheses or escapes inside it.
		if rest[0] != '(' || strings.IndexByte(rest, ')') != len(rest)-1 || strings.ContainsAny(rest[1:len(rest)-1], "()\\") {
			return time.Time{}, false
		}
	}
	if hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, false
	}
	offset := (zh*60 + zm) * 60
	if s[0] == '-' {
		offset = -offset
	}
	t := time.Date(year, month, day, hour, minute, second, 0, time.FixedZone("", offset))
	if t.Day() != day {
		return time.Time{}, false // 31 Apr: net/mail's error
	}
	return t, true
}

var dayNames = map[string]bool{"Mon": true, "Tue": true, "Wed": true, "Thu": true, "Fri": true, "Sat": true, "Sun": true}

var monthNames = map[string]time.Month{
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

// digits reads min to max ASCII digits from the start of s.
func digits(s string, min, max int) (int, string, bool) {
	n, i := 0, 0
	for ; i < len(s) && i < max && '0' <= s[i] && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n, s[i:], i >= min
}

// cutSpace removes the spaces at the start of *s, and reports whether
// there were any.
func cutSpace(s *string) bool {
	t := strings.TrimLeft(*s, " ")
	ok := len(t) < len(*s)
	*s = t
	return ok
}

func lenientDate(v string) (time.Time, error) {
	var zoneComment string
	if i := strings.IndexByte(v, '('); i >= 0 {
		if j := strings.IndexByte(v[i:], ')'); j >= 0 {
			zoneComment = strings.TrimSpace(v[i+1 : i+j])
			v = v[:i] + " " + v[i+j+1:]
		}
	}
	f := strings.Fields(strings.ReplaceAll(v, ",", " "))
	if len(f) > 0 && len(f[0]) >= 3 && months[strings.ToLower(f[0][:3])] == 0 && !isDigits(f[0]) {
		f = f[1:] // the day of the week
	}
	if len(f) < 4 {
		return time.Time{}, errDate
	}
	day, err := strconv.Atoi(f[0])
	month := months[strings.ToLower(f[1])[:min(3, len(f[1]))]]
	if err != nil || month == 0 {
		// "Apr 29 2010": month first.
		if month = months[strings.ToLower(f[0])[:min(3, len(f[0]))]]; month == 0 {
			return time.Time{}, errDate
		}
		if day, err = strconv.Atoi(f[1]); err != nil {
			return time.Time{}, errDate
		}
	}
	year, err := strconv.Atoi(f[2])
	if err != nil {
		return time.Time{}, errDate
	}
	switch {
	case len(f[2]) <= 2 && year < 50:
		year += 2000
	case len(f[2]) <= 3:
		year += 1900
	}
	clock, rest := f[3], f[4:]
	zone := ""
	if i := strings.IndexAny(clock, "+-"); i > 0 {
		clock, zone = clock[:i], clock[i:]
	}
	hms := strings.Split(clock, ":")
	if len(hms) < 2 || len(hms) > 3 {
		return time.Time{}, errDate
	}
	var c [3]int
	for i, s := range hms {
		if c[i], err = strconv.Atoi(s); err != nil {
			return time.Time{}, errDate
		}
	}
	if len(rest) > 0 && (strings.EqualFold(rest[0], "AM") || strings.EqualFold(rest[0], "PM")) {
		if c[0] == 12 {
			c[0] = 0
		}
		if strings.EqualFold(rest[0], "PM") {
			c[0] += 12
		}
		rest = rest[1:]
	}
	if zone == "" && len(rest) > 0 {
		zone = rest[0]
	}
	if zone == "" {
		zone = zoneComment
	}
	offset := zoneOffset(zone)
	if offset == nil {
		offset = zoneOffset(zoneComment)
	}
	loc := time.UTC
	if offset != nil && *offset != 0 {
		loc = time.FixedZone("", *offset)
	}
	t := time.Date(year, month, day, c[0], c[1], c[2], 0, loc)
	if t.Day() != day || c[0] > 23 || c[1] > 59 || c[2] > 60 {
		return time.Time{}, errDate
	}
	return t, nil
}

// zoneOffset reads "+0200", "-600", an obsolete zone name or a military
// letter (which RFC 5322 says to read as -0000); nil when unreadable.
func zoneOffset(z string) *int {
	z = strings.TrimSpace(z)
	if h, ok := obsoleteZones[strings.ToUpper(z)]; ok {
		s := h * 3600
		return &s
	}
	if len(z) == 1 && (z[0]|0x20) >= 'a' && (z[0]|0x20) <= 'z' {
		s := 0
		return &s
	}
	if len(z) < 4 || len(z) > 5 || (z[0] != '+' && z[0] != '-') || !isDigits(z[1:]) {
		return nil
	}
	n, _ := strconv.Atoi(z[1:])
	s := (n/100*60 + n%100) * 60
	if n%100 > 59 || n/100 > 23 {
		return nil
	}
	if z[0] == '-' {
		s = -s
	}
	return &s
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
