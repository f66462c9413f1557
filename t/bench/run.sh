#!/bin/bash
# run.sh - run the segtls benchmarks (issue 7) and print one line per figure:
#
#   name  value unit  baseline value unit  ratio X  goal Y  PASS|MISS
#
# Every baseline is measured in the same run, on the same machine; every
# figure is the median of BENCH_RUNS runs (default 3). A benchmark whose
# program is not built prints "SKIP name: reason" instead. Diagnostics go
# to stderr as "# ..." lines. BENCH_ONLY="logparse tls" selects benchmarks.
# Exit status: 0 unless a benchmark script itself failed (a MISS is a
# result, not an error).
#
#   logparse  segtls-logparse lines/s vs pflogsumm and wc -l
#   report    segtls report lines/s vs segtls-logparse reading the same file
#   tls       STARTTLS handshakes per core: standalone vs Postfix smtpd,
#             vs the crypto bound of the certificate; GUI HTTPS direct TLS
#             at 20-1000 clients: standalone vs nginx, with failure counts
#   apply     segtls-apply latency (Postfix + nginx), sessions kept
#   milter    Postfix message rate with segtls-milter vs without
#   memory    RSS of segtls-standalone and segtls-milter, 1000 connections
#   cluster   a commit reaching 3 and 10 machines (etcd, Postfix each), applied and probed
D=$(cd "$(dirname "$0")" && pwd)
export SEGTLS_TOP=${SEGTLS_TOP:-$(cd "$D/../.." && pwd)}
export SEGTLS_BUILD=${SEGTLS_BUILD:-$SEGTLS_TOP/build}
export SEGTLS_BIN=${SEGTLS_BIN:-$SEGTLS_BUILD/bin}
export BENCH_RUNS=${BENCH_RUNS:-3}
ALL="logparse report tls apply milter memory cluster"
fail=0

echo "# segtls benchmarks: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs," \
     "load $(cut -d' ' -f1-3 /proc/loadavg), median of $BENCH_RUNS runs, binaries in $SEGTLS_BIN"
t0=$(date +%s)
for b in ${BENCH_ONLY:-$ALL}; do
    if [ ! -x "$D/$b.sh" ]; then echo "SKIP $b: no such benchmark"; continue; fi
    s=$(date +%s)
    "$D/$b.sh" || { echo "# $b.sh failed (exit $?)"; fail=1; }
    echo "# $b: $(($(date +%s) - s)) s" >&2
done
echo "# total $(($(date +%s) - t0)) s"
exit $fail
