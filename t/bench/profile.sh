#!/bin/bash
# profile.sh - where segtls-logparse spends its time (make bench-profile).
#
# perf record with DWARF call graphs over a generated log (BENCH_PROFILE_LINES,
# default 300000), then two tables: self time per function, and time per
# function including its callees (the project's functions and the libc/GLib
# ones they call). Without a usable perf it falls back to callgrind on a
# smaller log. SEGTLS_KEEP=1 keeps the raw data in $T. SEGTLS_BUILD=DIR
# profiles the programs built there, as run.sh measures them.
if [ -n "${SEGTLS_BUILD:-}" ]; then
    export SEGTLS_BIN=${SEGTLS_BIN:-$SEGTLS_BUILD/bin}
fi
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/lib.sh"

LP=$(bin segtls-logparse)
GEN=$(bench_tool gen-pflog)
LINES=${BENCH_PROFILE_LINES:-300000}
need profile "$LP" "$GEN" || exit 0
"$GEN" --lines "$LINES" --seed 1 >"$T/p.log" || exit 1

if command -v perf >/dev/null &&
    perf record -q --call-graph dwarf,16384 -F 4000 -o "$T/perf.data" -- \
        "$LP" --year 2026 "$T/p.log" >/dev/null 2>"$T/perf.err"; then
    echo "# segtls-logparse, $LINES lines: self time (perf, $(perf report -i "$T/perf.data" --stdio 2>/dev/null | sed -n 's/^# Samples: \([^ ]*\).*/\1/p' | head -1) samples)"
    perf report -i "$T/perf.data" --stdio --no-children --sort symbol,dso 2>/dev/null |
        grep -E '^ +[0-9.]+%' | head -25
    echo "# including callees (project functions and what they call)"
    perf report -i "$T/perf.data" --stdio --children --sort symbol 2>/dev/null |
        grep -E '^ +[0-9.]+% +[0-9.]+%' | grep -v '\[k\]' | grep -vE '_start|libc_start|0x0000' | head -40
elif command -v valgrind >/dev/null; then
    head -n 50000 "$T/p.log" >"$T/small.log"
    valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" "$LP" --year 2026 "$T/small.log" >/dev/null 2>"$T/cg.err"
    echo "# segtls-logparse, 50000 lines: inclusive instruction counts (callgrind)"
    callgrind_annotate --inclusive=yes "$T/cg.out" 2>/dev/null | head -50
else
    echo "SKIP profile: neither perf nor valgrind"
fi
