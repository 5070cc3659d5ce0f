package classify

import (
	"strings"
	"testing"
)

// BenchmarkClassify classifies a typical 20 KiB reply: the header of a
// Gmail message to a list and a 20 KiB text body, which only a bounce
// from a MAILER-DAEMON would read.
func BenchmarkClassify(b *testing.B) {
	in := readInput(b, "testdata/plain/mailman-list.eml")
	in.Header = append(in.Header,
		Header{"Received", "by mail-wr1-f41.google.com with SMTP id ffacd0b85a97d-38a8b35e168so1234567f8f.1 for <dev@lists.example.org>; Mon, 06 Jan 2025 01:15:02 -0800 (PST)"},
		Header{"DKIM-Signature", "v=1; a=rsa-sha256; c=relaxed/relaxed; d=gmail.com; s=20230601; t=1736154902; x=1736759702; h=to:subject:message-id:date:from:in-reply-to:references:mime-version; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA"},
		Header{"In-Reply-To", "<CAF=abc@mail.gmail.com>"},
		Header{"References", "<CAF=abc@mail.gmail.com> <CAF=def@mail.gmail.com>"},
		Header{"X-Gm-Message-State", "AOJu0YwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
	)
	in.Text = strings.Repeat("> quoted history of the thread, as long as a typical reply carries\n", 20<<10/66)
	b.ReportAllocs()
	for b.Loop() {
		Classify(in)
	}
}

// BenchmarkClassifyBounce classifies Postfix's delivery status
// notification.
func BenchmarkClassifyBounce(b *testing.B) {
	in := readInput(b, "testdata/bounces/postfix-3.7-local-unknown-user.eml")
	b.ReportAllocs()
	for b.Loop() {
		Classify(in)
	}
}

// BenchmarkClassifyQmail classifies a qmail bounce, read from its text.
func BenchmarkClassifyQmail(b *testing.B) {
	in := readInput(b, "testdata/bounces/lhost-qmail-02.eml")
	b.ReportAllocs()
	for b.Loop() {
		Classify(in)
	}
}
