#!/usr/bin/env bash
# standalone.t - segtls-standalone: the inbound version matrix with exact
# records, GUI HTTPS, a message relayed to a second instance with records
# that tie together, TLS deferring and the plaintext retry, required
# modes, limits, and abusive clients. Everything on 127.0.0.1.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/certs.sh"

SA=$(bin segtls-standalone)
[ -x "$SA" ] || skip_all "segtls-standalone not built"
for p in openssl swaks curl; do
    command -v $p >/dev/null || skip_all "$p not installed"
done
certs_make "$T/certs" || skip_all "cannot create test certificates"
HAVE_PY=0; command -v python3 >/dev/null && HAVE_PY=1

UNSUPPORTED="(167772418, 'error:0A000102:SSL routines::unsupported protocol')"
NO_SHARED="(167772353, 'error:0A0000C1:SSL routines::no shared cipher')"
ALERT_VERSION="(167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version')"

A_SMTP=$(free_port); A_HTTPS=$(free_port); B_SMTP=$(free_port)
while [ "$A_HTTPS" = "$A_SMTP" ]; do A_HTTPS=$(free_port); done
while [ "$B_SMTP" = "$A_SMTP" ] || [ "$B_SMTP" = "$A_HTTPS" ]; do B_SMTP=$(free_port); done
A=$T/a; B=$T/b
mkdir -p "$A" "$B"

# conf FILE LINES... - write a settings key file
conf() { local f=$1; shift; printf '%s\n' "$@" >"$f"; }

# start NAME DIR ARGS... - run an instance, stopped at exit
start() {
    local name=$1 dir=$2; shift 2
    "$SA" --cert "$CERTS/rsa.pem" --spool "$dir/spool" --state-dir "$dir/state" \
        --mail-log "$dir/mail_logs" --gui-log "$dir/gui_logs" "$@" \
        >"$dir/stderr" 2>&1 &
    eval "PID_$name=$!"
    at_exit "kill $!"
}

# reload DIR PID - SIGHUP and wait until the new settings are in force
reload() {
    local n i
    n=$(grep -c 'settings reloaded' "$1/stderr")
    kill -HUP "$2"
    for ((i = 0; i < 100; i++)); do
        [ "$(grep -c 'settings reloaded' "$1/stderr")" -gt "$n" ] && return 0
        sleep 0.05
    done
    diag "reload failed: $(tail -1 "$1/stderr")"
    return 1
}

# wait_log FILE ERE [TRIES] - wait until a line matches
wait_log() {
    local i
    for ((i = 0; i < ${3:-100}; i++)); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# rec FILE ERE - the record text (after "Info: ") of the last matching line
rec() { grep -E -- "$2" "$1" | tail -1 | sed 's/^.* Info: //'; }

# last_icid FILE - the newest ICID
last_icid() { grep -o 'New SMTP ICID [0-9]*' "$1" | tail -1 | awk '{print $4}'; }

# sclient PORT FLAG - STARTTLS handshake with one version; prints the s_client output
sclient() {
    openssl s_client -brief -starttls smtp -connect "127.0.0.1:$1" "$2" \
        -cipher 'ALL:@SECLEVEL=0' </dev/null 2>&1
}

# -------------------------------------------------------------- startup
conf "$T/a.conf" "[inbound]" "methods=1.0-1.3" "ciphers=ALL" "[gui]" "methods=1.2-1.3" \
    "[outbound]" "methods=1.2-1.3"
conf "$T/b.conf" "[inbound]" "methods=1.2-1.3"
start a "$A" --config "$T/a.conf" --smtp-listen "127.0.0.1:$A_SMTP" \
    --https-listen "127.0.0.1:$A_HTTPS" --relay "127.0.0.1:$B_SMTP" \
    --timeout 3 --retry-min 2 --retry-max 4 --max-rcpt 3 --max-size 100000
start b "$B" --config "$T/b.conf" --smtp-listen "127.0.0.1:$B_SMTP"
wait_port "$A_SMTP" && wait_port "$A_HTTPS" && wait_port "$B_SMTP"
ok $? "two instances listen"

"$SA" --bogus >/dev/null 2>&1; is "$?" 2 "unknown option: exit 2"
"$SA" --help | grep -q -- '--smtp-listen'; ok $? "--help lists the options"

# ------------------------------------------------- inbound version matrix
# case: settings lines | the versions that must negotiate
matrix=(
    "methods=1.0-1.3;ciphers=ALL|tls1 tls1_1 tls1_2 tls1_3"
    "methods=1.2|tls1_2"
    "methods=1.1-1.2|tls1_2"
    "methods=1.3|tls1_3"
)
declare -A OPENSSL_NAME=([tls1]=TLSv1 [tls1_1]=TLSv1.1 [tls1_2]=TLSv1.2 [tls1_3]=TLSv1.3)
for m in "${matrix[@]}"; do
    settings=${m%%|*}; want=" ${m#*|} "
    IFS=';' read -r -a lines <<<"$settings"
    conf "$T/a.conf" "[inbound]" "${lines[@]}" "[gui]" "methods=1.2-1.3" "[outbound]" "methods=1.2-1.3"
    reload "$A" "$PID_a"
    for v in tls1 tls1_1 tls1_2 tls1_3; do
        out=$(sclient "$A_SMTP" "-$v")
        icid=$(last_icid "$A/mail_logs")
        wait_log "$A/mail_logs" "ICID $icid close$"
        got=$(rec "$A/mail_logs" "ICID $icid TLS (success|failed)")
        proto=$(sed -n 's/^Protocol version: //p' <<<"$out")
        cipher=$(sed -n 's/^Ciphersuite: //p' <<<"$out")
        if [[ $want == *" $v "* ]]; then
            is "$proto" "${OPENSSL_NAME[$v]}" "inbound $settings: -$v negotiates"
            is "$got" "ICID $icid TLS success protocol ${OPENSSL_NAME[$v]} cipher $cipher" \
                "inbound $settings: -$v success record"
        else
            is "$proto" "" "inbound $settings: -$v refused"
            # The gateway default cipher string has no TLS 1.1 cipher.
            if [ "$settings" = "methods=1.1-1.2" ] && [ "$v" = tls1_1 ]; then err=$NO_SHARED; else err=$UNSUPPORTED; fi
            is "$got" "ICID $icid TLS failed: $err" "inbound $settings: -$v failure record"
        fi
    done
done
new=$(last_icid "$A/mail_logs")
is "$(grep -c "^.* Info: New SMTP ICID $new interface lo (127.0.0.1) address 127.0.0.1 reverse dns host unknown verified no$" "$A/mail_logs")" 1 \
    "New SMTP ICID record shape"

# -------------------------------------------------------- renegotiation
# renegotiate ARG - s_client 'R' in a TLS 1.2 session, then NOOP
renegotiate() {
    (sleep 0.8; printf 'R\n'; sleep 0.5; printf 'NOOP\n'; sleep 0.5) |
        timeout 5 openssl s_client -starttls smtp -connect "127.0.0.1:$A_SMTP" -tls1_2 2>&1
}
conf "$T/a.conf" "[inbound]" "methods=1.2" "renegotiation=enabled" "[gui]" "methods=1.2-1.3" "[outbound]" "methods=1.2-1.3"
reload "$A" "$PID_a"
like "$(renegotiate)" $'RENEGOTIATING.*\n250 2\\.0\\.0 Ok' "inbound.renegotiation=enabled: client renegotiation works"
conf "$T/a.conf" "[inbound]" "methods=1.2" "renegotiation=disabled" "[gui]" "methods=1.2-1.3" "[outbound]" "methods=1.2-1.3"
reload "$A" "$PID_a"
out=$(renegotiate)
like "$out" 'RENEGOTIATING.*:no renegotiation:' "inbound.renegotiation=disabled: refused"
ok $([[ $out != *"250 2.0.0 Ok"* ]]; echo $?) "inbound.renegotiation=disabled: session ends"

# ---------------------------------------------- no resumption (RESOURCES)
# A TLS 1.2 session is not resumable: no session cache (no session ID)
# and no session ticket (SSL_OP_NO_TICKET), so s_client saves nothing.
openssl s_client -starttls smtp -connect "127.0.0.1:$A_SMTP" -tls1_2 -sess_out "$T/sess" \
    </dev/null >"$T/sess.out" 2>&1
out=$(grep -E '^New, |^    Session-ID: |TLS session ticket' "$T/sess.out")
is "$out" $'New, TLSv1.2, Cipher is ECDHE-RSA-AES256-GCM-SHA384\n    Session-ID: ' \
    "TLS 1.2: no session ID, no session ticket"
ok $([ ! -e "$T/sess" ]; echo $?) "TLS 1.2: nothing a client could resume"

# ------------------------------------------------------------ GUI HTTPS
# The usable versions are computed in the background after a reload.
for ((i = 0; i < 50; i++)); do
    json=$(curl -sk --tlsv1.2 --tls-max 1.2 "https://127.0.0.1:$A_HTTPS/status.json")
    [[ $json == *'"usable" : "unknown"'* ]] || break
    sleep 0.1
done
like "$json" '"gui.methods" : "1.2-1.3"' "status.json over TLS 1.2 shows the settings"
like "$json" '"inbound" : \{[^}]*"usable" : "1.2"' "status.json shows usable versions"
curl -sk --tlsv1.3 --tls-max 1.3 "https://127.0.0.1:$A_HTTPS/" | grep -q '<h1>segtls standalone'
ok $? "status page over TLS 1.3"
is "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$A_HTTPS/nope")" 404 "404 elsewhere"
curl -sk --tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' "https://127.0.0.1:$A_HTTPS/status.json" >/dev/null 2>&1
ok $((! $?)) "GUI refuses TLS 1.1"
wait_log "$A/gui_logs" "Warning: SSL error"
like "$(grep 'Warning: SSL error' "$A/gui_logs" | tail -1)" \
    "Warning: SSL error with client 127\.0\.0\.1:[0-9]+ - \(167772418, 'error:0A000102:SSL routines::unsupported protocol'\)$" \
    "gui_logs failure record"
like "$(grep 'GUI HTTPS TLS success' "$A/gui_logs" | head -1)" \
    "Info: GUI HTTPS TLS success protocol TLSv1.2 cipher [A-Z0-9-]+ address 127\.0\.0\.1 port [0-9]+$" \
    "gui_logs success record"
like "$(grep ' req:' "$A/gui_logs" | grep ' /nope ' | tail -1)" \
    " Info: req:127\.0\.0\.1 user:- id:- 404 GET /nope HTTP/1\.1 -\$" \
    "gui_logs: the gateway's request line of an answer"

# ------------------------------------------- a message, relayed over TLS
conf "$T/a.conf" "[inbound]" "methods=1.2-1.3" "[gui]" "methods=1.2-1.3" "[outbound]" "methods=1.2-1.3"
reload "$A" "$PID_a"
swaks --server "127.0.0.1:$A_SMTP" --tls --from alice@example.com \
    --to bob@example.net,carol@example.net --header 'Subject: standalone one' \
    --body $'first line\n.leading dot\nlast line' >"$T/swaks1" 2>&1
ok $? "swaks --tls delivers to the first instance"
mid=$(sed -n 's/.*250 2.0.0 Ok: queued as \([0-9]*\).*/\1/p' "$T/swaks1")
wait_log "$A/mail_logs" "Message done DCID [0-9]+ MID $mid to RID \[0, 1\]$" 100
ok $? "Message done DCID n MID $mid to RID [0, 1]"
icid=$(rec "$A/mail_logs" "Start MID $mid ICID" | awk '{print $5}')
dcid=$(rec "$A/mail_logs" "Delivery start DCID [0-9]+ MID $mid " | awk '{print $4}')
ok $([ -n "$icid" ] && [ -n "$dcid" ]; echo $?) "MID $mid has an ICID ($icid) and a DCID ($dcid)"
grep -E "Info: (ICID $icid |New SMTP ICID $icid |Start MID $mid |MID $mid |Message finished MID $mid |New SMTP DCID $dcid |DCID $dcid |Delivery start DCID $dcid |Message done DCID $dcid )" \
    "$A/mail_logs" | sed 's/^.* Info: //' >"$T/flow"
cat >"$T/flow.want" <<EOF
New SMTP ICID $icid interface lo (127.0.0.1) address 127.0.0.1 reverse dns host unknown verified no
ICID $icid TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384
Start MID $mid ICID $icid
MID $mid ICID $icid From: <alice@example.com>
MID $mid ICID $icid RID 0 To: <bob@example.net>
MID $mid ICID $icid RID 1 To: <carol@example.net>
Message finished MID $mid done
ICID $icid close
New SMTP DCID $dcid interface 127.0.0.1 address 127.0.0.1 port $B_SMTP
DCID $dcid TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384
Delivery start DCID $dcid MID $mid to RID [0, 1]
Message done DCID $dcid MID $mid to RID [0, 1]
DCID $dcid close
EOF
# The ICID close and the DCID lines interleave; compare each connection in order.
is "$(grep -E "ICID $icid|MID $mid ICID" "$T/flow")" "$(grep -E "ICID $icid|MID $mid ICID" "$T/flow.want")" \
    "inbound records of the message"
is "$(grep "DCID $dcid" "$T/flow")" "$(grep "DCID $dcid" "$T/flow.want")" "outbound records of the message"
wait_log "$B/mail_logs" "Message finished MID [0-9]+ done" 40
bmid=$(grep -o 'Message finished MID [0-9]* done' "$B/mail_logs" | tail -1 | awk '{print $4}')
like "$(cat "$B/spool/queue/$bmid" 2>/dev/null)" $'Subject: standalone one.*\r\n\\.\\.leading dot\r\n' \
    "the next hop spooled the message (dot-stuffed)"
like "$(grep 'TLS success' "$B/mail_logs" | tail -1)" 'TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384$' \
    "the next hop saw the same TLS session"
ok $([ ! -e "$A/spool/queue/$mid" ]; echo $?) "delivered message left the spool"

# ------------------------------------ next hop with a disabled version
conf "$T/b.conf" "[inbound]" "methods=1.0" "ciphers=ALL"
reload "$B" "$PID_b"
swaks --server "127.0.0.1:$A_SMTP" --tls --from alice@example.com --to dave@example.net \
    >"$T/swaks2" 2>&1
mid=$(sed -n 's/.*250 2.0.0 Ok: queued as \([0-9]*\).*/\1/p' "$T/swaks2")
wait_log "$A/mail_logs" "TLS deferring" 100
d1=$(rec "$A/mail_logs" "TLS deferring" | awk '{print $2}')
is "$(rec "$A/mail_logs" "TLS deferring")" "DCID $d1 TLS deferring: $ALERT_VERSION" "TLS deferring record"
ok $([ -e "$A/spool/queue/$mid" ]; echo $?) "deferred message stays spooled"
is "$(rec "$B/mail_logs" "TLS failed")" "ICID $(last_icid "$B/mail_logs") TLS failed: $UNSUPPORTED" \
    "the next hop logs the failed handshake"
wait_log "$A/mail_logs" "Message done DCID [0-9]+ MID $mid " 200
d2=$(rec "$A/mail_logs" "Message done DCID [0-9]+ MID $mid " | awk '{print $4}')
is "$(grep -E "DCID $d2 " "$A/mail_logs" | sed 's/^.* Info: //')" \
"New SMTP DCID $d2 interface 127.0.0.1 address 127.0.0.1 port $B_SMTP
DCID $d2 TLS failed: $ALERT_VERSION
Delivery start DCID $d2 MID $mid to RID [0]
Message done DCID $d2 MID $mid to RID [0]
DCID $d2 close" "preferred: the retry goes without TLS"

# --------------------------------- outbound required, no STARTTLS there
conf "$T/b.conf" "[inbound]" "tls=no"
reload "$B" "$PID_b"
conf "$T/a.conf" "[inbound]" "methods=1.2-1.3" "[gui]" "methods=1.2-1.3" \
    "[outbound]" "methods=1.2-1.3" "tls=required"
reload "$A" "$PID_a"
swaks --server "127.0.0.1:$A_SMTP" --tls --from alice@example.com --to erin@example.net \
    >"$T/swaks3" 2>&1
mid=$(sed -n 's/.*250 2.0.0 Ok: queued as \([0-9]*\).*/\1/p' "$T/swaks3")
wait_log "$A/mail_logs" "STARTTLS command not supported" 100
d3=$(rec "$A/mail_logs" "STARTTLS command not supported" | awk '{print $2}')
is "$(rec "$A/mail_logs" "STARTTLS command not supported")" "DCID $d3 STARTTLS command not supported." \
    "STARTTLS command not supported."
wait_log "$A/mail_logs" "DCID $d3 close"
ok $([ -e "$A/spool/queue/$mid" ] && ! grep -q "MID $mid to RID" "$A/mail_logs"; echo $?) \
    "outbound.tls=required: not delivered, still spooled"

# ------------------------------------------------- inbound required
conf "$T/a.conf" "[inbound]" "methods=1.2-1.3" "tls=required" "[gui]" "methods=1.2-1.3" \
    "[outbound]" "methods=1.2-1.3" "tls=required"
reload "$A" "$PID_a"
swaks --server "127.0.0.1:$A_SMTP" --from alice@example.com --to frank@example.net >"$T/swaks4" 2>&1
grep -q '530 5.7.0 Must issue a STARTTLS command first' "$T/swaks4"
ok $? "inbound.tls=required: 530 without STARTTLS"
icid=$(last_icid "$A/mail_logs")
is "$(rec "$A/mail_logs" "ICID $icid TLS was required")" \
    "ICID $icid TLS was required but remote host did not initiate it" "required record"
swaks --server "127.0.0.1:$A_SMTP" --tls --from alice@example.com --to frank@example.net >"$T/swaks5" 2>&1
ok $? "inbound.tls=required: accepted with STARTTLS"

# ----------------------------------------------------- limits, abuse
smtp_py() { python3 - "$A_SMTP" "$@"; }
if [ "$HAVE_PY" = 1 ]; then
    conf "$T/a.conf" "[inbound]" "methods=1.2-1.3" "[gui]" "methods=1.2-1.3" "[outbound]" "methods=1.2-1.3" "tls=required"
    reload "$A" "$PID_a"
    # A 10 MB line is refused and the session goes on.
    got=$(smtp_py <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(1000)
s.sendall(b"EHLO x\r\n" + b"A" * (10 * 1024 * 1024) + b"\r\nNOOP\r\nQUIT\r\n")
data = b""
while True:
    d = s.recv(65536)
    if not d: break
    data += d
print("|".join(l.split(" ")[0] for l in data.decode().splitlines() if not l.startswith("250-")))
EOF
)
    is "$got" "250|500|250|221" "10 MB line: 500, then the session goes on"
    # Pipelined commands after STARTTLS are discarded; EHLO is forgotten.
    got=$(smtp_py <<'EOF'
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
f.readline()
s.sendall(b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<injected@example.com>\r\n")
while f.readline()[3:4] == b"-": pass
print(f.readline().decode().strip())
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
t.sendall(b"MAIL FROM:<a@example.com>\r\n")
print(t.recv(1000).decode().strip())
EOF
)
    is "$got" "220 2.0.0 Ready to start TLS
503 5.5.1 Error: send HELO/EHLO first" "STARTTLS: pipelined plaintext discarded, EHLO forgotten"
    ! grep -q 'injected@example.com' "$A/mail_logs"
    ok $? "the injected command never ran"
    # Plaintext after STARTTLS: the handshake fails, the server lives on.
    smtp_py <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
f.readline()
s.sendall(b"STARTTLS\r\n"); f.readline()
s.sendall(b"EHLO plaintext\r\nMAIL FROM:<x@example.com>\r\n")
try:
    s.recv(1000)
except OSError:
    pass
EOF
    icid=$(last_icid "$A/mail_logs")
    wait_log "$A/mail_logs" "ICID $icid close"
    like "$(rec "$A/mail_logs" "ICID $icid TLS failed")" "^ICID $icid TLS failed: \([0-9]+, 'error:[0-9A-F]+:SSL routines::[a-z ]+'\)$" \
        "plaintext after STARTTLS: TLS failed record"
    # Limits: recipients and size.
    got=$(smtp_py <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
def cmd(c):
    s.sendall(c + b"\r\n")
    while True:
        l = f.readline().decode()
        if l[3:4] != "-": return l.split(" ")[0]
f.readline()
r = [cmd(b"EHLO x"), cmd(b"STARTTLS")]
print(" ".join(r))
EOF
)
    is "$got" "250 220" "EHLO advertises STARTTLS and it answers 220"
    # Recipient and size limits (--max-rcpt 3, --max-size 100000).
    got=$(smtp_py <<'EOF'
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
def cmd(c):
    s.sendall(c + b"\r\n")
    while True:
        l = f.readline().decode()
        if l[3:4] != "-": return l.split(" ")[0]
f.readline()
r = [cmd(b"HELO x"), cmd(b"MAIL FROM:<a@example.com> SIZE=200000"), cmd(b"MAIL FROM:<a@example.com>")]
r += [cmd(b"RCPT TO:<r%d@example.com>" % i) for i in range(4)]
r.append(cmd(b"DATA"))
s.sendall((b"x" * 998 + b"\r\n") * 150)
r.append(cmd(b"."))
r.append(cmd(b"QUIT"))
print(" ".join(r))
EOF
)
    is "$got" "250 552 250 250 250 250 452 354 552 221" "SIZE, recipient and size limits"
else
    for i in 1 2 3 4 5 6; do ok 0 "# SKIP python3 not installed"; done
fi

# A client that sends nothing holds a connection open...
exec 7<>"/dev/tcp/127.0.0.1/$A_SMTP"
# One byte per 0.2 s of a command, while a whole session completes.
( for c in N O O P; do printf %s "$c"; sleep 0.2; done; printf '\r\nQUIT\r\n'; sleep 0.3 ) \
    | timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$A_SMTP; cat <&3 & cat >&3; wait" >"$T/slow" &
slow=$!
start_s=$(date +%s%N)
swaks --server "127.0.0.1:$A_SMTP" --tls --from alice@example.com --to gina@example.net \
    >"$T/swaks6" 2>&1
rc=$?; took=$(( ($(date +%s%N) - start_s) / 1000000 ))
ok $([ $rc = 0 ] && [ $took -lt 2000 ]; echo $?) "an idle and a slow client do not stall a session (${took} ms)"
wait $slow
like "$(tr -d '\r' <"$T/slow")" $'250 2.0.0 Ok\n221 2.0.0 Bye' "the slow client gets its answers"
# The idle one is cut at --timeout (3 s).
read -r -t 6 banner <&7; read -r -t 6 line <&7
like "$line" '^421 4\.4\.2 .* Error: timeout exceeded' "idle client: 421 after the timeout"
exec 7<&-

# ------------------------------------------- a broken file on SIGHUP
conf "$T/a.conf" "[inbound]" "methods=1.0,1.2"
kill -HUP "$PID_a"
wait_log "$A/stderr" "reload: .*the previous settings stay in force"
like "$(grep 'reload:' "$A/stderr" | tail -1)" \
    "warning: reload: .*a\.conf:2: .*TLS v1\.0 and TLS v1\.2 cannot be enabled without TLS v1\.1; the previous settings stay in force" \
    "broken settings on SIGHUP: refused with file:line"
is "$(sclient "$A_SMTP" -tls1_2 | sed -n 's/^Protocol version: //p')" TLSv1.2 "the previous settings stay in force"

# ------------------------------- a changed --config file, no SIGHUP
# segtls-policyd commits by renaming a new file over the old one; the
# change alone must reload (after ~200 ms of quiet), and a broken file
# must be refused with the running settings kept.
n=$(grep -c 'settings reloaded' "$A/stderr")
conf "$T/a.conf.new" "[inbound]" "methods=1.3" "[gui]" "methods=1.2-1.3" "[outbound]" "methods=1.2-1.3"
mv "$T/a.conf.new" "$T/a.conf"
for ((i = 0; i < 100; i++)); do
    [ "$(grep -c 'settings reloaded' "$A/stderr")" -gt "$n" ] && break
    sleep 0.05
done
ok $([ "$(grep -c 'settings reloaded' "$A/stderr")" -gt "$n" ]; echo $?) "--config renamed over: reloaded without SIGHUP"
is "$(sclient "$A_SMTP" -tls1_3 | sed -n 's/^Protocol version: //p')/$(sclient "$A_SMTP" -tls1_2 | sed -n 's/^Protocol version: //p')" \
    "TLSv1.3/" "--config renamed over: the new settings apply"
n=$(grep -c 'the previous settings stay in force' "$A/stderr")
conf "$T/a.conf.new" "[inbound]" "methods=1.0,1.2"
mv "$T/a.conf.new" "$T/a.conf"
for ((i = 0; i < 100; i++)); do
    [ "$(grep -c 'the previous settings stay in force' "$A/stderr")" -gt "$n" ] && break
    sleep 0.05
done
like "$(grep 'the previous settings stay in force' "$A/stderr" | sed -n "$((n + 1))p")" \
    "warning: reload: .*a\.conf:2: .*TLS v1\.0 and TLS v1\.2 cannot be enabled without TLS v1\.1; the previous settings stay in force" \
    "broken --config renamed over: refused with file:line"
is "$(sclient "$A_SMTP" -tls1_3 | sed -n 's/^Protocol version: //p')/$(sclient "$A_SMTP" -tls1_2 | sed -n 's/^Protocol version: //p')" \
    "TLSv1.3/" "broken --config renamed over: the previous settings stay in force"

# ------------------------------------- outbound verify modes (x509, fqdn)
conf "$T/b.conf" "[inbound]" "methods=1.2-1.3"
reload "$B" "$PID_b"
conf "$T/a.conf" "[inbound]" "methods=1.2-1.3" "[gui]" "methods=1.2-1.3" \
    "[outbound]" "methods=1.2-1.3" "tls=required-verify" "ca_file=$CERTS/ca.crt" \
    "[peer_cert]" "fqdn=on"
reload "$A" "$PID_a"
swaks --server "127.0.0.1:$A_SMTP" --tls --from alice@example.com --to hank@example.net >"$T/swaks7" 2>&1
mid=$(sed -n 's/.*250 2.0.0 Ok: queued as \([0-9]*\).*/\1/p' "$T/swaks7")
wait_log "$A/mail_logs" "TLS deferring: \(0, 'certificate name does not match 127\.0\.0\.1'\)" 100
ok $? "required-verify + peer_cert.fqdn: the name 127.0.0.1 is not in the certificate: deferred"
ok $([ -e "$A/spool/queue/$mid" ]; echo $?) "required-verify: the message stays spooled"
conf "$T/a.conf" "[inbound]" "methods=1.2-1.3" "[gui]" "methods=1.2-1.3" \
    "[outbound]" "methods=1.2-1.3" "tls=required-verify" "ca_file=$CERTS/ecdsa.crt"
reload "$A" "$PID_a"
wait_log "$A/mail_logs" "TLS deferring: \(0, 'certificate verification failed: self-signed certificate in certificate chain'\)" 120
ok $? "required-verify with the wrong CA: deferred"
conf "$T/a.conf" "[inbound]" "methods=1.2-1.3" "[gui]" "methods=1.2-1.3" \
    "[outbound]" "methods=1.2-1.3" "tls=required-verify" "ca_file=$CERTS/ca.crt" \
    "[peer_cert]" "x509=on"
reload "$A" "$PID_a"
wait_log "$A/mail_logs" "Message done DCID [0-9]+ MID $mid " 120
ok $? "required-verify with the right CA, no name check: delivered"
for ((i = 0; i < 150; i++)); do [ -z "$(ls "$A/spool/queue")" ] && break; sleep 0.1; done
is "$(ls "$A/spool/queue" | wc -l)" 0 "every deferred message was delivered in the end"

# ------------------------------------------ settings from segtls-policyd
if [ -x "$(bin segtls-policyd)" ]; then
    P=$T/p; mkdir -p "$P"
    conf "$P/segtls.conf" "[inbound]" "methods=1.3"
    "$(bin segtls-policyd)" --foreground --config "$P/segtls.conf" --state-dir "$P/state" \
        --socket "$P/sock" >"$P/policyd.err" 2>&1 &
    at_exit "kill $!"
    wait_file "$P/sock"
    C_SMTP=$(free_port)
    start c "$P" --socket "$P/sock" --smtp-listen "127.0.0.1:$C_SMTP"
    wait_port "$C_SMTP"
    is "$(sclient "$C_SMTP" -tls1_3 | sed -n 's/^Protocol version: //p')/$(sclient "$C_SMTP" -tls1_2 | sed -n 's/^Protocol version: //p')" \
        "TLSv1.3/" "--socket: the committed settings of segtls-policyd apply"
else
    ok 0 "# SKIP segtls-policyd not built"
fi

# ----------------------------------------------------- still alive, clean
kill -0 "$PID_a" && kill -0 "$PID_b"; ok $? "both instances survived"
ls "$A/spool/tmp" | wc -l | grep -qx 0; ok $? "no temp files left in the spool"
kill "$PID_a"; wait "$PID_a" 2>/dev/null; is "$?" 0 "SIGTERM: exit 0"
done_testing
