#!/bin/bash
# readonly.t - the read-only socket of segtls-policyd (issue 13 item 18).
#
# --read-socket serves the readers (segtls-standalone's settings, status
# pages, monitoring) in their own --read-group: show, status,
# rollbackconfig list and commitdetail answer there; every request that
# would change something is refused with one line, so a reader never
# needs the group that may set and commit.
#
# The second part creates two test groups and their members (removed at
# exit) and needs root; the first part runs as any user.
source "$(dirname "$0")/lib/tap.sh"

POLICYD=$(bin segtls-policyd)
SEGTLS=$(bin segtls)
[ -x "$POLICYD" ] && [ -x "$SEGTLS" ] || skip_all "segtls-policyd or segtls not built"
CONF=$T/etc/segtls.conf
mkdir -p "$T/etc"

run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err"); }
# start_policyd DIR ARGS... - control socket DIR/policyd.sock, read-only DIR/read.sock
start_policyd() {
    local d=$1 i; shift
    S=$d/policyd.sock
    R=$d/read.sock
    "$POLICYD" --foreground --config "$CONF" --state-dir "$T/state" --socket "$S" \
        --read-socket "$R" "$@" 2>>"$T/policyd.log" &
    PD=$!
    at_exit "kill -9 $PD"
    for ((i=0; i<500; i++)); do
        "$SEGTLS" --socket "$R" status >/dev/null 2>&1 && return 0
        sleep 0.01
    done
    return 1
}
DENIED="changes the settings and this connection may only read"

start_policyd "$T/run"
ok $? "policyd serves a read-only socket"
is "$(stat -c %a "$R") $(stat -c %a "$T/run")" "660 755" \
    "read-only socket 0660; the shared directory 0755 (its readers are in another group)"
"$SEGTLS" --socket "$S" set inbound.methods 1.2-1.3 >/dev/null
"$SEGTLS" --socket "$S" commit -m "inbound 1.2-1.3" >/dev/null

run "$SEGTLS" --socket "$R" show
like "$RC $OUT" $'^0 .*\ninbound.methods = 1.2-1.3\n' "show on the read-only socket"
run "$SEGTLS" --socket "$R" status
like "$RC $OUT" $'\nConnected as: [^\n]* \\(read-only\\)\n' "status on the read-only socket says so"
like "$OUT" $'\nGUI HTTPS TLS renegotiation: Enabled \\(nginx cannot renegotiate; not applied\\)\nInbound SMTP TLS renegotiation: Enabled$' \
    "status: renegotiation as it really holds"
run "$SEGTLS" --socket "$R" rollbackconfig list
like "$RC $OUT" '^0 1\. before: inbound 1\.2-1\.3, committed ' "rollbackconfig list on the read-only socket"
run "$SEGTLS" --socket "$R" commitdetail
like "$RC $OUT" '^0 Last commit: ' "commitdetail on the read-only socket"

run "$SEGTLS" --socket "$R" set inbound.methods 1.3
is "$RC $ERR" "1 segtls: permission denied: set $DENIED" "set on the read-only socket: one-line refusal"
run "$SEGTLS" --socket "$R" rollbackconfig restore 1
is "$RC $ERR" "1 segtls: permission denied: rollback_restore $DENIED" "restore refused"
run "$SEGTLS" --socket "$R" raw '{"op":"commit","comment":"x"}'
is "$OUT" "{\"ok\":false,\"error\":\"permission denied: commit $DENIED\"}" "commit refused"
run "$SEGTLS" --socket "$R" raw '{"op":"clear"}'
is "$OUT" "{\"ok\":false,\"error\":\"permission denied: clear $DENIED\"}" "clear refused"
run "$SEGTLS" --socket "$S" show
like "$OUT" $'\nNo pending changes.\n' "nothing changed through the read-only socket"
run "$SEGTLS" --socket "$S" status
like "$OUT" $'\nConnected as: [^\n(]*\n' "the control socket is read-write"
kill -TERM "$PD"; wait "$PD" 2>/dev/null
ok "$([ ! -e "$R" ] && [ ! -e "$S" ]; echo $?)" "both sockets removed at exit"

run "$POLICYD" --foreground --config "$CONF" --socket "$T/x.sock" --read-socket "$T/x.sock"
is "$RC $ERR" "2 segtls-policyd: fatal: --read-socket and --socket must differ" "one path for both: usage error"
run "$POLICYD" --foreground --config "$CONF" --socket "$T/x.sock" --read-group root
is "$RC $ERR" "2 segtls-policyd: fatal: --read-group needs --read-socket" "--read-group alone: usage error"

# --- groups: a reader is not a writer ------------------------------------
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v runuser >/dev/null; then
    for i in 1 2 3 4 5; do ok 0 "# SKIP needs root, useradd and runuser"; done
    done_testing; exit
fi
W=segtls-t3w; RG=segtls-t3r; RM=segtls-t3rm
for g in "$W" "$RG"; do
    getent group "$g" >/dev/null || { groupadd -r "$g" && at_exit "groupdel $g"; }
done
getent passwd "$RM" >/dev/null || { useradd -r -M -d /nonexistent -s /usr/sbin/nologin -G "$RG" "$RM" &&
    at_exit "userdel $RM"; }
start_policyd "$T/run2" --group "$W" --read-group "$RG"
ok $? "policyd with --group $W --read-group $RG"
is "$(stat -c '%a %G' "$S") $(stat -c '%a %G' "$R")" "660 $W 660 $RG" "each socket in its group"
run runuser -u "$RM" -- "$SEGTLS" --socket "$R" status
is "$RC" 0 "a member of $RG reads on the read-only socket"
run runuser -u "$RM" -- "$SEGTLS" --socket "$R" set inbound.methods 1.3
is "$RC $ERR" "1 segtls: permission denied: set $DENIED" "... and cannot change anything"
run runuser -u "$RM" -- "$SEGTLS" --socket "$S" set inbound.methods 1.3
is "$RC $ERR" "1 segtls: cannot reach segtls-policyd at $S: Permission denied" \
    "... nor reach the control socket"
kill -TERM "$PD"; wait "$PD" 2>/dev/null
done_testing
