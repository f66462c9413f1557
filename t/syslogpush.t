#!/bin/bash
# syslogpush.t - records pushed by syslog (--syslog) to a real receiver:
# Debian's rsyslog in a private configuration on loopback, over UDP, TCP
# and TLS (RFC 5425 framing, verified peer). The writer is segtls-milter
# --no-milter following a captured Postfix log (t/data/pflog), so the
# records are known; every one must arrive once, in order, with the tag
# mail_logs, also across a receiver restart; beyond the queue bound the
# drops are counted and reported; a receiver that never reads does not
# slow the records file.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/certs.sh"
MILTER=$(bin segtls-milter)
[ -x "$MILTER" ] || skip_all "segtls-milter not built"
RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$RSYSLOGD" ] || skip_all "rsyslog not installed (make deps)"
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] || [ -n "$(find /usr/lib -name lmnsd_gtls.so 2>/dev/null)" ] ||
    skip_all "rsyslog-gnutls not installed (make deps)"
export TZ=UTC
PFLOG=$SEGTLS_TOP/t/data/pflog/mta-maillog.log
plan 25

certs_make "$T/certs"
# the receiver's certificate: the test CA, names 127.0.0.1 and localhost
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/rs.key" -out "$T/rs.csr" \
    -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$T/rs.ext"
openssl x509 -req -in "$T/rs.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" -set_serial 7 \
    -days 2 -sha256 -extfile "$T/rs.ext" -out "$T/rs.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.key" -out "$T/other-ca.crt" \
    -subj "/CN=Other CA" -days 2 2>/dev/null

UDP=$(free_port); TCP=$(free_port); TLS=$(free_port)
while [ "$TLS" = "$TCP" ]; do TLS=$(free_port); done
mkdir -p "$T/rs"
cat >"$T/rs/rsyslog.conf" <<CONF
global(workDirectory="$T/rs"
       DefaultNetstreamDriverCAFile="$CERTS/ca.crt"
       DefaultNetstreamDriverCertFile="$T/rs.crt"
       DefaultNetstreamDriverKeyFile="$T/rs.key")
module(load="imudp")
module(load="imtcp" MaxSessions="50")
template(name="rec" type="string" string="%pri%|%programname%|%msg%\n")
ruleset(name="udp") { action(type="omfile" file="$T/rs/udp.out" template="rec") }
ruleset(name="tcp") { action(type="omfile" file="$T/rs/tcp.out" template="rec") }
ruleset(name="tls") { action(type="omfile" file="$T/rs/tls.out" template="rec") }
input(type="imudp" address="127.0.0.1" port="$UDP" ruleset="udp")
input(type="imtcp" address="127.0.0.1" port="$TCP" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="$TLS" ruleset="tls"
      StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
CONF
"$RSYSLOGD" -N1 -f "$T/rs/rsyslog.conf" >"$T/rs/check" 2>&1
ok $? "rsyslog accepts the private configuration"

RS_PID=
rs_start() {
    "$RSYSLOGD" -n -f "$T/rs/rsyslog.conf" -i "$T/rs/pid" >>"$T/rs/log" 2>&1 &
    RS_PID=$!
    wait_port "$TCP" && wait_port "$TLS"
}
rs_stop() { [ -n "$RS_PID" ] && kill "$RS_PID" 2>/dev/null && wait "$RS_PID" 2>/dev/null; RS_PID=; }
at_exit 'rs_stop'
rs_start; ok $? "rsyslog listens on 127.0.0.1 (TCP $TCP, TLS $TLS, UDP $UDP)"

# milter NAME ARGS... - a log-only milter following $T/NAME.log, records in $T/NAME.rec
MPIDS=()
milter() {
    local name=$1; shift
    : >"$T/$name.log"
    "$MILTER" -f --no-milter -l "$T/$name.log" -o "$T/$name.rec" -d "$T/$name.state" "$@" \
        2>"$T/$name.err" &
    MPIDS+=($!)
    at_exit "kill $! 2>/dev/null"
    eval "${name}_pid=$!"
    wait_file "$T/$name.rec"
    sleep 0.3                            # the follower is at the end of the (empty) log
}
# want NAME - the records of $T/NAME.rec as the receiver writes them
want() { tail -n +4 "$T/$1.rec" | cut -c26- | sed 's/^/22|mail_logs| /'; }
# wait_lines FILE N - until FILE has N lines (10 s)
wait_lines() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# --- TCP, across a receiver restart ---------------------------------------
milter tcp --syslog "tcp:127.0.0.1:$TCP"
head -40 "$PFLOG" >>"$T/tcp.log"
wait_lines "$T/rs/tcp.out" 30
sleep 0.5
n1=$(($(wc -l <"$T/tcp.rec") - 3))
ok $([ "$n1" -ge 30 ]; echo $?) "tcp: the first records are written ($n1)"
want tcp >"$T/want"
diff_ref "$T/want" "$T/rs/tcp.out" "tcp: every record arrived once, in order, tag mail_logs, facility mail"
rs_stop
tail -n +41 "$PFLOG" >>"$T/tcp.log"
sleep 1.5
n2=$(($(wc -l <"$T/tcp.rec") - 3))
is "$n2" "69" "tcp: with the receiver down, the records file is written on"
is "$(wc -l <"$T/rs/tcp.out")" "$n1" "tcp: nothing arrives while the receiver is down"
rs_start
wait_lines "$T/rs/tcp.out" 69
sleep 0.5
want tcp >"$T/want"
diff_ref "$T/want" "$T/rs/tcp.out" "tcp: after the restart the queued records arrived, none twice, in order"
like "$(cat "$T/tcp.err")" "syslog push to tcp:127.0.0.1:$TCP: .*records are queued" "tcp: the outage is logged once"

# --- TLS, verified; a wrong CA gets nothing --------------------------------
milter tls --syslog "tls:127.0.0.1:$TLS" --syslog-ca "$CERTS/ca.crt"
cat "$PFLOG" >>"$T/tls.log"
wait_lines "$T/rs/tls.out" 69
sleep 0.5
want tls >"$T/want"
diff_ref "$T/want" "$T/rs/tls.out" "tls: every record arrived once, in order (RFC 5425 frames)"
milter badca --syslog "tls:127.0.0.1:$TLS" --syslog-ca "$T/other-ca.crt"
cat "$PFLOG" >>"$T/badca.log"
sleep 2
is "$(wc -l <"$T/rs/tls.out")" "69" "tls: a server the CA file does not vouch for gets no record"
like "$(cat "$T/badca.err")" "syslog push to tls:127.0.0.1:$TLS: .*(certificate|Unacceptable)" "tls: the refused certificate is logged"

# --- UDP ---------------------------------------------------------------------
milter udp --syslog "udp:127.0.0.1:$UDP" --syslog-facility local3
cat "$PFLOG" >>"$T/udp.log"
wait_lines "$T/rs/udp.out" 69
sleep 0.3
want udp | sed 's/^22|/158|/' >"$T/want"
diff_ref "$T/want" "$T/rs/udp.out" "udp: every record arrived (facility local3)"

# --- the queue bound: drops counted and reported ----------------------------
DOWN=$(free_port)
milter bound --syslog "tcp:127.0.0.1:$DOWN" --syslog-queue 5
cat "$PFLOG" >>"$T/bound.log"
sleep 1
is "$(($(wc -l <"$T/bound.rec") - 3))" "69" "bound: the records file has every record"
like "$(cat "$T/bound.err")" "syslog push to tcp:127.0.0.1:$DOWN: queue full \(5 records\), dropping records" \
    "bound: the first drop is reported"
python3 - "$DOWN" "$T/bound.out" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.settimeout(3); data = b""
try:
    while True:
        b = c.recv(65536)
        if not b: break
        data += b
except socket.timeout:
    pass
open(sys.argv[2], "wb").write(data)
PY
catcher=$!
wait $catcher
python3 -c 'import re,sys
d = open(sys.argv[1], "rb").read().decode()
msgs = []
while d:
    n, rest = d.split(" ", 1); msgs.append(rest[:int(n)]); d = rest[int(n):]
print(len(msgs)); print(msgs[0])' "$T/bound.out" >"$T/bound.got"
first=$(sed -n 4p "$T/bound.rec" | cut -c26-)
is "$(head -1 "$T/bound.got")" "5" "bound: the 5 queued records arrive when a server comes"
is "$(sed -n 2p "$T/bound.got")" "<22>Nov 27 23:20:06 mail_logs: $first" "bound: the gateway's message shape, octet-counted"
kill -TERM "$bound_pid"; wait "$bound_pid"
like "$(cat "$T/bound.err")" "syslog push: 64 records dropped" "bound: the drops are reported at exit"

# --- a receiver that never reads: the records file does not wait -----------
HOLE=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # full after a few records
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5); c = s.accept(); time.sleep(30)' "$HOLE" &
hole=$!
at_exit "kill $hole"
milter hole --syslog "tcp:127.0.0.1:$HOLE" --syslog-queue 100
for i in $(seq 40); do cat "$PFLOG"; done >"$T/hole.in"
n=$("$(bin segtls-logparse)" --year 2026 "$T/hole.in" | wc -l)
cat "$T/hole.in" >>"$T/hole.log"
t0=$(date +%s%N)
wait_lines "$T/hole.rec" $((3 + n))
ms=$((($(date +%s%N) - t0) / 1000000))
is "$(($(wc -l <"$T/hole.rec") - 3))" "$n" "black hole: all $n records written to the file"
ok $([ "$ms" -lt 5000 ]; echo $?) "black hole: without waiting for the server (${ms} ms)"

# --- segtls-standalone: mail_logs and gui_logs, by TLS, no files ------------
SA=$(bin segtls-standalone)
S_SMTP=$(free_port); S_HTTPS=$(free_port)
printf '[inbound]\nmethods=1.2-1.3\n[gui]\nmethods=1.2-1.3\n' >"$T/sa.conf"
"$SA" --config "$T/sa.conf" --cert "$CERTS/rsa.pem" --spool "$T/sa/spool" --state-dir "$T/sa/state" \
    --smtp-listen "127.0.0.1:$S_SMTP" --https-listen "127.0.0.1:$S_HTTPS" --no-log-files \
    --syslog "tls:localhost:$TLS" --syslog-ca "$CERTS/ca.crt" >"$T/sa.err" 2>&1 &
sa_pid=$!
at_exit "kill $sa_pid"
wait_port "$S_HTTPS" && wait_port "$S_SMTP"
before=$(wc -l <"$T/rs/tls.out")
curl -sk -o /dev/null "https://127.0.0.1:$S_HTTPS/"
swaks -s 127.0.0.1 -p "$S_SMTP" --tls -f a@example.org -t b@example.net --h-Subject x >/dev/null 2>&1
wait_lines "$T/rs/tls.out" $((before + 8))
sleep 0.5
tail -n +$((before + 1)) "$T/rs/tls.out" | sed -E 's/ICID [0-9]+/ICID n/; s/MID [0-9]+/MID m/; s/port [0-9]+/port p/; s/address [0-9.]+ port/address a port/' >"$T/sa.got"
is "$(grep -c -x '22|gui_logs| Info: GUI HTTPS TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384 address a port p' "$T/sa.got")" 1 \
    "standalone: the gui_logs record arrives with the tag gui_logs"
is "$(grep -c -x '20|gui_logs| Warning: SSL error with client 127.0.0.1:p - .*' <(sed -E 's/client 127.0.0.1:[0-9]+/client 127.0.0.1:p/' "$T/sa.got"))" 1 \
    "standalone: a gui_logs Warning arrives with priority mail.warning"
is "$(grep -c -x '22|mail_logs| Info: ICID n TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384' "$T/sa.got")" 1 \
    "standalone: mail_logs records arrive with the tag mail_logs"
ok $([ ! -e /var/log/segtls/mail_logs.x ] && ! ls "$T/sa" | grep -q _logs; echo $?) "standalone --no-log-files: no record file written"

# --- usage errors -------------------------------------------------------------
"$MILTER" -f --no-milter -l "$T/x.log" -o "$T/x.rec" -d "$T/x.state" --syslog "smtp:127.0.0.1:1" 2>"$T/err"
is "$?:$(cat "$T/err")" '2:segtls-milter: error: syslog destination "smtp:127.0.0.1:1": want udp:HOST:PORT, tcp:HOST:PORT or tls:HOST:PORT' \
    "a bad destination: exit 2, one line"
"$MILTER" -f --no-milter -l "$T/x.log" -o "$T/x.rec" -d "$T/x.state" --syslog $'udp:a\r\nb:514' 2>"$T/err"
is "$?:$(cat "$T/err")" '2:segtls-milter: error: syslog destination "udp:a\r\nb:514": bad host name' \
    "a destination with CR LF: shown escaped, one line"
