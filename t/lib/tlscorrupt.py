#!/usr/bin/python3
# tlscorrupt.py - a TCP relay on 127.0.0.1 that corrupts a TLS handshake.
#
#   tlscorrupt.py LISTEN-PORT TARGET-PORT
# Relays one connection at a time, forever, to 127.0.0.1:TARGET-PORT.
# Bytes pass unchanged (an SMTP dialogue before STARTTLS too) until the
# client speaks TLS; then its records are read one by one and the first
# record after its ChangeCipherSpec (the encrypted Finished of TLS 1.2)
# gets one byte flipped. The server's handshake then fails with a bad
# record MAC, a failure for which OpenSSL 3 queues two errors (the
# cipher provider's, then the SSL library's). Prints "listening" once
# it listens.
import select, socket, sys

lport, tport = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", lport))
srv.listen(5)
print("listening", flush=True)


def relay(c, s):
    buf, tls, ccs, done = b"", False, False, False
    while True:
        r, _, _ = select.select([c, s], [], [], 30)
        if not r:
            return
        if s in r:
            d = s.recv(65536)
            if not d:
                return
            c.sendall(d)
        if c in r:
            d = c.recv(65536)
            if not d:
                return
            if done:
                s.sendall(d)
                continue
            buf += d
            if not tls:
                if buf[:1] == b"\x16":
                    tls = True
                else:                       # plaintext (SMTP): pass whole lines
                    cut = buf.rfind(b"\n") + 1
                    s.sendall(buf[:cut])
                    buf = buf[cut:]
                    continue
            out = b""
            while len(buf) >= 5:
                n = 5 + int.from_bytes(buf[3:5], "big")
                if len(buf) < n:
                    break
                rec, buf = bytearray(buf[:n]), buf[n:]
                if ccs and rec[0] == 0x16 and not done:
                    rec[-1] ^= 0x55
                    done = True
                if rec[0] == 0x14:
                    ccs = True
                out += bytes(rec)
            if done:
                out += buf
                buf = b""
            s.sendall(out)


while True:
    c, _ = srv.accept()
    try:
        s = socket.create_connection(("127.0.0.1", tport))
        relay(c, s)
    except OSError:
        pass
    finally:
        for x in (c, s):
            try:
                x.close()
            except Exception:
                pass
