#!/usr/bin/env bash
# logrotate.t - conf/segtls.logrotate with a real logrotate and a running
# segtls-standalone: rotation by rename, the reopen on SIGHUP, a new file
# with its header, nothing lost, the next ICID continuing, compression of
# the older generation. The shipped stanza is used as it is, with only the
# directory and the postrotate commands (systemctl, nginx) replaced.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/certs.sh"

SA=$(bin segtls-standalone)
[ -x "$SA" ] || skip_all "segtls-standalone not built"
for p in logrotate openssl; do
    command -v $p >/dev/null || skip_all "$p not installed"
done
certs_make "$T/certs" || skip_all "cannot create test certificates"
CONF=$SEGTLS_TOP/conf/segtls.logrotate
L=$T/log
mkdir -p "$L" "$T/sa" && chmod 755 "$L"
PORT=$(free_port)

printf '[inbound]\nmethods=1.2-1.3\ntls=preferred\n' >"$T/sa.conf"
"$SA" --config "$T/sa.conf" --cert "$CERTS/rsa.pem" --smtp-listen "127.0.0.1:$PORT" \
    --spool "$T/sa/spool" --state-dir "$T/sa/state" --mail-log "$L/mail_logs" \
    --gui-log "$L/gui_logs" >"$T/sa/stderr" 2>&1 &
SAPID=$!
at_exit "kill $SAPID"
wait_port "$PORT" 100 || { echo "Bail out! segtls-standalone did not start: $(tail -1 "$T/sa/stderr")"; exit 1; }

# the stanza with the test's directory and a HUP to this standalone
awk -v dir="$L" -v pid="$SAPID" '
    /^\tendscript$/ { skip = 0 }
    skip { next }
    { gsub("/var/log/segtls", dir); print }
    /^\tpostrotate$/ { print "\t\tkill -HUP " pid; skip = 1 }' "$CONF" >"$T/lr.conf"

# session - one STARTTLS session; waits for its close record
session() {
    local n
    n=$(grep -c ' close$' "$L/mail_logs" 2>/dev/null)
    openssl s_client -brief -starttls smtp -connect "127.0.0.1:$PORT" </dev/null >/dev/null 2>&1
    for ((i = 0; i < 100; i++)); do
        [ "$(grep -c ' close$' "$L/mail_logs" 2>/dev/null)" -gt "${n:-0}" ] && return 0
        sleep 0.05
    done
    return 1
}
# rotate - logrotate -f with a private state file; waits for the new file
rotate() {
    logrotate -s "$T/lr.state" -f "$T/lr.conf" 2>"$T/lr.err" || return 1
    for ((i = 0; i < 100; i++)); do [ -s "$L/mail_logs" ] && return 0; sleep 0.05; done
    return 1
}
icids() { sed -nE 's/.*Info: New SMTP ICID ([0-9]+) .*/\1/p' "$@"; }

plan 9

logrotate -d -s "$T/lr.state" "$T/lr.conf" >"$T/lr.debug" 2>&1
ok $? "logrotate accepts the shipped stanza: $(grep -m1 -i error "$T/lr.debug")"
session && session
ok $? "two sessions recorded before the rotation"
first=$(icids "$L/mail_logs" | tr '\n' ' ')
rotate
ok $? "rotated: $(head -c 200 "$T/lr.err")"
is "$(icids "$L/mail_logs.1" | tr '\n' ' ')" "$first" "the old records are in mail_logs.1, uncompressed (delaycompress)"
like "$(head -1 "$L/mail_logs")" '^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} [0-9]{4} Info: Begin Logfile$' \
    "the reopened mail_logs starts with the header"
session
ok $? "a session after the rotation is recorded"
last=$(icids "$L/mail_logs.1" | tail -1)
is "$(icids "$L/mail_logs")" "$((last + 1))" "its ICID continues the old file's"
rotate
ok $? "rotated a second time"
[ "$(gzip -dc "$L/mail_logs.2.gz" 2>/dev/null | icids | tr '\n' ' ')" = "$first" ]
ok $? "the oldest generation is compressed, whole: mail_logs.2.gz"
