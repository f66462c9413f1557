#!/usr/bin/python3
# smtp-raw.py - one SMTP transaction with commands sent as given (quotes,
# spaces and all), for tests that need what swaks would rewrite.
#
#   smtp-raw.py PORT HELO-NAME MAIL-FROM RCPT...   (FROM and RCPT with <>)
# Connects to 127.0.0.1:PORT, sends EHLO, MAIL FROM, each RCPT TO, DATA
# with a short message when a recipient was accepted, QUIT. The server's
# replies go to stderr; exit 0 when the message was queued, 1 if not.
import socket, sys

port, helo, frm, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
f = s.makefile("rb")


def reply():
    out = []
    while True:
        line = f.readline()
        out.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            break
    sys.stderr.write(b"".join(out).decode(errors="replace"))
    return out[-1]


def cmd(c):
    s.sendall(c.encode("utf-8", "surrogateescape") + b"\r\n")
    return reply()


reply()
cmd("EHLO " + helo)
cmd("MAIL FROM:" + frm)
for r in rcpts:
    cmd("RCPT TO:" + r)
queued = False
if cmd("DATA").startswith(b"354"):
    s.sendall(b"Subject: segtls test\r\n\r\nhello\r\n.\r\n")
    queued = reply().startswith(b"250")
cmd("QUIT")
sys.exit(0 if queued else 1)
