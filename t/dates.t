#!/bin/bash
# dates.t - the gateway's timestamps on pinned dates (libfaketime): a
# one-digit day, a two-digit day, a month and year boundary and both DST
# changes in Europe/Berlin. Exact bytes of the commit line, the rollback
# entry and a new record file's header, the year of December's Postfix
# log read on the 1st of January, and the suites that print or parse
# timestamps (policyd.t, logparse.t) run whole on each date.
source "$(dirname "$0")/lib/tap.sh"

POLICYD=$(bin segtls-policyd)
SEGTLS=$(bin segtls)
LP=$(bin segtls-logparse)
FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -x "$POLICYD" ] && [ -x "$SEGTLS" ] && [ -x "$LP" ] || skip_all "programs not built"
[ -r "$FT" ] || FT=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -1)
[ -n "$FT" ] && [ -r "$FT" ] || skip_all "libfaketime not installed (make deps)"
D=$SEGTLS_TOP/t/data/pflog

# zone, epoch second, the gateway's text of it
CASES=(
    "UTC 1796497478 Sat Dec  5 19:04:38 2026"
    "Europe/Berlin 1796497478 Sat Dec  5 20:04:38 2026"
    "Europe/Berlin 1796929478 Thu Dec 10 20:04:38 2026"
    "UTC 1798761599 Thu Dec 31 23:59:59 2026"
    "Europe/Berlin 1798758000 Fri Jan  1 00:00:00 2027"
    "Europe/Berlin 1774746000 Sun Mar 29 03:00:00 2026"
    "Europe/Berlin 1792890000 Sun Oct 25 02:00:00 2026"
)
plan $(( ${#CASES[@]} * 8 ))

# pinned EPOCH CMD... - CMD with the wall clock frozen at EPOCH. ASan must
# accept a preloaded library; monotonic time stays real (timeouts).
pinned() {
    local at=$1
    shift
    LD_PRELOAD=$FT FAKETIME_FMT=%s FAKETIME=$at FAKETIME_DONT_FAKE_MONOTONIC=1 \
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 "$@"
}
# running EPOCH CMD... - the same, the clock starting at EPOCH and running
running() {
    local at=$1
    shift
    LD_PRELOAD=$FT FAKETIME_FMT=%s FAKETIME=@$at FAKETIME_DONT_FAKE_MONOTONIC=1 \
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 "$@"
}
# ascii_only FILE - no byte outside printable ASCII but newlines
ascii_only() {
    ! LC_ALL=C grep -q '[^[:print:]]' "$1"
}

n=0
for c in "${CASES[@]}"; do
    read -r zone at want <<<"$c"
    n=$((n + 1))
    W=$T/case$n
    mkdir -p "$W/etc"
    export TZ=$zone
    S=$W/policyd.sock
    env LD_PRELOAD="$FT" FAKETIME_FMT=%s FAKETIME="$at" FAKETIME_DONT_FAKE_MONOTONIC=1 \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$POLICYD" --foreground --config "$W/etc/segtls.conf" --state-dir "$W/state" \
        --socket "$S" --pidfile "$W/policyd.pid" 2>>"$W/policyd.log" &
    pd=$!
    at_exit "kill -9 $pd"
    for ((i=0; i<500; i++)); do
        SEGTLS_SOCKET=$S "$SEGTLS" status >/dev/null 2>&1 && break
        sleep 0.01
    done
    SEGTLS_SOCKET=$S "$SEGTLS" set inbound.methods 1.2-1.3 >/dev/null
    SEGTLS_SOCKET=$S pinned "$at" "$SEGTLS" commit -m pinned >"$W/commit" 2>&1
    is "$(head -1 "$W/commit")" "Changes committed: $want" "$zone $want: commit line, exact bytes"
    SEGTLS_SOCKET=$S "$SEGTLS" rollbackconfig list >"$W/rb" 2>&1
    like "$(cat "$W/rb")" "^1\\. before: pinned, committed $want by root"$'\n' "$zone $want: rollback entry time"
    kill "$pd"
    wait "$pd"
    is "$?" 0 "$zone $want: policyd stops on SIGTERM"

    # a new record file's header, and December's lines read on this date
    pinned "$at" "$LP" -o "$W/mail_logs" "$D/mta-maillog.log"
    is "$(head -1 "$W/mail_logs")" "$want Info: Begin Logfile" "$zone $want: record header time"
    ok "$(ascii_only "$W/commit" && ascii_only "$W/rb" && ascii_only "$W/mail_logs"; echo $?)" \
        "$zone $want: only ASCII in every timestamp"
    TZ=UTC pinned "$at" "$LP" "$D/mta-maillog.log" >"$W/guess.out"
    if [ "$at" -ge 1795824000 ]; then   # from Nov 28 2026 the log is this year's
        diff_ref "$D/mta-maillog.ref" "$W/guess.out" "$zone $want: Nov 27 lines are 2026 without --year"
    else                                # before it, last year's
        is "$(head -1 "$W/guess.out")" "Thu Nov 27 23:20:06 2025 Info: New SMTP ICID 1 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes" \
            "$zone $want: Nov 27 lines are 2025 without --year"
    fi

    # whole suites on this date, clock running
    running "$at" prove --exec '' "$SEGTLS_TOP/t/policyd.t" >"$W/policyd.prove" 2>&1
    ok $? "$zone $want: t/policyd.t passes"
    running "$at" prove --exec '' "$SEGTLS_TOP/t/logparse.t" >"$W/logparse.prove" 2>&1
    ok $? "$zone $want: t/logparse.t passes"
    [ $? -eq 0 ] || sed 's/^/# /' "$W/policyd.prove" "$W/logparse.prove" | grep -v '^# ok' >&2
done
