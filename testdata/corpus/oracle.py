#!/usr/bin/env python3
r"""What Python's email package reads in a message: the fidelity oracle.

Usage:
    oracle.py FILE.eml...          one JSON object per file, one per line
    oracle.py --map FILE.eml...    one JSON object, path -> result (oracle.json)
    oracle.py --check              recompute testdata/corpus/oracle.json and
                                   report whether it is unchanged

Python 3.11 standard library only. Paths in --map output are relative to
the folder that holds this script, with "/" separators, sorted.

The rules, exactly (a Go test compares the bridge's payload with them):

Input
  Each file is read as it arrives over LMTP: every line ending made CRLF
  the way webhook/openapi_test.go's wire() does it (CRLF -> LF, one
  trailing LF dropped, LF -> CRLF, CRLF appended; a lone CR is left
  alone). It is parsed with email.parser.BytesParser(policy=
  email.policy.default).parsebytes: no newline translation, so decoded
  7bit/8bit parts keep their CRLFs, as the bridge's do.

Headers
  subject      str(msg["Subject"]) (encoded words decoded, folding
               removed), or null when there is no Subject field.
  from, to, cc, reply_to
               lists of {"name", "address"} from msg[h].addresses, every
               field of that name in order: address is "local@domain",
               name the display name ("" when none). Entries without
               both a local part and a domain are dropped (Python gives
               an empty address for an entry it could not read). When
               Python reports a defect for the field other than
               ObsoleteHeaderDefect or NonASCIILocalPartDefect, drops an
               entry, or raises, the field is read again by the fallback
               below; the fallback's list wins when it is not empty and
               its addresses (in order) differ from Python's. Defects
               and the replacement are recorded either way.
  message_id   the first <...> of the first Message-ID field, without the
               angle brackets; the stripped value when it has none; null
               when there is no such field.
  date         msg["Date"].datetime as RFC 3339 (datetime.isoformat);
               a date Python reads without a zone ("-0000") is given as
               +00:00 and noted; null when absent or unreadable.
  8-bit bytes in a header are read as UTF-8 (RFC 6532) before Python
  parses the field, when they are valid UTF-8; otherwise Python's own
  reading is kept. Any surrogate escape still left in an output string is
  turned into UTF-8 text if valid, else U+FFFD, and the field is marked
  unreliable.

Address fallback (only on defects, see above)
  Split the field on commas outside "quotes", <angle brackets> and
  (comments); drop a leading "group-name:" and a trailing ";". Each
  <addr> in an entry (outside quotes and comments) gives one mailbox:
  address addr (a leading @route: removed), name the text since the
  previous ">" (or the entry's start), unquoted, comments removed,
  backslash escapes and encoded words decoded (Python's unstructured
  header parser). So "A <a@x> B <b@y>", a missing comma, gives two. An
  entry without angle brackets gives its whitespace-separated tokens
  (comments removed) as addresses when every one of them has one "@"
  with text on both sides ("a@x b@y", a missing comma, gives two), and
  nothing otherwise. Anything else is dropped. A display name is never
  taken as an address.

Body and parts
  The part tree is walked depth first in document order. A multipart is
  entered; a message/* part (message/rfc822, message/delivery-status,
  message/global, ...) whose payload Python parsed into messages is a
  leaf and is NOT entered: what the embedded message says is not the
  outer message's text. Every other non-multipart part is a leaf (so is
  a multipart Python could not split, e.g. one without a boundary).
  content_type is Python's get_content_type(): a part without
  Content-Type is text/plain, or message/rfc822 inside multipart/digest;
  an unreadable Content-Type is text/plain.
  A leaf is BODY when its content type is text/plain or text/html, its
  Content-Disposition is not "attachment", and it has no file name
  (get_filename(): Content-Disposition filename, else Content-Type name,
  after RFC 2231 and encoded-word decoding; an empty name counts as
  none). Every other leaf is a PART.
  text   the get_content() of every BODY text/plain leaf, in order,
         joined with "\n"; html likewise for text/html. CRLF is then
         replaced with LF (a lone CR is kept). When Python cannot decode
         a leaf (unknown charset, or it raises) its bytes are read as
         UTF-8 with U+FFFD for errors.
  parts  one {"filename", "content_type", "disposition", "content_id",
         "size", "sha256"} per PART, in order: filename as above ("" when
         none), disposition the lower-cased Content-Disposition value
         ("" when none), content_id the Content-ID without angle brackets
         ("" when none), size and sha256 of get_payload(decode=True)
         (transfer encoding undone: base64, quoted-printable,
         x-uuencode; 7bit/8bit/binary bytes as they are, CRLFs kept). For
         a message/* leaf Python keeps no bytes: size and sha256 are null
         and only the other keys are comparable.

Defects and reliability
  defects     every defect Python records, as "where: DefectName: text"
              (where is "message", "part N" with N the leaf's index in
              the walk, or a header name), and the oracle's own notes as
              "where: oracle: text", in the order found.
  unreliable  sorted names of output fields whose value here is not a
              trustworthy reading of the message; a Go test should count
              a disagreement on them as "not comparable", not as a
              failure. A field is listed when:
              - text/html: a leaf's charset is unknown to Python, or
                decoding put in a U+FFFD the bytes did not have (bytes
                not valid in the declared charset, or 8-bit bytes with no
                charset declared: Python then assumes us-ascii);
              - text and parts: a BODY text/plain leaf holds a uuencoded
                "begin NNN name" block (Python leaves it as text, a mail
                reader shows a file);
              - parts: a PART's Content-Type or Content-Disposition has a
                backslash (Python reads "C:\TEMP\a.png" as "C:TEMPa.png",
                RFC-correct, not what the sender meant);
              - text, html and parts: the message is not multipart and
                Python reports MissingHeaderBodySeparatorDefect for it: a
                line in the header block is not a field (letters' corpus
                has "X-Script/function/<TAB> !...: TEST"), so Python, like
                Postfix's cleanup, ends the header there and the rest,
                headers included, is body; a reader that skips the line
                and keeps Content-Transfer-Encoding differs;
              - text, html and parts: Python reports a multipart it
                could not split (StartBoundaryNotFoundDefect,
                NoBoundaryInMultipartDefect,
                MultipartInvariantViolationDefect), e.g. a boundary with
                unquoted "=" or a folded header line without leading
                whitespace; a lenient reader still finds the parts;
              - subject, from, to, cc, reply_to, message_id, date: the
                field stands after such a non-field header line, so
                Python read it as body; "from" also when a line
                "From  : ..." (space before the colon, RFC 5322 obsolete
                syntax) was taken for an mbox From line and dropped;
              - subject and address fields: an encoded word is left
                undecoded (mis-padded base64, a charset Python lacks such
                as windows-874, bytes invalid in its charset);
              - subject, from, to, cc, reply_to: the value has a U+FFFD
                the field did not have, or 8-bit bytes that are not UTF-8
                were left.

A message on which Python raises outside these guarded reads gives
{"error": "<ExceptionType>: <text>"} instead of the object above.
"""

import datetime
import email.errors
import email.header
import email.policy
import hashlib
import json
import os
import re
import sys
from email.parser import BytesParser

POLICY = email.policy.default
ADDRESS_FIELDS = (("from", "from"), ("to", "to"), ("cc", "cc"), ("reply_to", "reply-to"))
HERE = os.path.dirname(os.path.abspath(__file__))
MAP_FILE = os.path.join(HERE, "oracle.json")
SURROGATES = re.compile("[\udc80-\udcff]+")
UUBEGIN = re.compile(r"(?m)^begin [0-7]{3,4} \S.*\n(?:[!-`].*\n)+?end\s*$")


def wire(data):
    """The message as an MTA hands it over LMTP (see the module doc)."""
    data = data.replace(b"\r\n", b"\n")
    if data.endswith(b"\n"):
        data = data[:-1]
    return data.replace(b"\n", b"\r\n") + b"\r\n"


class Reading:
    """What one message gives, with its defects and unreliable fields."""

    def __init__(self):
        self.defects = []
        self.unreliable = set()

    def defect(self, where, d):
        self.defects.append("%s: %s: %s" % (where, type(d).__name__, d))

    def note(self, where, text):
        self.defects.append("%s: oracle: %s" % (where, text))

    def clean(self, s, field):
        """Turn surrogate escapes left in s into text; mark field if lossy."""
        if s is None or not SURROGATES.search(s):
            return s

        def fix(m):
            raw = bytes(ord(c) - 0xDC00 for c in m.group(0))
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                self.unreliable.add(field)
                return "\ufffd"

        return SURROGATES.sub(fix, s)


def header_values(msg, name):
    """The field's raw source values, in order."""
    return [v for k, v in msg._headers if k.lower() == name]


def parsed_header(msg, name, r, field):
    """The first field `name` as Python parses it, 8-bit read as UTF-8."""
    raws = header_values(msg, name)
    if not raws:
        return None
    return parse_one(msg, name, raws[0], r, field)


def parse_one(msg, name, raw, r, field):
    if isinstance(raw, str) and SURROGATES.search(raw):
        try:
            text = raw.encode("ascii", "surrogateescape").decode("utf-8")
        except UnicodeError:
            text = None
        if text is not None:
            r.note(name, "8-bit bytes read as UTF-8")
            return POLICY.header_factory(name, "".join(text.splitlines()))
    return POLICY.header_fetch_parse(name, raw)


# --- address fallback -------------------------------------------------------

def split_top(value, seps):
    """Split value on any char of seps outside quotes, <...> and (...)."""
    out, cur = [], []
    quote = False
    angle = 0
    paren = 0
    i = 0
    while i < len(value):
        c = value[i]
        if quote:
            cur.append(c)
            if c == "\\" and i + 1 < len(value):
                cur.append(value[i + 1])
                i += 1
            elif c == '"':
                quote = False
        elif paren:
            cur.append(c)
            if c == "\\" and i + 1 < len(value):
                cur.append(value[i + 1])
                i += 1
            elif c == "(":
                paren += 1
            elif c == ")":
                paren -= 1
        elif c == '"':
            quote = True
            cur.append(c)
        elif c == "(":
            paren = 1
            cur.append(c)
        elif c == "<":
            angle += 1
            cur.append(c)
        elif c == ">":
            angle = max(0, angle - 1)
            cur.append(c)
        elif c in seps and not angle:
            out.append("".join(cur))
            out.append(c)
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def remove_comments(s):
    """s without (comments), quotes kept."""
    res, depth, quote, i = [], 0, False, 0
    while i < len(s):
        c = s[i]
        if quote:
            res.append(c)
            if c == "\\" and i + 1 < len(s):
                res.append(s[i + 1])
                i += 1
            elif c == '"':
                quote = False
        elif depth:
            if c == "\\":
                i += 1
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
        elif c == '"':
            quote = True
            res.append(c)
        elif c == "(":
            depth = 1
        else:
            res.append(c)
        i += 1
    return "".join(res)


def unquote_name(s):
    s = remove_comments(s).strip()
    out, quote, i = [], False, 0
    while i < len(s):
        c = s[i]
        if c == '"':
            quote = not quote
        elif c == "\\" and quote and i + 1 < len(s):
            out.append(s[i + 1])
            i += 1
        else:
            out.append(c)
        i += 1
    name = " ".join("".join(out).split())
    if "=?" in name:
        try:
            name = str(POLICY.header_factory("x-display-name", name))
        except Exception:  # noqa: BLE001 - a name Python cannot decode stays as written
            pass
    return name


ADDR_SPEC = re.compile(r"^[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+$")


def angle_groups(entry):
    """(phrase, addr) for each top-level <addr> in entry, in order."""
    res, start, quote, depth, i = [], 0, False, 0, 0
    while i < len(entry):
        c = entry[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == '"':
                quote = False
        elif depth:
            if c == "\\":
                i += 1
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
        elif c == '"':
            quote = True
        elif c == "(":
            depth = 1
        elif c == "<":
            end = entry.find(">", i + 1)
            if end < 0:
                break
            res.append((entry[start:i], entry[i + 1:end]))
            start, i = end + 1, end
        i += 1
    return res


def fallback_addresses(value):
    res = []
    for entry in split_top(value, ","):
        if entry == ",":
            continue
        entry = entry.strip()
        # group syntax: "name: a, b;" -> drop "name:" and ";"
        parts = split_top(entry, ":")
        if len(parts) >= 3 and "<" not in parts[0]:
            entry = "".join(parts[2:]).strip()
        entry = entry.rstrip(";").strip()
        if not entry:
            continue
        groups = angle_groups(entry)
        if groups:
            for phrase, addr in groups:
                addr = addr.strip()
                if addr.startswith("@") and ":" in addr:
                    addr = addr.split(":", 1)[1]
                if ADDR_SPEC.match(addr):
                    res.append({"name": unquote_name(phrase.strip(" \t:;")), "address": addr})
            continue
        tokens = remove_comments(entry).split()
        if tokens and all(ADDR_SPEC.match(t) for t in tokens):
            res.extend({"name": "", "address": t} for t in tokens)
    return res


# Defects that do not make Python's reading of an address field doubtful.
BENIGN = (email.errors.ObsoleteHeaderDefect, email.errors.NonASCIILocalPartDefect)


def read_addresses(msg, field, name, r):
    result = []
    for raw in header_values(msg, name):
        use_fallback = False
        python = []
        try:
            h = parse_one(msg, name, raw, r, field)
            for d in h.defects:
                r.defect(name, d)
                if not isinstance(d, BENIGN):
                    use_fallback = True
            for a in h.addresses:
                if a.username and a.domain:
                    python.append({"name": r.clean(a.display_name, field),
                                   "address": r.clean(a.addr_spec, field)})
                else:
                    use_fallback = True
        except Exception as e:  # noqa: BLE001 - Python's parser may raise on junk
            r.note(name, "Python raised %s: %s" % (type(e).__name__, e))
            use_fallback = True
        if use_fallback:
            value = "".join(r.clean(str(raw), field).splitlines())
            fb = fallback_addresses(value)
            if fb and [a["address"] for a in fb] != [a["address"] for a in python]:
                r.note(name, "fallback reading %s replaces Python's %s" % (
                    json.dumps(fb, ensure_ascii=False), json.dumps(python, ensure_ascii=False)))
                python = fb
        raw_fffd = str(raw).count("\ufffd")
        if any(a["name"].count("\ufffd") + a["address"].count("\ufffd") > raw_fffd for a in python):
            r.unreliable.add(field)
        result.extend(python)
    return result


# --- body and parts ---------------------------------------------------------

def leaves(part, out):
    if part.get_content_maintype() == "message" and isinstance(part.get_payload(), list):
        out.append(part)
    elif part.is_multipart():
        for sub in part.get_payload():
            leaves(sub, out)
    else:
        out.append(part)
    return out


def filename_of(part, r, where):
    try:
        name = part.get_filename()
    except Exception as e:  # noqa: BLE001
        r.note(where, "get_filename raised %s: %s" % (type(e).__name__, e))
        name = None
    if name is None:
        return ""
    if not isinstance(name, str):
        name = str(name)
    return r.clean(name, "parts")


def disposition_of(part, r, where):
    try:
        d = part.get_content_disposition()
    except Exception as e:  # noqa: BLE001
        r.note(where, "get_content_disposition raised %s: %s" % (type(e).__name__, e))
        d = None
    return (d or "").lower()


def content_id_of(part, r):
    raws = header_values(part, "content-id")
    if not raws:
        return ""
    v = r.clean("".join(str(raws[0]).splitlines()), "parts").strip()
    m = re.search(r"<([^>]*)>", v)
    return (m.group(1) if m else v).strip()


def payload_bytes(part, r, where):
    try:
        b = part.get_payload(decode=True)
    except Exception as e:  # noqa: BLE001
        r.note(where, "get_payload raised %s: %s" % (type(e).__name__, e))
        b = None
    if b is None:
        b = b""
    if isinstance(b, str):
        b = b.encode("utf-8", "surrogateescape")
    return b


def body_text(part, field, r, where):
    raw = payload_bytes(part, r, where)
    try:
        text = part.get_content()
    except LookupError as e:
        r.note(where, "unknown charset (%s); bytes read as UTF-8" % e)
        r.unreliable.add(field)
        text = raw.decode("utf-8", "replace")
    except Exception as e:  # noqa: BLE001
        r.note(where, "get_content raised %s: %s; bytes read as UTF-8" % (type(e).__name__, e))
        r.unreliable.add(field)
        text = raw.decode("utf-8", "replace")
    if not isinstance(text, str):
        text = raw.decode("utf-8", "replace")
        r.unreliable.add(field)
    if text.count("\ufffd") > raw.count("\ufffd".encode("utf-8")):
        r.note(where, "bytes not valid in charset %r" % part.get_content_charset("us-ascii (default)"))
        r.unreliable.add(field)
    text = r.clean(text, field)
    text = text.replace("\r\n", "\n")
    if field == "text" and UUBEGIN.search(text):
        r.note(where, "uuencoded block left in the text")
        r.unreliable.add("text")
        r.unreliable.add("parts")
    return text


def read_body(msg, r):
    texts, htmls, parts = [], [], []
    for i, p in enumerate(leaves(msg, [])):
        where = "part %d" % i
        if p is not msg:
            for d in p.defects:
                r.defect(where, d)
        ctype = p.get_content_type()
        name = filename_of(p, r, where)
        disp = disposition_of(p, r, where)
        if ctype in ("text/plain", "text/html") and disp != "attachment" and not name:
            (texts if ctype == "text/plain" else htmls).append(
                body_text(p, "text" if ctype == "text/plain" else "html", r, where))
            continue
        if name and any("\\" in str(v) for k in ("content-disposition", "content-type")
                        for v in header_values(p, k)):
            r.note(where, "backslash in a parameter: Python reads it as a quoted-pair escape")
            r.unreliable.add("parts")
        entry = {"filename": name, "content_type": ctype, "disposition": disp,
                 "content_id": content_id_of(p, r), "size": None, "sha256": None}
        if not (p.get_content_maintype() == "message" and isinstance(p.get_payload(), list)):
            b = payload_bytes(p, r, where)
            entry["size"] = len(b)
            entry["sha256"] = hashlib.sha256(b).hexdigest()
        parts.append(entry)
    return "\n".join(texts), "\n".join(htmls), parts


# --- one message ------------------------------------------------------------

def read_message(data):
    r = Reading()
    msg = BytesParser(policy=POLICY).parsebytes(wire(data))
    for d in msg.defects:
        r.defect("message", d)
    out = {}

    try:
        h = parsed_header(msg, "subject", r, "subject")
        out["subject"] = None if h is None else r.clean(str(h), "subject")
        if h is not None:
            for d in h.defects:
                r.defect("subject", d)
            if out["subject"].count("\ufffd") > str(header_values(msg, "subject")[0]).count("\ufffd"):
                r.unreliable.add("subject")
    except Exception as e:  # noqa: BLE001
        r.note("subject", "Python raised %s: %s" % (type(e).__name__, e))
        r.unreliable.add("subject")
        raws = header_values(msg, "subject")
        out["subject"] = r.clean("".join(str(raws[0]).splitlines()).strip(), "subject")

    for field, name in ADDRESS_FIELDS:
        out[field] = read_addresses(msg, field, name, r)

    raws = header_values(msg, "message-id")
    if raws:
        v = r.clean("".join(str(raws[0]).splitlines()), "message_id").strip()
        m = re.search(r"<([^>]*)>", v)
        out["message_id"] = (m.group(1) if m else v).strip()
    else:
        out["message_id"] = None

    out["date"] = None
    try:
        h = parsed_header(msg, "date", r, "date")
        if h is not None:
            for d in h.defects:
                r.defect("date", d)
            dt = h.datetime
            if dt is not None:
                if dt.tzinfo is None:
                    r.note("date", "no zone (-0000); given as +00:00")
                    dt = dt.replace(tzinfo=datetime.timezone.utc)
                out["date"] = dt.isoformat()
    except Exception as e:  # noqa: BLE001
        r.note("date", "Python raised %s: %s" % (type(e).__name__, e))

    out["text"], out["html"], out["parts"] = read_body(msg, r)
    doubtful_structure(msg, out, r)
    out = {k: scrub(v, r, k) for k, v in out.items()}
    out["defects"] = scrub(r.defects, Reading(), "defects")
    out["unreliable"] = sorted(r.unreliable)
    return out


FIELD_OF = {"subject": "subject", "from": "from", "to": "to", "cc": "cc", "reply-to": "reply_to",
            "message-id": "message_id", "date": "date"}
ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
UNSPLIT = (email.errors.StartBoundaryNotFoundDefect, email.errors.NoBoundaryInMultipartDefect,
           email.errors.MultipartInvariantViolationDefect)


def all_defects(part, out):
    out.extend(part.defects)
    payload = part.get_payload()
    if isinstance(payload, list):
        for sub in payload:
            all_defects(sub, out)
    return out


def doubtful_structure(msg, out, r):
    """Mark the fields where Python's reading of a broken structure is doubtful."""
    if any(isinstance(d, email.errors.MissingHeaderBodySeparatorDefect) for d in msg.defects):
        r.note("message", "a header line is not a field: Python ends the header there")
        if not msg.is_multipart():
            r.unreliable.update(("text", "html", "parts"))
        rest = msg.preamble if msg.is_multipart() else msg.get_payload()
        for line in (rest or "").split("\n"):
            line = line.rstrip("\r")
            if not line.strip():
                break
            m = re.match("^(?:\ufeff|[\udc80-\udcff]+)?([!-9;-~]+)[ \t]*:", line)
            if not m:
                continue
            name = m.group(1).lower()
            if name in FIELD_OF:
                r.note(name, "field after the header's end, read as body")
                r.unreliable.add(FIELD_OF[name])
            elif name.startswith("content-") or name == "mime-version":
                r.unreliable.update(("text", "html", "parts"))
    unixfrom = msg.get_unixfrom() or ""
    misplaced = [str(d) for d in msg.defects if isinstance(d, email.errors.MisplacedEnvelopeHeaderDefect)]
    if any(re.match(r"From\s*:", line) for line in [unixfrom] + misplaced):
        r.note("from", "a From field with a space before the colon was read as an mbox From line")
        r.unreliable.add("from")
    if any(isinstance(d, UNSPLIT) for d in all_defects(msg, [])):
        r.note("message", "Python could not split a multipart")
        r.unreliable.update(("text", "html", "parts"))
    if out.get("subject") and ENCODED_WORD.search(out["subject"]):
        r.note("subject", "an encoded word is left undecoded")
        r.unreliable.add("subject")
    for field, _ in ADDRESS_FIELDS:
        if any(ENCODED_WORD.search(a["name"]) for a in out.get(field, [])):
            r.note(field, "an encoded word is left undecoded")
            r.unreliable.add(field)


def scrub(v, r, field):
    """v with every string free of surrogate escapes (see Reading.clean)."""
    if isinstance(v, str):
        return r.clean(v, field)
    if isinstance(v, list):
        return [scrub(x, r, field) for x in v]
    if isinstance(v, dict):
        return {k: scrub(x, r, field) for k, x in v.items()}
    return v


def read_file(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
        return read_message(data)
    except RecursionError:
        return {"error": "RecursionError: structure too deep for Python's parser"}
    except Exception as e:  # noqa: BLE001 - the oracle never crashes on a message
        return {"error": scrub("%s: %s" % (type(e).__name__, e), Reading(), "error")}


def corpus_files():
    res = []
    for root, dirs, files in os.walk(HERE):
        dirs.sort()
        for fn in files:
            if fn.endswith(".eml"):
                res.append(os.path.join(root, fn))
    return res


def rel(path):
    p = os.path.relpath(os.path.abspath(path), HERE)
    return p.replace(os.sep, "/")


def dump_map(paths):
    m = {rel(p): read_file(p) for p in paths}
    return json.dumps(m, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def main(argv):
    if argv[:1] == ["--check"]:
        want = dump_map(corpus_files())
        with open(MAP_FILE, encoding="utf-8") as f:
            have = f.read()
        if have != want:
            print("oracle.json differs from what oracle.py reads now", file=sys.stderr)
            return 1
        print("oracle.json is up to date")
        return 0
    if argv[:1] == ["--map"]:
        paths = argv[1:] or corpus_files()
        sys.stdout.write(dump_map(paths))
        return 0
    if not argv:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    for p in argv:
        print(json.dumps(read_file(p), sort_keys=True, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
