#!/bin/bash
# metrics.t - Prometheus metrics of the long-running programs (--metrics):
# segtls-standalone on a loopback port, segtls-milter on a UNIX socket,
# segtls-policyd; Debian's promtool accepts every exposition, and the
# counters move as this test's sessions and records say.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/certs.sh"
SA=$(bin segtls-standalone); MILTER=$(bin segtls-milter)
[ -x "$SA" ] && [ -x "$MILTER" ] || skip_all "segtls-standalone or segtls-milter not built"
command -v promtool >/dev/null || skip_all "promtool not installed (make deps: prometheus)"
for p in curl swaks openssl; do command -v $p >/dev/null || skip_all "$p not installed"; done
certs_make "$T/certs"
export TZ=UTC
plan 18

# scrape URL|unix:PATH - the exposition
scrape() {
    case $1 in
    unix:*) curl -sf --unix-socket "${1#unix:}" http://localhost/metrics ;;
    *) curl -sf "http://$1/metrics" ;;
    esac
}
# val TEXT SERIES - the value of one series line
val() { grep -F "$2 " <<<"$1" | awk '{ print $NF }'; }

# --- standalone: TLS sessions by service, version, cipher class, result ----
SMTP=$(free_port); HTTPS=$(free_port); MP=$(free_port)
printf '[inbound]\nmethods=1.2-1.3\nciphers=ALL\n[gui]\nmethods=1.2-1.3\n' >"$T/sa.conf"
"$SA" --config "$T/sa.conf" --cert "$CERTS/rsa.pem" --spool "$T/sa/spool" --state-dir "$T/sa/state" \
    --mail-log "$T/sa/mail_logs" --gui-log "$T/sa/gui_logs" --smtp-listen "127.0.0.1:$SMTP" \
    --https-listen "127.0.0.1:$HTTPS" --metrics "127.0.0.1:$MP" >"$T/sa.err" 2>&1 &
at_exit "kill $!"
wait_port "$MP" && wait_port "$SMTP"
scrape "127.0.0.1:$MP" >"$T/m0"; ok $? "standalone: GET /metrics answers"
promtool check metrics <"$T/m0" >"$T/promtool.out" 2>&1
ok $? "standalone: promtool check metrics accepts it $(tr '\n' ' ' <"$T/promtool.out")"
swaks -s 127.0.0.1 -p "$SMTP" --tls -f a@example.org -t b@example.net >/dev/null 2>&1
swaks -s 127.0.0.1 -p "$SMTP" --tls -f a@example.org -t b@example.net >/dev/null 2>&1
openssl s_client -starttls smtp -connect "127.0.0.1:$SMTP" -tls1_2 -cipher ECDHE-RSA-AES128-SHA </dev/null >/dev/null 2>&1
openssl s_client -starttls smtp -connect "127.0.0.1:$SMTP" -tls1_1 -cipher 'ALL:@SECLEVEL=0' </dev/null >/dev/null 2>&1
curl -sk -o /dev/null "https://127.0.0.1:$HTTPS/"
sleep 0.3
scrape "127.0.0.1:$MP" >"$T/m1"
promtool check metrics <"$T/m1" >"$T/promtool.out" 2>&1
ok $? "standalone after sessions: promtool accepts it $(tr '\n' ' ' <"$T/promtool.out")"
m=$(cat "$T/m1")
is "$(val "$m" 'segtls_tls_sessions_total{service="inbound_smtp",direction="inbound",protocol="TLSv1.3",cipher_class="aead",result="success"}')" 2 \
    "inbound TLSv1.3 aead success: 2 (two swaks sessions)"
is "$(val "$m" 'segtls_tls_sessions_total{service="inbound_smtp",direction="inbound",protocol="TLSv1.2",cipher_class="cbc",result="success"}')" 1 \
    "inbound TLSv1.2 cbc success: 1 (AES128-SHA)"
is "$(val "$m" 'segtls_tls_sessions_total{service="inbound_smtp",direction="inbound",protocol="none",cipher_class="none",result="failure"}')" 1 \
    "inbound failure: 1 (TLS 1.1 refused)"
is "$(val "$m" 'segtls_tls_sessions_total{service="gui_https",direction="inbound",protocol="TLSv1.3",cipher_class="aead",result="success"}')" 1 \
    "gui_https success: 1 (curl)"
is "$(val "$m" 'segtls_records_written_total{log="mail_logs"}')" "$(($(wc -l <"$T/sa/mail_logs") - 3))" \
    "records written: as many as mail_logs has"
is "$(val "$m" 'segtls_records_lost_total{log="mail_logs",reason="write"}')" 0 "records lost: 0"
swaks -s 127.0.0.1 -p "$SMTP" --tls -f a@example.org -t b@example.net >/dev/null 2>&1
sleep 0.2
is "$(val "$(scrape "127.0.0.1:$MP")" 'segtls_tls_sessions_total{service="inbound_smtp",direction="inbound",protocol="TLSv1.3",cipher_class="aead",result="success"}')" 3 \
    "one more session: the counter moves to 3"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/other")" 404 "another path: 404"

# --- milter on a UNIX socket: outbound sessions, syslog drops -------------
DOWN=$(free_port)
: >"$T/maillog"
"$MILTER" -f --no-milter -l "$T/maillog" -o "$T/mail_logs" -d "$T/state" --metrics "unix:$T/metrics.sock" \
    --syslog "tcp:127.0.0.1:$DOWN" --syslog-queue 5 2>"$T/milter.err" &
at_exit "kill $!"
wait_file "$T/metrics.sock"; sleep 0.3
cat "$SEGTLS_TOP/t/data/pflog/mta-maillog.log" >>"$T/maillog"
sleep 1
scrape "unix:$T/metrics.sock" >"$T/mm"; ok $? "milter: GET /metrics on the UNIX socket"
promtool check metrics <"$T/mm" >"$T/promtool.out" 2>&1
ok $? "milter: promtool accepts it $(tr '\n' ' ' <"$T/promtool.out")"
m=$(cat "$T/mm")
is "$(val "$m" 'segtls_records_written_total{log="mail_logs"}')" 69 "milter: 69 records written"
is "$(val "$m" 'segtls_tls_sessions_total{service="outbound_smtp",direction="outbound",protocol="TLSv1.3",cipher_class="aead",result="success"}') $(val "$m" 'segtls_tls_sessions_total{service="outbound_smtp",direction="outbound",protocol="none",cipher_class="none",result="failure"}')" \
    "$(grep -c 'DCID [0-9]* TLS success' "$T/mail_logs") $(grep -cE 'DCID [0-9]+ (TLS failed|TLS deferring|STARTTLS)' "$T/mail_logs")" \
    "milter: outbound successes and failures as the records say"
is "$(val "$m" "segtls_syslog_records_total{destination=\"tcp:127.0.0.1:$DOWN\",result=\"dropped\"}") $(val "$m" "segtls_syslog_queued{destination=\"tcp:127.0.0.1:$DOWN\"}")" \
    "64 5" "milter: syslog push dropped 64, 5 queued (the server is down, queue bound 5)"

# --- policyd ----------------------------------------------------------------
PP=$(free_port)
printf '[inbound]\nmethods=1.2-1.3\n' >"$T/p.conf"
"$(bin segtls-policyd)" --foreground --config "$T/p.conf" --state-dir "$T/pstate" --socket "$T/psock" \
    --metrics "127.0.0.1:$PP" >"$T/policyd.err" 2>&1 &
at_exit "kill $!"
wait_port "$PP"
scrape "127.0.0.1:$PP" >"$T/mp"
promtool check metrics <"$T/mp" >"$T/promtool.out" 2>&1
ok $? "policyd: promtool accepts it $(tr '\n' ' ' <"$T/promtool.out")"

# --- a non-loopback address is refused --------------------------------------
"$SA" --config "$T/sa.conf" --smtp-listen 127.0.0.1:1 --metrics 0.0.0.0:9 >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" '2:segtls-standalone: fatal: --metrics: metrics address "0.0.0.0:9": want unix:/PATH, 127.0.0.1:PORT or [::1]:PORT' \
    "--metrics on a public address: exit 2, one line"
