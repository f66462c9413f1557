#!/bin/bash
# milter-profile.sh - where the CPU goes when Postfix has a milter
# (make bench-profile): segtls-milter, the null filter with its protocol
# and the minimal filter, against Postfix alone.
#
# milter.sh in its profile mode (BENCH_MILTER_PROFILE) runs each kind
# once under a system-wide perf profile (cpu-clock) and once with the
# milter under strace -c. Printed per kind: the CPU samples of this run's
# processes (the Postfix instance, smtp-source and smtp-sink left out)
# per message and by program; the milter's samples by library and its
# hottest functions; its system calls per message. Other jobs on the
# machine are not counted (the run's pids are recorded as it goes).
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/lib.sh"

command -v perf >/dev/null && command -v strace >/dev/null ||
    { echo "SKIP milter-profile: needs perf and strace"; exit 0; }
MSGS=${BENCH_MILTER_MSGS:-6000}
export BENCH_MILTER_MSGS=$MSGS BENCH_MILTER_KINDS="${BENCH_MILTER_KINDS:-none unix null min}"
BENCH_MILTER_PROFILE=$T/prof "$(dirname "$0")/milter.sh" 2>"$T/milter.err" | grep '^SKIP' && exit 0
N=$((MSGS / 2))                         # messages of a profiled run
NS=$((MSGS / 10))                       # of a straced run
HZ=1999                                 # perf's sampling rate (milter.sh)
# samples KIND - "comm dso symbol" of every sample of the run's processes
samples() {
    perf script -i "$T/prof/perf.$1" -F pid,comm,ip,sym,dso 2>/dev/null |
        awk -v pids="$T/prof/perf.$1.pids" 'BEGIN { while ((getline p <pids) > 0) ok[p] = 1 }
            /^[^\t]/ && NF >= 2 { keep = ($NF in ok); comm = $1; for (i = 2; i < NF; i++) comm = comm "_" $i
                                  top = 1; next }
            keep && top && /^\t/ && NF >= 3 { sym = $2; dso = $NF; gsub(/[()]/, "", dso); n = split(dso, d, "/")
                                               print comm, d[n], sym; top = 0 }'
}
for k in $BENCH_MILTER_KINDS; do
    [ -f "$T/prof/perf.$k" ] || continue
    samples "$k" >"$T/s.$k"
    echo "# $k: $(awk -v n=$N -v hz=$HZ 'END { printf "%.0f", NR / hz / n * 1e6 }' "$T/s.$k") us CPU per message (perf), by program:"
    awk -v n=$N -v hz=$HZ '{ c[$1]++ } END { for (p in c) printf "%8.0f us  %s\n", c[p] / hz / n * 1e6, p }' "$T/s.$k" |
        sort -rn | head -8
done
for k in unix null min; do
    [ -f "$T/s.$k" ] || continue
    m=$([ "$k" = unix ] && echo segtls-milter || echo bench-nullmilte)
    echo "# $k: the milter's samples by library (us per message) and its 12 hottest functions"
    awk -v m="$m" -v n=$N -v hz=$HZ '$1 == m || ($1 != "" && m == "segtls-milter" && ($1 == "follower" || $1 == "ids")) { c[$2]++ }
        END { for (d in c) printf "%8.1f us  %s\n", c[d] / hz / n * 1e6, d }' "$T/s.$k" | sort -rn | head -6
    awk -v m="$m" '$1 == m || (m == "segtls-milter" && ($1 == "follower" || $1 == "ids")) { c[$3 " (" $2 ")"]++; t++ }
        END { for (s in c) printf "%6.1f%%  %s\n", 100 * c[s] / t, s }' "$T/s.$k" | sort -rn | head -12
    [ -f "$T/prof/strace.$k" ] &&
        { echo "# $k: system calls per message (strace -c, $NS messages)"
          awk -v n=$NS '$1 ~ /^[0-9.]+$/ && $4 ~ /^[0-9]+$/ { printf "%8.1f  %s\n", $4 / n, $NF }' \
              "$T/prof/strace.$k" | sort -rn | head -12; }
done
