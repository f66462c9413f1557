#!/usr/bin/env bash
# standalone-smtp.t - segtls-standalone's SMTP line handling (issue 13,
# items 1 and 2): SMTP smuggling is refused (only <CR><LF>.<CR><LF> ends
# DATA; a bare LF or CR refuses the message with 550 and ends the
# session, and nothing after it is read as a command); the relay client
# sends only CRLF lines whatever the queue file holds; and it reads a
# next hop's bare-LF replies ("250\n") within its buffer (run under
# `make check-asan` or SEGTLS_VALGRIND=1 to see an over-read). The next
# hop is a small Python server that answers with bare LFs and keeps the
# exact bytes of each message it receives. Everything on 127.0.0.1.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/certs.sh"

SA=$(bin segtls-standalone)
[ -x "$SA" ] || skip_all "segtls-standalone not built"
command -v python3 >/dev/null || skip_all "python3 not installed"
certs_make "$T/certs" || skip_all "cannot create test certificates"

DATE='[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}'

# The next hop: every reply ends in a bare LF, EHLO is answered "250\n"
# (three bytes and the LF: the reply the client once read past). Each
# message is kept byte for byte in DIR/msg.N (DATA up to and with the
# final ".\r\n", which only "\r\n.\r\n" ends), its commands in DIR/cmd.N.
cat >"$T/hop.py" <<'EOF'
import socket, sys
port, out = int(sys.argv[1]), sys.argv[2]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(16)
n = 0
while True:
    c, _ = s.accept(); c.settimeout(20)
    buf = b""
    def more():
        global buf
        d = c.recv(65536)
        if not d: raise EOFError
        buf += d
    def line():
        global buf
        while b"\n" not in buf: more()
        l, buf = buf.split(b"\n", 1)
        return l + b"\n"
    cmds = b""
    try:
        c.sendall(b"220 hop.test.local ESMTP\n")
        while True:
            l = line(); cmds += l
            v = l[:4].upper()
            if v == b"EHLO": c.sendall(b"250\n")
            elif v == b"DATA":
                c.sendall(b"354 go ahead\n")
                while not (buf.startswith(b".\r\n") or b"\r\n.\r\n" in buf): more()
                i = 3 if buf.startswith(b".\r\n") else buf.index(b"\r\n.\r\n") + 5
                n += 1
                open("%s/msg.%d" % (out, n), "wb").write(buf[:i])
                buf = buf[i:]
                c.sendall(b"250 2.0.0 queued as %d\n" % n)
            elif v == b"QUIT":
                c.sendall(b"221 bye\n"); break
            else: c.sendall(b"250 2.1.0 ok\n")
    except (EOFError, OSError):
        pass
    open("%s/cmd.%d" % (out, n), "ab").write(cmds)
    c.close()
EOF

# smtp PORT BODY - a session up to DATA, then BODY (a Python bytes
# literal) in one write; prints every reply line after 354 ("|" joined),
# then "closed" if the server closed the connection
cat >"$T/smtp.py" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(5)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if l[3:4] != b"-": return l.decode().strip()
reply()
for c in [b"EHLO client.test.local", b"MAIL FROM:<alice@example.com>", b"RCPT TO:<bob@example.net>", b"DATA"]:
    s.sendall(c + b"\r\n"); r = reply()
got = []
s.sendall(eval(sys.argv[2]))
time.sleep(0.5)
try:
    s.sendall(b"QUIT\r\n")
except OSError:
    pass
try:
    while True:
        l = f.readline()
        if not l: got.append("closed"); break
        got.append(l.decode().strip())
except OSError as e:
    got.append("error %s" % e)
print("|".join(got))
EOF

HOP=$(free_port); A_SMTP=$(free_port)
while [ "$A_SMTP" = "$HOP" ]; do A_SMTP=$(free_port); done
mkdir -p "$T/hop" "$T/a"
python3 "$T/hop.py" "$HOP" "$T/hop" 2>"$T/hop.err" &
at_exit "kill $!"
printf '[inbound]\nmethods=1.2-1.3\n[outbound]\ntls=no\n' >"$T/a.conf"
"$SA" --config "$T/a.conf" --cert "$CERTS/rsa.pem" --smtp-listen "127.0.0.1:$A_SMTP" \
    --relay "127.0.0.1:$HOP" --hostname mx.test.local --timeout 10 \
    --spool "$T/a/spool" --state-dir "$T/a/state" --mail-log "$T/a/mail_logs" \
    --gui-log "$T/a/gui_logs" >"$T/a/stderr" 2>&1 &
PID_A=$!
at_exit "kill $PID_A"
# The standalone's "ready:" line, not a probe (whose session would be
# recorded).
for ((i = 0; i < 100; i++)); do grep -q 'ready: ' "$T/a/stderr" && break; sleep 0.1; done
wait_port "$HOP" && grep -q 'ready: ' "$T/a/stderr"
ok $? "next hop and standalone listen"

lines() { wc -l <"$1"; }
since() { tail -n "+$(($2 + 1))" "$1" | sed -E "s/^$DATE Info: //"; }
# wait_log FILE MARK ERE - until a line after MARK matches (10 s)
wait_log() {
    local i
    for ((i = 0; i < 100; i++)); do
        since "$1" "$2" | grep -Eq -- "$3" && return 0
        sleep 0.1
    done
    return 1
}

# ------------------------------------------------ SMTP smuggling (item 1)
SMUGGLE='MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\n'
# case: name | the end a smuggler uses | the refusal
cases=(
    "<LF>.<LF>|\\n.\\n|550 5.5.2 mx.test.local Error: bare <LF> received"
    "<LF>.<CR><LF>|\\n.\\r\\n|550 5.5.2 mx.test.local Error: bare <LF> received"
    "<CR>.<CR><LF>|\\r.\\r\\n|550 5.5.2 mx.test.local Error: bare <CR> received"
    "<CR><LF>.<LF>|\\r\\n.\\n|550 5.5.2 mx.test.local Error: bare <LF> received"
)
for c in "${cases[@]}"; do
    IFS='|' read -r name end refusal <<<"$c"
    m=$(lines "$T/a/mail_logs")
    got=$(python3 "$T/smtp.py" "$A_SMTP" "b'Subject: one\\r\\n\\r\\nbody$end$SMUGGLE'")
    is "$got" "$refusal|closed" "$name then a smuggled MAIL FROM: 550 at the real end of DATA, then the session ends"
    wait_log "$T/a/mail_logs" "$m" ' close$'
    is "$(since "$T/a/mail_logs" "$m" | sed -E 's/(ICID|MID) [0-9]+/\1 n/g')" \
"New SMTP ICID n interface lo (127.0.0.1) address 127.0.0.1 reverse dns host unknown verified no
Start MID n ICID n
MID n ICID n From: <alice@example.com>
MID n ICID n RID 0 To: <bob@example.net>
Message finished MID n aborted
ICID n close" "$name: the records: one transaction, aborted; nothing smuggled"
done
is "$(ls "$T/a/spool/queue" | wc -l)" 0 "nothing was spooled"
# A client that never sends the real end: the text after a bare LF is
# still message text, never a command.
m=$(lines "$T/a/mail_logs")
got=$(python3 "$T/smtp.py" "$A_SMTP" "b'body\\n.\\nRSET\\r\\nNOOP\\r\\n'")
is "$got" "error timed out" "after <LF>.<LF>, RSET and NOOP get no answer: they are message text"
wait_log "$T/a/mail_logs" "$m" ' close$'
is "$(since "$T/a/mail_logs" "$m" | sed -E 's/(ICID|MID) [0-9]+/\1 n/g')" \
"New SMTP ICID n interface lo (127.0.0.1) address 127.0.0.1 reverse dns host unknown verified no
Start MID n ICID n
MID n ICID n From: <alice@example.com>
MID n ICID n RID 0 To: <bob@example.net>
Message finished MID n aborted
ICID n close" "the records: the message was never finished, only aborted when the client left"

# A proper message with a dot-stuffed line is accepted and relayed as is.
m=$(lines "$T/a/mail_logs")
got=$(python3 "$T/smtp.py" "$A_SMTP" "b'Subject: ok\\r\\n\\r\\nfirst\\r\\n..dot\\r\\nlast\\r\\n.\\r\\n'")
like "$got" '^250 2\.0\.0 Ok: queued as [0-9]+\|221 2\.0\.0 Bye\|closed$' "CRLF . CRLF ends the message: queued"
wait_log "$T/a/mail_logs" "$m" '^DCID [0-9]+ close$'
ok $? "the message was relayed"
like "$(since "$T/a/mail_logs" "$m" | grep -E '^(Message done|Bounced)')" '^Message done DCID [0-9]+ MID [0-9]+ to RID \[0\]$' \
    "Message done (the next hop's bare-LF replies, EHLO \"250\\n\", were read)"
is "$(od -An -c "$T/hop/msg.1" | tr -s ' \n' ' ')" \
    "$(printf 'Subject: ok\r\n\r\nfirst\r\n..dot\r\nlast\r\n.\r\n' | od -An -c | tr -s ' \n' ' ')" \
    "the next hop got the text byte for byte"
is "$(ls "$T/hop" | grep -c '^msg\.')" 1 "the next hop got one message: no smuggled one"

# ------------------------------------- the relay client's lines (item 1)
# A queue file with bare LFs, a bare CR, "." lines and no final line end
# (an older spool, or one written by hand) goes out as CRLF lines only.
mkdir -p "$T/a/spool/queue"
printf 'segtls-spool 1\nmid 900001\nicid 900001\nfrom alice@example.com\nrcpt carol@example.net\n\n%s' \
    $'Subject: raw\n\nline1\nline2\r.\r\nline3\r\n.\nlast' >"$T/a/spool/tmp.900001"
mv "$T/a/spool/tmp.900001" "$T/a/spool/queue/900001"
m=$(lines "$T/a/mail_logs")
wait_log "$T/a/mail_logs" "$m" '^Message done DCID [0-9]+ MID 900001 ' 
ok $? "the raw queue file was delivered (within the 5 s rescan)"
is "$(od -An -c "$T/hop/msg.2" | tr -s ' \n' ' ')" \
    "$(printf 'Subject: raw\r\n\r\nline1\r\nline2\r\n..\r\nline3\r\n..\r\nlast\r\n.\r\n' | od -An -c | tr -s ' \n' ' ')" \
    "bare LF and CR became CRLF, \".\" lines \"..\", the text ends with CRLF"
ok $(python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(any(d[i] == 10 and (i == 0 or d[i-1] != 13) for i in range(len(d))))' "$T/hop/msg.2"; echo $?) \
    "no bare LF reached the next hop"
wait_log "$T/a/mail_logs" "$m" '^DCID [0-9]+ close$' && wait_file "$T/hop/cmd.2" && sleep 0.2
ok $(grep -vq $'\r$' "$T/hop/cmd.2"; [ $? = 1 ]; echo $?) "every command to the next hop ends in CRLF"

kill -0 "$PID_A"; ok $? "the standalone survived"
# Under SEGTLS_VALGRIND=1 a memory error (such as reading past a "250\n"
# reply line) makes this exit 97.
kill "$PID_A"; wait "$PID_A"; is "$?" 0 "SIGTERM: exit 0 (no memory error under valgrind)"
done_testing
