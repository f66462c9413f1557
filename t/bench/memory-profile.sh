#!/bin/bash
# memory-profile.sh - what segtls-standalone's memory at BENCH_MEM_CONNS
# (default 1000) idle TLS connections is made of (make bench-profile).
#
# The standalone runs under heaptrack while segtls-tlsload holds the
# connections (TLS 1.3, as memory.sh): the live heap at the peak by the
# allocating function nearest to the program (OpenSSL's own functions
# are named; its internal ones show as addresses in libssl/libcrypto),
# per connection; then the resident pages of the process by mapping
# (heap, and each library's own pages) from /proc/PID/smaps.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/certs.sh"
source "$(dirname "$0")/lib.sh"

LOAD=$(bench_tool segtls-tlsload)
SA=$(bin segtls-standalone)
CONNS=${BENCH_MEM_CONNS:-1000}
need memory-profile "$LOAD" "$SA" heaptrack heaptrack_print || exit 0
certs_make "$T/certs" || { echo "SKIP memory-profile: cannot create certificates"; exit 0; }
ulimit -n $((CONNS * 2 + 1024)) 2>/dev/null || ulimit -n 4096

PORT=$(free_port)
printf '[inbound]\nmethods=1.2-1.3\nciphers=HIGH:!aNULL\ntls=preferred\n' >"$T/sa.conf"
mkdir -p "$T/sa"
heaptrack -o "$T/heap" "$SA" --config "$T/sa.conf" --cert "$CERTS/rsa.pem" \
    --smtp-listen "127.0.0.1:$PORT" --spool "$T/sa/spool" --state-dir "$T/sa/state" \
    --mail-log "$T/sa/mail_logs" --gui-log "$T/sa/gui_logs" --max-conns $((CONNS + 100)) \
    >"$T/sa/stderr" 2>&1 &
HT=$!
at_exit "kill $HT"
wait_port "$PORT" 300 || { echo "SKIP memory-profile: segtls-standalone did not start"; exit 0; }
PID=$(pgrep -n -f -- "--smtp-listen 127.0.0.1:$PORT")
"$LOAD" --connect "127.0.0.1:$PORT" -c 100 -n "$CONNS" --tls 1.3 --hold 3 --timeout 120 >"$T/hold" 2>&1 &
LP=$!
for ((i = 0; i < 1200; i++)); do grep -q '^held' "$T/hold" 2>/dev/null && break; sleep 0.1; done
sleep 1
cp "/proc/$PID/smaps" "$T/smaps"
awk '/^(VmRSS|RssAnon|RssFile):/ { printf "%s %s kB  ", $1, $2 }' "/proc/$PID/status" >"$T/status"
wait "$LP"
kill "$PID"; wait "$HT" 2>/dev/null

echo "# segtls-standalone, $(sed -n 's/^held //p' "$T/hold") TLS 1.3 connections held: $(cat "$T/status")"
echo "# live heap at the peak (heaptrack), by allocating function; bytes per connection"
heaptrack_print -f "$T/heap".* --print-peaks 1 --print-allocators 0 --print-temporary 0 \
    --print-leaks 0 --peak-limit 40 2>/dev/null |
    awk -v n="$CONNS" '
        function bytes(s) { if (s ~ /K$/) return s * 1024; if (s ~ /M$/) return s * 1048576; return s + 0 }
        / consumed over / { if (site != "") tot[site] += b; b = bytes($1); calls = $4; site = ""; next }
        site == "" && /^    [^ ]/ { site = $1; if (site ~ /^0x/) site = "(inside)"; next }
        site == "(inside)" && /^      in / { site = "(inside " $2 ")"; sub(".*/", "(inside ", site) }
        END { if (site != "") tot[site] += b
              for (s in tot) if (tot[s] / n >= 8) printf "%10.0f  %s\n", tot[s] / n, s }' | sort -rn
echo "# resident pages by mapping (kB; a library's own: its file pages; libstdc++ and"
echo "# libunwind are heaptrack's, not segtls-standalone's)"
awk '/^[0-9a-f]+-[0-9a-f]+ / { f = $6 == "" ? "[anon]" : $6 } /^Rss:/ { r[f] += $2 } /^Anonymous:/ { a[f] += $2 }
     END { for (f in r) { own = f ~ /^\// ? r[f] - a[f] : r[f]; if (own >= 64) printf "%10d  %s\n", own, f } }' "$T/smaps" |
    sort -rn
