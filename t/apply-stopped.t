#!/bin/bash
# apply-stopped.t - applying to servers that do not run (issue 14 item 5).
#
# nginx refuses to start while the include its GUI server block names
# does not exist, and Postfix may be stopped for maintenance. segtls-apply
# writes every server's configuration, creating the include, reloads and
# proves the servers that run, and says in one line for each server that
# does not run that nothing was proven there, without nginx's own words.
# Once they are started, the next apply proves them.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"
source "$(dirname "$0")/lib/nginx.sh"

command -v postfix >/dev/null && command -v nginx >/dev/null || skip_all "postfix or nginx missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"

A=$(bin segtls-apply)
PORT=$(free_port)
HPORT=$(free_port)
while [ "$HPORT" = "$PORT" ]; do HPORT=$(free_port); done
pf_make mta "$PORT" || { echo "1..0 # SKIP cannot create Postfix"; exit 0; }
ngx_make gui "$HPORT" || { echo "1..0 # SKIP cannot create nginx"; exit 0; }
rm -f "$(ngx_tls_file gui)"
PFD=$(pf_dir mta)
QD=$(postconf -c "$PFD" -h queue_directory)
ARGS=(--postfix-dir "$PFD" --tls-config-file "$T/pf/tls.cnf" --client-conf "$T/client.cnf"
      --nginx-prefix "$T/gui" --nginx-conf conf/nginx.conf
      --nginx-include "$(ngx_tls_file gui)" --probe-https "127.0.0.1:$HPORT"
      --state-dir "$T/state")
printf '[inbound]\nmethods=1.2-1.3\n[gui]\nmethods=1.2-1.3\ncertificate=%s\n' "$CERTS/rsa.pem" >"$T/s.conf"
# apply - segtls-apply; $out, $err, $rc
apply() { "$A" --config "$T/s.conf" "${ARGS[@]}" >"$T/out" 2>"$T/err"; rc=$?; out=$(cat "$T/out"); err=$(cat "$T/err"); }

plan 12

run_t=$(ngx_cmd gui -t 2>&1)
like "$run_t" "open\\(\\) \"$(ngx_tls_file gui)\" failed" "without the include nginx does not even pass -t"

# --- both stopped ---
apply
is "$rc" 0 "both stopped: exit 0"
is "$(grep -c 'is not running' <<<"$out")" 2 "both stopped: one line per server"
like "$out" "(^|"$'\n'")Postfix is not running \\(no master pid in $QD/pid/master.pid\\): its parameters were written, nothing was proven; start Postfix, then apply again \\(segtls apply\\)"$'\n' \
    "Postfix stopped: one clear line"
like "$out" "(^|"$'\n'")nginx is not running \\(no pid in $T/gui/logs/nginx.pid\\): $(ngx_tls_file gui) was written and nginx -t accepts it, nothing was proven; start nginx, then apply again \\(segtls apply\\)"$'\n' \
    "nginx stopped: one clear line"
is "$(grep -ci 'pid number\|emerg\|signal process' <<<"$out$err")" 0 "no raw nginx output"
ok "$([ -s "$(ngx_tls_file gui)" ]; echo $?)" "the nginx include was created"

# --- started now: the next apply proves both ---
ngx_start gui
ok $? "nginx starts with the include apply created"
pf_start mta
apply
is "$rc" 0 "both running: exit 0"
like "$out" "Inbound SMTP 127.0.0.1:$PORT/inet \\(127.0.0.1:$PORT\\): TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 negotiated" \
    "both running: Postfix proven"
like "$out" "GUI HTTPS 127.0.0.1:$HPORT: TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 negotiated" \
    "both running: nginx proven"

# --- nginx stopped again (a pid file left behind) ---
ngx_stop gui
echo 999999 >"$T/gui/logs/nginx.pid"
apply
like "$rc $out" "^0 .*nginx is not running \\(pid 999999 in $T/gui/logs/nginx.pid is gone\\): " \
    "a stale pid file: one clear line"
done_testing
