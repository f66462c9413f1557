#!/usr/bin/env bash
# standalone-load.t - segtls-standalone under concurrent TLS clients
# (issue 21): no handshake is dropped at 20, 50, 200 and 1000 clients in
# flight, on GUI HTTPS (direct TLS) and Inbound SMTP (STARTTLS), and every
# connection the server refuses or cuts (limit reached, failed handshake,
# timeout) leaves exactly one record, in the gateway's shapes. The load
# tool (segtls-tlsload) counts a server that closes early as a failure.
# Everything on 127.0.0.1. Timing-bound (a thousand handshakes within the
# client's timeout): CI runs it plain and under ASan, not under valgrind.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/certs.sh"

SA=$(bin segtls-standalone)
LOAD=${SEGTLS_BUILD:-$SEGTLS_TOP/build}/t/bench/segtls-tlsload
[ -x "$SA" ] || skip_all "segtls-standalone not built"
[ -x "$LOAD" ] || skip_all "segtls-tlsload not built ($LOAD)"
for p in openssl python3; do
    command -v $p >/dev/null || skip_all "$p not installed"
done
certs_make "$T/certs" || skip_all "cannot create test certificates"

DATE='[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}'
CIPHER=TLS_AES_256_GCM_SHA384

# client MODE PORT [SECONDS] - a client with a known port (printed first):
#   idle             connect, say nothing
#   tls-idle         direct TLS handshake, then say nothing
#   http-plain       a plaintext HTTP request to the TLS port
#   starttls-idle    SMTP EHLO, STARTTLS, then no handshake
#   starttls-garbage SMTP EHLO, STARTTLS, then plaintext
cat >"$T/client.py" <<'EOF'
import socket, ssl, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
wait = float(sys.argv[3]) if len(sys.argv) > 3 else 0
s = socket.create_connection(("127.0.0.1", port))
print(s.getsockname()[1], flush=True)
def reply(f):
    while True:
        l = f.readline()
        if l[3:4] != b"-":
            return l
if mode == "tls-idle":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s)
elif mode == "http-plain":
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
elif mode.startswith("starttls"):
    f = s.makefile("rb")
    reply(f)
    s.sendall(b"EHLO x\r\n"); reply(f)
    s.sendall(b"STARTTLS\r\n"); reply(f)
    if mode == "starttls-garbage":
        s.sendall(b"EHLO plaintext\r\n")
time.sleep(wait)
try:
    while s.recv(4096):
        pass
except OSError:
    pass
EOF
client() { python3 "$T/client.py" "$@"; }

# start NAME DIR ARGS... - an instance, stopped at exit
start() {
    local name=$1 dir=$2; shift 2
    mkdir -p "$dir"
    printf '[inbound]\nmethods=1.2-1.3\n[gui]\nmethods=1.2-1.3\n' >"$dir/conf"
    "$SA" --config "$dir/conf" --cert "$CERTS/rsa.pem" --spool "$dir/spool" \
        --state-dir "$dir/state" --mail-log "$dir/mail_logs" --gui-log "$dir/gui_logs" \
        "$@" >"$dir/stderr" 2>&1 &
    eval "PID_$name=$!"
    at_exit "kill $!"
}

# ready DIR... - wait until each instance listens (its "ready:" line);
# no probe connection, so no probe record in the logs
ready() {
    local d i
    for d in "$@"; do
        for ((i = 0; i < 100; i++)); do
            grep -q '^segtls-standalone: ready: ' "$d/stderr" 2>/dev/null && break
            sleep 0.1
        done
        grep -q '^segtls-standalone: ready: ' "$d/stderr" 2>/dev/null || return 1
    done
}

# since FILE MARK - the lines of FILE after line MARK
since() { tail -n "+$(($2 + 1))" "$1"; }
lines() { wc -l <"$1"; }

# wait_lines FILE MARK ERE N - wait until N lines after MARK match (30 s)
wait_lines() {
    local i
    for ((i = 0; i < 300; i++)); do
        [ "$(since "$1" "$2" | grep -Ec -- "$3")" -ge "$4" ] && break
        sleep 0.1
    done
    sleep 0.2                           # and nothing more comes
}

# load ARGS... - run segtls-tlsload; its key=value line
load() { "$LOAD" --tls 1.3 --timeout 60 "$@" 2>/dev/null | tail -1; }
kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# icid_flows FILE MARK - per ICID after MARK, its records in order, as
# "What,What,What" (New, TLS success, TLS failed, refused, close), one
# line per ICID, counted: "N New,TLSok,close"
icid_flows() {
    since "$1" "$2" | sed -E 's/^.{24} Info: //' | awk '
        /^New SMTP ICID / { id = $4; k = "New" }
        /^ICID [0-9]+ TLS success / { id = $2; k = "TLSok" }
        /^ICID [0-9]+ TLS failed: / { id = $2; k = "TLSfailed" }
        /^ICID [0-9]+ refused: too many connections$/ { id = $2; k = "refused" }
        /^ICID [0-9]+ close$/ { id = $2; k = "close" }
        { if (!(id in f)) order[n++] = id; f[id] = f[id] (f[id] == "" ? "" : ",") k; id = ""; k = "?" }
        END { for (i = 0; i < n; i++) print f[order[i]] }' | LC_ALL=C sort | uniq -c | sed 's/^ *//'
}

# ---------------------------------------------- the load tool, SIGPIPE
# A server that accepts and closes at once: the client's ClientHello
# gets a reset, OpenSSL's alert write then meets EPIPE. The tool must
# count the failures, not die of SIGPIPE (exit 141).
CLOSE_PORT=$(free_port)
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
while True:
    c, _ = s.accept(); c.close()' "$CLOSE_PORT" &
at_exit "kill $!"
wait_port "$CLOSE_PORT"
out=$("$LOAD" --direct --connect "127.0.0.1:$CLOSE_PORT" -c 2 -n 20 --timeout 10 2>&1)
rc=$?
is "$rc" 1 "segtls-tlsload: a server that closes early is a failure (exit 1), not SIGPIPE"
like "$out" 'handshakes=0 failures=20 ' "segtls-tlsload: every closed connection counted"

# ------------------------------------------ no drops at 20, 50, 200, 1000
A=$T/a; A_HTTPS=$(free_port); A_SMTP=$(free_port)
while [ "$A_SMTP" = "$A_HTTPS" ]; do A_SMTP=$(free_port); done
B=$T/b; B_HTTPS=$(free_port); B_SMTP=$(free_port)
while [ "$B_HTTPS" = "$A_HTTPS" ] || [ "$B_HTTPS" = "$A_SMTP" ]; do B_HTTPS=$(free_port); done
while [ "$B_SMTP" = "$A_HTTPS" ] || [ "$B_SMTP" = "$A_SMTP" ] || [ "$B_SMTP" = "$B_HTTPS" ]; do B_SMTP=$(free_port); done
# Default --max-conns (100): 200 clients queue for the slots.
start a "$A" --https-listen "127.0.0.1:$A_HTTPS" --smtp-listen "127.0.0.1:$A_SMTP"
start b "$B" --https-listen "127.0.0.1:$B_HTTPS" --smtp-listen "127.0.0.1:$B_SMTP" --max-conns 1000
ready "$A" "$B"
ok $? "two instances listen (--max-conns 100 and 1000)"

# Under valgrind a handshake costs ~30x: as many handshakes as clients.
for conc in 20 50 200 1000; do
    if [ "$conc" = 1000 ]; then D=$B; HP=$B_HTTPS; SP=$B_SMTP; else D=$A; HP=$A_HTTPS; SP=$A_SMTP; fi
    n=$((conc < 500 ? 1000 : 2 * conc))
    [ "${SEGTLS_VALGRIND:-0}" = 1 ] && n=$conc
    gm=$(lines "$D/gui_logs"); mm=$(lines "$D/mail_logs")

    out=$(load --direct --connect "127.0.0.1:$HP" -c "$conc" -n "$n")
    is "$(kv handshakes "$out")/$(kv failures "$out")" "$n/0" "GUI HTTPS, $conc clients in flight: $n handshakes, 0 failures"
    wait_lines "$D/gui_logs" "$gm" . "$n"
    is "$(since "$D/gui_logs" "$gm" | grep -Evc "^$DATE Info: GUI HTTPS TLS success protocol TLSv1\.3 cipher $CIPHER address 127\.0\.0\.1 port [0-9]+$")/$(since "$D/gui_logs" "$gm" | wc -l)" \
        "0/$n" "GUI HTTPS, $conc clients: exactly $n records, each a TLS success"

    out=$(load --connect "127.0.0.1:$SP" -c "$conc" -n "$n")
    is "$(kv handshakes "$out")/$(kv failures "$out")" "$n/0" "Inbound SMTP STARTTLS, $conc clients in flight: $n handshakes, 0 failures"
    wait_lines "$D/mail_logs" "$mm" ' close$' "$n"
    is "$(icid_flows "$D/mail_logs" "$mm")" "$n New,TLSok,close" \
        "Inbound SMTP, $conc clients: $n connections, each New, TLS success, close in order"
done

# ---------------------------------------------------- the limit reached
# hold PORT N ARGS... - N connections completed and held; pid in HOLD
NHOLD=0
hold() {
    local port=$1 n=$2 i f=$T/hold.$((++NHOLD)); shift 2
    "$LOAD" --connect "127.0.0.1:$port" -c "$n" -n "$n" --tls 1.3 --hold 120 --timeout 60 "$@" \
        >"$f" 2>&1 &
    HOLD=$!
    at_exit "kill $HOLD"
    for ((i = 0; i < 100; i++)); do
        if grep -q "^held $n$" "$f"; then
            sleep 0.3                   # the server's records of them are written
            return 0
        fi
        sleep 0.1
    done
    return 1
}

C=$T/c; C_HTTPS=$(free_port); C_SMTP=$(free_port)
while [ "$C_SMTP" = "$C_HTTPS" ]; do C_SMTP=$(free_port); done
start c "$C" --https-listen "127.0.0.1:$C_HTTPS" --smtp-listen "127.0.0.1:$C_SMTP" \
    --max-conns 20 --timeout 60
ready "$C"
ok $? "an instance with --max-conns 20 listens"

for svc in https smtp; do
    if [ $svc = https ]; then P=$C_HTTPS; DIRECT=--direct; F=$C/gui_logs; else P=$C_SMTP; DIRECT=; F=$C/mail_logs; fi
    hold "$P" 19 $DIRECT; h19=$HOLD
    hold "$P" 1 $DIRECT; h1=$HOLD
    ok $? "$svc: 20 connections held (the limit)"
    # One more waits in the listen queue; a slot frees after 1.5 s.
    m=$(lines "$F")
    s0=$(date +%s%N)
    load $DIRECT --connect "127.0.0.1:$P" -c 1 -n 1 >"$T/waiter" &
    waiter=$!
    sleep 1.5
    kill "$h1"
    wait "$waiter"
    took=$((($(date +%s%N) - s0) / 1000000))
    out=$(cat "$T/waiter")
    ok $([ "$(kv handshakes "$out")/$(kv failures "$out")" = 1/0 ] && [ "$took" -ge 1400 ]; echo $?) \
        "$svc: a client over the limit waits for a slot, then is served (${took} ms; $out)"
    if [ $svc = https ]; then
        wait_lines "$F" "$m" . 1
        like "$(since "$F" "$m")" "^$DATE Info: GUI HTTPS TLS success protocol TLSv1\.3 cipher $CIPHER address 127\.0\.0\.1 port [0-9]+$" \
            "$svc: the waiting client's one record: TLS success"
    else
        wait_lines "$F" "$m" ' close$' 2
        is "$(icid_flows "$F" "$m")" "1 New,TLSok,close
1 close" "$svc: the waiting client's records (and the freed slot's close)"
    fi
    # Full again; no slot frees for 5 s: 100 clients (50 in flight) refused.
    hold "$P" 1 $DIRECT; h1=$HOLD
    m=$(lines "$F")
    s0=$(date +%s%N)
    out=$(load $DIRECT --connect "127.0.0.1:$P" -c 50 -n 100)
    took=$((($(date +%s%N) - s0) / 1000000))
    is "$(kv handshakes "$out")/$(kv failures "$out")" "0/100" "$svc: at the limit for 5 s: 100 clients refused"
    ok $([ "$took" -ge 4900 ]; echo $?) "$svc: refused only after waiting 5 s for a slot (${took} ms)"
    if [ $svc = https ]; then
        wait_lines "$F" "$m" . 100
        is "$(since "$F" "$m" | grep -Evc "^$DATE Info: Error in https connection from host 127\.0\.0\.1 port [0-9]+ - too many connections$")/$(since "$F" "$m" | wc -l)" \
            "0/100" "$svc: exactly 100 records, each 'Error in https connection from host 127.0.0.1 port P - too many connections'"
        # one record per connection: 100 refused (the client's count), 100
        # records, each with its client's port (the kernel may give a port
        # again once its connection is closed, so ports need not differ)
        is "$(since "$F" "$m" | awk '$15 ~ /^[0-9]+$/ && $15 > 0 && $15 < 65536' | wc -l)" 100 \
            "$svc: one record per refused connection, each with its client's port"
    else
        wait_lines "$F" "$m" ' close$' 100
        is "$(icid_flows "$F" "$m")" "100 New,refused,close" \
            "$svc: 100 connections, each New, 'ICID n refused: too many connections', close in order"
    fi
    kill "$h19" "$h1"
done
ok $(kill -0 "$PID_c"; echo $?) "the instance survived the refusals"

# ------------------------------------- failed and timed-out handshakes
E=$T/e; E_HTTPS=$(free_port); E_SMTP=$(free_port)
while [ "$E_SMTP" = "$E_HTTPS" ]; do E_SMTP=$(free_port); done
start e "$E" --https-listen "127.0.0.1:$E_HTTPS" --smtp-listen "127.0.0.1:$E_SMTP" --timeout 2
ready "$E"
m=$(lines "$E/gui_logs")
p=$(client http-plain "$E_HTTPS")
wait_lines "$E/gui_logs" "$m" . 1
is "$(since "$E/gui_logs" "$m" | sed -E "s/^$DATE //")" \
    "Warning: SSL error with client 127.0.0.1:$p - (167772316, 'error:0A00009C:SSL routines::http request')" \
    "https: plaintext to the TLS port: one TLS error record"
m=$(lines "$E/gui_logs")
p=$(client idle "$E_HTTPS" 3)
is "$(since "$E/gui_logs" "$m" | sed -E "s/^$DATE //")" \
    "Info: Error in https connection from host 127.0.0.1 port $p - TLS handshake timed out" \
    "https: no ClientHello within --timeout: one connection-error record"
m=$(lines "$E/gui_logs")
p=$(client tls-idle "$E_HTTPS" 3)
is "$(since "$E/gui_logs" "$m" | sed -E "s/^$DATE //")" \
    "Info: GUI HTTPS TLS success protocol TLSv1.3 cipher $CIPHER address 127.0.0.1 port $p
Info: Error in https connection from host 127.0.0.1 port $p - request timed out" \
    "https: no request within --timeout: TLS success, then one connection-error record"

m=$(lines "$E/mail_logs")
client starttls-garbage "$E_SMTP" >/dev/null
wait_lines "$E/mail_logs" "$m" ' close$' 1
is "$(since "$E/mail_logs" "$m" | sed -E "s/^$DATE Info: //; s/ICID [0-9]+/ICID n/")" \
    "New SMTP ICID n interface lo (127.0.0.1) address 127.0.0.1 reverse dns host unknown verified no
ICID n TLS failed: (167772427, 'error:0A00010B:SSL routines::wrong version number')
ICID n close" "smtp: plaintext after STARTTLS: one TLS failed record"
m=$(lines "$E/mail_logs")
client starttls-idle "$E_SMTP" 3 >/dev/null
is "$(since "$E/mail_logs" "$m" | sed -E "s/^$DATE Info: //; s/ICID [0-9]+/ICID n/")" \
    "New SMTP ICID n interface lo (127.0.0.1) address 127.0.0.1 reverse dns host unknown verified no
ICID n TLS failed: (0, 'Connection timed out')
ICID n close" "smtp: no handshake within --timeout after STARTTLS: one TLS failed record"

alive=0
for n in a b c e; do eval "pid=\$PID_$n"; kill -0 "$pid" || alive=1; done
ok $alive "every instance survived"
done_testing
