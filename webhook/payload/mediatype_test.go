package payload

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/jhillyerd/enmime/v2/mediatype"
)

// TestSimpleMediaTypeAsEnmime checks Go's parser alone against enmime's
// repairing one on every Content-Type and Content-Disposition value of
// the corpus (every part's, unfolded) and on values that need repairs:
// where simpleMediaType reads a value, enmime reads it the same.
func TestSimpleMediaTypeAsEnmime(t *testing.T) {
	values := corpusFields(t, "content-type:", "content-disposition:")
	fromCorpus := len(values)
	values = append(values,
		`text/plain`, `TEXT/PLAIN; CHARSET=UTF-8`, `text/plain; charset="us-ascii"`, `text/plain; charset=utf-8; format=flowed; delsp=yes`,
		`text/`, `text`, `text/plain/html`, `text/plain charset=utf-8`, `text/plain; charset`, `text/plain;; charset=utf-8;`,
		`text/plain; charset=utf-8; charset=iso-8859-1`, `charset=utf-8`, `; charset=utf-8`, `text/plain; name="a;b.txt"`,
		`text/plain; name="a b.txt"`, `text/plain; name="a=b.txt"`, `text/plain; name=a"b`, `text/html; charset=utf-8<br>`,
		`multipart/mixed; boundary="----=_Part_1"`, `multipart/mixed; boundary=----=_Part_1`, `multipart/alternative; boundary="b1"; charset=x`,
		`attachment; filename=report.pdf`, `attachment; filename="report 2024.pdf"; size=1234`, `inline`, `attachment;`,
		`attachment; filename==?utf-8?q?a.pdf?=`, `attachment; filename*=utf-8''a.pdf`, `application/pdf; name=a.pdf; x-unix-mode=0644`,
		`text/plain; charset=utf-8 (comment)`, `text/plain; charset="utf-8"; `, ` text/plain `, `text/plain;charset=utf-8`,
	)
	read := 0
	for _, v := range values {
		mtype, params, ok := simpleMediaType(v)
		if !ok {
			continue
		}
		read++
		wantType, wantParams, wantInvalid, err := mediatype.Parse(v)
		if err != nil || len(wantInvalid) != 0 {
			t.Errorf("simpleMediaType(%q) = %q %v; enmime: %v, invalid %v", v, mtype, params, err, wantInvalid)
			continue
		}
		if len(params) == 0 && len(wantParams) == 0 {
			params, wantParams = nil, nil
		}
		if mtype != wantType || !reflect.DeepEqual(params, wantParams) {
			t.Errorf("simpleMediaType(%q) = %q %v; enmime %q %v", v, mtype, params, wantType, wantParams)
		}
	}
	if read < fromCorpus/2 {
		t.Errorf("simpleMediaType read %d of %d values", read, len(values))
	}
	t.Logf("simpleMediaType read %d of %d values (%d from the corpus)", read, len(values), fromCorpus)
}

// corpusFields returns the values of the fields named (in lower case,
// with their colon) wherever they stand in the corpus's messages, in
// every part's header and in enclosed messages, unfolded.
func corpusFields(t *testing.T, names ...string) []string {
	var values []string
	for _, data := range corpus(t) {
		unfolded := bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n\t"), []byte(" "))
		for _, line := range bytes.Split(unfolded, []byte("\n")) {
			for _, name := range names {
				if hasPrefixFold(line, name) {
					values = append(values, string(bytes.TrimSpace(line[len(name):])))
				}
			}
		}
	}
	return values
}
