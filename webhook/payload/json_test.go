package payload

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/bench/largemsg"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// referenceShared is the shared JSON as encoding/json writes it: the
// envelope and the message encoded with SetEscapeHTML(false) and spliced
// into one object. jsonWriter must produce the same bytes.
func referenceShared(env *sharedEnvelope, m *wire.Message) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		return nil, err
	}
	buf.Truncate(buf.Len() - 1)
	mark := buf.Len()
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	buf.Truncate(buf.Len() - 1)
	b := buf.Bytes()
	b[mark] = ','
	return b[1:], nil
}

func checkShared(t *testing.T, name string, env *sharedEnvelope, m *wire.Message) {
	t.Helper()
	want, wantErr := referenceShared(env, m)
	twoPass := func(env *sharedEnvelope, m *wire.Message) ([]byte, error) {
		n, err := sharedLen(env, m)
		if err != nil {
			return nil, err
		}
		return encodeSharedLen(env, m, n)
	}
	for _, encode := range []func(*sharedEnvelope, *wire.Message) ([]byte, error){encodeOnePass, twoPass} {
		checkEncoder(t, name, encode, env, m, want, wantErr)
	}
}

// checkEncoder checks one of the encoders against encoding/json's want.
func checkEncoder(t *testing.T, name string, encode func(*sharedEnvelope, *wire.Message) ([]byte, error), env *sharedEnvelope, m *wire.Message, want []byte, wantErr error) {
	t.Helper()
	got, err := encode(env, m)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%s: error %v, encoding/json says %v", name, err, wantErr)
	}
	if err != nil {
		return
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		lo := max(i-60, 0)
		t.Fatalf("%s: JSON differs from encoding/json at byte %d:\n got %q\nwant %q",
			name, i, got[lo:min(i+60, len(got))], want[lo:min(i+60, len(want))])
	}
	if cap(got) != len(got) {
		t.Errorf("%s: buffer of %d bytes for %d bytes of JSON", name, cap(got), len(got))
	}
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob("../testdata/*.eml")
	bench, _ := filepath.Glob("../testdata/bench/*.eml")
	files = append(files, bench...)
	if len(files) == 0 {
		t.Fatal("no messages under testdata")
	}
	inputs := map[string][]byte{"generated-large": largemsg.Build(1 << 20)}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = data
	}
	inputs["unparseable"] = []byte("Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n")
	inputs["empty"] = nil
	env := &sharedEnvelope{
		From:       "s\u00e9nder+x@example.org",
		Recipients: []string{"a@example.com", "b<&>@example.com"},
		Helo:       "mx.example.com",
		RemoteAddr: "[2001:db8::1]:25",
		Size:       12345,
	}
	options := []Options{{}, {OmitAttachments: true}, {IncludeRaw: true}}
	for name, data := range inputs {
		for _, opts := range options {
			m := Parse(data, time.Date(2025, 6, 2, 10, 0, 1, 250e6, time.UTC), opts)
			checkShared(t, name, env, m)
		}
	}
}

// TestEncodeEveryField fills every field of Message, found by reflection,
// with awkward values: a field added to Message (or to the types inside
// it) without being added to jsonWriter fails here.
func TestEncodeEveryField(t *testing.T) {
	const awkward = "q\"b\\s/\n\r\t\b\f\x00\x01\x1f\x7f<>&\u2028\u2029\u00e9\u20ac\U0001F600\xff\xc3("
	// Every value is different, so that writing one field's value under
	// another's name is caught too.
	n := 0
	next := func() string {
		n++
		return awkward + strconv.Itoa(n)
	}
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(next())
		case reflect.Int, reflect.Int64:
			n++
			v.SetInt(-1234567 * int64(n))
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Float64:
			n++
			v.SetFloat(-0.1 * float64(n))
		case reflect.Map:
			m := reflect.MakeMap(v.Type())
			for range 2 {
				k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
				fill(k)
				fill(e)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem())
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				v.SetBytes([]byte(next()))
				return
			}
			s := reflect.MakeSlice(v.Type(), 2, 2)
			for i := range 2 {
				fill(s.Index(i))
			}
			v.Set(s)
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				n++
				v.Set(reflect.ValueOf(time.Date(2025, 6, 2, 10, n, 0, 123456789, time.FixedZone("", -(3*3600+30*60)))))
				return
			}
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		default:
			t.Fatalf("no filler for %s", v.Type())
		}
	}
	var m wire.Message
	fill(reflect.ValueOf(&m).Elem())
	var env sharedEnvelope
	fill(reflect.ValueOf(&env).Elem())
	checkShared(t, "every field", &env, &m)

	// Zero values: nil slices are null, empty byte slices are left out.
	checkShared(t, "zero", &sharedEnvelope{}, &wire.Message{})
	checkShared(t, "empty", &sharedEnvelope{Recipients: []string{}}, &wire.Message{
		Headers: []wire.Header{}, From: []wire.Address{}, InReplyTo: []string{}, Raw: []byte{},
		Attachments: []wire.Attachment{{Content: []byte{}}}, Inlines: []wire.Attachment{}, Errors: []wire.ParseError{},
	})

	// A time RFC 3339 cannot write fails the encoding, as it did with
	// encoding/json.
	bad := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	checkShared(t, "bad date", &env, &wire.Message{Date: &bad})
	if _, err := encodeShared(&env, &wire.Message{Date: &bad}); err == nil {
		t.Error("year 10000: no error")
	}
}

func FuzzAppendJSONStr(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"\\\n\r\t\b\f\x00\x1f\x7f", "<>&", "\u2028\u2029", "\xff\xfe", "\xe2\x80", "\U0001F600\xed\xa0\x80"} {
		f.Add(s)
	}
	// Longer than a word, so that the eight-byte skips meet every byte
	// JSON escapes at every offset.
	f.Add(strings.Repeat("abcdefg\"hijklmn\\opq\x01rstu\xffvw\u00e9xyz\x7f\x1f", 9))
	f.Add(strings.Repeat("0123456789", 20) + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		got := appendJSONStr(nil, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendJSONStr(%q) = %q, encoding/json gives %q", s, got, want)
		}
		if n := jsonStringLen(s); n != len(want) {
			t.Fatalf("jsonStringLen(%q) = %d, want %d", s, n, len(want))
		}
	})
}
