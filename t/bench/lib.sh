# lib.sh - helpers for the segtls benchmarks (source after ../lib/tap.sh).
#
#   bench_tool NAME          path of a benchmark tool built into $BENCH_BIN
#   need NAME PATH...        print "SKIP NAME: ..." and fail unless each
#                            PATH is an executable (or a command)
#   median                   the median of the numbers on stdin (nan if one failed)
#   figure NAME VALUE UNIT BASE BUNIT ON OP GOAL [GUNIT]
#                            print one result line; ON is "ratio" or "value"
#                            (what GOAL applies to), OP is >= or <=;
#                            no OP and GOAL: no verdict; RATIO=X: the ratio
#   kv KEY TEXT              the value of KEY=VALUE in TEXT
#   pg_cpu PID               CPU seconds of the process group of PID
#                            (its live members plus reaped children)
#   pid_cpu PID              CPU seconds of one process (all threads)
#   rss_kb PID               resident set size of PID in kB
#   note TEXT                a diagnostic line on stderr ("# TEXT")
# BENCH_RUNS (default 3) is how many times each measurement is repeated;
# the figures are medians.

BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_BIN=${BENCH_BIN:-${SEGTLS_BUILD:-$SEGTLS_TOP/build}/t/bench}
TICK=$(getconf CLK_TCK)

bench_tool() { echo "$BENCH_BIN/$1"; }
note() { printf '# %s\n' "$*" >&2; }

# need NAME PATH... - every PATH is executable or a command in PATH
need() {
    local name=$1 p; shift
    for p in "$@"; do
        if [ "${p#/}" != "$p" ]; then
            [ -x "$p" ] && continue
            echo "SKIP $name: ${p##*/} not built ($p)"
        else
            command -v "$p" >/dev/null && continue
            echo "SKIP $name: $p not installed"
        fi
        return 1
    done
}

# median - of the numbers on stdin; "nan" when there are none or one failed
median() { sort -g | awk '$1 !~ /^[-+0-9.eE]+$/ { bad = 1 } { v[NR] = $1 }
    END { if (NR == 0 || bad) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1; }

# fmt N - a number with 3 significant digits, no exponent for usual sizes
fmt() { awk -v n="$1" 'BEGIN { if (n == "nan" || n == "") { print "n/a"; exit }
    a = n < 0 ? -n : n
    if (a >= 100) printf "%.0f\n", n; else if (a >= 10) printf "%.1f\n", n;
    else if (a >= 1) printf "%.2f\n", n; else printf "%.3g\n", n }'; }

# figure NAME VALUE UNIT BASE BUNIT ON OP GOAL [GUNIT] - one result line;
# without OP and GOAL (ON ratio) the ratio is shown with no verdict. With
# RATIO=X in its environment the ratio shown and judged is X (the median
# of paired per-round ratios) instead of VALUE / BASE.
figure() {
    local name=$1 v=$2 u=$3 b=$4 bu=$5 on=$6 op=${7:-} goal=${8:-} gu=${9:-}
    local ratio verdict x
    ratio=$(awk -v v="$v" -v b="$b" 'BEGIN { if (v == "nan" || b == "nan" || b + 0 == 0) print "nan"; else print v / b }')
    [ -n "${RATIO:-}" ] && ratio=$RATIO
    x=$ratio; [ "$on" = value ] && x=$v
    if [ -z "$op" ]; then
        verdict=-; gu=-
    else
        verdict=$(awk -v x="$x" -v op="$op" -v g="$goal" 'BEGIN {
            if (x == "nan" || x == "") { print "MISS"; exit }
            ok = (op == ">=") ? (x + 0 >= g + 0) : (x + 0 <= g + 0); print ok ? "PASS" : "MISS" }')
        if [ "$on" = ratio ]; then gu="${op}${goal}x"; else gu="${op}${goal} ${gu:-$u}"; fi
    fi
    printf '%-30s %10s %-12s baseline %10s %-12s ratio %7s  goal %-12s %s\n' \
        "$name" "$(fmt "$v")" "$u" "$(fmt "$b")" "$bu" "$(fmt "$ratio")" "$gu" "$verdict"
}

# _stat_cpu FILE - utime+stime (fields 14, 15) and cutime+cstime (16, 17)
# of /proc/PID/stat in ticks, as "OWN CHILDREN"
_stat_cpu() { sed 's/^.*) //' "$1" 2>/dev/null | awk '{ print $12 + $13, $14 + $15 }'; }

pid_cpu() { _stat_cpu "/proc/$1/stat" | awk -v t="$TICK" '{ printf "%.3f\n", $1 / t }'; }

pg_cpu() {
    local pgid ticks=0 f own kids
    pgid=$(ps -o pgid= -p "$1" | tr -d ' ')
    [ -n "$pgid" ] || { echo nan; return; }
    for f in $(pgrep -g "$pgid"); do
        read -r own kids < <(_stat_cpu "/proc/$f/stat") || continue
        ticks=$((ticks + own))
        [ "$f" = "$1" ] && ticks=$((ticks + kids))
    done
    awk -v n="$ticks" -v t="$TICK" 'BEGIN { printf "%.3f\n", n / t }'
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# sub A B - A - B
sub() { awk -v a="$1" -v b="$2" 'BEGIN { print a - b }'; }
# div A B - A / B (nan when B is 0)
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "nan"; else print a / b }'; }
