#!/bin/bash
# milter.sh - Postfix message rate with segtls-milter attached vs without.
#
# smtp-source (BENCH_MILTER_SESSIONS parallel sessions, default 20, one
# message per connection, BENCH_MILTER_MSGS messages, default 10000) ->
# a private Postfix -> smtp-sink. The same instance is measured without
# and with smtpd_milters = segtls-milter (with its log follower on the
# instance's maillog), alternately, BENCH_RUNS times each. The rate is
# messages per second from the start of smtp-source until the queue is
# empty (all delivered to smtp-sink; 0.1 s steps); the rate at which
# smtp-source alone got its messages accepted is shown in the notes. Milter CPU per connection is its process
# CPU time (all threads, follower included) over the connections; the
# baseline is the whole Postfix instance's CPU per connection without it.
# Goals (issue 7): >= 95% of the no-milter rate; milter CPU per connection
# reported in us (goal here: <= 5% of Postfix's own, the same 95%).
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/postfix.sh"
source "$(dirname "$0")/lib.sh"

M=$(bin segtls-milter)
BT=$(bench_tool bench-time)
MSGS=${BENCH_MILTER_MSGS:-10000}
SESS=${BENCH_MILTER_SESSIONS:-20}
need milter "$BT" postfix smtp-source smtp-sink || exit 0
[ "$(id -u)" = 0 ] || { echo "SKIP milter: needs root (private Postfix)"; exit 0; }
[ -x "$M" ] || { echo "SKIP milter: segtls-milter not built ($M)"; exit 0; }

PORT=$(free_port); SINK=$(free_port); MP=$(free_port)
smtp-sink -u nobody "127.0.0.1:$SINK" 256 &
at_exit "kill $!"
pf_make mta "$PORT" "$SINK" >&2 || { echo "SKIP milter: cannot create Postfix"; exit 0; }
pf_postconf mta -e "smtp_tls_security_level = none" \
    "smtpd_client_connection_count_limit = 0" "smtpd_client_connection_rate_limit = 0" \
    "milter_default_action = accept" \
    'milter_macro_v = $mail_name $mail_version smtpd-pid=$process_id' \
    'milter_connect_macros = j {daemon_name} {daemon_addr} v _ {client_addr} {client_port} {client_name} {client_ptr} {client_resolve}' \
    'milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer} {tls_version} {cipher}' \
    "smtpd_delay_open_until_valid_rcpt = no" "default_destination_concurrency_limit = 20" || exit 1
pf_start mta >&2 || { echo "SKIP milter: Postfix does not start"; exit 0; }
PFPID=$(_pf_master_pid mta)

mkdir -p "$T/log" && chown nobody "$T/log"
"$M" -f -s "inet:$MP@127.0.0.1" -l "$(pf_log mta)" -o "$T/log/mail_logs" -d "$T/state" \
    --user nobody 2>>"$T/milter.err" &
MPID=$!
at_exit "kill $MPID"
wait_port "$MP" 50 || { echo "SKIP milter: segtls-milter did not start: $(tail -1 "$T/milter.err")"; exit 0; }

# queued - messages still in the queue
queued() { find "$T/mta/spool/incoming" "$T/mta/spool/active" "$T/mta/spool/deferred" \
    "$T/mta/spool/maildrop" -type f 2>/dev/null | wc -l; }
# use_milter 0|1 - detach or attach the milter
use_milter() {
    if [ "$1" = 1 ]; then pf_postconf mta -e "smtpd_milters = inet:127.0.0.1:$MP"
    else pf_postconf mta -e "smtpd_milters ="; fi
    pf_reload mta >&2
}
# run WITH - one smtp-source run; appends rate, Postfix and milter CPU
run() {
    local with=$1 i p0 p1 m0 m1 wall n0 n1 t0 e2e
    use_milter "$with"
    n0=$(grep -c 'New SMTP ICID' "$T/log/mail_logs" 2>/dev/null)
    p0=$(pg_cpu "$PFPID"); m0=$(pid_cpu "$MPID")
    t0=$(date +%s.%N)
    "$BT" -o "$T/bt" smtp-source -s "$SESS" -m "$MSGS" -l 2048 -f a@example.org -t b@example.net \
        "127.0.0.1:$PORT" 2>"$T/src.err" || note "smtp-source: $(tail -1 "$T/src.err")"
    wall=$(kv wall "$(cat "$T/bt")")
    for ((i = 0; i < 1200 && $(queued) > 0; i++)); do sleep 0.1; done
    e2e=$(sub "$(date +%s.%N)" "$t0")
    p1=$(pg_cpu "$PFPID"); m1=$(pid_cpu "$MPID")
    n1=$(grep -c 'New SMTP ICID' "$T/log/mail_logs" 2>/dev/null)
    note "  milter=$with: $MSGS messages accepted in ${wall}s ($(fmt "$(div "$MSGS" "$wall")")/s), delivered in ${e2e}s" \
        "($(fmt "$(div "$MSGS" "$e2e")")/s), Postfix CPU $(sub "$p1" "$p0")s, milter CPU $(sub "$m1" "$m0")s, ICID records +$((n1 - n0))"
    div "$MSGS" "$e2e" >>"$T/rate.$with"
    div "$(sub "$p1" "$p0")" "$MSGS" >>"$T/pfcpu.$with"
    div "$(sub "$m1" "$m0")" "$MSGS" >>"$T/mcpu.$with"
}

: >"$T/rate.0" >"$T/rate.1" >"$T/pfcpu.0" >"$T/pfcpu.1" >"$T/mcpu.0" >"$T/mcpu.1"
for ((r = 0; r < BENCH_RUNS; r++)); do
    if ((r % 2 == 0)); then run 0; run 1; else run 1; run 0; fi
done
figure milter_rate "$(median <"$T/rate.1")" msg/s "$(median <"$T/rate.0")" msg/s ratio '>=' 0.95
us() { awk '{ print $1 * 1e6 }' "$1" | median; }
figure milter_cpu_per_conn "$(us "$T/mcpu.1")" us "$(us "$T/pfcpu.0")" us ratio '<=' 0.05
