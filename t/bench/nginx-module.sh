#!/bin/bash
# nginx-module.sh - overhead of ngx_http_segtls_module on loopback HTTPS.
#
# Two private nginx instances, identical but for the module (load_module +
# segtls_gui_log), are measured in the same run, alternately, with wrk when
# it is installed (else a curl loop): requests/s with a new TLS connection
# per request (where the module works: one record per handshake) and over
# keep-alive connections. Prints requests/s of each and the ratio
# with/without. Not part of make test.
#
#   t/bench/nginx-module.sh [SECONDS-PER-RUN] [ROUNDS]    (default 5 2)
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/nginx.sh"
set +u

DUR=${1:-5}
ROUNDS=${2:-2}
BUILD_DIR=${SEGTLS_BUILD:-$SEGTLS_TOP/build}
SO=$BUILD_DIR/nginx/ngx_http_segtls_module.so

make -s -C "$SEGTLS_TOP" BUILD="$BUILD_DIR" "$SO" || { echo "cannot build $SO" >&2; exit 1; }
mkdir -p "$T/modules"
cp "$SO" "$T/modules/segtls-bench.so"

# instance NAME WITH-MODULE - a private nginx; prints its port
instance() {
    local port
    port=$(free_port)
    ngx_make "$1" "$port" >&2
    if [ "$2" = 1 ]; then
        sed -i "1i load_module $T/modules/segtls-bench.so;" "$T/$1/conf/nginx.conf"
        sed -i 's|^http {|http {\n    segtls_gui_log logs/gui_logs;|' "$T/$1/conf/nginx.conf"
    fi
    sed -i 's|^    access_log .*|    access_log off;|; s|^events {.*|events { worker_connections 1024; }|' \
        "$T/$1/conf/nginx.conf"
    ngx_start "$1" >&2 || { echo "nginx $1 did not start" >&2; exit 1; }
    echo "$port"
}

# rate URL MODE - requests/s for DUR seconds; MODE close or keepalive
rate() {
    local url=$1 mode=$2 hdr=() n t0 t1 i
    [ "$mode" = close ] && hdr=(-H 'Connection: close')
    if command -v wrk >/dev/null; then
        wrk -t2 -c16 -d"${DUR}s" "${hdr[@]}" "$url" 2>/dev/null |
            sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'
        return
    fi
    # curl: transfers of one process, for about DUR seconds
    n=0
    t0=$(date +%s.%N)
    while :; do
        for ((i = 0; i < 50; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url"; done |
            curl -sk "${hdr[@]}" -K - || break
        n=$((n + 50))
        t1=$(date +%s.%N)
        awk -v a="$t0" -v b="$t1" -v d="$DUR" 'BEGIN { exit !(b - a < d) }' || break
    done
    awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", n / (b - a) }'
}

PLAIN=$(instance plain 0)
SEG=$(instance seg 1)
tool=$(command -v wrk >/dev/null && echo "wrk -t2 -c16" || echo "curl loop")
echo "ngx_http_segtls_module overhead, $tool, ${DUR}s x $ROUNDS rounds per case, $(nproc) CPUs"

for mode in close keepalive; do
    sum_p=0 sum_s=0
    for ((r = 0; r < ROUNDS; r++)); do
        if ((r % 2 == 0)); then     # alternate which goes first
            p=$(rate "https://127.0.0.1:$PLAIN/" "$mode")
            s=$(rate "https://127.0.0.1:$SEG/" "$mode")
        else
            s=$(rate "https://127.0.0.1:$SEG/" "$mode")
            p=$(rate "https://127.0.0.1:$PLAIN/" "$mode")
        fi
        sum_p=$(awk -v a="$sum_p" -v b="${p:-0}" 'BEGIN { print a + b }')
        sum_s=$(awk -v a="$sum_s" -v b="${s:-0}" 'BEGIN { print a + b }')
    done
    awk -v m="$mode" -v p="$sum_p" -v s="$sum_s" -v r="$ROUNDS" 'BEGIN {
        printf "%-26s without %9.1f req/s   with %9.1f req/s   ratio %.3f\n",
            (m == "close" ? "new connection/request:" : "keep-alive:"),
            p / r, s / r, (p > 0 ? s / p : 0) }'
done
echo "records written: $(($(wc -l <"$T/seg/logs/gui_logs") - 3))"
