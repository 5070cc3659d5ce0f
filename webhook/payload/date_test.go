package payload

import (
	"fmt"
	"net/mail"
	"testing"
)

// TestCanonicalDateAsNetMail checks the hand-read date form against
// net/mail on every Date field of the corpus (enclosed messages' too) and on variations of the
// canonical form, valid and not: where canonicalDate reads a value,
// net/mail reads the same instant and offset.
func TestCanonicalDateAsNetMail(t *testing.T) {
	values := corpusFields(t, "date:")
	fromCorpus := len(values)
	for _, dow := range []string{"", "Tue, ", "Tue,  ", "Tue,", "Xyz, ", "tue, "} {
		for _, day := range []string{"1", "01", "31", "30", "29", "001", ""} {
			for _, month := range []string{"Dec", "Feb", "Apr", "dec", "December"} {
				for _, clock := range []string{"21:45:24", "21:45", "24:00:00", "9:05:00", "23:59:60", "21:45:24.5"} {
					for _, zone := range []string{"+0000", "-0000", "+0130", "-1200", "+2400", "+0060", "UT", "GMT", "+0000 (UTC)", "+0200 (CEST) x", "+0000 ((a))", "+00000"} {
						for _, year := range []string{"2026", "2024", "26"} {
							values = append(values, fmt.Sprintf("%s%s %s %s %s %s", dow, day, month, year, clock, zone))
						}
					}
				}
			}
		}
	}
	read, readCorpus := 0, 0
	for i, v := range values {
		got, ok := canonicalDate(v)
		if !ok {
			continue
		}
		read++
		if i < fromCorpus {
			readCorpus++
		}
		want, err := mail.ParseDate(v)
		if err != nil {
			t.Errorf("canonicalDate(%q) = %s, net/mail refuses it: %v", v, got, err)
			continue
		}
		_, gotOffset := got.Zone()
		_, wantOffset := want.Zone()
		if !got.Equal(want) || gotOffset != wantOffset {
			t.Errorf("canonicalDate(%q) = %s, net/mail %s", v, got, want)
		}
	}
	// Most real Date fields have the canonical form: far fewer means it
	// stopped being read here.
	if readCorpus < fromCorpus*3/4 {
		t.Errorf("canonicalDate read %d of the corpus's %d Date fields", readCorpus, fromCorpus)
	}
	t.Logf("canonicalDate read %d of the corpus's %d Date fields, %d of %d values in all", readCorpus, fromCorpus, read, len(values))
}
