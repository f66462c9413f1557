#!/bin/bash
# logparse.sh - segtls-logparse throughput against pflogsumm and wc -l.
#
# A generated Postfix log (gen-pflog, BENCH_LOG_LINES lines, default
# 1000000, seed 1) is read from the page cache by wc -l (the I/O floor),
# segtls-logparse and pflogsumm, BENCH_RUNS times each, interleaved.
# Throughput is lines per CPU second (user + system) of each program:
# the machine may be shared, and CPU time is what load does not inflate.
# Goals (issue 7): >= 20x pflogsumm, within 5x of wc -l.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/lib.sh"

LP=$(bin segtls-logparse)
GEN=$(bench_tool gen-pflog)
BT=$(bench_tool bench-time)
LINES=${BENCH_LOG_LINES:-1000000}
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
    cpu "$LP" --year 2026 "$LOG" >>"$T/lp"
    [ $have_pfs = 1 ] && cpu pflogsumm "$LOG" >>"$T/pfs"
done
# a sanity check: the parser did its job on this log
"$LP" --year 2026 --stats "$LOG" 2>"$T/stats" >/dev/null
note "logparse --stats: $(tr '\n' ',' <"$T/stats")"

rate() { div "$LINES" "$(median <"$1")"; }
lp=$(rate "$T/lp")
[ $have_pfs = 1 ] && figure logparse_vs_pflogsumm "$lp" lines/cpu-s "$(rate "$T/pfs")" lines/cpu-s ratio '>=' 20
figure logparse_vs_wc_l "$lp" lines/cpu-s "$(rate "$T/wc")" lines/cpu-s ratio '>=' 0.2
