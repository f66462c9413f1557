#!/bin/bash
# webui-standalone.t - `make run` (tools/run.sh) serves the web UI at
# https://127.0.0.1:PORT/: segtls-standalone's GUI HTTPS terminates TLS
# under the gui.* settings and hands each request to segtls-policyd's web
# socket (--gui-proxy). Login with a test account, the API through it, a
# commit that the standalone SMTP server then serves, the TLS record of
# standalone and the request record of policyd in one gui_logs, a
# client's own X-Real-IP replaced, an oversized header refused, and
# Chromium loading the page.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/nginx.sh"
source "$(dirname "$0")/lib/webui.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (test accounts, PAM)"
[ -x "$(bin segtls-policyd)" ] && [ -x "$(bin segtls-standalone)" ] || skip_all "not built"
command -v curl >/dev/null || skip_all "curl missing"
webui_users || { echo "Bail out! cannot create the test accounts"; exit 1; }

RUN=$T/run
HP=$(free_port)
SP=$(free_port)
KP=$(free_port)
TS='[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}'
GUI=$RUN/log/gui_logs
WURL=https://127.0.0.1:$HP

SEGTLS_RUN_DIR=$RUN SEGTLS_HTTPS_PORT=$HP SEGTLS_SMTP_PORT=$SP SEGTLS_SINK_PORT=$KP \
    SEGTLS_WEB_ADMIN_GROUP=$WADMG setsid "$SEGTLS_TOP/tools/run.sh" >"$T/run.out" 2>&1 &
RPID=$!
at_exit "kill -TERM $RPID; sleep 1; kill -KILL -$RPID"
wait_port "$HP" 100 && wait_file "$RUN/webui.sock" 100 || { echo "Bail out! make run does not come up"; cat "$T/run.out" >&2; exit 1; }

plan 14

like "$(cat "$T/run.out")" "web UI +https://127\\.0\\.0\\.1:$HP/" "make run says where the page is"
is "$(wcurl -o /dev/null -w '%{http_code} %{redirect_url}' "$WURL/")" "303 $WURL/login" \
    "GET / without a session: 303 to the login page"
mark=$(stat -c %s "$GUI")
port=$(wcurl -o "$T/body" -w '%{local_port}' -H 'X-Real-IP: 6.6.6.6' -u "$WADM:$WPASS" "$WURL/api/v1/settings")
like "$(cat "$T/body")" '"pending" : null' "the API through standalone's GUI HTTPS: settings, nothing pending"
sleep 0.2
got=$(tail -c "+$((mark + 1))" "$GUI" | sed -E "s/^$TS //")
is "$got" "Info: GUI HTTPS TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES256-GCM-SHA384 address 127.0.0.1 port $port
Info: req:127.0.0.1 user:$WADM id:- 200 GET /api/v1/settings HTTP/1.1 curl/$(curl -V | sed -n '1s/^curl \([^ ]*\).*/\1/p')" \
    "gui_logs: standalone's TLS record, then policyd's request record (the client's X-Real-IP ignored)"

# a commit through the page's API, then the standalone SMTP server serves it
st=$(wcurl -o /dev/null -w '%{http_code}' -u "$WADM:$WPASS" -X PUT -H 'Content-Type: application/json' \
    -d '{"inbound.methods":"1.2-1.3"}' "$WURL/api/v1/settings/pending")
is "$st" 200 "PUT inbound.methods 1.2-1.3"
st=$(wcurl -o /dev/null -w '%{http_code}' -u "$WADM:$WPASS" -X POST -H 'Content-Type: application/json' \
    -d '{"comment":"from make run"}' "$WURL/api/v1/commit")
is "$st" 200 "POST commit" || {
    # make run stops every part when one of them ends: say which, and why
    diag "make run's output (policyd, both standalones, segtls-apply):"
    tail -60 "$T/run.out" | cut -c1-300 | sed 's/^/#   /' >&2
}
is "$(sed -n '/^\[inbound\]/,/^\[/s/^methods=//p' "$RUN/segtls.conf")" "1.2-1.3" "run/segtls.conf has it"
for ((i = 0; i < 50; i++)); do
    timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$SP" -tls1_3 </dev/null 2>/dev/null |
        grep -q '^New, TLSv1.3' && break
    sleep 0.2
done
ok "$([ "$i" -lt 50 ]; echo $?)" "segtls-standalone's Inbound SMTP then negotiates TLS 1.3"
like "$("$(bin segtls)" --socket "$RUN/policyd.sock" rollbackconfig list)" "^1\\. before: from make run, committed $TS by $WADM"$'\n' \
    "the rollback entry names the web user"

# a session and the page
wlogin "$WADM"
ok $? "login through standalone: a session cookie"
st=$(wcurl -o "$T/page" -w '%{http_code}' -H "Cookie: $WCOOKIE" "$WURL/")
like "$st $(grep -o '<h1>SSL Configuration</h1>' "$T/page")" "^200 <h1>SSL Configuration</h1>\$" \
    "GET / with the session: the SSL Configuration page"

# refused before the web UI sees it
big=$(head -c 20000 /dev/zero | tr '\0' a)
is "$(wcurl -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$WURL/")" 431 "an oversized request header: 431"

if [ -x /usr/bin/chromium ] && /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
    mkdir -p "$T/out"
    SEEN=$(timeout 120 /usr/bin/python3 "$SEGTLS_TOP/t/lib/webui_browser.py" load "$WURL" "$T/out" 2>"$T/browser.err")
    like "$SEEN" '"title": "Log In - segtls"' "Chromium loads the login page through make run"
else
    ok 1 "Chromium loads the login page through make run (chromium or python3-selenium missing: make deps)"
fi

kill -TERM "$RPID"
for ((i = 0; i < 50; i++)); do [ -S "$RUN/webui.sock" ] || break; sleep 0.1; done
ok "$([ ! -S "$RUN/webui.sock" ]; echo $?)" "Ctrl-C of make run removes the web socket"
done_testing
