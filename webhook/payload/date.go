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
	if t, err := mail.ParseDate(v); err == nil {
		if name, offset := t.Zone(); offset != 0 || obsoleteZones[strings.ToUpper(name)] == 0 {
			return t, nil
		}
	}
	return lenientDate(v)
}

var errDate = errors.New("not a date")

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
