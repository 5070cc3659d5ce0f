package htmltext

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
)

func TestConvert(t *testing.T) {
	links := Options{Links: true}
	cases := []struct {
		name, in, want string
		opts           Options
	}{
		{name: "plain text", in: "hello", want: "hello"},
		{name: "entities", in: "Tom &amp; Jerry &lt;3 &eacute;t&#233; &#x20AC;5", want: "Tom & Jerry <3 été €5"},
		{name: "white space collapses", in: "  a \r\n\t b   c  ", want: "a b c"},
		{name: "nbsp is a space", in: "a&nbsp;&nbsp;b", want: "a b"},
		{name: "space across inline tags", in: "one <b>two</b> <i>three</i>", want: "one two three"},
		{name: "br", in: "a<br>b<br/>c", want: "a\nb\nc"},
		{name: "blocks end lines", in: "<div>a</div><div>b</div><ul><li>c</li><li>d</li></ul>", want: "a\nb\nc\nd"},
		{name: "paragraphs have a blank line between", in: "<p>one</p><p>two</p>", want: "one\n\ntwo"},
		{name: "outlook MsoNormal paragraphs are tight", in: `<p class="MsoNormal">one</p><p class="MsoNormal">two</p>`, want: "one\ntwo"},
		{name: "heading has a margin", in: "<h1>News</h1><p>Hello</p>", want: "News\n\nHello"},
		{name: "several blank lines become one", in: "a<br><br><br><br>b", want: "a\n\nb"},
		{name: "script style and title dropped", in: "<title>T</title><style>p{}</style>a<script>if (a<b) x()</script>b", want: "ab"},
		{name: "self-closing script still hides its text", in: "<script/>x()</script>shown", want: "shown"},
		{name: "head dropped", in: "<html><head><meta charset=utf-8><title>t</title></head><body>body</body></html>", want: "body"},
		{name: "unclosed head ends at body", in: "<html><head><meta charset=utf-8><body><p>seen</p>", want: "seen"},
		{name: "unclosed head ends at content", in: "<head><style>x</style><div>seen</div>", want: "seen"},
		{name: "table cells are spaced", in: "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", want: "a b\nc"},
		{name: "pre keeps white space", in: "<p>x</p><pre>  indented\r\n    more</pre>after", want: "x\n\n  indented\n    more\nafter"},
		{name: "unclosed tags", in: "<b><i><u>a<b><i>b", want: "ab"},
		{name: "stray end tags", in: "a</x>a</x>a</div>b", want: "aaa\nb"},
		{name: "link address after its text", in: `see <a href="https://x.test/p">the page</a>.`, opts: links, want: "see the page (https://x.test/p)."},
		{name: "link that shows its address", in: `<a href="https://x.test/">x.test</a> <a href="mailto:a@x.test">a@x.test</a>`, opts: links, want: "x.test a@x.test"},
		{name: "link of another scheme", in: `<a href="javascript:x()">click</a> <a href="#top">top</a>`, opts: links, want: "click top"},
		{name: "unclosed link", in: `<a href="http://x.test/a">one <a href="http://x.test/b">two`, opts: links, want: "one (http://x.test/a) two (http://x.test/b)"},
		{name: "links off", in: `<a href="https://x.test/p">page</a>`, want: "page"},
		{name: "capped", in: strings.Repeat("abc ", 100), opts: Options{MaxBytes: 10}, want: "abc abc ab"},
		{name: "capped at a character boundary", in: "ééééé", opts: Options{MaxBytes: 5}, want: "éé"},
		{name: "empty", in: "", want: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := Convert(c.in, c.opts)
			if got != c.want {
				t.Errorf("Convert(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
		})
	}
}

func TestConvertCut(t *testing.T) {
	cut := func(z *html.Tokenizer) Cut {
		for {
			key, val, more := z.TagAttr()
			if string(key) == "class" && string(val) == "quote" {
				return CutElement
			}
			if string(key) == "id" && string(val) == "rest" {
				return CutRest
			}
			if !more {
				return Keep
			}
		}
	}
	cases := []struct {
		in, want string
		cut      bool
	}{
		{in: `new<div class="quote">old<div>older</div></div><div>after</div>`, want: "new\nafter", cut: true},
		{in: `new<div id="rest">old</div>after`, want: "new", cut: true},
		{in: `new<div class="other">kept</div>`, want: "new\nkept"},
	}
	for _, c := range cases {
		got, was := Convert(c.in, Options{Cut: cut})
		if got != c.want || was != c.cut {
			t.Errorf("Convert(%q) = %q, %v; want %q, %v", c.in, got, was, c.want, c.cut)
		}
	}
}

// FuzzConvert checks that any input converts without panic to valid UTF-8
// within the cap, when the input is.
func FuzzConvert(f *testing.F) {
	for _, s := range []string{"<p>a</p>", "a</x>", "<pre>\r\r\n</pre>", `<a href="http://x">y`, "<head><script>", "&#0;&#xD800;&nGt;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, _ := Convert(in, Options{Links: true, MaxBytes: 64})
		if len(got) > 64 {
			t.Fatalf("%d bytes over a cap of 64", len(got))
		}
		if utf8.ValidString(in) && !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q from %q", got, in)
		}
	})
}

// BenchmarkConvert measures the conversion of shapes that make html.Parse
// superlinear: the time per byte stays the same at both sizes.
func BenchmarkConvert(b *testing.B) {
	for _, unit := range []string{"<p><b>", "a</x>", "<div>x", "<p>Some text with <a href=\"https://x.test/\">a link</a>.</p>\n"} {
		for _, size := range []int{1 << 20, 4 << 20} {
			in := strings.Repeat(unit, size/len(unit))
			b.Run(fmt.Sprintf("%q/%dMiB", unit, size>>20), func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				b.ReportAllocs()
				for b.Loop() {
					Convert(in, Options{Links: true})
				}
			})
		}
	}
}
