#!/usr/bin/python3
# nexthop.py - a hostile SMTP next hop for segtls tests (127.0.0.1 only).
#
#   nexthop.py PORT REPLY-FILE
# Serves one connection at a time, forever: banner, EHLO without
# STARTTLS, MAIL accepted, every RCPT answered with the bytes of
# REPLY-FILE (sent as they are, then CRLF), QUIT. Writes its pid to
# stdout when it listens.
import socket, sys

port, reply = int(sys.argv[1]), open(sys.argv[2], "rb").read()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(5)
print("listening", flush=True)
def serve(c):
    """one session; a client that goes away (a port probe) ends it"""
    f = c.makefile("rb")
    c.sendall(b"220 nexthop.test ESMTP\r\n")
    for line in f:
        cmd = line.strip().upper()
        if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
            c.sendall(b"250-nexthop.test\r\n250 8BITMIME\r\n")
        elif cmd.startswith(b"MAIL"):
            c.sendall(b"250 2.1.0 Ok\r\n")
        elif cmd.startswith(b"RCPT"):
            c.sendall(reply + b"\r\n")
        elif cmd.startswith(b"QUIT"):
            c.sendall(b"221 2.0.0 Bye\r\n")
            break
        else:
            c.sendall(b"503 5.5.1 no\r\n")


while True:
    c, _ = srv.accept()
    try:
        serve(c)
    except OSError:
        pass
    c.close()
