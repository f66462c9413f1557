#!/bin/bash
# milter.sh - Postfix message rate with segtls-milter attached, against
# Postfix without a milter and against two libmilter filters that do
# nothing (issue 18).
#
# smtp-source (BENCH_MILTER_SESSIONS parallel sessions, default 20, one
# message per connection, BENCH_MILTER_MSGS messages, default 10000) ->
# a private Postfix -> smtp-sink. The same instance is measured with
# these kinds of run (BENCH_MILTER_KINDS selects some):
#
#   none   no milter: the baseline
#   unix   segtls-milter (and its log follower on the instance's maillog)
#          on a unix socket, as conf/postfix-milter.cf installs it
#   null   bench-nullmilter on a unix socket: segtls-milter's protocol
#          (milter/steps.c: stages, stages without reply, macros) with
#          callbacks that only answer, and no log follower
#   min    bench-nullmilter --minimal: connect and end-of-message only,
#          no macros: what any libmilter filter costs Postfix
#   log    no milter, segtls-milter --no-milter following the log (every
#          record from the log, nothing in the mail path)
#   inet   segtls-milter on a TCP socket (inet:, for a chrooted smtpd)
#
# Postfix gets the milter_*_macros lines of conf/postfix-milter.cf (those
# segtls ships). Each of the BENCH_RUNS rounds runs every kind twice, in a
# rotated order and back (see below), after one unmeasured warm-up round
# (MSGS/10 each: Postfix starts its processes, the milter its threads)
# and one round with a single session (MSGS/50 each, rates in the notes
# only: per-message latency). A milter is started for each run with the
# socket of that run (the follower starts at the end of the log), so its
# CPU is that of the run's connections only. The rate is messages per
# second from the start of smtp-source until the queue is empty (all
# delivered to smtp-sink; 0.1 s steps); the rate at which smtp-source
# alone got its messages accepted is in the notes, as is each round's
# ratio. CPU per message: the whole Postfix instance's (all its
# processes) and the milter process's (all threads, follower included).
#
# Figures (goals of issue 18; log only keeps issue 7's); a rate figure's
# ratio is the median of the per-round ratios:
#   milter_rate          unix / none      >= 0.85
#   milter_rate_inet     inet / none      >= 0.85
#   milter_vs_null       unix / null      >= 0.97 (segtls's own share)
#   milter_vs_minimal    unix / min       (no goal: the protocol's cost)
#   null_rate, minimal_rate  null, min / none (no goal: libmilter's floor)
#   log_only_rate        log / none       >= 0.95
#   postfix_cpu_milter   Postfix CPU per message, unix / none (no goal)
#   milter_cpu_vs_null   milter CPU per message, unix / null (no goal)
# The notes give every round's ratios (the spread) and a table of the
# median CPU per message of each kind.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/postfix.sh"
source "$(dirname "$0")/lib.sh"

M=$(bin segtls-milter)
BT=$(bench_tool bench-time)
NM=$(bench_tool bench-nullmilter)
MSGS=${BENCH_MILTER_MSGS:-10000}
SESS=${BENCH_MILTER_SESSIONS:-20}
CF=$SEGTLS_TOP/conf/postfix-milter.cf
need milter "$BT" "$NM" postfix smtp-source smtp-sink || exit 0
[ "$(id -u)" = 0 ] || { echo "SKIP milter: needs root (private Postfix)"; exit 0; }
[ -x "$M" ] || { echo "SKIP milter: segtls-milter not built ($M)"; exit 0; }

PORT=$(free_port); SINK=$(free_port); MP=$(free_port)
smtp-sink -u nobody "127.0.0.1:$SINK" 256 &
at_exit "kill $!"
pf_make mta "$PORT" "$SINK" >&2 || { echo "SKIP milter: cannot create Postfix"; exit 0; }
mapfile -t MACROS < <(grep -E '^milter_[a-z_]*macro' "$CF")
[ ${#MACROS[@]} -gt 0 ] || { echo "SKIP milter: no milter_*_macros in $CF"; exit 0; }
note "macros (from conf/postfix-milter.cf): ${MACROS[*]}"
pf_postconf mta -e "smtp_tls_security_level = none" \
    "smtpd_client_connection_count_limit = 0" "smtpd_client_connection_rate_limit = 0" \
    "milter_default_action = accept" "${MACROS[@]}" \
    "smtpd_delay_open_until_valid_rcpt = no" "default_destination_concurrency_limit = 20" || exit 1
pf_start mta >&2 || { echo "SKIP milter: Postfix does not start"; exit 0; }
PFPID=$(_pf_master_pid mta)

mkdir -p "$T/log" "$T/sock" && chown nobody "$T/log" "$T/sock"   # the milter makes its state dir
MPID=
at_exit 'kill $MPID'
# milter_start KIND - start the milter of KIND on its socket and attach
# it, or (log) start segtls-milter following the log only
milter_start() {
    local spec pfspec i
    rm -f "$T/state/follower"           # follow from the end of the log
    case $1 in
    log)
        : >"$T/milter.log-only"
        "$M" -f --no-milter -l "$(pf_log mta)" -o "$T/log/mail_logs" -d "$T/state" \
            --user nobody 2>"$T/milter.log-only" &
        MPID=$!
        for ((i = 0; i < 50; i++)); do grep -q 'following .*, records to' "$T/milter.log-only" && break; sleep 0.1; done
        grep -q 'following .*, records to' "$T/milter.log-only" ||
            { note "segtls-milter --no-milter did not start: $(tail -1 "$T/milter.log-only")"; return 1; }
        return 0 ;;
    unix)
        spec="unix:$T/sock/milter.sock"; pfspec=$spec
        "$M" -f -s "$spec" -l "$(pf_log mta)" -o "$T/log/mail_logs" -d "$T/state" \
            --user nobody 2>>"$T/milter.err" & ;;
    inet)
        spec="inet:$MP@127.0.0.1"; pfspec="inet:127.0.0.1:$MP"
        "$M" -f -s "$spec" -l "$(pf_log mta)" -o "$T/log/mail_logs" -d "$T/state" \
            --user nobody 2>>"$T/milter.err" & ;;
    null|min)
        spec="unix:$T/sock/$1.sock"; pfspec=$spec
        rm -f "$T/sock/$1.sock"
        "$NM" $([ "$1" = min ] && echo --minimal) -s "$spec" 2>>"$T/milter.err" & ;;
    esac
    MPID=$!
    case $spec in
    unix:*) wait_file "${spec#unix:}" 50 ;;
    *) wait_port "$MP" 50 ;;
    esac || { note "milter $1 did not start: $(tail -1 "$T/milter.err")"; return 1; }
    pf_postconf mta -e "smtpd_milters = $pfspec" && pf_reload mta >&2
}
# milter_stop - detach and stop the milter
milter_stop() {
    pf_postconf mta -e "smtpd_milters =" && pf_reload mta >&2
    [ -n "$MPID" ] || return 0
    kill "$MPID" 2>/dev/null; wait "$MPID" 2>/dev/null; MPID=
}
# queued - messages still in the queue
queued() { find "$T/mta/spool/incoming" "$T/mta/spool/active" "$T/mta/spool/deferred" \
    "$T/mta/spool/maildrop" -type f 2>/dev/null | wc -l; }
# run KIND N - one smtp-source run of N messages; appends rate, Postfix
# and milter CPU per message to $T/{rate,pfcpu,mcpu}.KIND
run() {
    local kind=$1 n=$2 i p0 p1 m0=0 m1=0 wall t0 e2e perf_pid pids_pid strace_pid=
    if [ "$kind" = none ]; then milter_stop; else milter_start "$kind" || return 1; fi
    p0=$(pg_cpu "$PFPID"); [ -n "$MPID" ] && m0=$(pid_cpu "$MPID")
    if [ -n "${PERF_OUT:-}" ]; then
        perf record -q -e cpu-clock -F 1999 -a -g -o "$PERF_OUT" 2>"$T/perf.err" &
        perf_pid=$!
        # the processes of this Postfix and milter (other jobs share the machine)
        (pg=$(ps -o pgid= -p "$PFPID" | tr -d ' ')
         while :; do pgrep -g "$pg"; [ -z "$MPID" ] || echo "$MPID"; sleep 0.1; done) >"$PERF_OUT.pids" &
        pids_pid=$!
        sleep 1
    fi
    # STRACE_OUT=FILE: the milter's system calls, counted (a run of its own:
    # strace slows the milter down)
    if [ -n "${STRACE_OUT:-}" ] && [ -n "$MPID" ]; then
        strace -c -f -q -p "$MPID" -o "$STRACE_OUT" & strace_pid=$!
        sleep 1
    fi
    t0=$(date +%s.%N)
    "$BT" -o "$T/bt" smtp-source -s "$SESS" -m "$n" -l 2048 -f a@example.org -t b@example.net \
        "127.0.0.1:$PORT" 2>"$T/src.err" || note "smtp-source: $(tail -1 "$T/src.err")"
    wall=$(kv wall "$(cat "$T/bt")")
    for ((i = 0; i < 1200 && $(queued) > 0; i++)); do sleep 0.1; done
    e2e=$(sub "$(date +%s.%N)" "$t0")
    p1=$(pg_cpu "$PFPID"); [ -n "$MPID" ] && m1=$(pid_cpu "$MPID")
    [ -z "$strace_pid" ] || { kill -INT "$strace_pid"; wait "$strace_pid"; }
    [ -z "${PERF_OUT:-}" ] || { kill -INT "$perf_pid"; kill "$pids_pid"; wait "$perf_pid" "$pids_pid"
                                sort -un -o "$PERF_OUT.pids" "$PERF_OUT.pids"; }
    [ "$kind" = none ] || milter_stop
    note "  $kind: $n messages accepted in ${wall}s ($(fmt "$(div "$n" "$wall")")/s), delivered in" \
        "${e2e}s ($(fmt "$(div "$n" "$e2e")")/s), Postfix CPU $(sub "$p1" "$p0")s, milter CPU $(sub "$m1" "$m0")s"
    div "$n" "$e2e" >>"$T/rate.$kind"
    div "$(sub "$p1" "$p0")" "$n" >>"$T/pfcpu.$kind"
    div "$(sub "$m1" "$m0")" "$n" >>"$T/mcpu.$kind"
}
# ratios A B - the round ratios of kind A to kind B
ratios() { paste "$T/round.$1" "$T/round.$2" | awk '{ printf "%s%.3f", (NR > 1 ? " " : ""), $1 / $2 }'; }

read -r -a KINDS <<<"${BENCH_MILTER_KINDS:-none unix null min log inet}"
# has KIND - KIND is measured in this run
has() { [[ " ${KINDS[*]} " == *" $1 "* ]]; }
# BENCH_MILTER_PROFILE=DIR: no rounds, but after the warm-up one run of
# MSGS/2 messages per kind under a system-wide perf profile (cpu-clock,
# call graphs) in DIR/perf.KIND (DIR/perf.KIND.pids: the processes of
# the run), then one of MSGS/10 under strace -c (DIR/strace.KIND: the
# milter's system calls); t/bench/milter-profile.sh reads them
if [ -n "${BENCH_MILTER_PROFILE:-}" ]; then
    command -v perf >/dev/null || { echo "SKIP milter profile: perf not installed"; exit 0; }
    mkdir -p "$BENCH_MILTER_PROFILE"
    for k in "${KINDS[@]}"; do run "$k" $((MSGS / 10)); done
    for k in "${KINDS[@]}"; do PERF_OUT=$BENCH_MILTER_PROFILE/perf.$k run "$k" $((MSGS / 2)); done
    for k in "${KINDS[@]}"; do
        [ "$k" = none ] || STRACE_OUT=$BENCH_MILTER_PROFILE/strace.$k run "$k" $((MSGS / 10))
    done
    exit 0
fi
for k in "${KINDS[@]}"; do run "$k" $((MSGS / 10)); done      # warm-up
# one session at a time: a latency stall per message shows here at once
# (a 40 ms delayed ACK on TCP made this 20 msg/s instead of 400)
for k in "${KINDS[@]}"; do SESS=1 run "$k" $((MSGS / 50)); done
for k in "${KINDS[@]}"; do : >"$T/rate.$k" >"$T/pfcpu.$k" >"$T/mcpu.$k" >"$T/round.$k"; done
# A round runs every kind twice with half the messages, in an order and
# then in its reverse (none unix ... inet inet ... unix none), the order
# rotated by one each round: the machine's drift (Postfix's CPU per
# message grows during a long run here, other jobs come and go) falls
# equally on each kind. The round's rate of a kind is its messages over
# the two runs' time.
K=${#KINDS[@]}
for ((r = 0; r < BENCH_RUNS; r++)); do
    order=()
    for ((j = 0; j < K; j++)); do order+=("${KINDS[(r + j) % K]}"); done
    for ((j = 0; j < 2 * K; j++)); do
        k=${order[j < K ? j : 2 * K - 1 - j]}
        run "$k" $((MSGS / 2))
        [ $j -lt $K ] || { tail -2 "$T/rate.$k" | awk '{ t += 1 / $1 } END { print 2 / t }' >>"$T/round.$k"; }
    done
    line="  round $((r + 1)): rate ratio to none:"
    for k in "${KINDS[@]}"; do
        [ "$k" = none ] || ! has none || line+=" $k $(fmt "$(div "$(tail -1 "$T/round.$k")" "$(tail -1 "$T/round.none")")")"
    done
    has none && note "$line"
done
us() { awk '{ print $1 * 1e6 }' "$1" | median; }
note "CPU per message, median of the runs (us): Postfix / milter"
for k in "${KINDS[@]}"; do note "  $k: $(fmt "$(us "$T/pfcpu.$k")") / $(fmt "$(us "$T/mcpu.$k")")"; done
# both KINDS... are measured
both() { has "$1" && has "$2"; }
both none unix && note "round ratios (spread): $(for k in unix inet null min log; do has "$k" && printf '%s/none [%s]  ' "$k" "$(ratios "$k" none)"; done)"
both unix null && note "round ratios (spread): unix/null [$(ratios unix null)]"
both unix min && note "round ratios (spread): unix/min [$(ratios unix min)]"
has unix && note "ICID records: $(grep -c 'New SMTP ICID' "$T/log/mail_logs")"
rate() { median <"$T/round.$1"; }
# rfig NAME A B [OP GOAL] - kind A's rate against kind B's: the ratio
# judged is the median of the per-round ratios (paired, same drift)
rfig() { RATIO=$(ratios "$2" "$3" | tr ' ' '\n' | median) figure "$1" "$(rate "$2")" msg/s "$(rate "$3")" msg/s ratio "${@:4}"; }
both unix none && rfig milter_rate unix none '>=' 0.85
both inet none && rfig milter_rate_inet inet none '>=' 0.85
both unix null && rfig milter_vs_null unix null '>=' 0.97
both unix min && rfig milter_vs_minimal unix min
both null none && rfig null_rate null none
both min none && rfig minimal_rate min none
both log none && rfig log_only_rate log none '>=' 0.95
both unix none && figure postfix_cpu_milter "$(us "$T/pfcpu.unix")" us/msg "$(us "$T/pfcpu.none")" us/msg ratio
both unix null && figure milter_cpu_vs_null "$(us "$T/mcpu.unix")" us/msg "$(us "$T/mcpu.null")" us/msg ratio
exit 0
