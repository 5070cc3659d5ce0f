package payload

import (
	"testing"
	"time"
)

func TestLegacyCharsetFilenames(t *testing.T) {
	cases := []struct{ disposition, want string }{
		{`attachment; filename*=iso-8859-1''na%EFve%20caf%E9.txt`, "naïve café.txt"},
		{`attachment; filename*=windows-1252'de'%80uro.txt`, "€uro.txt"},
		{`attachment; filename*0*=koi8-r''%F0%D2%C9; filename*1*=%D7%C5%D4; filename*2=".txt"`, "Привет.txt"},
		{`attachment; filename*=utf-8''%E2%82%AC.txt`, "€.txt"},
		{`attachment; filename*=x-unknown''plain.txt`, "plain.txt"},
		{`attachment; filename="plain.txt"`, "plain.txt"},
		{`attachment; filename*1*=%41; filename*2*=%42`, ""},
	}
	for _, c := range cases {
		msg := "Subject: f\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
			"Content-Type: text/plain\r\nContent-Disposition: " + c.disposition + "\r\n\r\nx\r\n--b--\r\n"
		m := Parse([]byte(msg), time.Now(), Options{})
		got := ""
		if len(m.Attachments) == 1 {
			got = m.Attachments[0].Filename
		}
		if got != c.want {
			t.Errorf("%s: filename %q, want %q (attachments %+v)", c.disposition, got, c.want, m.Attachments)
		}
	}
}
