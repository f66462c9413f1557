#!/bin/bash
# report.sh - segtls report throughput, as a ratio to segtls-logparse on
# the same file (issue 17).
#
# Records with a known report (t/lib/gen-records.py, BENCH_REPORT_SCALE,
# default 6000: about 2.8 million lines) are read from the page cache by
# segtls-report --csv and by segtls-logparse (which finds no Postfix line
# in them: its reading and line scanning, the floor of any reader),
# BENCH_RUNS times each; lines per CPU second of each. Goal: a month of
# a busy host (10 million lines) in seconds on one core, i.e. >= 2
# million lines/cpu-s; and at least a tenth of segtls-logparse's rate,
# which only scans each line's start (the report parses every record).
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/lib.sh"

RP=$(bin segtls-report)
LP=$(bin segtls-logparse)
BT=$(bench_tool bench-time)
need report "$RP" "$LP" "$BT" python3 || exit 0
LOG=$T/mail_logs
TZ=UTC python3 "$SEGTLS_TOP/t/lib/gen-records.py" --scale "${BENCH_REPORT_SCALE:-6000}" "$LOG" "$T/expect.csv" ||
    { echo "SKIP report: gen-records failed"; exit 0; }
LINES=$(wc -l <"$LOG")
note "report: $LINES lines, $(($(stat -c %s "$LOG") / 1048576)) MB generated"
TZ=UTC "$RP" --csv "$LOG" >"$T/got" && cmp -s "$T/got" "$T/expect.csv" ||
    note "report: WRONG figures on the bench file"

cpu() {
    TZ=UTC "$BT" -o "$T/bt" "$@" 2>"$T/bt.err" || { note "$* failed: $(head -c 300 "$T/bt.err")"; echo nan; return; }
    note "  $(basename "$1"): $(cat "$T/bt")"
    kv cpu "$(cat "$T/bt")"
}
: >"$T/rp" >"$T/lp"
for ((r = 0; r < BENCH_RUNS; r++)); do
    cpu "$RP" --csv "$LOG" >>"$T/rp"
    cpu "$LP" --year 2026 "$LOG" >>"$T/lp"
done
rate() { div "$LINES" "$(median <"$1")"; }
rp=$(rate "$T/rp")
figure report_vs_logparse "$rp" lines/cpu-s "$(rate "$T/lp")" lines/cpu-s ratio '>=' 0.1
figure report_lines_per_cpu_s "$rp" lines/cpu-s "$(rate "$T/lp")" lines/cpu-s value '>=' 2000000
