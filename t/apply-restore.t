#!/bin/bash
# apply-restore.t - what a failed apply puts back, and what it leaves alone.
#
# A private Postfix; segtls-apply's probe of Inbound SMTP is pointed at a
# server that resets every connection as its handshake ends
# (lib/resetpeer.py), so every apply here fails after a probe window of
# some ten seconds and must restore:
#  - the reset itself must not kill apply (SIGPIPE) before it restores;
#  - an administrator's `postconf -e` during that window survives the
#    rollback, and a second apply started then waits for the lock and
#    puts back what was there before it, not the first apply's values;
#  - a file that cannot be put back (its directory made immutable) is
#    named, and everything else is still restored and Postfix reloaded;
#  - when postconf itself fails, what it never wrote is not "put back".
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"

command -v postfix >/dev/null || skip_all "postfix missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"

A=$(bin segtls-apply)
PORT=$(free_port)
RPORT=$(free_port)
while [ "$RPORT" = "$PORT" ]; do RPORT=$(free_port); done
pf_make mta "$PORT" || { echo "1..0 # SKIP cannot create Postfix"; exit 0; }
pf_start mta || { echo "Bail out! postfix does not start"; exit 1; }
PFD=$(pf_dir mta)
S1=127.0.0.1:$PORT/inet
mkdir -p "$T/cl"
ARGS=(--postfix-dir "$PFD" --smtpd-service "$S1" --smtp-service smtp/unix
      --tls-config-file "$T/pf/tls.cnf" --client-conf "$T/cl/client.cnf"
      --no-nginx --state-dir "$T/state" --probe-smtp "127.0.0.1:$RPORT")
# apply NAME TAG [OPTIONS] - segtls-apply; $T/TAG.out, .err, .rc, .end (time it ended)
apply() {
    local n=$1 tag=$2; shift 2
    "$A" --config "$T/$n.conf" "${ARGS[@]}" "$@" >"$T/$tag.out" 2>"$T/$tag.err"
    echo $? >"$T/$tag.rc"
    date +%s.%N >"$T/$tag.end"
}
# written - wait until an apply has written master.cf (10 s)
written() {
    local i
    for ((i=0; i<200; i++)); do
        postconf -c "$PFD" -P "$S1/tls_config_name" | grep -q segtls_inbound && return 0
        sleep 0.05
    done
    return 1
}
# written_client - wait until an apply has written client.cnf, its last
# file (after master.cf: 10 s)
written_client() {
    local i
    for ((i=0; i<200; i++)); do
        grep -qs segtls "$T/cl/client.cnf" && return 0
        sleep 0.05
    done
    return 1
}
# versions - the versions s_client negotiates with the smtpd: "1.2 1.3"
versions() {
    local v got=()
    for v in 1.0:-tls1 1.1:-tls1_1 1.2:-tls1_2 1.3:-tls1_3; do
        if echo QUIT | timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" "${v#*:}" \
            -cipher 'ALL:@SECLEVEL=0' 2>/dev/null | grep -q '^New, TLSv1'; then
            got+=("${v%%:*}")
        fi
    done
    echo "${got[*]}"
}
params() { postconf -c "$PFD" -n; postconf -c "$PFD" -P; }
printf '[inbound]\nmethods=1.2-1.3\nciphers=ALL\n' >"$T/r12.conf"

"$SEGTLS_TOP/t/lib/resetpeer.py" "$RPORT" "$CERTS/rsa.pem" >"$T/resetpeer.out" 2>&1 &
RP=$!
at_exit "kill $RP"
at_exit "chattr -i $T/cl"
wait_port "$RPORT" 50 || diag "resetpeer does not listen"
base_versions=$(versions)

plan 15

# --- 1. a peer that resets as the handshake ends (issue 13 item 8) ---
before=$(params)
apply r12 reset
is "$(cat "$T/reset.rc")" 1 "reset during the probe: exit 1, not killed by SIGPIPE"
like "$(cat "$T/reset.err")" "^segtls-apply: error: Inbound SMTP $S1 \\(127.0.0.1:$RPORT\\): renegotiation was refused, but the policy says allow it; the previous configuration was restored\$" \
    "reset during the probe: says why, restored"
is "$(params)" "$before" "reset during the probe: every parameter as before"

# --- 2. the administrator and a second apply during the probe window ---
before=$(params)
apply r12 first &
FIRST=$!
written || diag "the first apply wrote nothing"
postconf -c "$PFD" -e 'smtpd_banner = $myhostname ESMTP changed by the admin'
apply r12 second &
SECOND=$!
wait "$FIRST"
first_end=$(cat "$T/first.end")
wait "$SECOND"
is "$(cat "$T/first.rc")" 1 "first apply: fails"
like "$(cat "$T/first.err")" "; the previous configuration was restored\$" "first apply: restored"
is "$(cat "$T/second.rc") $(grep -c 'cannot lock' "$T/second.err")" "1 0" \
    "second apply: waited for the lock, then failed on its own probe"
ok "$(awk -v a="$first_end" -v b="$(cat "$T/second.end")" 'BEGIN { exit !(b > a + 5) }'; echo $?)" \
    "second apply: ended after its own probe window, after the first"
is "$(postconf -c "$PFD" -h smtpd_banner)" '$myhostname ESMTP changed by the admin' \
    "the administrator's postconf -e survived both rollbacks"
is "$(params | grep -v '^smtpd_banner = ')" "$before" \
    "every parameter segtls changed is back as before the first apply"

# --- 3. a file that cannot be put back stops nothing else ---
before=$(params)
apply r12 third &
THIRD=$!
written_client || diag "the third apply wrote no client.cnf"
chattr +i "$T/cl"
wait "$THIRD"
chattr -i "$T/cl"
is "$(cat "$T/third.rc")" 1 "immutable directory: the apply fails"
like "$(cat "$T/third.err")" "; the previous configuration was restored; cannot put back $T/cl/client.cnf: " \
    "immutable directory: the file that could not be put back is named"
is "$(params)" "$before" "immutable directory: every Postfix parameter is back"
is "$(versions)" "$base_versions" "immutable directory: Postfix was reloaded and serves the previous versions"

# --- 4. postconf itself fails (master.cf immutable): nothing was written there ---
before=$(params)
chattr +i "$PFD/master.cf"
at_exit "chattr -i $PFD/master.cf"
apply r12 fourth
chattr -i "$PFD/master.cf"
like "$(cat "$T/fourth.rc") $(cat "$T/fourth.err")" "^1 segtls-apply: error: postconf -c $PFD -P .* failed \\(exit 1\\): .*; the previous configuration was restored\$" \
    "postconf -P fails: the apply fails, says so, claims nothing was changed by others"
is "$(params)" "$before" "postconf -P fails: every parameter as before"
done_testing
