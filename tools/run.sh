#!/usr/bin/env bash
# run.sh - `make run`: start segtls on loopback and keep it running until Ctrl-C.
#
# Everything lives under ./run (settings, state, spool, logs, certificate):
# segtls-policyd holds the settings and serves the web UI and REST API on
# ./run/webui.sock; segtls-standalone, when built, serves Inbound SMTP,
# Outbound SMTP and GUI HTTPS with them (GUI HTTPS hands the requests to
# the web UI) and writes the gateway's records. Nothing outside ./run is
# touched. Web logins are system accounts (PAM); members of the group
# $SEGTLS_WEB_ADMIN_GROUP (default: the group of whoever runs this) may
# change and commit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${SEGTLS_BIN:-$top/build/bin}
dir=${SEGTLS_RUN_DIR:-$top/run}
smtp_port=${SEGTLS_SMTP_PORT:-2525}
sink_port=${SEGTLS_SINK_PORT:-2526}
https_port=${SEGTLS_HTTPS_PORT:-8443}
admin_group=${SEGTLS_WEB_ADMIN_GROUP:-$(id -gn)}

mkdir -p "$dir/state" "$dir/log" "$dir/spool" "$dir/sink-spool"
chmod 0750 "$dir/state"
if [ ! -s "$dir/cert.pem" ]; then
    echo "run: creating a self-signed certificate in $dir/cert.pem"
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$dir/key.pem" -out "$dir/crt.pem" 2>/dev/null
    cat "$dir/key.pem" "$dir/crt.pem" > "$dir/cert.pem"
    chmod 0600 "$dir/cert.pem" "$dir/key.pem"
fi
[ -s "$dir/segtls.conf" ] || cp "$top/conf/segtls.conf" "$dir/segtls.conf"
# Standalone mode: there is no Postfix or nginx to apply to, so a commit
# only stores; segtls-standalone follows the committed file.
# The probe targets let `segtls status` and the page's live check
# handshake with the standalone servers.
cat > "$dir/apply.conf" <<EOA
[apply]
enabled=false
probe-smtp=127.0.0.1:$smtp_port
probe-https=127.0.0.1:$https_port
EOA

pids=()
stop() {
    trap - INT TERM EXIT
    echo
    echo "run: stopping"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

sock="$dir/policyd.sock"
web="$dir/webui.sock"
echo "run: $bin/segtls-policyd --foreground --config $dir/segtls.conf --state-dir $dir/state --socket $sock --apply-config $dir/apply.conf --web-socket $web --web-admin-group $admin_group --gui-log $dir/log/gui_logs"
"$bin/segtls-policyd" --foreground --config "$dir/segtls.conf" --state-dir "$dir/state" \
    --socket "$sock" --apply-config "$dir/apply.conf" --web-socket "$web" \
    --web-admin-group "$admin_group" --gui-log "$dir/log/gui_logs" &
pids+=($!)
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

if [ -x "$bin/segtls-standalone" ]; then
    # The next hop: a second standalone instance that only receives.
    "$bin/segtls-standalone" --config "$dir/segtls.conf" --cert "$dir/cert.pem" \
        --smtp-listen "127.0.0.1:$sink_port" --spool "$dir/sink-spool" \
        --state-dir "$dir/state/sink" --mail-log "$dir/log/sink_mail_logs" \
        --gui-log "$dir/log/sink_gui_logs" &
    pids+=($!)
    echo "run: $bin/segtls-standalone --config $dir/segtls.conf --cert $dir/cert.pem --smtp-listen 127.0.0.1:$smtp_port --relay 127.0.0.1:$sink_port --https-listen 127.0.0.1:$https_port --gui-proxy $web ..."
    "$bin/segtls-standalone" --config "$dir/segtls.conf" --cert "$dir/cert.pem" \
        --smtp-listen "127.0.0.1:$smtp_port" --relay "127.0.0.1:$sink_port" \
        --https-listen "127.0.0.1:$https_port" --gui-proxy "$web" --spool "$dir/spool" \
        --state-dir "$dir/state" --mail-log "$dir/log/mail_logs" \
        --gui-log "$dir/log/gui_logs" &
    pids+=($!)
fi

cat <<EOT

segtls is running on loopback (Ctrl-C stops it).
  control socket   $sock   (export SEGTLS_SOCKET=$sock)
  edit settings    $bin/sslconfig --socket $sock
  show / commit    $bin/segtls --socket $sock show | commit -m "..."
EOT
if [ -x "$bin/segtls-standalone" ]; then
cat <<EOT
  Inbound SMTP     127.0.0.1:$smtp_port   (swaks --server 127.0.0.1:$smtp_port --tls --to a@example.net)
  Outbound SMTP    delivers to 127.0.0.1:$sink_port (a receiving standalone instance)
  web UI           https://127.0.0.1:$https_port/   (System Administration > SSL Configuration;
                   log in with a system account, group $admin_group may change and commit)
  REST API         https://127.0.0.1:$https_port/api/v1/  (curl -k -u USER https://127.0.0.1:$https_port/api/v1/settings)
  mail_logs        $dir/log/mail_logs
  gui_logs         $dir/log/gui_logs
EOT
fi
wait -n "${pids[@]}" || true
