#!/bin/bash
# nginx-syslog.t - ngx_http_segtls_module's syslog push (issue 17):
# "segtls_gui_log syslog:server=..." beside the file sends every gui_logs
# record to a real receiver (Debian's rsyslog, private configuration, UDP
# on loopback) once and in order, with the tag gui_logs and the facility
# mail unless given (severity by the record: info, warning); a chosen
# facility and tag are used; bad directives are refused by nginx -t with
# their reason; a receiver that is down never delays a connection, its
# losses are logged, the file keeps every record, and records arrive again
# once it is back.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/nginx.sh"

KIT=/usr/share/nginx/src
[ -r "$KIT/conf_flags" ] || skip_all "nginx-dev is not installed ($KIT)"
command -v nginx >/dev/null || skip_all "nginx is not installed"
command -v curl >/dev/null || skip_all "curl is not installed"
RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$RSYSLOGD" ] || skip_all "rsyslog not installed (make deps)"

ngx_segtls_module
plan 19

# --- the receiver: rsyslog, UDP (records) and TCP (only to see it is up) ---
UDP=$(free_port); TCP=$(free_port)
mkdir -p "$T/rs"
cat >"$T/rs/rsyslog.conf" <<CONF
global(workDirectory="$T/rs")
module(load="imudp")
module(load="imtcp")
template(name="rec" type="string" string="%pri%|%programname%|%msg%\n")
ruleset(name="udp") { action(type="omfile" file="$T/rs/udp.out" template="rec") }
input(type="imudp" address="127.0.0.1" port="$UDP" ruleset="udp")
input(type="imtcp" address="127.0.0.1" port="$TCP" ruleset="udp")
CONF
RS_PID=
rs_start() {
    "$RSYSLOGD" -n -f "$T/rs/rsyslog.conf" -i "$T/rs/pid" >>"$T/rs/log" 2>&1 &
    RS_PID=$!
    wait_port "$TCP"
}
rs_stop() { [ -n "$RS_PID" ] && kill "$RS_PID" 2>/dev/null && wait "$RS_PID" 2>/dev/null; RS_PID=; }
at_exit 'rs_stop'
rs_start; ok $? "rsyslog listens on 127.0.0.1 (UDP $UDP)"
OUT=$T/rs/udp.out

# --- nginx: the file and the push ---
PORT=$(free_port)
URL=https://127.0.0.1:$PORT/
ngx_make g "$PORT"
with_module g "    segtls_gui_log logs/gui_logs;
    segtls_gui_log syslog:server=127.0.0.1:$UDP;"
ngx_start g
ok $? "nginx starts with a file and a syslog destination"
GUI=$T/g/logs/gui_logs

# lines FILE - its line count (0 when it does not exist)
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# wait_lines FILE N - until FILE has N lines (10 s)
wait_lines() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ "$(lines "$1")" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
# as_pushed FROM - the file's records from line FROM on, as the receiver
# writes them: mail.info is <22>, mail.warning <20>
as_pushed() {
    tail -n +"$1" "$GUI" | cut -c26- |
        sed -e 's/^Info: /22|gui_logs| Info: /' -e 's/^Warning: /20|gui_logs| Warning: /'
}

# four connections: two successes, a refused version, plain HTTP
curl -sk --tlsv1.2 --tls-max 1.2 -o /dev/null "$URL"
curl -sk --tlsv1.3 -o /dev/null "$URL"
curl -sk --tlsv1.1 --tls-max 1.1 --ciphers 'ALL:@SECLEVEL=0' -o /dev/null "$URL"
curl -s -o /dev/null "http://127.0.0.1:$PORT/"
wait_lines "$GUI" 7 && wait_lines "$OUT" 4
is "$(lines "$GUI") $(lines "$OUT")" "7 4" "four records: in the file (after its header) and at the receiver"
is "$(cat "$OUT")" "$(as_pushed 4)" \
    "each record arrives once, in order, as written to the file: tag gui_logs, mail.info / mail.warning"
like "$(sed -n 1p "$OUT")" '^22\|gui_logs\| Info: GUI HTTPS TLS success protocol TLSv1\.2 cipher ECDHE-RSA-AES256-GCM-SHA384 address 127\.0\.0\.1 port [0-9]+$' \
    "the first: the TLS 1.2 success"
like "$(sed -n 3p "$OUT")" "^20\\|gui_logs\\| Warning: SSL error with client 127\\.0\\.0\\.1:[0-9]+ - \\(" \
    "the refused version: a warning"

# --- a chosen facility and tag ---
sed -i "s|segtls_gui_log syslog:server=127.0.0.1:$UDP;|segtls_gui_log syslog:server=127.0.0.1:$UDP,facility=local0,tag=gui_test;|" \
    "$T/g/conf/nginx.conf"
ngx_reload g
ok $? "reload with facility=local0,tag=gui_test"
before=$(lines "$OUT")
curl -sk --tlsv1.3 -o /dev/null "$URL"
wait_lines "$OUT" $((before + 1))
like "$(tail -1 "$OUT")" '^134\|gui_test\| Info: GUI HTTPS TLS success protocol TLSv1\.3 cipher TLS_AES_256_GCM_SHA384 address 127\.0\.0\.1 port [0-9]+$' \
    "local0.info (134) with the tag given"

# --- bad directives: nginx -t says why, one line ---
EMERG="\\[emerg\\] [0-9#]+: "
bad_conf() {
    local name=$1 line=$2 pat=$3 out rc
    rm -rf "$T/bad"
    ngx_make bad "$(free_port)" >/dev/null
    with_module bad "    $line"
    out=$(ngx_cmd bad -t 2>&1); rc=$?
    is "$rc" 1 "nginx -t fails: $name"
    like "$out" "$pat" "nginx -t says why: $name"
}
CONFRE="in $T/bad/conf/nginx\\.conf:[0-9]+"
bad_conf "severity= (each record has its own)" "segtls_gui_log syslog:server=127.0.0.1:$UDP,severity=info;" \
    "${EMERG}segtls_gui_log takes no syslog \"severity\": each record has its own \\(info, warning\\) $CONFRE"
bad_conf "no server" "segtls_gui_log syslog:tag=gui_logs;" \
    "${EMERG}no syslog server specified $CONFRE"
bad_conf "two syslog destinations" "segtls_gui_log syslog:server=127.0.0.1:$UDP; segtls_gui_log syslog:server=127.0.0.1:$TCP;" \
    "${EMERG}\"segtls_gui_log\" directive is duplicate $CONFRE"

# --- the receiver down: nothing waits, drops are logged, the file has all ---
rs_stop
mark=$(ngx_log_mark g)
before=$(lines "$GUI")
slow=0
for i in 1 2 3 4 5 6; do
    t=$(curl -sk --tlsv1.3 -o /dev/null -w '%{time_total}' "$URL")
    awk -v t="$t" 'BEGIN { exit !(t < 1.0) }' || slow=$((slow + 1))
done
wait_lines "$GUI" $((before + 6))
is "$slow" 0 "receiver down: every connection answered at once (none took 1 s)"
is "$(($(lines "$GUI") - before))" 6 "receiver down: the file has every record"
like "$(ngx_log_since g "$mark")" "\\[alert\\] [0-9#]+: .*segtls_gui_log: syslog push to \"127\\.0\\.0\\.1:$UDP\" failed: [1-9][0-9]* records lost since the last such message" \
    "receiver down: the drop is logged"
pushed=$(lines "$OUT")
rs_start
ok $? "rsyslog back"
curl -sk --tlsv1.3 -o /dev/null "$URL"
curl -sk --tlsv1.2 --tls-max 1.2 -o /dev/null "$URL"
wait_lines "$OUT" $((pushed + 2))
is "$(tail -n +$((pushed + 1)) "$OUT" | tail -2)" "$(tail -2 "$GUI" | cut -c26- | sed 's/^Info: /134|gui_test| Info: /')" \
    "receiver back: the next records arrive"
done_testing
