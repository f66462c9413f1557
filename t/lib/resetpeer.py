#!/usr/bin/env python3
# resetpeer.py - an SMTP server on 127.0.0.1 that resets its peers.
#
# Usage: resetpeer.py PORT CERT-CHAIN-PEM
#
# Greets, answers EHLO with STARTTLS, accepts STARTTLS and shakes hands
# (TLS 1.2 and 1.3 only). As soon as its side of the handshake is done it
# resets the connection (SO_LINGER 0: a TCP RST), before the client has
# finished with the session: the client's next writes (QUIT,
# close_notify) meet a reset connection, which kills a program that does
# not ignore SIGPIPE. Prints "ready" once it listens. A test helper
# (t/apply-restore.t, t/tlsverify.t); the test stops it by its pid.
import socket
import ssl
import struct
import sys
import threading

port, chain = int(sys.argv[1]), sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(chain)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)


def reset(s):
    """close with a TCP RST instead of a FIN"""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def serve(conn):
    try:
        conn.settimeout(10)
        f = conn.makefile("rb")
        conn.sendall(b"220 resetpeer ESMTP\r\n")
        f.readline()
        conn.sendall(b"250-resetpeer\r\n250 STARTTLS\r\n")
        f.readline()
        conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
        reset(ctx.wrap_socket(conn, server_side=True))
    except (OSError, ssl.SSLError):
        try:
            reset(conn)
        except OSError:
            pass


print("ready", flush=True)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
