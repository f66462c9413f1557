#!/bin/bash
# apply.sh - apply latency: segtls-apply, from settings file to applied and
# proven by its probes, on a private Postfix + a private nginx.
#
# Each run applies a settings file that differs from the one in force
# (alternately TLS 1.2-1.3 and TLS 1.2 only, inbound and GUI), so every
# run renders, writes, reloads and probes. The baseline is the bare
# reload of both servers (postfix reload + nginx -s reload). During every
# apply an SMTP session established before it must survive: after the
# apply it sends a message (MAIL, RCPT, DATA, QUIT) on the same connection.
# Latency is measured with no session open and with that session open
# (segtls-apply waits for the old smtpd processes to exit after a reload).
# Goals (issue 7): <= 2 s; no established session dropped.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/postfix.sh"
source "$(dirname "$0")/../lib/nginx.sh"
source "$(dirname "$0")/lib.sh"

A=$(bin segtls-apply)
BT=$(bench_tool bench-time)
need apply "$A" "$BT" postfix nginx || exit 0
[ "$(id -u)" = 0 ] || { echo "SKIP apply: needs root (private Postfix)"; exit 0; }
PORT=$(free_port); HPORT=$(free_port)
while [ "$HPORT" = "$PORT" ]; do HPORT=$(free_port); done
{ pf_make mta "$PORT" && ngx_make gui "$HPORT" && pf_start mta && ngx_start gui; } >&2 ||
    { echo "SKIP apply: private Postfix or nginx does not start"; exit 0; }
PFD=$(pf_dir mta)
ARGS=(--postfix-dir "$PFD" --smtpd-service "127.0.0.1:$PORT/inet"
      --tls-config-file "$T/pf/tls.cnf" --client-conf "$T/client.cnf"
      --nginx-prefix "$T/gui" --nginx-conf conf/nginx.conf
      --nginx-include "$(ngx_tls_file gui)" --probe-https "127.0.0.1:$HPORT"
      --state-dir "$T/state")
for m in 1.2-1.3 1.2; do
    printf '[inbound]\nmethods=%s\nciphers=HIGH:!aNULL\n[gui]\nmethods=%s\nciphers=HIGH:!aNULL\ncertificate=%s\n' \
        "$m" "$m" "$CERTS/rsa.pem" >"$T/s$m.conf"
done
# the first apply converts the stock files; not timed
"$A" --config "$T/s1.2.conf" "${ARGS[@]}" >"$T/out" 2>&1 ||
    { echo "SKIP apply: segtls-apply fails on this harness: $(tail -1 "$T/out")"; exit 0; }

# smtp_open - an SMTP session on fd $S, after EHLO
smtp_open() {
    local line
    exec {S}<>"/dev/tcp/127.0.0.1/$PORT" || return 1
    read -r -t 10 line <&$S && [[ $line == 220* ]] || return 1
    printf 'EHLO bench.test\r\n' >&$S
    while read -r -t 10 line <&$S; do [[ $line == "250 "* ]] && return 0; [[ $line == 250-* ]] || return 1; done
    return 1
}
# smtp_cmd CMD CODE - one command, its reply must start with CODE
smtp_cmd() {
    local line
    printf '%s\r\n' "$1" >&$S 2>/dev/null || return 1
    read -r -t 10 line <&$S && [[ $line == "$2"* ]]
}
# smtp_finish - a message on the open session, then QUIT
smtp_finish() {
    local ok=1
    smtp_cmd "MAIL FROM:<a@example.org>" 250 && smtp_cmd "RCPT TO:<b@example.net>" 250 &&
        smtp_cmd DATA 354 && printf 'Subject: bench\r\n\r\nhi\r\n' >&$S &&
        smtp_cmd . 250 && smtp_cmd QUIT 221 && ok=0
    exec {S}>&-
    return $ok
}

: >"$T/lat" >"$T/lat_s" >"$T/base"
dropped=0 sessions=0 k=0
# timed_apply FILE - one apply of the next settings; its wall time to FILE
timed_apply() {
    local conf=$T/s1.2-1.3.conf
    ((k++ % 2)) && conf=$T/s1.2.conf
    if "$BT" -o "$T/bt" "$A" --config "$conf" "${ARGS[@]}" 2>"$T/err"; then
        kv wall "$(cat "$T/bt")" >>"$1"
    else
        note "segtls-apply failed: $(tail -2 "$T/err" | tr '\n' ' ')"
        echo nan >>"$1"
    fi
    note "  apply ${conf##*/s}${2:-}: $(cat "$T/bt")"
}
for ((r = 0; r < BENCH_RUNS; r++)); do
    timed_apply "$T/lat"
    sleep 0.3
    # the same with an SMTP session established across the apply
    smtp_open || { note "could not open an SMTP session before the apply"; dropped=$((dropped + 1)); }
    sessions=$((sessions + 1))
    timed_apply "$T/lat_s" " (session open)"
    smtp_finish || { dropped=$((dropped + 1)); note "  the SMTP session opened before apply run $r was dropped"; }
    # baseline: the bare reloads
    "$BT" -o "$T/bt" bash -c "timeout 30 postfix -c '$PFD' reload 2>/dev/null && timeout 30 nginx -p '$T/gui' -c conf/nginx.conf -s reload 2>/dev/null"
    kv wall "$(cat "$T/bt")" >>"$T/base"
    sleep 0.5                            # let the old processes go
done
base=$(median <"$T/base")
figure apply_latency "$(median <"$T/lat")" s "$base" s value '<=' 2
figure apply_latency_session_open "$(median <"$T/lat_s")" s "$base" s value '<=' 2
figure apply_sessions_dropped "$dropped" sessions "$sessions" sessions value '<=' 0
