#!/bin/bash
# run.sh - run libFuzzer targets for a while each and print a summary.
#
#   t/fuzz/run.sh -d FUZZ_BUILD [-t SECONDS] NAME...
#
# Each NAME runs for SECONDS (default 60) on its working corpus
# FUZZ_BUILD/corpus/NAME (new inputs go there) plus the seeds in
# t/fuzz/corpus/NAME; its output goes to FUZZ_BUILD/log/NAME.log and a
# crash to FUZZ_BUILD/crash/NAME-*. The table gives the executions
# (libFuzzer's stat::number_of_executed_units) and the outcome. Exit 1
# when a target crashed, leaked or timed out.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
dir= secs=60
while getopts d:t: o; do
    case $o in
    d) dir=$OPTARG ;;
    t) secs=$OPTARG ;;
    *) echo "usage: $0 -d FUZZ_BUILD [-t SECONDS] NAME..." >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ -z "$dir" ] || [ $# -eq 0 ]; then
    echo "usage: $0 -d FUZZ_BUILD [-t SECONDS] NAME..." >&2
    exit 2
fi
mkdir -p "$dir/log" "$dir/crash" || exit 1
status=0
rows=()
for name in "$@"; do
    bin=$dir/$name
    if [ ! -x "$bin" ]; then
        echo "run.sh: $bin: not built" >&2
        exit 1
    fi
    mkdir -p "$dir/corpus/$name"
    seeds=()
    [ -d "$top/t/fuzz/corpus/$name" ] && seeds=("$top/t/fuzz/corpus/$name")
    echo "run.sh: $name for ${secs}s" >&2
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$dir/crash/$name-" \
        "$dir/corpus/$name" "${seeds[@]}" >"$dir/log/$name.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log/$name.log" | tail -1)
    corpus=$(find "$dir/corpus/$name" -type f | wc -l)
    if [ $rc -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $rc, see $dir/log/$name.log)"
        status=1
    fi
    rows+=("$(printf '%-16s %12s %8s  %s' "$name" "${execs:-?}" "$corpus" "$result")")
done
printf '%-16s %12s %8s  %s\n' target executions corpus result
for r in "${rows[@]}"; do echo "$r"; done
exit $status
