#!/usr/bin/env bash
# standalone-status.t - the standalone's status pages (issue 13 item 19):
# they show records with mail addresses and have no login, so they are
# served on loopback only unless the admin says otherwise. A non-loopback
# --https-listen is refused without --public-status, a bare PORT means
# 127.0.0.1:PORT, and the packaged unit listens for HTTPS on loopback.
# Every test server binds 127.0.0.1 (or is refused before it binds).
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/certs.sh"

SA=$(bin segtls-standalone)
[ -x "$SA" ] || skip_all "segtls-standalone not built"
for p in curl ss; do command -v $p >/dev/null || skip_all "$p not installed"; done
certs_make "$T/certs" || skip_all "cannot create test certificates"

# run DIR ARGS... - an instance in the background (pid in RUN_PID)
run() {
    local d=$T/$1; shift
    mkdir -p "$d"
    "$SA" --cert "$CERTS/rsa.pem" --spool "$d/spool" --state-dir "$d/state" \
        --mail-log "$d/mail_logs" --gui-log "$d/gui_logs" "$@" >"$d/stderr" 2>&1 &
    RUN_PID=$!
    at_exit "kill $RUN_PID"
}

# bound PORT - the local addresses listening on PORT
bound() { ss -Hltn "sport = :$1" | awk '{ print $4 }' | sort | tr '\n' ' '; }

# ------------------------------------------- non-loopback: refused
P=$(free_port)
for addr in "0.0.0.0:$P" "[::]:$P" "192.0.2.1:$P"; do
    out=$(timeout 5 "$SA" --cert "$CERTS/rsa.pem" --https-listen "$addr" --spool "$T/x/spool" \
        --state-dir "$T/x/state" --mail-log "$T/x/mail_logs" --gui-log "$T/x/gui_logs" 2>&1)
    rc=$?
    is "$rc:$out" "2:segtls-standalone: fatal: --https-listen $addr: the status pages show records with mail addresses and have no login: listen on loopback, or give --public-status" \
        "--https-listen $addr without --public-status: refused, exit 2"
done
is "$(bound "$P")" "" "nothing listens after the refusals"
ok $([ ! -e "$T/x/mail_logs" ]; echo $?) "a refused start writes no record file"

# ------------------------------------------------ loopback: served
P=$(free_port)
run a --https-listen "$P"
wait_port "$P"
is "$(bound "$P")" "127.0.0.1:$P " "--https-listen PORT listens on 127.0.0.1:PORT only"
like "$(curl -sk "https://127.0.0.1:$P/")" '<h2>Last records</h2>' "the status page is served on loopback"

P6=$(free_port)
if (python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))') 2>/dev/null; then
    run b --https-listen "[::1]:$P6"
    for ((i = 0; i < 50; i++)); do [ -n "$(bound "$P6")" ] && break; sleep 0.1; done
    is "$(bound "$P6")" "[::1]:$P6 " "--https-listen [::1]:PORT is loopback too"
else
    ok 0 "# SKIP no IPv6 loopback here"
fi

# -------------------------------------- the admin's explicit choice
# Bound to a wildcard (the test talks to it over 127.0.0.1 only).
P=$(free_port)
run c --https-listen "0.0.0.0:$P" --public-status
wait_port "$P"
is "$(bound "$P")" "0.0.0.0:$P " "--public-status: a non-loopback address is accepted"
like "$(grep -c 'status pages' "$T/c/stderr")" '^1$' "--public-status: one warning at start"

# ---------------------------------------------------- the packaged unit
U=$SEGTLS_TOP/conf/segtls-standalone.service
args=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$U" | sed 's/^ExecStart=@BINDIR@\/segtls-standalone//; s/\\$//' | tr '\n' ' ')
is "$(sed -n 's/.*--https-listen \([^ ]*\).*/\1/p' <<<"$args")" "127.0.0.1:443" \
    "segtls-standalone.service: GUI HTTPS on 127.0.0.1:443"
ok $(grep -q -- '--public-status' <<<"$args"; [ $? = 1 ]; echo $?) "segtls-standalone.service: no --public-status"
# The unit's own options, with free ports and test paths, start a
# server whose HTTPS listener is on loopback only.
PH=$(free_port); PS=$(free_port)
while [ "$PS" = "$PH" ]; do PS=$(free_port); done
# The HTTPS address is the unit's own, with a free port; SMTP goes to loopback.
args=$(sed -e "s|--smtp-listen [^ ]*|--smtp-listen 127.0.0.1:$PS|; s|\(--https-listen [^ ]*\):443|\1:$PH|" \
    -e "s|--socket /run/segtls/policyd-read.sock|--config $T/u.conf|" \
    -e "s|/etc/segtls/segtls.conf|$T/u.conf|; s|/etc/segtls/standalone.pem|$CERTS/rsa.pem|" \
    -e "s|/var/lib/segtls/standalone/spool|$T/u/spool|; s|/var/lib/segtls/standalone|$T/u/state|" \
    -e "s|/var/log/segtls/|$T/u/|g" <<<"$args")
: >"$T/u.conf"
mkdir -p "$T/u"
read -r -a argv <<<"$args"
"$SA" "${argv[@]}" >"$T/u/stderr" 2>&1 &
at_exit "kill $!"
wait_port "$PH"
is "$(bound "$PH")" "127.0.0.1:$PH " "the unit's options: GUI HTTPS on loopback only (${args:0:60}...)"
done_testing
