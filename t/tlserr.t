#!/bin/bash
# tlserr.t - one OpenSSL error for one failure, whoever writes the record
# (issue 13 item 12). The same failed handshakes are made against every
# producer of records: segtls-standalone's Inbound SMTP (mail_logs) and
# GUI HTTPS (gui_logs), nginx with ngx_http_segtls_module (gui_logs) and
# Postfix smtpd read by segtls-logparse (mail_logs). Each must give the
# same tuple:
#  - a TLS 1.0 client against TLS 1.2-1.3: one error on the queue;
#  - a TLS 1.2 handshake whose Finished is corrupted on the way
#    (t/lib/tlscorrupt.py): OpenSSL 3 queues the cipher provider's error,
#    then the SSL library's "decryption failed or bad record mac"; the
#    record has the last (lib/tls/tlserr.h), as Postfix's log has both.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"
source "$(dirname "$0")/lib/nginx.sh"

SA=$(bin segtls-standalone); LP=$(bin segtls-logparse)
[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"
[ -x "$SA" ] && [ -x "$LP" ] || skip_all "segtls-standalone or segtls-logparse not built"
[ -r /usr/share/nginx/src/conf_flags ] || skip_all "nginx-dev is not installed"
for p in postfix nginx openssl python3; do command -v $p >/dev/null || skip_all "$p not installed"; done
certs_make "$T/certs" || skip_all "cannot create test certificates"
plan 12

PROTO="(167772418, 'error:0A000102:SSL routines::unsupported protocol')"
BADMAC="(167772441, 'error:0A000119:SSL routines::decryption failed or bad record mac')"

# ----------------------------------------------------------- the servers
S_SMTP=$(free_port); S_HTTPS=$(free_port); P_SMTP=$(free_port); N_HTTPS=$(free_port)
mkdir -p "$T/sa"
printf '[inbound]\nmethods=1.2-1.3\n[gui]\nmethods=1.2-1.3\n' >"$T/sa.conf"
"$SA" --config "$T/sa.conf" --cert "$CERTS/rsa.pem" --smtp-listen "127.0.0.1:$S_SMTP" \
    --https-listen "127.0.0.1:$S_HTTPS" --spool "$T/sa/spool" --state-dir "$T/sa/state" \
    --mail-log "$T/sa/mail_logs" --gui-log "$T/sa/gui_logs" >"$T/sa/stderr" 2>&1 &
at_exit "kill $!"
pf_make mta "$P_SMTP" && pf_postconf mta -e 'smtpd_tls_protocols = >=TLSv1.2' && pf_start mta
ngx_segtls_module
ngx_make g "$N_HTTPS"
with_module g "    segtls_gui_log logs/gui_logs;"
ngx_start g
wait_port "$S_SMTP" && wait_port "$S_HTTPS" && wait_port "$P_SMTP" && wait_port "$N_HTTPS"
ok $? "standalone, Postfix and nginx listen"

# the last tuple in a file
tuple() { grep -o "([0-9]*, '[^']*')" "$1" 2>/dev/null | tail -1; }
# wait_tuples N FILE - wait until FILE has N tuples
wait_tuples() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(grep -c "([0-9]*, '" "$2" 2>/dev/null)" -ge "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
# pf_tuple N - the tuple of the Nth failure in Postfix's log, as segtls-logparse records it
pf_tuple() {
    local i
    for ((i = 0; i < 100; i++)); do
        "$LP" "$(pf_log mta)" >"$T/lp.out" 2>/dev/null
        [ "$(grep -c 'TLS failed' "$T/lp.out")" -ge "$1" ] && break
        sleep 0.1
    done
    grep 'TLS failed' "$T/lp.out" | sed -n "${1}p" | grep -o "([0-9]*, '[^']*')"
}

# --------------------------------------------- TLS 1.0 against 1.2-1.3
sc() { echo Q | timeout 10 openssl s_client "$@" >/dev/null 2>&1; }
sc -tls1 -cipher 'DEFAULT:@SECLEVEL=0' -starttls smtp -connect "127.0.0.1:$S_SMTP"
sc -tls1 -cipher 'DEFAULT:@SECLEVEL=0' -connect "127.0.0.1:$S_HTTPS"
sc -tls1 -cipher 'DEFAULT:@SECLEVEL=0' -starttls smtp -connect "127.0.0.1:$P_SMTP"
sc -tls1 -cipher 'DEFAULT:@SECLEVEL=0' -connect "127.0.0.1:$N_HTTPS"
wait_tuples 1 "$T/sa/mail_logs"; is "$(tuple "$T/sa/mail_logs")" "$PROTO" "TLS 1.0: standalone mail_logs"
wait_tuples 1 "$T/sa/gui_logs"; is "$(tuple "$T/sa/gui_logs")" "$PROTO" "TLS 1.0: standalone gui_logs"
wait_tuples 1 "$T/g/logs/gui_logs"; is "$(tuple "$T/g/logs/gui_logs")" "$PROTO" "TLS 1.0: nginx module gui_logs"
is "$(pf_tuple 1)" "$PROTO" "TLS 1.0: Postfix log, segtls-logparse"

# -------------------------------- a corrupted TLS 1.2 Finished: two errors
X=$(free_port); Y=$(free_port); Z=$(free_port); W=$(free_port)
for pair in "$X:$S_SMTP" "$Y:$S_HTTPS" "$Z:$P_SMTP" "$W:$N_HTTPS"; do
    python3 "$SEGTLS_TOP/t/lib/tlscorrupt.py" "${pair%:*}" "${pair#*:}" >/dev/null 2>&1 &
    at_exit "kill $!"
done
wait_port "$X" && wait_port "$Y" && wait_port "$Z" && wait_port "$W"
ok $? "the corrupting relays listen"
sc -tls1_2 -starttls smtp -connect "127.0.0.1:$X"
sc -tls1_2 -connect "127.0.0.1:$Y"
sc -tls1_2 -starttls smtp -connect "127.0.0.1:$Z"
sc -tls1_2 -connect "127.0.0.1:$W"
pf_wait_log mta 0 'TLS library problem: error:1C800066:Provider routines::cipher operation failed'
ok $? "Postfix logs the provider's error first"
pf_wait_log mta 0 'TLS library problem: error:0A000119:SSL routines::decryption failed or bad record mac'
ok $? "and the SSL library's after it"
wait_tuples 2 "$T/sa/mail_logs"; is "$(tuple "$T/sa/mail_logs")" "$BADMAC" "bad MAC: standalone mail_logs"
wait_tuples 2 "$T/sa/gui_logs"; is "$(tuple "$T/sa/gui_logs")" "$BADMAC" "bad MAC: standalone gui_logs"
wait_tuples 2 "$T/g/logs/gui_logs"; is "$(tuple "$T/g/logs/gui_logs")" "$BADMAC" "bad MAC: nginx module gui_logs"
is "$(pf_tuple 2)" "$BADMAC" "bad MAC: Postfix log, segtls-logparse"
done_testing
