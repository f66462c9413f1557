#!/bin/bash
# apply-restore.t - what a failed apply puts back, and what it leaves alone.
#
# A private Postfix; segtls-apply's probe of Inbound SMTP is pointed at a
# server that resets every connection as its handshake ends
# (lib/resetpeer.py): apply must survive the reset (SIGPIPE) and restore.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"

command -v postfix >/dev/null || skip_all "postfix missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"

A=$(bin segtls-apply)
PORT=$(free_port)
RPORT=$(free_port)
pf_make mta "$PORT" || { echo "1..0 # SKIP cannot create Postfix"; exit 0; }
pf_start mta || { echo "Bail out! postfix does not start"; exit 1; }
PFD=$(pf_dir mta)
ARGS=(--postfix-dir "$PFD" --smtpd-service "127.0.0.1:$PORT/inet"
      --tls-config-file "$T/pf/tls.cnf" --client-conf "$T/client.cnf"
      --no-nginx --state-dir "$T/state")
# apply NAME [OPTIONS] - segtls-apply; $out, $err, $rc
apply() {
    local n=$1; shift
    "$A" --config "$T/$n.conf" "${ARGS[@]}" "$@" >"$T/out" 2>"$T/err"; rc=$?
    out=$(cat "$T/out"); err=$(cat "$T/err")
}
printf '[inbound]\nmethods=1.2-1.3\nciphers=ALL\n' >"$T/r12.conf"

plan 4

# --- a peer that resets as the handshake ends (issue 13 item 8) ---
"$SEGTLS_TOP/t/lib/resetpeer.py" "$RPORT" "$CERTS/rsa.pem" >"$T/resetpeer.out" 2>&1 &
RP=$!
at_exit "kill $RP"
wait_port "$RPORT" 50 || diag "resetpeer does not listen"
main_before=$(postconf -c "$PFD" -n | md5sum)
master_before=$(postconf -c "$PFD" -P | md5sum)
apply r12 --probe-smtp "127.0.0.1:$RPORT"
is "$rc" 1 "reset during the probe: exit 1, not killed by SIGPIPE"
like "$err" "the previous configuration was restored" "reset during the probe: restored"
is "$(postconf -c "$PFD" -n | md5sum)" "$main_before" "reset during the probe: main.cf as before"
is "$(postconf -c "$PFD" -P | md5sum)" "$master_before" "reset during the probe: master.cf as before"
done_testing
