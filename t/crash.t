#!/bin/bash
# crash.t - kill -9 of segtls-policyd at random moments of a commit never
# leaves a torn committed file: after each kill the file parses
# (segtls-policyd --check-config) and equals either the old or the new
# settings, and the daemon starts again on it.
#
# Each round writes a distinct pending configuration (inbound.ciphers
# ends in !R<round>) while the daemon is down - the store's documented
# STATE_DIR/pending.conf, or through `segtls set` every 20th round -
# starts policyd, runs `segtls commit` in the background and kills the
# daemon 0-20 ms later (longer on slow builds, see MAXDELAY). (Through `set` every round would be slow: the
# first warnings of a process generate the built-in RSA key.)
source "$(dirname "$0")/lib/tap.sh"

POLICYD=$(bin segtls-policyd)
SEGTLS=$(bin segtls)
[ -x "$POLICYD" ] && [ -x "$SEGTLS" ] || skip_all "segtls-policyd or segtls not built"
ROUNDS=${SEGTLS_CRASH_ROUNDS:-200}
CONF=$T/segtls.conf
STATE=$T/state
S=$T/policyd.sock
export SEGTLS_SOCKET=$S
cp "$SEGTLS_TOP/conf/segtls.conf" "$CONF"
PD=

# start_policyd - foreground daemon; PD its pid; wait until it answers
start_policyd() {
    local i
    "$POLICYD" --foreground --config "$CONF" --state-dir "$STATE" \
        --socket "$S" 2>>"$T/policyd.log" &
    PD=$!
    for ((i=0; i<500; i++)); do
        "$SEGTLS" status >/dev/null 2>&1 && return 0
        kill -0 "$PD" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}
stop_policyd() { [ -n "$PD" ] && kill -9 "$PD" 2>/dev/null; }
at_exit stop_policyd

# with_ciphers IN OUT VALUE - IN with the [inbound] ciphers set to VALUE
with_ciphers() {
    sed "/^\[inbound\]/,/^\[/s|^ciphers=.*|ciphers=$3|" "$1" >"$2"
}

start_policyd
ok $? "policyd starts"
mkdir -p "$STATE"

# The kill comes 0-20 ms after the commit starts; slower builds (ASan,
# valgrind) stretch the window to four times one CLI round trip.
t0=$(date +%s%N); "$SEGTLS" status >/dev/null; t1=$(date +%s%N)
MAXDELAY=$(( (t1 - t0) * 4 / 1000000 ))
((MAXDELAY < 20)) && MAXDELAY=20

bad=0 old=0 new=0 restarts=0 SECONDS=0
for ((r=1; r<=ROUNDS; r++)); do
    cp "$CONF" "$T/old.conf"
    value="HIGH:!aNULL:!R$r"
    with_ciphers "$T/old.conf" "$T/new.conf" "$value"
    if ((r % 20 == 0)); then
        "$SEGTLS" set inbound.ciphers "$value" >/dev/null ||
            { bad=$((bad+1)); diag "round $r: set failed"; }
    fi
    "$SEGTLS" commit -m "round $r" >/dev/null 2>&1 &
    CP=$!
    d=$((RANDOM % (MAXDELAY + 1)))
    sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
    kill -9 "$PD"; wait "$PD" 2>/dev/null; wait "$CP" 2>/dev/null
    PD=
    if ! "$POLICYD" --check-config --config "$CONF" 2>"$T/check.err"; then
        bad=$((bad+1)); diag "round $r: $(cat "$T/check.err")"
    elif cmp -s "$CONF" "$T/old.conf"; then
        old=$((old+1))
    elif cmp -s "$CONF" "$T/new.conf"; then
        new=$((new+1))
    else
        bad=$((bad+1)); diag "round $r: committed file is neither old nor new"
        diff "$T/old.conf" "$CONF" | sed 's/^/# /' >&2
    fi
    # next round's pending configuration, written while the daemon is down
    with_ciphers "$CONF" "$T/pending.tmp" "HIGH:!aNULL:!R$((r+1))"
    mv "$T/pending.tmp" "$STATE/pending.conf"
    if start_policyd; then restarts=$((restarts+1)); else
        bad=$((bad+1)); diag "round $r: policyd does not start again:" "$(tail -2 "$T/policyd.log")"
        start_policyd || break
    fi
    if ((r % 50 == 0)); then
        ok "$bad" "rounds $((r-49))-$r: committed file old or new, policyd restarts"
    fi
done
diag "$ROUNDS rounds in ${SECONDS}s, kills 0-$MAXDELAY ms after the commit started: $old kept the old file, $new the new one, $bad bad"
is "$((old+new))" "$ROUNDS" "every round left the old or the new committed file"
is "$restarts" "$ROUNDS" "policyd restarted after every kill"
ok "$([ "$new" -gt 0 ]; echo $?)" "some commits completed before the kill"
run_show=$("$SEGTLS" show 2>&1 | grep '^inbound.ciphers = ')
is "$run_show" "inbound.ciphers = $(sed -n '/^\[inbound\]/,/^\[/s/^ciphers=//p' "$CONF")" \
    "the restarted daemon serves the committed file"
"$SEGTLS" rollbackconfig list >"$T/rb" 2>&1
is "$?" 0 "rollback history still readable"
kill -TERM "$PD"; wait "$PD"
is "$?" 0 "policyd stops cleanly"
PD=
done_testing
