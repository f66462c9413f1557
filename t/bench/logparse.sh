#!/bin/bash
# logparse.sh - segtls-logparse throughput against pflogsumm and wc -l.
#
# A generated Postfix log (gen-pflog, BENCH_LOG_LINES lines, default
# 1000000, seed 1) is read from the page cache by wc -l (the I/O floor),
# segtls-logparse and pflogsumm, BENCH_RUNS times each, interleaved.
# Throughput is lines per CPU second (user + system) of each program:
# the machine may be shared, and CPU time is what load does not inflate.
# Goals (issue 7): >= 20x pflogsumm, within 5x of wc -l.
#
# Memory (issue 13 item 6): BENCH_MEM_SESSIONS (default 1000000) generated
# sessions, then twice as many, piped through segtls-logparse and through
# the log follower (segtls-milter --no-milter): the resident memory after
# both halves against that after the first; flat is a ratio <= 1.1
# (t/pflog-memory.t asserts the same). A half must span more log time
# than a queued message is kept without a line (6 h: 864000 sessions at
# gen-pflog's 40 a second), or the first half is still filling up.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/lib.sh"

LP=$(bin segtls-logparse)
GEN=$(bench_tool gen-pflog)
BT=$(bench_tool bench-time)
LINES=${BENCH_LOG_LINES:-1000000}
NAMES=(--syslog-name postfix --syslog-name postfix-out)        # gen-pflog's instances
need logparse "$LP" "$GEN" "$BT" || exit 0

LOG=$T/bench.log
"$GEN" --lines "$LINES" --seed 1 >"$LOG" || { echo "SKIP logparse: gen-pflog failed"; exit 0; }
note "logparse: $(wc -l <"$LOG") lines, $(($(stat -c %s "$LOG") / 1048576)) MB generated"
cat "$LOG" >/dev/null                   # into the page cache

# cpu CMD... - CPU seconds of one run (stdout discarded)
cpu() {
    "$BT" -o "$T/bt" "$@" 2>"$T/bt.err" || { note "$* failed: $(head -c 300 "$T/bt.err")"; echo nan; return; }
    note "  $(basename "$1"): $(cat "$T/bt")"
    kv cpu "$(cat "$T/bt")"
}

have_pfs=1
command -v pflogsumm >/dev/null || { have_pfs=0; echo "SKIP logparse_vs_pflogsumm: pflogsumm not installed (apt-get install pflogsumm)"; }
: >"$T/wc" >"$T/lp" >"$T/pfs"
for ((r = 0; r < BENCH_RUNS; r++)); do
    cpu wc -l "$LOG" >>"$T/wc"
    cpu "$LP" --year 2026 "${NAMES[@]}" "$LOG" >>"$T/lp"
    [ $have_pfs = 1 ] && cpu pflogsumm "$LOG" >>"$T/pfs"
done
# a sanity check: the parser did its job on this log
"$LP" --year 2026 "${NAMES[@]}" --stats "$LOG" 2>"$T/stats" >/dev/null
note "logparse --stats: $(tr '\n' ',' <"$T/stats")"

rate() { div "$LINES" "$(median <"$1")"; }
lp=$(rate "$T/lp")
[ $have_pfs = 1 ] && figure logparse_vs_pflogsumm "$lp" lines/cpu-s "$(rate "$T/pfs")" lines/cpu-s ratio '>=' 20
figure logparse_vs_wc_l "$lp" lines/cpu-s "$(rate "$T/wc")" lines/cpu-s ratio '>=' 0.2

# ---- memory over millions of sessions: logparse, then the follower ----
M=$(bin segtls-milter)
HALF=${BENCH_MEM_SESSIONS:-1000000}
# lp_rss SESSIONS - peak RSS (kB) of logparse over that many sessions
lp_rss() {
    "$GEN" --sessions "$1" | "$BT" -o "$T/bt" "$LP" "${NAMES[@]}" - >/dev/null
    sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$T/bt"
}
r1=$(lp_rss "$HALF"); r2=$(lp_rss $((2 * HALF)))
note "logparse: peak RSS $r1 kB after $HALF sessions, $r2 kB after $((2 * HALF))"
figure "logparse_rss_$((2 * HALF / 1000))k_sessions" "$(div "$r2" 1024)" MB "$(div "$r1" 1024)" MB ratio '<=' 1.1
if [ -x "$M" ]; then
    FLOG=$T/maillog; START=$(($(date +%s) - 2 * HALF / 40 - 3600))
    "$GEN" --sessions "$HALF" --seed 1 --start "$START" >"$FLOG"
    mkdir -p "$T/fstate"
    printf 'inode %s offset 0\n' "$(stat -c %i "$FLOG")" >"$T/fstate/follower"
    "$M" --no-milter -f -l "$FLOG" -o "$T/frec" -d "$T/fstate" "${NAMES[@]}" 2>"$T/ferr" &
    FP=$!
    at_exit "kill $FP"
    # caught_up - the follower's saved offset is the end of the log
    caught_up() {
        local size i
        size=$(stat -c %s "$FLOG")
        for ((i = 0; i < 6000; i++)); do
            [ "$(sed -n 's/.*offset \([0-9]*\).*/\1/p' "$T/fstate/follower" 2>/dev/null)" = "$size" ] && return 0
            kill -0 $FP 2>/dev/null || return 1
            sleep 0.1
        done
        return 1
    }
    f1=nan; f2=nan
    if caught_up; then
        f1=$(rss_kb $FP); : >"$T/frec"
        "$GEN" --sessions "$HALF" --seed 2 --start $((START + HALF / 40 + 600)) >>"$FLOG"
        caught_up && f2=$(rss_kb $FP)
    fi
    kill $FP 2>/dev/null; rm -f "$FLOG" "$T/frec"
    note "follower: RSS $f1 kB after $HALF sessions, $f2 kB after $((2 * HALF))"
    figure "follower_rss_$((2 * HALF / 1000))k_sessions" "$(div "$f2" 1024)" MB "$(div "$f1" 1024)" MB ratio '<=' 1.1
else
    echo "SKIP follower_rss: segtls-milter not built ($M)"
fi
