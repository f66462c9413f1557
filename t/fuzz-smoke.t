#!/bin/bash
# fuzz-smoke.t - build the libFuzzer targets (t/fuzz.mk), run each one
# for FUZZ_SMOKE_SECONDS (default 10: the issue suggests 30, but there
# are ten targets and the CI budget is shared) from its seed
# corpus, then run every saved crash input in t/fuzz/regress/NAME/ once.
# Skipped when clang cannot link -fsanitize=fuzzer (no libclang-rt-14-dev).
# The build goes to ${SEGTLS_BUILD}-fuzz; crashes are kept in its crash/.
source "$(dirname "$0")/lib/tap.sh"

secs=${FUZZ_SMOKE_SECONDS:-10}
build=${SEGTLS_BUILD:-$SEGTLS_TOP/build}
fbuild=$build-fuzz

command -v clang >/dev/null 2>&1 || skip_all "clang is not installed"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$T/probe.c"
clang -fsanitize=fuzzer,address,undefined -o "$T/probe" "$T/probe.c" >/dev/null 2>&1 ||
    skip_all "clang cannot link -fsanitize=fuzzer (libclang-rt-14-dev missing)"

# build: a make of its own, outside the jobserver of a surrounding make
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    make -C "$SEGTLS_TOP" -j"$(nproc 2>/dev/null || echo 2)" \
    BUILD="$build" FUZZ_BUILD="$fbuild" fuzz-build >"$T/build.log" 2>&1
rc=$?
ok $rc "fuzz targets build in $fbuild"
if [ $rc -ne 0 ]; then
    tail -20 "$T/build.log" | sed 's/^/# /' >&2
    done_testing
    exit 1
fi

mkdir -p "$fbuild/crash"
names=()
for src in "$SEGTLS_TOP"/t/fuzz/fuzz_*.c; do
    n=${src##*/}
    names+=("${n%.c}")
done

# run_target NAME - fuzz for $secs seconds from the seeds
run_target() {
    local name=$1 log=$T/$1.log execs rc
    mkdir -p "$T/corpus/$name"
    "$fbuild/$name" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$fbuild/crash/$name-" \
        "$T/corpus/$name" "$SEGTLS_TOP/t/fuzz/corpus/$name" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    ok $rc "$name: ${execs:-?} executions in ${secs}s"
    if [ $rc -ne 0 ]; then
        grep -E '^(==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)' "$log" |
            head -20 | sed 's/^/# /' >&2
    fi
}

# run_regress NAME FILE - one saved input, once
run_regress() {
    local log=$T/regress.log rc
    "$fbuild/$1" -runs=1 "$2" >"$log" 2>&1
    rc=$?
    ok $rc "$1: regression input ${2##*/}"
    [ $rc -eq 0 ] || grep -E '^(==[0-9]+==|SUMMARY)' "$log" | head -10 | sed 's/^/# /' >&2
}

for name in "${names[@]}"; do
    run_target "$name"
done
for name in "${names[@]}"; do
    for f in "$SEGTLS_TOP/t/fuzz/regress/$name"/*; do
        [ -f "$f" ] && run_regress "$name" "$f"
    done
done
done_testing
