#!/bin/bash
# metrics-drift.t - policy drift per service in segtls-policyd's metrics.
#
# A private Postfix and a private nginx that a policyd applies to (as in
# commit-apply.t), and that policyd with --metrics --drift-interval 1: it
# probes the servers itself, off its main loop, and exports
# segtls_policy_drift{service}, the live versions and unreachable
# servers. After a commit both services are in step; Postfix changed
# behind segtls's back drifts Inbound SMTP only, nginx changed too drifts
# GUI HTTPS; `segtls apply` brings both back in step; nginx stopped is
# unreachable, not drift. Every exposition passes promtool check metrics.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"
source "$(dirname "$0")/lib/nginx.sh"

command -v postfix >/dev/null && command -v nginx >/dev/null || skip_all "postfix or nginx missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"
[ -x "$(bin segtls-policyd)" ] && [ -x "$(bin segtls-apply)" ] || skip_all "not built"
for p in promtool curl; do command -v $p >/dev/null || skip_all "$p not installed (make deps)"; done

SEGTLS=$(bin segtls)
PORT=$(free_port); HPORT=$(free_port); MP=$(free_port)
pf_make mta "$PORT" || { echo "1..0 # SKIP cannot create Postfix"; exit 0; }
ngx_make gui "$HPORT" || { echo "1..0 # SKIP cannot create nginx"; exit 0; }
pf_start mta || { echo "Bail out! postfix does not start"; exit 1; }
ngx_start gui || { echo "Bail out! nginx does not start"; exit 1; }
PFD=$(pf_dir mta)
CONF=$T/etc/segtls.conf
S=$T/run/policyd.sock
export SEGTLS_SOCKET=$S
mkdir -p "$T/etc" "$T/pf"
printf '[gui]\ncertificate=%s\n' "$CERTS/rsa.pem" >"$CONF"
cat >"$T/etc/apply.conf" <<CONF
[apply]
enabled=true
postfix-dir=$PFD
smtpd-service=127.0.0.1:$PORT/inet
tls-config-file=$T/pf/tls.cnf
client-conf=$T/client.cnf
nginx-prefix=$T/gui
nginx-conf=conf/nginx.conf
nginx-include=$(ngx_tls_file gui)
probe-https=127.0.0.1:$HPORT
timeout=20
CONF

plan 27

# scrape - the exposition; val SERIES - the value of one series in $M
scrape() { curl -sf "http://127.0.0.1:$MP/metrics"; }
val() { awk -v k="$1 " 'index($0, k) == 1 { print $NF }' <<<"$M"; }
# probes - probes done so far
probes() { scrape | awk '$1 == "segtls_policy_probes_total" { print $2 }'; }
# fresh - wait (20 s) for a probe that started after now; $M is the exposition then
fresh() {
    local i start rc=1
    start=$(probes)
    for ((i = 0; i < 200; i++)); do
        [ "$(probes)" -ge $((${start:-0} + 2)) ] && { rc=0; break; }
        sleep 0.1
    done
    M=$(scrape)
    return $rc
}
# promcheck NAME - promtool accepts $M
promcheck() {
    promtool check metrics <<<"$M" >"$T/promtool.out" 2>&1
    ok $? "$1: promtool check metrics accepts it $(tr '\n' ' ' <"$T/promtool.out")"
}
# versions SERVICE TARGET - the versions a server negotiated: "1.2 1.3"
versions() {
    local v out=
    for v in 1.0 1.1 1.2 1.3; do
        [ "$(val "segtls_policy_live_version{service=\"$1\",target=\"$2\",version=\"$v\"}")" = 1 ] && out+="$v "
    done
    echo "${out% }"
}
# state - drift of gui and inbound, then the versions each negotiates
state() {
    echo "gui=$(val 'segtls_policy_drift{service="gui"}') inbound=$(val 'segtls_policy_drift{service="inbound"}')" \
        "in[$(versions inbound "127.0.0.1:$PORT")] gui[$(versions gui "127.0.0.1:$HPORT")]"
}

# --- usage ---------------------------------------------------------------
"$(bin segtls-policyd)" --foreground --config "$CONF" --state-dir "$T/x" --socket "$T/x.sock" \
    --drift-interval 10 >/dev/null 2>"$T/err"
is "$? $(cat "$T/err")" "2 segtls-policyd: fatal: --drift-interval needs --metrics" \
    "--drift-interval without --metrics: exit 2, one line"
"$(bin segtls-policyd)" --foreground --config "$CONF" --state-dir "$T/x" --socket "$T/x.sock" \
    --metrics "127.0.0.1:$MP" --drift-interval -5 >/dev/null 2>"$T/err"
is "$? $(cat "$T/err")" "2 segtls-policyd: fatal: --drift-interval: -5: must be 0 (never) to 86400 seconds" \
    "--drift-interval -5: exit 2, one line"
ok "$( [ ! -e "$T/x" ] && [ ! -e "$T/x.sock" ]; echo $?)" "a refused option makes nothing"

# --- policyd with --metrics --drift-interval 1 ----------------------------
"$(bin segtls-policyd)" --foreground --config "$CONF" --state-dir "$T/state" --socket "$S" \
    --apply-config "$T/etc/apply.conf" --cert-dir "$T" --metrics "127.0.0.1:$MP" \
    --drift-interval 1 2>>"$T/policyd.log" &
PD=$!
at_exit "kill -9 $PD"
wait_port "$MP"
for ((i = 0; i < 200; i++)); do "$SEGTLS" show >/dev/null 2>&1 && break; sleep 0.05; done
like "$(cat "$T/policyd.log")" "drift probe every 1 s for the metrics" "policyd says it probes every second"

"$SEGTLS" set inbound.methods 1.2-1.3 gui.methods 1.2-1.3 >/dev/null
"$SEGTLS" commit -m "in step" >"$T/commit.out" 2>&1
is "$?" 0 "commit applies inbound 1.2-1.3 and gui 1.2-1.3 to Postfix and nginx"
fresh; ok $? "a probe after the commit"
is "$(state)" "gui=0 inbound=0 in[1.2 1.3] gui[1.2 1.3]" \
    "after the commit: no drift; both negotiate 1.2 and 1.3"
is "$(val "segtls_policy_unreachable{service=\"inbound\",target=\"127.0.0.1:$PORT\"}") $(val "segtls_policy_unreachable{service=\"gui\",target=\"127.0.0.1:$HPORT\"}")" \
    "0 0" "both servers reached"
like "$M" $'# TYPE segtls_policy_drift gauge\nsegtls_policy_drift\\{service="gui"\\} 0\nsegtls_policy_drift\\{service="inbound"\\} 0\n' \
    "the drift gauge: one series per probed service, typed gauge"
promcheck "in step"
ok "$( [ "$(val segtls_policy_probe_timestamp_seconds)" -ge $(($(date +%s) - 5)) ]; echo $?)" \
    "the time of the last probe is now"

# --- Postfix changed behind segtls's back: Inbound SMTP drifts ----------------
LM=$(stat -c %s "$T/policyd.log")
postconf -c "$PFD" -P "127.0.0.1:$PORT/inet/smtpd_tls_protocols=>=TLSv1.2,<=TLSv1.2"
pf_reload mta
fresh; ok $? "a probe after the Postfix change"
is "$(state)" "gui=0 inbound=1 in[1.2] gui[1.2 1.3]" \
    "Postfix at TLS 1.2 only: inbound drifts, the GUI does not"
promcheck "inbound drift"
like "$(tail -c +$((LM + 1)) "$T/policyd.log")" "warning: drift: inbound at 127.0.0.1:$PORT negotiates 1.2, not what the committed settings allow" \
    "the drift is logged"
"$SEGTLS" status >/dev/null 2>&1
is "$?" 1 "segtls status sees the same drift (exit 1)"

# --- nginx changed behind segtls's back too: GUI HTTPS drifts ----------------
sed -i 's/^ssl_protocols .*/ssl_protocols TLSv1.3;/' "$(ngx_tls_file gui)"
grep -q '^ssl_protocols TLSv1.3;$' "$(ngx_tls_file gui)"
ok $? "nginx include edited by hand: TLS 1.3 only"
ngx_reload gui
fresh
is "$(state)" "gui=1 inbound=1 in[1.2] gui[1.3]" "nginx at TLS 1.3 only: the GUI drifts too"
is "$(tail -c +$((LM + 1)) "$T/policyd.log" | grep -c 'warning: drift: inbound')" 1 \
    "a drift that goes on is logged once"

# --- segtls apply: both in step again ---------------------------------------
"$SEGTLS" apply >"$T/apply.out" 2>&1
is "$?" 0 "segtls apply"
fresh
is "$(state)" "gui=0 inbound=0 in[1.2 1.3] gui[1.2 1.3]" "after segtls apply: no drift"
like "$(tail -c +$((LM + 1)) "$T/policyd.log")" "drift: gui at 127.0.0.1:$HPORT is in step again \\(1.2-1.3\\)" \
    "back in step is logged"
promcheck "in step again"

# --- nginx stopped: unreachable, not drift ------------------------------------
ngx_stop gui
fresh
is "$(val "segtls_policy_unreachable{service=\"gui\",target=\"127.0.0.1:$HPORT\"}") $(val 'segtls_policy_drift{service="gui"}') $(grep -c "service=\"gui\",target=\"127.0.0.1:$HPORT\",version=" <<<"$M")" \
    "1 0 0" "nginx stopped: the GUI unreachable, no drift, no live versions"
promcheck "unreachable"
kill -TERM "$PD"; wait "$PD"
is "$?" 0 "policyd stops cleanly while probing every second"

# --- --drift-interval 0: no probes --------------------------------------------
"$(bin segtls-policyd)" --foreground --config "$CONF" --state-dir "$T/state" --socket "$S" \
    --apply-config "$T/etc/apply.conf" --cert-dir "$T" --metrics "127.0.0.1:$MP" \
    --drift-interval 0 2>>"$T/policyd0.log" &
PD=$!
at_exit "kill -9 $PD"
wait_port "$MP"
sleep 1.5
M=$(scrape)
is "$(grep -c '^segtls_policy_' <<<"$M")" 0 "--drift-interval 0: no probe, no drift series"
kill -TERM "$PD"; wait "$PD"
done_testing
