#!/bin/bash
# pflog-memory.t - the Postfix log parser lets go of what is over (issue
# 13 item 6): two million generated sessions (t/bench/gen-pflog: pid
# churn, sessions that end after "client=", deliveries deferred for
# good) through segtls-logparse and through the log follower
# (segtls-milter --no-milter) keep the resident memory flat: what a
# process holds after one million sessions and after two million differ
# by less than FLAT_KB. Slow (about a minute): PFLOG_MEMORY_SESSIONS sets
# the sessions of each half (default 1000000).
source "$(dirname "$0")/lib/tap.sh"

LP=$(bin segtls-logparse); M=$(bin segtls-milter)
GEN=${SEGTLS_BUILD:-$SEGTLS_TOP/build}/t/bench/gen-pflog
BT=${SEGTLS_BUILD:-$SEGTLS_TOP/build}/t/bench/bench-time
[ -x "$LP" ] && [ -x "$M" ] || skip_all "segtls-logparse or segtls-milter not built"
[ -x "$GEN" ] && [ -x "$BT" ] || skip_all "benchmark tools not built (make bench-tools)"
# Under ASan or valgrind the resident memory is the checker's (shadow
# memory, quarantine): the sessions still run, fewer, so that it checks
# every access of the parser's freeing, and the bounds are skipped.
if ldd "$LP" 2>/dev/null | grep -q libasan || [ "${SEGTLS_VALGRIND:-0}" = 1 ]; then
    CHECKER=1; HALF=${PFLOG_MEMORY_SESSIONS:-100000}
else
    CHECKER=0; HALF=${PFLOG_MEMORY_SESSIONS:-1000000}
fi
# bound COND NAME - an RSS assertion, skipped under a memory checker
bound() {
    if [ "$CHECKER" = 1 ]; then ok 0 "# SKIP $2: RSS under a memory checker is the checker's"; else ok "$1" "$2"; fi
}
FLAT_KB=4096            # growth allowed from one half to both: a leak of
                        # 4 bytes a session would pass it (the state kept
                        # before this fix grew by 30-45 MB)
MAX_KB=65536            # and a ceiling
NAMES=(--syslog-name postfix --syslog-name postfix-out)
plan 6

# ------------------------------------------------------- segtls-logparse
# rss SESSIONS - peak RSS (kB) of logparse over that many sessions
rss() {
    "$GEN" --sessions "$1" | "$BT" -o "$T/bt" "$LP" "${NAMES[@]}" - >/dev/null
    sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$T/bt"
}
r1=$(rss "$HALF"); r2=$(rss $((2 * HALF)))
diag "segtls-logparse: peak RSS $r1 kB after $HALF sessions, $r2 kB after $((2 * HALF))"
bound $([ -n "$r1" ] && [ -n "$r2" ] && [ $((r2 - r1)) -lt $FLAT_KB ]; echo $?) \
    "logparse: flat ($r1 kB, then $r2 kB: growth under $FLAT_KB kB)"
bound $([ -n "$r2" ] && [ "$r2" -lt $MAX_KB ]; echo $?) "logparse: under $MAX_KB kB"

# ------------------------------------------------- the follower (milter)
LOG=$T/maillog
START=$(($(date +%s) - 2 * HALF / 40 - 3600))  # log time ends about now
"$GEN" --sessions "$HALF" --seed 1 --start "$START" >"$LOG"
mkdir -p "$T/state"
printf 'inode %s offset 0\n' "$(stat -c %i "$LOG")" >"$T/state/follower"
"$M" --no-milter -f -l "$LOG" -o "$T/mail_logs" -d "$T/state" "${NAMES[@]}" 2>"$T/err" &
MP=$!
at_exit "kill $MP"
# caught_up - wait until the follower has read the whole log (its saved offset)
caught_up() {
    local size i
    size=$(stat -c %s "$LOG")
    for ((i = 0; i < 3000; i++)); do
        [ "$(sed -n 's/.*offset \([0-9]*\).*/\1/p' "$T/state/follower" 2>/dev/null)" = "$size" ] && return 0
        kill -0 $MP 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
caught_up; ok $? "follower: read the first $HALF sessions"
m1=$(awk '/^VmRSS:/ { print $2 }' "/proc/$MP/status")
: >"$T/mail_logs"                               # records need no disk here
"$GEN" --sessions "$HALF" --seed 2 --start $((START + HALF / 40 + 600)) >>"$LOG"
caught_up; ok $? "follower: read the next $HALF sessions"
m2=$(awk '/^VmRSS:/ { print $2 }' "/proc/$MP/status")
diag "segtls-milter --no-milter: RSS $m1 kB after $HALF sessions, $m2 kB after $((2 * HALF))"
bound $([ -n "$m1" ] && [ -n "$m2" ] && [ $((m2 - m1)) -lt $FLAT_KB ]; echo $?) \
    "follower: flat ($m1 kB, then $m2 kB: growth under $FLAT_KB kB)"
bound $([ -n "$m2" ] && [ "$m2" -lt $MAX_KB ]; echo $?) "follower: under $MAX_KB kB"
rm -f "$LOG" "$T/mail_logs"
done_testing
