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
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/postfix.sh"
source "$(dirname "$0")/lib.sh"

LOAD=$(bench_tool segtls-tlsload)
SA=$(bin segtls-standalone)
N=${BENCH_TLS_N:-1000}
C=${BENCH_TLS_CONC:-20}
VERSIONS=${BENCH_TLS_VERSIONS:-1.3 1.2}
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

# load NAME PORT VERSION SERVER-CPU-FUNC PID - one run; prints hs per server CPU s
load() {
    local name=$1 port=$2 v=$3 cpuf=$4 pid=$5 c0 c1 out hs
    c0=$($cpuf "$pid")
    out=$("$LOAD" --connect "127.0.0.1:$port" -c "$C" -n "$N" --tls "$v" 2>&1 | tail -1)
    c1=$($cpuf "$pid")
    hs=$(kv handshakes "$out")
    note "  $name TLS $v: $out server_cpu=$(sub "$c1" "$c0")s"
    if [ "$(kv failures "$out")" != 0 ] || [ -z "$hs" ]; then echo nan; return; fi
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
    printf '[inbound]\nmethods=1.2-1.3\nciphers=HIGH:!aNULL\ntls=preferred\n' >"$T/sa.conf"
    mkdir -p "$T/sa"
    "$SA" --config "$T/sa.conf" --cert "$CERTS/rsa.pem" --smtp-listen "127.0.0.1:$SPORT" \
        --spool "$T/sa/spool" --state-dir "$T/sa/state" --mail-log "$T/sa/mail_logs" --gui-log "$T/sa/gui_logs" \
        --max-conns 2000 >"$T/sa/stderr" 2>&1 &
    SAPID=$!
    at_exit "kill $SAPID"
    if ! wait_port "$SPORT" 100; then
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
