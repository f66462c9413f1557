#!/bin/bash
# tls.sh - STARTTLS handshake rate per server core.
#
# segtls-tlsload (BENCH_TLS_CONC connections in flight, BENCH_TLS_N full
# handshakes, one TLS version, no session reuse) against the standalone
# Inbound SMTP listener and against Postfix smtpd configured the same way:
# the test RSA certificate, TLS 1.2-1.3, cipher list HIGH:!aNULL. Each
# server's CPU time is measured (Postfix: the whole instance, master,
# smtpd processes and postlogd), and the rate is handshakes per server
# CPU second ("per core"). The crypto bound is what one core can do with
# this certificate's signature and X25519 alone (openssl speed):
#     1 / (1/signs_per_s + 2/x25519_per_s)    (sign + keygen + derive)
# Goals (issue 7): standalone >= 2x Postfix smtpd per core, and >= 70% of
# the crypto bound.
#
# GUI HTTPS (issue 21): direct TLS 1.3 against the standalone's
# --https-listen and against nginx (one worker, the same certificate and
# key, session cache and tickets off, no access log), in the same run, at
# BENCH_HTTPS_CONCS clients in flight (20 50 200 1000; at least 2x as
# many handshakes as clients). One line per concurrency: the handshakes
# per server CPU second of each, the ratio standalone/nginx (goal >= 0.8)
# and both failure counts; any failure makes the line a MISS.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/postfix.sh"
source "$(dirname "$0")/../lib/nginx.sh"
source "$(dirname "$0")/lib.sh"

LOAD=$(bench_tool segtls-tlsload)
SA=$(bin segtls-standalone)
N=${BENCH_TLS_N:-1000}
C=${BENCH_TLS_CONC:-20}
VERSIONS=${BENCH_TLS_VERSIONS:-1.3 1.2}
HTTPS_CONCS=${BENCH_HTTPS_CONCS:-20 50 200 1000}
need tls "$LOAD" openssl || exit 0
certs_make "$T/certs" || { echo "SKIP tls: cannot create certificates"; exit 0; }
ulimit -n 4096 2>/dev/null

# --- the crypto bound of the certificate --------------------------------
# openssl speed (rates per CPU second) prints "+F2:n:bits:signs/s:verifies/s"
# and "+F5:n:bits:ops/s:s/op"; an X25519 op is one derive, and the key
# generation is counted as one more. Each rate is the median of BENCH_RUNS
# runs, like every other figure.
bits=$(openssl x509 -in "$CERTS/rsa.crt" -noout -text | sed -nE 's/.*Public-Key: \(([0-9]+) bit\).*/\1/p')
: >"$T/sign"; : >"$T/x25519"
for ((r = 0; r < BENCH_RUNS; r++)); do
    speed=$(openssl speed -mr -seconds 1 "rsa$bits" ecdhx25519 2>/dev/null)
    awk -F: '/^\+F2:/ { print $4 }' <<<"$speed" >>"$T/sign"
    awk -F: '/^\+F5:/ { print $4 }' <<<"$speed" >>"$T/x25519"
done
sign=$(median <"$T/sign"); x25519=$(median <"$T/x25519")
bound=$(awk -v s="$sign" -v x="$x25519" 'BEGIN { if (s == "nan" || x == "nan" || s + 0 == 0 || x + 0 == 0) print "nan"; else print 1 / (1 / s + 2 / x) }')
note "crypto bound: RSA-$bits $(fmt "$sign") signs/s, X25519 $(fmt "$x25519") ops/s -> $(fmt "$bound") handshakes/s per core"

# load NAME PORT VERSION SERVER-CPU-FUNC PID [ARGS...] - one run; prints hs
# per server CPU s, and adds the run's failures to $T/failures.NAME
load() {
    local name=$1 port=$2 v=$3 cpuf=$4 pid=$5 c0 c1 out hs f
    shift 5
    c0=$($cpuf "$pid")
    out=$("$LOAD" --connect "127.0.0.1:$port" -c "$C" -n "$N" --tls "$v" --timeout 60 "$@" 2>&1 | tail -1)
    c1=$($cpuf "$pid")
    hs=$(kv handshakes "$out")
    f=$(kv failures "$out")
    echo "${f:-$N}" >>"$T/failures.$name"
    note "  $name TLS $v: $out server_cpu=$(sub "$c1" "$c0")s"
    if [ "$f" != 0 ] || [ -z "$hs" ]; then echo nan; return; fi
    div "$hs" "$(sub "$c1" "$c0")"
}

# --- Postfix smtpd ------------------------------------------------------
PF=; PFPID=
PORT=$(free_port)
if command -v postfix >/dev/null && [ "$(id -u)" = 0 ] && pf_make mta "$PORT" &&
    pf_postconf mta -e "smtpd_tls_protocols = >=TLSv1.2" "smtpd_tls_mandatory_protocols = >=TLSv1.2" \
        "smtpd_tls_ciphers = high" "smtpd_tls_mandatory_ciphers = high" "tls_high_cipherlist = HIGH:!aNULL" \
        "smtpd_client_connection_count_limit = 0" "smtpd_client_connection_rate_limit = 0" &&
    pf_start mta; then
    PF=1
    PFPID=$(_pf_master_pid mta)
    "$LOAD" --connect "127.0.0.1:$PORT" -c "$C" -n 100 --tls 1.3 >/dev/null 2>&1   # start the smtpd processes
else
    echo "SKIP tls_postfix: no private Postfix (needs root and postfix)"
fi

# --- segtls-standalone --------------------------------------------------
SAPID=
SPORT=$(free_port)
if [ -x "$SA" ]; then
    printf '[inbound]\nmethods=1.2-1.3\nciphers=HIGH:!aNULL\ntls=preferred\n[gui]\nmethods=1.2-1.3\n' >"$T/sa.conf"
    mkdir -p "$T/sa"
    HPORT=$(free_port)
    while [ "$HPORT" = "$SPORT" ]; do HPORT=$(free_port); done
    "$SA" --config "$T/sa.conf" --cert "$CERTS/rsa.pem" --smtp-listen "127.0.0.1:$SPORT" \
        --https-listen "127.0.0.1:$HPORT" \
        --spool "$T/sa/spool" --state-dir "$T/sa/state" --mail-log "$T/sa/mail_logs" --gui-log "$T/sa/gui_logs" \
        --max-conns 2000 >"$T/sa/stderr" 2>&1 &
    SAPID=$!
    at_exit "kill $SAPID"
    if ! wait_port "$SPORT" 100 || ! wait_port "$HPORT" 100; then
        echo "SKIP tls_standalone: segtls-standalone did not start: $(tail -1 "$T/sa/stderr")"
        SAPID=
    fi
else
    echo "SKIP tls_standalone: segtls-standalone not built ($SA)"
fi

for v in $VERSIONS; do
    : >"$T/pf.$v" >"$T/sa.$v"
    for ((r = 0; r < BENCH_RUNS; r++)); do
        [ -n "$PF" ] && load postfix "$PORT" "$v" pg_cpu "$PFPID" >>"$T/pf.$v"
        [ -n "$SAPID" ] && load standalone "$SPORT" "$v" pid_cpu "$SAPID" >>"$T/sa.$v"
    done
    tag=tls${v/./}
    pf=$(median <"$T/pf.$v"); sa=$(median <"$T/sa.$v")
    if [ -n "$SAPID" ]; then
        [ -n "$PF" ] && figure "${tag}_standalone_vs_postfix" "$sa" hs/core-s "$pf" hs/core-s ratio '>=' 2
        figure "${tag}_standalone_vs_crypto" "$sa" hs/core-s "$bound" hs/core-s ratio '>=' 0.7
    fi
    note "TLS $v: Postfix $(fmt "$pf") hs/core-s, standalone $(fmt "$sa") hs/core-s, crypto bound $(fmt "$bound") hs/core-s"
done

# --- GUI HTTPS: standalone vs nginx, direct TLS 1.3 ----------------------
NGPID=
if ! command -v nginx >/dev/null; then
    echo "SKIP https_standalone_vs_nginx: nginx not installed"
elif [ -z "$SAPID" ]; then
    echo "SKIP https_standalone_vs_nginx: no standalone"
else
    NPORT=$(free_port)
    ngx_make gui "$NPORT" >&2
    # One worker for the most clients; a listen queue as long as the
    # standalone's; no access log (the standalone has none).
    sed -i "s|^events {.*|events { worker_connections 4096; }|; s|^    access_log .*|    access_log off;|;
        s|listen 127.0.0.1:$NPORT ssl;|listen 127.0.0.1:$NPORT ssl backlog=4096;|;
        s|^error_log .*|error_log logs/error.log error;|" "$T/gui/conf/nginx.conf"
    ngx_tls gui <<CONF
ssl_certificate     $CERTS/rsa-chain.crt;
ssl_certificate_key $CERTS/rsa.key;
ssl_protocols TLSv1.2 TLSv1.3;
ssl_session_cache off;
ssl_session_tickets off;
CONF
    if ngx_start gui >&2; then
        NGPID=$(live_pid "$T/gui/logs/nginx.pid")
    else
        echo "SKIP https_standalone_vs_nginx: nginx did not start"
    fi
fi
if [ -n "$NGPID" ]; then
    for c in $HTTPS_CONCS; do
        C=$c
        N=$((${BENCH_TLS_N:-1000} > 2 * c ? ${BENCH_TLS_N:-1000} : 2 * c))
        : >"$T/ng.$c" >"$T/sag.$c" >"$T/failures.nginx$c" >"$T/failures.standalone$c"
        for ((r = 0; r < BENCH_RUNS; r++)); do
            load "nginx$c" "$NPORT" 1.3 pg_cpu "$NGPID" --direct >>"$T/ng.$c"
            load "standalone$c" "$HPORT" 1.3 pid_cpu "$SAPID" --direct >>"$T/sag.$c"
        done
        fn=$(awk '{ s += $1 } END { print s + 0 }' "$T/failures.nginx$c")
        fs=$(awk '{ s += $1 } END { print s + 0 }' "$T/failures.standalone$c")
        # A run with failures has no rate: the medians of the good runs.
        ng=$(grep -v nan "$T/ng.$c" | median); sag=$(grep -v nan "$T/sag.$c" | median)
        line=$(figure "https_c${c}_standalone_vs_nginx" "$sag" hs/core-s "$ng" hs/core-s ratio '>=' 0.8)
        [ "$fs" = 0 ] && [ "$fn" = 0 ] || line="${line% *} MISS"
        echo "$line  failures standalone $fs/$((N * BENCH_RUNS)) nginx $fn/$((N * BENCH_RUNS))"
    done
fi
