package webhook_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// The contract lives at the repository's root; these tests hold the
// running bridge to it.
const (
	specPath = "../openapi.yaml"
	specURL  = "file:///openapi.yaml"

	deliveryOp    = "#/webhooks/delivery/post"
	checkOp       = "#/webhooks/check/post"
	payloadSchema = "#/components/schemas/Payload"
	checkSchema   = "#/components/schemas/CheckPayload"
	answerSchema  = "#/components/schemas/Answer"
)

// contract is openapi.yaml as JSON values, with a JSON Schema 2020-12
// compiler for the schemas in it.
type contract struct {
	doc map[string]any

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	y, err := os.ReadFile(specPath)
	if err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", specPath, err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s is not representable as JSON: %w", specPath, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return nil, err
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not a mapping", specPath)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()  // date-time is checked, not only annotated
	c.AssertContent() // so is base64
	if err := c.AddResource(specURL, doc); err != nil {
		return nil, err
	}
	return &contract{doc: m, compiler: c, compiled: map[string]*jsonschema.Schema{}}, nil
})

func openContract(t *testing.T) *contract {
	t.Helper()
	k, err := loadContract()
	if err != nil {
		t.Fatalf("load the contract: %v", err)
	}
	return k
}

// schema compiles the schema at ptr, a JSON pointer fragment into the
// contract such as "#/components/schemas/Payload".
func (k *contract) schema(t *testing.T, ptr string) *jsonschema.Schema {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.compiled[ptr]; ok {
		return s
	}
	s, err := k.compiler.Compile(specURL + ptr)
	if err != nil {
		t.Fatalf("compile %s: %v", ptr, err)
	}
	k.compiled[ptr] = s
	return s
}

// validate checks a JSON document against the schema at ptr.
func (k *contract) validate(t *testing.T, ptr string, body []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Errorf("not JSON: %v\n%s", err, clip(body))
		return
	}
	if err := k.schema(t, ptr).Validate(v); err != nil {
		t.Errorf("does not match %s:\n%v\nbody: %s", ptr, err, clip(body))
	}
}

// valid reports whether a JSON document matches the schema at ptr.
func (k *contract) valid(t *testing.T, ptr string, body []byte) bool {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	return err == nil && k.schema(t, ptr).Validate(v) == nil
}

// resolve returns the value at ptr, following local $refs, and the
// pointer it was finally found at.
func (k *contract) resolve(t *testing.T, ptr string) (string, any) {
	t.Helper()
	for range 10 {
		v, ok := k.lookup(ptr)
		if !ok {
			t.Fatalf("%s does not resolve in %s", ptr, specPath)
		}
		m, isMap := v.(map[string]any)
		ref, isRef := m["$ref"].(string)
		if !isMap || !isRef {
			return ptr, v
		}
		ptr = ref
	}
	t.Fatalf("%s: $ref loop", ptr)
	return "", nil
}

// lookup walks a JSON pointer fragment ("#/a/b~1c").
func (k *contract) lookup(ptr string) (any, bool) {
	rest, ok := strings.CutPrefix(ptr, "#")
	if !ok {
		return nil, false
	}
	var v any = k.doc
	if rest == "" {
		return v, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(rest, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := v.(type) {
		case map[string]any:
			if v, ok = c[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// checkHeaders holds a request's headers to the header parameters of the
// webhook operation op: required ones are there, and every one sent
// matches its schema.
func (k *contract) checkHeaders(t *testing.T, op string, h http.Header) {
	t.Helper()
	_, params := k.resolve(t, op+"/parameters")
	for i := range params.([]any) {
		at, p := k.resolve(t, fmt.Sprintf("%s/parameters/%d", op, i))
		param := p.(map[string]any)
		if param["in"] != "header" {
			continue
		}
		name := param["name"].(string)
		vals := h.Values(name)
		switch {
		case len(vals) == 0:
			if param["required"] == true {
				t.Errorf("request lacks the required header %s", name)
			}
			continue
		case len(vals) > 1:
			t.Errorf("header %s sent %d times", name, len(vals))
		}
		if err := k.schema(t, at+"/schema").Validate(vals[0]); err != nil {
			t.Errorf("header %s: %q does not match %s/schema: %v", name, vals[0], at, err)
		}
	}
}

// clip shortens a body for a failure message.
func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}

// crlf is msg as the bridge receives it from client.send: every line
// ended with CRLF.
func crlf(msg string) string {
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	return strings.ReplaceAll(strings.TrimSuffix(msg, "\n"), "\n", "\r\n") + "\r\n"
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// deliverAll sends msg through a fresh bridge to a fresh receiver, checks
// that every recipient got 250 and returns the requests made.
func deliverAll(t *testing.T, tweak func(*webhook.Config, *lmtp.Config), from string, rcpts []string, msg string) []request {
	t.Helper()
	rc := newReceiver(t, nil)
	addr := startBridge(t, rc.URL, tweak)
	replies := lhlo(t, addr).Send(from, rcpts, msg)
	for i, r := range replies {
		if want := "250 2.0.0 <" + rcpts[i] + "> delivered"; r != want {
			t.Fatalf("reply %q, want %q", r, want)
		}
	}
	reqs := rc.Requests()
	if len(reqs) != len(rcpts) {
		t.Fatalf("%d requests for %d recipients", len(reqs), len(rcpts))
	}
	return reqs
}

// Known parts, so that decoded bytes can be compared whole.
var (
	reportPDF = []byte("%PDF-1.4\n% a fake report, for tests\n%%EOF\n")
	chartPNG  = mustBase64("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC")
	logoGIF   = mustBase64("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
)

func mustBase64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// b64 wraps base64 at 76 columns, as mail does.
func b64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	return out.String() + s
}

// jsonFields lists the JSON members a Go struct encodes to, flattening
// embedded structs, with whether each is omitted when empty.
func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		if f.Anonymous && !hasTag {
			for name, omit := range jsonFields(f.Type) {
				out[name] = omit
			}
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out[name] = strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
	}
	return out
}

// TestSchemasMatchGoTypes compares every object schema with the Go type
// that is encoded to it, member by member: a field renamed, added or
// dropped on one side only fails here, even one no test message sets.
// Members that are always sent must be required, and omitted ones must
// not.
func TestSchemasMatchGoTypes(t *testing.T) {
	k := openContract(t)
	types := map[string]reflect.Type{
		"Payload":         reflect.TypeFor[wire.Payload](),
		"Envelope":        reflect.TypeFor[wire.Envelope](),
		"Header":          reflect.TypeFor[wire.Header](),
		"Address":         reflect.TypeFor[wire.Address](),
		"Attachment":      reflect.TypeFor[wire.Attachment](),
		"ParseError":      reflect.TypeFor[wire.ParseError](),
		"Reply":           reflect.TypeFor[wire.Reply](),
		"Classification":  reflect.TypeFor[wire.Classification](),
		"BounceRecipient": reflect.TypeFor[wire.BounceRecipient](),
		"FeedbackReport":  reflect.TypeFor[wire.FeedbackReport](),
		"List":            reflect.TypeFor[wire.List](),
		"CheckPayload":    reflect.TypeFor[wire.CheckPayload](),
		"Answer":          reflect.TypeFor[wire.Answer](),
	}
	for name, typ := range types {
		t.Run(name, func(t *testing.T) {
			_, v := k.resolve(t, "#/components/schemas/"+name)
			s := v.(map[string]any)
			props, _ := s["properties"].(map[string]any)
			required := map[string]bool{}
			if req, ok := s["required"].([]any); ok {
				for _, r := range req {
					required[r.(string)] = true
				}
			}
			fields := jsonFields(typ)
			for f, omit := range fields {
				if _, ok := props[f]; !ok {
					t.Errorf("%s encodes %q, which the schema does not list", typ, f)
					continue
				}
				// Answer is written by the webhook: nothing in it is required.
				if name != "Answer" && required[f] == omit {
					t.Errorf("%q: required is %v, but the Go field omitempty is %v", f, required[f], omit)
				}
			}
			for p := range props {
				if _, ok := fields[p]; !ok {
					t.Errorf("the schema lists %q, which %s does not encode", p, typ)
				}
			}
			for r := range required {
				if _, ok := props[r]; !ok {
					t.Errorf("%q is required but not described", r)
				}
			}
			// Objects the bridge writes are closed; the answer is open.
			if closed := s["additionalProperties"] == false; closed != (name != "Answer") {
				t.Errorf("additionalProperties: false is %v", closed)
			}
			if d, _ := s["description"].(string); d == "" {
				t.Errorf("no description")
			}
		})
	}
}

// TestSpecIsWellFormed checks the document itself: an OpenAPI 3.1
// document whose references all resolve, whose responses have valid keys
// and descriptions, and whose examples match their schemas.
func TestSpecIsWellFormed(t *testing.T) {
	k := openContract(t)
	if v, _ := k.doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi: %q, want 3.1.x", v)
	}
	for _, p := range []string{deliveryOp, checkOp, "#/paths/~1healthz/get", "#/paths/~1readyz/get", "#/paths/~1metrics/get", "#/paths/~1openapi.yaml/get"} {
		if _, ok := k.lookup(p); !ok {
			t.Errorf("%s is missing", p)
		}
	}
	responseKey := regexp.MustCompile(`^([1-5]([0-9]{2}|XX)|default)$`)
	var walk func(ptr string, v any)
	walk = func(ptr string, v any) {
		switch c := v.(type) {
		case map[string]any:
			if ref, ok := c["$ref"].(string); ok {
				if _, ok := k.lookup(ref); !ok {
					t.Errorf("%s: $ref %s does not resolve", ptr, ref)
				}
			}
			if strings.HasSuffix(ptr, "/responses") && !strings.HasPrefix(ptr, "#/components") {
				for key, r := range c {
					if !responseKey.MatchString(key) {
						t.Errorf("%s: response key %q", ptr, key)
					}
					if m, ok := r.(map[string]any); ok && m["$ref"] == nil && m["description"] == nil {
						t.Errorf("%s/%s has no description", ptr, key)
					}
				}
			}
			for key, child := range c {
				walk(ptr+"/"+strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1"), child)
			}
		case []any:
			for i, child := range c {
				walk(fmt.Sprintf("%s/%d", ptr, i), child)
			}
		}
	}
	walk("#", k.doc)

	_, schemas := k.resolve(t, "#/components/schemas")
	for name, v := range schemas.(map[string]any) {
		ptr := "#/components/schemas/" + name
		k.schema(t, ptr) // every schema compiles
		examples, _ := v.(map[string]any)["examples"].([]any)
		for i, ex := range examples {
			b, _ := json.Marshal(ex)
			if !k.valid(t, ptr, b) {
				t.Errorf("%s: example %d does not match: %s", name, i, b)
			}
		}
	}
}
