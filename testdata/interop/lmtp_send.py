#!/usr/bin/env python3
"""Send one message over LMTP with Python's smtplib and report every reply.

Usage: lmtp_send.py HOST PORT FROM SUBJECT RCPT [RCPT...]

The message goes to all RCPT addresses in one transaction. The script prints
one JSON object on stdout:

  {"lhlo": [code, text], "mail": [code, text],
   "rcpt": [{"rcpt": addr, "code": n, "text": "..."}, ...],
   "data": [{"rcpt": addr, "code": n, "text": "..."}, ...],
   "message_id": "<...>", "size": bytes of the message as sent}

"data" has one entry per accepted RCPT command, in RCPT order, as RFC 2033
requires: smtplib's LMTP.data() returns the first of those replies and
getreply() reads the others.
"""

import json
import smtplib
import sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


def reply(code, text):
    return [code, text.decode("utf-8", "replace") if isinstance(text, bytes) else text]


def main():
    host, port, sender, subject = sys.argv[1:5]
    rcpts = sys.argv[5:]

    msg = EmailMessage()
    msg["From"] = "Interop Sender <%s>" % sender
    msg["To"] = ", ".join(rcpts)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring="smtplib", domain="interop.example.test")
    msg.set_content(
        "Hello from smtplib.\n"
        ".A line that starts with a dot must survive dot-stuffing.\n"
        "Non-ASCII text: caf\u00e9, \u00fcber, \u65e5\u672c.\n"
    )
    data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))

    out = {"rcpt": [], "data": [], "message_id": msg["Message-ID"], "size": len(data)}
    conn = smtplib.LMTP(host, int(port), local_hostname="smtplib.example.test", timeout=30)
    try:
        out["lhlo"] = reply(*conn.ehlo())
        out["mail"] = reply(*conn.mail(sender))
        accepted = []
        for r in rcpts:
            code, text = conn.rcpt(r)
            out["rcpt"].append({"rcpt": r, "code": code, "text": reply(code, text)[1]})
            if 200 <= code < 300:
                accepted.append(r)
        if accepted:
            code, text = conn.data(data)
            out["data"].append({"rcpt": accepted[0], "code": code, "text": reply(code, text)[1]})
            for r in accepted[1:]:
                code, text = conn.getreply()
                out["data"].append({"rcpt": r, "code": code, "text": reply(code, text)[1]})
        conn.quit()
    finally:
        conn.close()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
