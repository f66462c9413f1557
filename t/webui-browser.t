#!/bin/bash
# webui-browser.t - the web UI in a real browser: headless Chromium
# (Debian's chromium, chromium-driver, python3-selenium) through a private
# nginx (the shipped server block, ngx_http_segtls_module) in front of
# segtls-policyd, which applies commits to a private Postfix and to that
# nginx, on loopback.
#
# An admin test account logs in, opens Edit Settings, finds TLS v1.1
# greyed and checked between v1.0 and v1.2 (a click changes nothing),
# enables TLS v1.3 for Inbound SMTP, submits and commits with a comment:
# then `openssl s_client -starttls smtp -tls1_3` negotiates TLS 1.3 with
# Postfix (refused before), and the rollback list names the web user.
# Then GUI HTTPS set to TLS 1.3 only: curl --tls-max 1.2 and Chromium
# --ssl-version-max=tls1.2 fail with a gui_logs failure record, the
# default Chromium loads the page. Screenshots: $T/out, copied to
# $SEGTLS_BUILD/t-out/webui/ (and to t/out/ when that directory exists).
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"
source "$(dirname "$0")/lib/nginx.sh"
source "$(dirname "$0")/lib/webui.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (test accounts, PAM, private Postfix)"
command -v postfix >/dev/null && command -v nginx >/dev/null || skip_all "postfix or nginx missing"
[ -r /usr/share/nginx/src/conf_flags ] || skip_all "nginx-dev is not installed"
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || skip_all "chromium or chromium-driver missing (make deps)"
/usr/bin/python3 -c 'import selenium' 2>/dev/null || skip_all "python3-selenium missing (make deps)"
[ -x "$(bin segtls-policyd)" ] && [ -x "$(bin segtls-apply)" ] || skip_all "not built"
BUILD_DIR=${SEGTLS_BUILD:-$SEGTLS_TOP/build}
webui_users || { echo "Bail out! cannot create the test accounts"; exit 1; }
ngx_segtls_module

SEGTLS=$(bin segtls)
OUT=$T/out
mkdir -p "$OUT" "$T/etc" "$T/log" "$T/run" "$T/pf"
chmod 777 "$OUT"
CONF=$T/etc/segtls.conf
S=$T/run/policyd.sock
export SEGTLS_SOCKET=$S
WSOCK=$T/run/webui.sock
GUI=$T/log/gui_logs
PORT=$(free_port)
HPORT=$(free_port)

pf_make mta "$PORT" || { echo "Bail out! cannot create Postfix"; exit 1; }
pf_start mta || { echo "Bail out! Postfix does not start"; exit 1; }
webui_nginx gui "$HPORT" "$WSOCK" "$GUI" || { echo "Bail out! nginx prefix"; exit 1; }
ngx_start gui || { echo "Bail out! nginx does not start"; exit 1; }
printf '[gui]\ncertificate=%s\n' "$CERTS/rsa.pem" >"$CONF"
cat >"$T/etc/apply.conf" <<CONF
[apply]
enabled=true
postfix-dir=$(pf_dir mta)
smtpd-service=127.0.0.1:$PORT/inet
tls-config-file=$T/pf/tls.cnf
client-conf=$T/client.cnf
nginx-prefix=$T/gui
nginx-conf=conf/nginx.conf
nginx-include=$(ngx_tls_file gui)
no-nginx=false
probe-https=127.0.0.1:$HPORT
timeout=20
CONF
webui_policyd --config "$CONF" --state-dir "$T/state" --socket "$S" \
    --apply-config "$T/etc/apply.conf" --gui-log "$GUI" ||
    { echo "Bail out! policyd with the web UI does not start"; cat "$T/policyd.log" >&2; exit 1; }

# tls13 - does s_client negotiate TLS 1.3 with the private Postfix
tls13() {
    timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" -tls1_3 </dev/null 2>/dev/null |
        grep -q '^New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384$'
}
# js EXPR - a Python expression on the browser's JSON answer j
js() {
    printf '%s' "$SEEN" | /usr/bin/python3 -c "import json,sys
try:
    j=json.load(sys.stdin); print($1)
except (ValueError, KeyError) as e:
    print('(not seen: %s: %s)' % (type(e).__name__, e))"
}
TS='[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}'
TSB='[A-Z][a-z]{2} [A-Z][a-z]{2} [1-3]?[0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}'   # as a browser shows it

plan 28

# --- the starting point: segtls's settings applied, TLS 1.3 refused ---
"$SEGTLS" set inbound.renegotiation disabled >/dev/null
run_out=$("$SEGTLS" commit -m "start" 2>&1)
is "$?" 0 "the first commit applies to Postfix and nginx" || diag "$run_out"
tls13
is "$?" 1 "before: s_client -tls1_3 is refused by Postfix (inbound 1.1-1.2)"

# --- the browser: log in, Edit Settings, the boxes, submit, commit ---
SEEN=$(timeout 600 /usr/bin/python3 "$SEGTLS_TOP/t/lib/webui_browser.py" edit "$WURL" "$WADM" \
    "$WPASS" "$OUT" "Inbound TLS 1.3 from the browser" 2>"$T/browser.err")
is "$?" 0 "the browser session ran" || {
    sed 's/^/# /' "$T/browser.err" | tail -20 >&2
    printf '%s' "$SEEN" | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j.get("error_url")); print(j.get("error"))' 2>&1 | sed 's/^/# /' >&2
    [ -s "$OUT/webui-error.html" ] && sed -n '/<body/,$p' "$OUT/webui-error.html" | sed 's/<[^>]*>/ /g' | tr -s ' ' | head -20 | sed 's/^/# /' >&2
    diag "policyd:"; tail -15 "$T/policyd.log" | sed 's/^/#   /' >&2
    diag "nginx:"; grep -E '\[(warn|error|crit|alert|emerg)\]' "$T/gui/logs/error.log" | tail -15 | sed 's/^/#   /' >&2
}
is "$(js 'j["login_title"], "|", j["main_title"], "|", j["edit_title"]')" \
    "Log In - segtls | SSL Configuration - segtls | Edit SSL Configuration - segtls" \
    "login page, then SSL Configuration, then Edit Settings"
like "$(js 'j["notes"]')" "TLS protocols can be enabled only in sequence\\..*The configured SSL Cipher\\(s\\) do not apply to TLS 1\\.3\\." \
    "the two notes of the gateway"
is "$(js '[(v, s["checked"], s["enabled"]) for v, s in sorted(j["gui_before"].items())]')" \
    "[('1.0', False, True), ('1.1', True, True), ('1.2', True, True), ('1.3', False, True)]" \
    "GUI HTTPS at 1.1-1.2: both ends may change, 1.0 and 1.3 may be added"
is "$(js '[(v, s["checked"], s["enabled"]) for v, s in sorted(j["gui_with_10"].items())]')" \
    "[('1.0', True, True), ('1.1', True, False), ('1.2', True, True), ('1.3', False, True)]" \
    "with TLS v1.0 checked: v1.0 and v1.2 checked, v1.1 checked and disabled"
is "$(js 'j["gui_11_after_click"]')" "{'checked': True, 'enabled': False}" \
    "a click on TLS v1.1 cannot uncheck it"
like "$(js 'j["tls13_tip"]')" "TLSv1.3 Cipher Info.*TLS_AES_256_GCM_SHA384.TLS_CHACHA20_POLY1305_SHA256.TLS_AES_128_GCM_SHA256" \
    "the ? pop-up lists the three fixed TLS 1.3 suites in order"
is "$(js '[(v, s["checked"]) for v, s in sorted(j["inbound_after"].items())]')" \
    "[('1.0', False), ('1.1', True), ('1.2', True), ('1.3', True)]" "Inbound SMTP: TLS v1.3 checked"
like "$(js 'j["flash_submit"]')" "^Your changes are pending" "submit: the changes are pending"
like "$(js 'j["pending"]')" "inbound.methods 1.1-1.2 1.1-1.3" "the pending table shows inbound.methods"
like "$(js 'j["flash_commit"]')" "^Changes committed: $TSB\$" "Commit Changes: committed"
like "$(js 'j["inbound_view"]')" "^Inbound SMTP: Methods: TLS v1\\.3 ?\\?[[:space:]]*TLS v1\\.2 TLS v1\\.1\$" \
    "the table shows Inbound SMTP with TLS v1.3 and its ? pop-up"
is "$(js 'j["rollback_user"]')" "$WADM" "the page's rollback list names the web user"
like "$(js 'j["rollback_restores"]')" "^before: Inbound TLS 1\\.3 from the browser, committed $TSB by $WADM:"$'\n'"inbound.methods = 1.1-1.2 \\(committed: 1.1-1.3\\)" \
    "the rollback entry says which configuration it brings back"
like "$(js 'j["live_inbound"]')" "^Inbound SMTP 1.1-1.3 1.2-1.3 1.2-1.3 at 127.0.0.1:$PORT as configured\$" \
    "the live check: Postfix negotiates what the settings make usable"

# --- what the commit did ---
tls13
is "$?" 0 "after: s_client -starttls smtp -tls1_3 negotiates TLS 1.3 with Postfix"
like "$("$SEGTLS" rollbackconfig list | head -1)" "^[0-9]+\\. before: Inbound TLS 1\\.3 from the browser, committed $TS by $WADM\$" \
    "segtls rollbackconfig list: the commit is the web user's"
like "$(grep "Username:$WADM" "$GUI" | tail -1)" "Action: Changes committed: Inbound TLS 1\\.3 from the browser\$" \
    "gui_logs: the commit's action line"
like "$(grep "user:$WADM" "$GUI" | grep ' POST /commit ' | tail -1)" \
    "Info: req:127\\.0\\.0\\.1 user:$WADM id:[0-9a-f]{16} 303 POST /commit HTTP/1\\.1 Mozilla/5\\.0 .*Chrome/" \
    "gui_logs: the browser's commit request"

# --- GUI HTTPS at TLS 1.3 only ---
api_out=$(wcurl -u "$WADM:$WPASS" -X PUT -H 'Content-Type: application/json' \
    -d '{"gui.methods":"1.3"}' "$WURL/api/v1/settings/pending" -o /dev/null -w '%{http_code}')
commit_out=$(wcurl -u "$WADM:$WPASS" -X POST -H 'Content-Type: application/json' \
    -d '{"comment":"GUI TLS 1.3 only"}' "$WURL/api/v1/commit" -o /dev/null -w '%{http_code}')
is "$api_out $commit_out" "200 200" "API: gui.methods 1.3 committed (applied to nginx)"
mark=$(stat -c %s "$GUI")
port=$(curl -sk --tlsv1.2 --tls-max 1.2 -o /dev/null -w '%{local_port}' "$WURL/login")
is "$?" 35 "curl --tls-max 1.2 fails to connect"
sleep 0.3
is "$(tail -c "+$((mark + 1))" "$GUI" | sed -E "s/^$TS //")" \
    "Warning: SSL error with client 127.0.0.1:$port - (167772418, 'error:0A000102:SSL routines::unsupported protocol')" \
    "gui_logs: the failure record of that handshake"
SEEN=$(timeout 120 /usr/bin/python3 "$SEGTLS_TOP/t/lib/webui_browser.py" load "$WURL" "$OUT" \
    --ssl-version-max=tls1.2 2>>"$T/browser.err")
like "$(js 'j.get("error_code") or j.get("error")')" "ERR_SSL_(VERSION_OR_CIPHER_MISMATCH|PROTOCOL_ERROR)" \
    "Chromium --ssl-version-max=tls1.2 cannot load the page"
mark=$(stat -c %s "$GUI")
SEEN=$(timeout 120 /usr/bin/python3 "$SEGTLS_TOP/t/lib/webui_browser.py" load "$WURL" "$OUT" \
    2>>"$T/browser.err")
is "$(js 'j["title"]')" "Log In - segtls" "the default Chromium loads the page"
like "$(tail -c "+$((mark + 1))" "$GUI" | grep 'GUI HTTPS TLS success' | head -1)" \
    "Info: GUI HTTPS TLS success protocol TLSv1.3 cipher TLS_AES_(256|128)_GCM_SHA(384|256) address 127\\.0\\.0\\.1 port [0-9]+\$" \
    "gui_logs: Chromium's connection is TLS 1.3"

# --- the screenshots ---
for f in webui-edit.png webui-committed.png; do diag "screenshot: $OUT/$f"; done
ok "$([ -s "$OUT/webui-committed.png" ] && [ -s "$OUT/webui-edit.png" ]; echo $?)" \
    "screenshots of the edit form and of the committed page"
for d in "$BUILD_DIR/t-out/webui" "$SEGTLS_TOP/t/out"; do
    [ "$d" = "$SEGTLS_TOP/t/out" ] && [ ! -d "$d" ] && continue
    mkdir -p "$d" && cp "$OUT"/*.png "$d/" && diag "screenshots copied to $d/"
done
done_testing
