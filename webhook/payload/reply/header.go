package reply

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// wroteWords end an attribution line ("On <date>, <name> wrote:") in the
// languages mail clients write it in, lower-cased.
var wroteWords = []string{
	"wrote", "writes", // English
	"schrieb", "geschrieben", "geschreven", // German, Dutch
	"a écrit", "a ecrit", // French
	"escribió", "escribio", // Spanish
	"escreveu",                           // Portuguese
	"schreef", "het volgende geschreven", // Dutch
	"ha scritto", "scrisse", // Italian
	"skrev", "skrev følgende", // Scandinavian
	"írta", "kirjoitti", "napisał", "napisal", "napisał(a)", "napisała", // Finnish, Polish
	"написал", "написала", "написал(а)", "пишет", "пише", // Russian, Ukrainian
	"写道", "寫道", // Chinese
	"のメール", "が書きました", // Japanese
}

// leads start an attribution line in those languages, lower-cased.
var leads = []string{
	"on ", "am ", "le ", "el ", "em ", "op ", "il ", "den ", "dne ",
	"w dniu ", "dnia ", "в ", "在", "於",
}

// headerKeys name the fields of the header block Outlook and its kin put
// above the quoted message, lower-cased, in the main languages.
var headerKeys = map[string]bool{
	"from": true, "sent": true, "date": true, "to": true, "cc": true, "subject": true, "reply-to": true,
	"de": true, "envoyé": true, "à": true, "objet": true, "message du": true, "sujet": true, "copie à": true, // French
	"von": true, "gesendet": true, "an": true, "betreff": true, "datum": true, // German
	"enviado": true, "enviada": true, "para": true, "asunto": true, "fecha": true, "assunto": true, "data": true,
	"van": true, "verzonden": true, "aan": true, "onderwerp": true, // Dutch
	"da": true, "inviato": true, "a": true, "oggetto": true, // Italian
	"från": true, "skickat": true, "till": true, "ämne": true, "fra": true, "sendt": true, "til": true, "emne": true, "dato": true,
	"od": true, "wysłano": true, "do": true, "temat": true, // Polish
	"от": true, "отправлено": true, "кому": true, "тема": true, "дата": true, // Russian
	"发件人": true, "发送时间": true, "收件人": true, "主题": true, "日期": true, "抄送": true, // Chinese
	"寄件者": true, "傳送時間": true, "收件者": true, "主旨": true, // Chinese (traditional)
	"差出人": true, "送信日時": true, "宛先": true, "件名": true, "日付": true, // Japanese
}

// fromKeys are the header keys that name the sender: a header block must
// have one.
var fromKeys = map[string]bool{
	"from": true, "de": true, "von": true, "van": true, "da": true, "från": true,
	"fra": true, "od": true, "от": true, "发件人": true, "寄件者": true, "差出人": true,
}

// originals are the words inside "-----Original Message-----" lines,
// lower-cased.
var originals = []string{
	"original message", "original-nachricht", "ursprüngliche nachricht",
	"message d'origine", "message original", "mensaje original",
	"mensagem original", "oorspronkelijk bericht", "origineel bericht",
	"messaggio originale", "ursprungligt meddelande", "oprindelig meddelelse",
	"opprinnelig melding", "oprindelig besked", "исходное сообщение", "原始邮件", "原始郵件", "元のメッセージ",
}

// attribution reports whether line i ends an attribution line, and how
// many of the lines before it belong to it (a client wrapped it).
func attribution(lines lineSet, i int) (int, bool) {
	l := lines.at(i)
	if !mayAttribute(l) {
		return 0, false
	}
	// Zoho writes "---- On <date> <address> wrote ----".
	t := strings.Trim(l, " \t-")
	if gmailDatedStart(t) && gmailDated.MatchString(t) {
		return 0, true
	}
	body, colon := strings.CutSuffix(t, ":")
	if !colon {
		body, colon = strings.CutSuffix(t, "：")
	}
	if !colon && strings.IndexByte(t, '@') < 0 {
		// Without a colon only a line with an address can be one (see
		// below): most lines of a body end here, before any lowering.
		return 0, false
	}
	low := strings.ToLower(strings.TrimRight(body, " \u00a0"))
	wrote := endsWithWrote(low)
	if !wrote && !(colon && strings.HasSuffix(low, ">")) {
		if colon {
			return wroteInside(lines, i, low)
		}
		return 0, false
	}
	// Without a colon only "On <date>, <name> <address> wrote" counts.
	if !colon && !(hasLead(low) && hasDigit(low) && strings.Contains(low, "@")) {
		return 0, false
	}
	if hasLead(low) {
		return 0, wrote || strings.Contains(low, "@")
	}
	cand := low
	for n := 1; n <= 2 && i-n >= 0; n++ {
		p := strings.TrimSpace(lines.at(i - n))
		if p == "" || isQuoted(p) {
			break
		}
		cand = strings.ToLower(p) + " " + cand
		if hasLead(cand) && (wrote || strings.Contains(cand, "@")) {
			return n, true
		}
	}
	cand = low
	for n := 0; n <= 1 && i-n >= 0; n++ {
		if n == 1 {
			p := strings.TrimSpace(lines.at(i - 1))
			if p == "" || isQuoted(p) {
				break
			}
			cand = strings.ToLower(p) + " " + cand
		}
		if dated(cand) && (wrote || strings.Contains(cand, "@")) {
			return n, true
		}
	}
	// "Name <address> wrote:" without a date.
	return 0, wrote && strings.Contains(low, "@") && strings.Contains(low, "<")
}

// mayAttribute rules out, without building anything, the lines that
// attribution would refuse first: most lines of a body have neither a
// colon, a full-width colon, an address nor a date at their start.
func mayAttribute(l string) bool {
	if strings.IndexByte(l, ':') >= 0 || strings.IndexByte(l, '@') >= 0 || strings.Contains(l, "：") {
		return true
	}
	i := 0
	for i < len(l) && (l[i] == ' ' || l[i] == '\t' || l[i] == '-') {
		i++
	}
	return gmailDatedStart(l[i:])
}

// gmailDated matches the attributions Gmail wrote without a wrote word:
// "2016-03-03 17:21 GMT+01:00 Name <address>:" and "2013/7/20 Name
// <address>".
var gmailDated = regexp.MustCompile(`^(?:[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{1,2}:[0-9]{2} GMT[+-][0-9]{2}:[0-9]{2}\b|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2} .*<[^<>@\s]+@[^<>\s]+>:?$)`)

// gmailDatedStart reports whether t starts as gmailDated's lines do, with
// four digits and a "-" or "/": the regular expression then runs on few
// lines, not on every line that starts with a digit.
func gmailDatedStart(t string) bool {
	if len(t) < 5 || (t[4] != '-' && t[4] != '/') {
		return false
	}
	for i := range 4 {
		if t[i] < '0' || t[i] > '9' {
			return false
		}
	}
	return true
}

// wroteInside reports an attribution whose wrote word is not at its end,
// such as Gmail's German "Name <address> schrieb am Fr., 28. Apr. 2017 um
// 11:53 Uhr:", maybe wrapped over up to three lines ending at line i (low
// is line i lower-cased, without its colon). It wants an address in
// brackets and a date.
func wroteInside(lines lineSet, i int, low string) (int, bool) {
	cand := low
	for n := 0; n <= 2; n++ {
		if n > 0 {
			if i-n < 0 {
				break
			}
			p := strings.TrimSpace(lines.at(i - n))
			if p == "" || isQuoted(p) {
				break
			}
			cand = strings.ToLower(p) + " " + cand
		}
		if hasDigit(cand) && strings.Contains(cand, "@") && strings.Contains(cand, "<") && hasWroteWord(cand) {
			return n, true
		}
	}
	return 0, false
}

// hasWroteWord reports whether low has one of wroteWords as a word
// followed by more text.
func hasWroteWord(low string) bool {
	for _, w := range wroteWords {
		if strings.Contains(low, " "+w+" ") {
			return true
		}
	}
	return false
}

// dated reports an attribution without a lead word that still looks like
// one: a date and an address or a comma ("tir. 18. apr. 2017 kl. 13:09
// skrev Test <t@example.com>:", "2024年1月1日 山田 <y@example.jp>:").
func dated(low string) bool {
	return hasDigit(low) && strings.ContainsAny(low, "@,年")
}

// wroteEnds marks the last bytes of wroteWords, so that most lines are
// ruled out without comparing any word.
var wroteEnds = func() (set [256]bool) {
	for _, w := range wroteWords {
		set[w[len(w)-1]] = true
	}
	return set
}()

// endsWithWrote reports whether low ends with one of wroteWords.
func endsWithWrote(low string) bool {
	if low == "" || !wroteEnds[low[len(low)-1]] {
		return false
	}
	for _, w := range wroteWords {
		if strings.HasSuffix(low, w) {
			return true
		}
	}
	return false
}

// hasLead reports whether low starts with one of leads.
func hasLead(low string) bool {
	for _, l := range leads {
		if strings.HasPrefix(low, l) {
			return true
		}
	}
	return false
}

// hasDigit reports whether s has an ASCII digit.
func hasDigit(s string) bool {
	return strings.ContainsAny(s, "0123456789")
}

// separator reports whether line i starts quoted history that has no ">"
// markers: an "-----Original Message-----" line or a header block.
func separator(lines lineSet, i int) bool {
	l := lines.at(i)
	// Both kinds need a dash or a colon: most lines have neither.
	if strings.IndexByte(l, '-') < 0 && strings.IndexByte(l, ':') < 0 && !strings.Contains(l, "：") {
		return false
	}
	t := strings.TrimSpace(l)
	if t == "" {
		return false
	}
	t = strings.Trim(t, "*") // bold in a text made from HTML
	if strings.HasPrefix(t, "---") {
		low := strings.ToLower(strings.Trim(t, "- "))
		for _, o := range originals {
			if low == o {
				return true
			}
		}
		return false
	}
	key, ok := headerKey(t)
	if !ok || forwarded(lines, i) {
		return false
	}
	return headerBlock(lines, i, fromKeys[key])
}

// forwards are the lines, lower-cased, that introduce a forwarded
// message: its header block and text are content the sender means to
// pass on, not history, so they stay in the reply's text.
var forwards = []string{
	"forwarded message", "begin forwarded message", "weitergeleitete nachricht",
	"message transféré", "mensaje reenviado", "mensaje original reenviado",
	"mensagem encaminhada", "doorgestuurd bericht", "messaggio inoltrato",
}

// forwarded reports whether the non-blank line before line i introduces
// a forwarded message.
func forwarded(lines lineSet, i int) bool {
	for n := 1; n <= 2 && i-n >= 0; n++ {
		t := strings.TrimSpace(lines.at(i - n))
		if t == "" {
			continue
		}
		low := strings.ToLower(strings.Trim(t, "-: "))
		for _, f := range forwards {
			if low == f {
				return true
			}
		}
		return false
	}
	return false
}

// headerBlock reports whether a header block starts at line i: three or
// more header fields within lookAround lines, one of them naming the
// sender. A wrapped field may leave a line without a key between them.
func headerBlock(lines lineSet, i int, from bool) bool {
	fields := 0
	for end := min(lines.n(), i+lookAround+1); i < end; i++ {
		t := strings.TrimSpace(lines.at(i))
		if t == "" {
			break
		}
		if key, ok := headerKey(t); ok {
			fields++
			from = from || fromKeys[key]
		}
	}
	return fields >= 3 && from
}

// headerKey returns the lower-cased key of a "Key: value" line when it is
// one of headerKeys. Bold markers ("*From:*") are ignored.
func headerKey(t string) (string, bool) {
	t = strings.TrimLeft(t, "*")
	// The first ":" or full-width "：": IndexAny would decode every rune.
	head := t[:min(len(t), 40)]
	end := strings.IndexByte(head, ':')
	if wide := strings.Index(head, "："); wide >= 0 && (end < 0 || wide < end) {
		end = wide
	}
	if end <= 0 || end > 24 {
		return "", false
	}
	key := strings.ToLower(strings.TrimRight(t[:end], " *\u00a0"))
	if !headerKeys[key] {
		return "", false
	}
	return key, true
}

// trailers start the "Sent from my iPhone"-style lines that mobile and web
// clients append, lower-cased.
var trailers = []string{
	"sent from ", "sent with protonmail", "sent with proton mail",
	"sent from samsung", "sent from the all new aol app", "get outlook for ",
	"envoyé de mon ", "envoyé à partir de ", "envoyé depuis mon ", "von meinem ", "gesendet von ",
	"enviado desde mi ", "enviado do meu ", "enviado de meu ", "verzonden met mijn ",
	"verstuurd vanaf mijn ", "verzonden vanaf mijn ", "inviato da ", "skickat från min ",
	"sendt fra min ", "lähetetty ", "wysłane z ", "отправлено с ",
	"发自我的", "從我的", "iphoneから送信", "ipadから送信",
}

// trailerStarts marks the first two bytes of trailers: bit b1&63 of
// entry b0, both bytes with ASCII letters in lower case. Most lines are
// ruled out by it, a few that are not by the comparisons.
var trailerStarts = func() (set [256]uint64) {
	for _, p := range trailers {
		set[lowerASCII(p[0])] |= 1 << (lowerASCII(p[1]) & 63)
	}
	return set
}()

// lowerASCII lowers an ASCII capital letter.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isTrailer reports a "Sent from my iPhone"-style line: a short line
// with one of the trailers' beginnings that is not a sentence ("Sent from
// my desk, is much easier then my mobile phone." is not one).
func isTrailer(t string) bool {
	if len(t) > 80 || strings.HasSuffix(t, ".") || strings.Contains(t, ",") {
		return false
	}
	// Letters outside ASCII may change bytes with their case: only a line
	// that starts with ASCII is ruled out by its first two bytes.
	if len(t) < 2 || (t[0] < utf8.RuneSelf && trailerStarts[lowerASCII(t[0])]&(1<<(lowerASCII(t[1])&63)) == 0) {
		return false // no trailer starts with these two bytes, in either case
	}
	for _, p := range trailers {
		// EqualFold on the prefix: no lowered copy of every line.
		if len(t) >= len(p) && strings.EqualFold(t[:len(p)], p) {
			return len(strings.Fields(t)) <= 8
		}
	}
	return false
}
