#!/bin/bash
# memory.sh - resident memory of segtls-standalone and segtls-milter with
# BENCH_MEM_CONNS (default 1000) concurrent connections.
#
# segtls-tlsload --hold opens the connections, completes a TLS 1.3
# handshake on each and keeps them all open; VmRSS is read while they are
# held. Standalone: its Inbound SMTP listener directly. Milter: through a
# private Postfix (smtpd process limit raised above the connection count),
# so the milter holds one libmilter session per connection. The baseline
# is the same process idle before the first round; each of BENCH_RUNS
# rounds reuses the process (growth between rounds would show there).
# Goal (issue 7): <= 20 MB each. The Pss (shared library pages counted in
# part) is shown beside, without a goal. BENCH_MEMORY_ONLY=standalone|milter runs
# one of them; BENCH_MEMORY_SMAPS=DIR keeps /proc/PID/smaps idle and held.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/postfix.sh"
source "$(dirname "$0")/lib.sh"

LOAD=$(bench_tool segtls-tlsload)
FLOOR=$(bench_tool bench-sslfloor)
SA=$(bin segtls-standalone)
M=$(bin segtls-milter)
CONNS=${BENCH_MEM_CONNS:-1000}
need memory "$LOAD" || exit 0
certs_make "$T/certs" || { echo "SKIP memory: cannot create certificates"; exit 0; }
ulimit -n $((CONNS * 2 + 1024)) 2>/dev/null || ulimit -n 4096

# rss_split PID - VmRSS = RssAnon (the heap: what connections cost) +
# RssFile (pages of the binary and libraries mapped so far) + RssShmem;
# and Pss (library pages shared with other processes counted in part)
rss_split() { awk '/^Rss(Anon|File):/ { printf "%s%s %s kB", s, $1, $2; s = ", " }' "/proc/$1/status"
              awk '/^Pss:/ { printf ", Pss %s kB", $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
# file_top PID - the mapped files that hold the most resident pages of their own
file_top() { awk '/^[0-9a-f]+-[0-9a-f]+ / { f = $6 } /^Rss:/ { r[f] += $2 } /^Anonymous:/ { a[f] += $2 }
    END { for (f in r) if (f ~ /^\//) printf "%d %s\n", r[f] - a[f], f }' "/proc/$1/smaps" |
    sort -rn | head -6 | awk '{ n = split($2, p, "/"); printf "%s%s %d kB", s, p[n], $1; s = ", " }'; }

# held_rss NAME PORT PID - one round: hold CONNS connections, print the RSS in kB
held_rss() {
    local out=$T/hold.$1 i rss pss split thr fds
    "$LOAD" --connect "127.0.0.1:$2" -c 100 -n "$CONNS" --tls 1.3 --hold 3 --timeout 60 >"$out" 2>&1 &
    local lp=$!
    for ((i = 0; i < 1200; i++)); do grep -q '^held' "$out" 2>/dev/null && break; kill -0 $lp 2>/dev/null || break; sleep 0.1; done
    # the server side must hold them too (one descriptor each)
    for ((i = 0; i < 30; i++)); do
        fds=$(ls "/proc/$3/fd" 2>/dev/null | wc -l)
        [ "$fds" -ge "$CONNS" ] && break
        sleep 0.1
    done
    rss=$(rss_kb "$3")
    pss=$(awk '/^Pss:/ { print $2 }' "/proc/$3/smaps_rollup" 2>/dev/null)
    split=$(rss_split "$3")
    [ -z "${BENCH_MEMORY_SMAPS:-}" ] || cat "/proc/$3/smaps" >"$BENCH_MEMORY_SMAPS/smaps.$1.held"
    thr=$(awk '/^Threads:/ { print $2 }' "/proc/$3/status")
    wait $lp
    note "  $1: $(head -1 "$out"), $(tail -1 "$out"), VmRSS ${rss} kB ($split), $thr threads, $fds fds"
    if [ "$(sed -n 's/^held //p' "$out")" != "$CONNS" ]; then echo nan
    elif [ "$fds" -lt "$CONNS" ]; then note "  $1 holds only $fds descriptors: not counted"; echo skip
    else echo "$rss"; echo "$pss" >>"$T/pss.$1"; fi
}
# measure NAME PORT PID - BENCH_RUNS rounds, then the figure
measure() {
    local idle ipss isplit f=$T/rss.$1
    idle=$(rss_kb "$3")
    echo "$idle" >"$T/idle.$1"
    ipss=$(awk '/^Pss:/ { print $2 }' "/proc/$3/smaps_rollup" 2>/dev/null)
    isplit=$(rss_split "$3")
    [ -z "${BENCH_MEMORY_SMAPS:-}" ] || cat "/proc/$3/smaps" >"$BENCH_MEMORY_SMAPS/smaps.$1.idle"
    : >"$f"
    for ((r = 0; r < BENCH_RUNS; r++)); do
        held_rss "$1" "$2" "$3" >>"$f"
        sleep 0.5
    done
    note "$1: idle ${idle} kB ($isplit), after the rounds $(rss_kb "$3") kB"
    note "$1: resident library pages: $(file_top "$3")"
    grep -v skip "$f" >"$f.ok"
    figure "${1}_rss_${CONNS}_conns" "$(median <"$f.ok" | awk '{ print $1 / 1024 }')" MB \
        "$(awk -v k="$idle" 'BEGIN { print k / 1024 }')" MB value '<=' 20
    # the proportional share: library pages shared with other processes in part (no goal)
    [ -s "$T/pss.$1" ] && figure "${1}_pss_${CONNS}_conns" "$(median <"$T/pss.$1" | awk '{ print $1 / 1024 }')" MB \
        "$(awk -v k="$ipss" 'BEGIN { print k / 1024 }')" MB ratio
}

# floor NAME - what OpenSSL alone holds per idle TLS 1.3 server connection
# (bench-sslfloor: segtls's context, the standalone's SSL settings), the
# RSS that CONNS connections cannot go below (idle + CONNS x that), and
# NAME's own bytes per connection above it
floor() {
    local fl=$T/sslfloor.out per idle held
    if ! "$FLOOR" "$CERTS/rsa.pem" 50 >"$fl" 2>&1; then
        echo "SKIP ${1}_floor: bench-sslfloor: $(tail -1 "$fl")"; return
    fi
    per=$(awk '{ print $2 }' "$fl")
    idle=$(cat "$T/idle.$1")
    held=$(median <"$T/rss.$1.ok")
    note "$1: OpenSSL $(openssl version | awk '{ print $2 }') holds $per bytes per idle TLS 1.3 server connection" \
        "($(awk '{ print $4 }' "$fl") allocations; SSL_new alone $(awk '{ print $6 }' "$fl") bytes)"
    figure "${1}_rss_floor_${CONNS}" "$(awk -v i="$idle" -v p="$per" -v n="$CONNS" 'BEGIN { print (i + n * p / 1024) / 1024 }')" MB \
        "$(awk -v k="$idle" 'BEGIN { print k / 1024 }')" MB ratio
    figure "${1}_own_bytes_per_conn" "$(awk -v h="$held" -v i="$idle" -v p="$per" -v n="$CONNS" 'BEGIN { printf "%d", (h - i) * 1024 / n - p }')" B \
        "$per" B ratio
}

# --- segtls-standalone --------------------------------------------------
if [ "${BENCH_MEMORY_ONLY:-standalone}" != standalone ]; then
    :
elif [ -x "$SA" ]; then
    SPORT=$(free_port)
    printf '[inbound]\nmethods=1.2-1.3\nciphers=HIGH:!aNULL\ntls=preferred\n' >"$T/sa.conf"
    mkdir -p "$T/sa"
    "$SA" --config "$T/sa.conf" --cert "$CERTS/rsa.pem" --smtp-listen "127.0.0.1:$SPORT" \
        --spool "$T/sa/spool" --state-dir "$T/sa/state" --mail-log "$T/sa/mail_logs" --gui-log "$T/sa/gui_logs" \
        --max-conns $((CONNS + 100)) >"$T/sa/stderr" 2>&1 &
    SAPID=$!
    at_exit "kill $SAPID"
    if wait_port "$SPORT" 100; then
        sleep 0.2
        measure standalone "$SPORT" "$SAPID"
        floor standalone
    else
        echo "SKIP standalone_rss: segtls-standalone did not start: $(tail -1 "$T/sa/stderr")"
    fi
else
    echo "SKIP standalone_rss: segtls-standalone not built ($SA)"
fi

# --- segtls-milter behind Postfix ---------------------------------------
if [ "${BENCH_MEMORY_ONLY:-milter}" != milter ]; then
    :
elif [ ! -x "$M" ]; then
    echo "SKIP milter_rss: segtls-milter not built ($M)"
elif ! command -v postfix >/dev/null || [ "$(id -u)" != 0 ]; then
    echo "SKIP milter_rss: needs root and postfix"
else
    PORT=$(free_port); MP=$(free_port)
    while [ "$MP" = "$PORT" ]; do MP=$(free_port); done
    pf_make mta "$PORT" >&2 || { echo "SKIP milter_rss: cannot create Postfix"; exit 0; }
    pf_postconf mta -e "smtpd_tls_protocols = >=TLSv1.2" \
        "smtpd_client_connection_count_limit = 0" "smtpd_client_connection_rate_limit = 0" \
        "default_process_limit = $((CONNS + 100))" "smtpd_milters = inet:127.0.0.1:$MP" \
        "milter_default_action = accept" \
        'milter_macro_v = $mail_name $mail_version smtpd-pid=$process_id' \
        'milter_connect_macros = j {daemon_name} {daemon_addr} v _ {client_addr} {client_port} {client_name} {client_ptr} {client_resolve}' \
        "smtpd_delay_open_until_valid_rcpt = no" || exit 1
    sed -i "s/^\(127.0.0.1:$PORT inet  *n  *-  *n  *-  *\)-/\1$((CONNS + 100))/" "$T/mta/etc/master.cf"
    mkdir -p "$T/log" && chown nobody "$T/log"
    "$M" -f -s "inet:$MP@127.0.0.1" -l "$(pf_log mta)" -o "$T/log/mail_logs" -d "$T/state" \
        --user nobody 2>>"$T/milter.err" &
    MPID=$!
    at_exit "kill $MPID"
    if ! wait_port "$MP" 50; then
        echo "SKIP milter_rss: segtls-milter did not start: $(tail -1 "$T/milter.err")"
    elif ! pf_start mta >&2; then
        echo "SKIP milter_rss: Postfix does not start"
    else
        sleep 0.5
        measure milter "$PORT" "$MPID"
    fi
fi
