#!/bin/bash
# destctl-web.t - the Destination Controls and sender groups in the web
# UI of segtls-policyd (behind a private nginx with the shipped server
# block): the REST routes read and change the pending tables with the
# CLI's one-line messages, hostile values change nothing, a read-only
# account may only read, the page lists both tables and its forms add and
# delete entries, and each change is a gui_logs action record.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/nginx.sh"
source "$(dirname "$0")/lib/webui.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (test accounts, PAM)"
command -v nginx >/dev/null && command -v curl >/dev/null || skip_all "nginx or curl missing"
[ -r /usr/share/nginx/src/conf_flags ] || skip_all "nginx-dev is not installed"
[ -x "$(bin segtls-policyd)" ] && [ -x /usr/bin/python3 ] || skip_all "not built, or no python3"
webui_users || { echo "Bail out! cannot create the test accounts"; exit 1; }
ngx_segtls_module
mkdir -p "$T/etc" "$T/log" "$T/run"
CONF=$T/etc/segtls.conf
S=$T/run/policyd.sock
export SEGTLS_SOCKET=$S
WSOCK=$T/run/webui.sock
GUI=$T/log/gui_logs
: >"$CONF"
webui_nginx gui "$(free_port)" "$WSOCK" "$GUI" || { echo "Bail out! nginx prefix"; exit 1; }
ngx_start gui || { echo "Bail out! nginx does not start"; exit 1; }
webui_policyd --config "$CONF" --state-dir "$T/state" --socket "$S" --gui-log "$GUI" ||
    { echo "Bail out! policyd with the web UI does not start"; exit 1; }

# api METHOD PATH [BODY] [CURL-ARGS...] - status in $ST, body in $BODY
api() {
    local m=$1 p=$2 d=${3-}; shift 3 2>/dev/null || shift $#
    local args=(-X "$m" -o "$T/body" -w '%{http_code}')
    [ -n "$d" ] && args+=(-H 'Content-Type: application/json' --data-binary "$d")
    ST=$(wcurl "${args[@]}" "$@" "$WURL$p")
    BODY=$(cat "$T/body")
}
err() { printf '%s' "$BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("error"))'; }
jget() { printf '%s' "$BODY" | python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

wlogin "$WADM" || { echo "Bail out! admin login"; exit 1; }
A=(-H "Cookie: $WCOOKIE" -H "X-CSRF-Token: $WCSRF")
api GET /api/v1/destinations "" "${A[@]}"
is "$ST $(jget 'j["default"], j["destinations"], j["pending"]')" "200 preferred [] False" \
    "GET /api/v1/destinations: the default and no entry"
api PUT /api/v1/destinations '{"domain":"a;b.test","tls":"required"}' "${A[@]}"
is "$ST $(err)" "400 destination \"a;b.test\": character ';' is not allowed in a domain" \
    "a hostile domain: 400 with the CLI's message"
api PUT /api/v1/destinations '{"domain":"old.test","tls":"preferred","methods":"1.3"}' "${A[@]}"
is "$ST $(err)" "400 destination old.test: versions 1.3 are not inside outbound.methods 1.1-1.2" \
    "versions outside outbound.methods: 400"
api GET /api/v1/destinations "" "${A[@]}"
is "$(jget 'j["destinations"], j["pending"]')" "[] False" "nothing changed"
mark=$(stat -c %s "$GUI")
api PUT /api/v1/destinations '{"domain":"bank.test","tls":"required-verify"}' "${A[@]}"
is "$ST $(jget 'j["pending"]')" "200 True" "PUT bank.test required-verify: pending"
api GET /api/v1/destinations "" "${A[@]}"
is "$(jget '[(e["domain"], e["tls"]) for e in j["destinations"]]')" "[('bank.test', 'required-verify')]" \
    "GET lists it"
like "$(tail -c "+$((mark + 1))" "$GUI")" "Info: SourceIP:127.0.0.1 Destination:/api/v1/destinations Username:$WADM Privilege:admin session:[0-9a-f]+ Action: Pending changes saved: destination bank.test set" \
    "a gui_logs action record"
api PUT /api/v1/sendergroups '{"name":"relays","tls":"required","members":["10.0.0.0/33"]}' "${A[@]}"
is "$ST $(err)" "400 member \"10.0.0.0/33\": prefix length out of range (0-32)" "a CIDR out of range: 400"
api PUT /api/v1/sendergroups '{"name":"relays","tls":"required","members":["127.0.0.2","10.1.0.0/16"]}' "${A[@]}"
is "$ST" 200 "PUT a sender group"
api GET /api/v1/sendergroups "" "${A[@]}"
is "$(jget '[(g["name"], g["tls"], g["members"]) for g in j["sendergroups"]]')" \
    "[('relays', 'required', ['10.1.0.0/16', '127.0.0.2/32'])]" "GET /api/v1/sendergroups"
wlogin "$WRO" || { echo "Bail out! read-only login"; exit 1; }
R=(-H "Cookie: $WCOOKIE" -H "X-CSRF-Token: $WCSRF")
api PUT /api/v1/destinations '{"domain":"x.test","tls":"required"}' "${R[@]}"
is "$ST" 403 "a read-only account may not change the table"
api GET /api/v1/destinations "" "${R[@]}"
is "$ST" 200 "but may read it"
page=$(wcurl "${A[@]}" "$WURL/")
like "$page" "<h2>Destination Controls</h2>" "the page has the Destination Controls"
like "$page" "<tr><td>bank.test</td><td>required-verify</td>" "with the entry"
like "$page" "<td>relays</td><td>required</td><td>10.1.0.0/16, 127.0.0.2/32</td>" "and the sender group"
like "$page" '<ul id="pending-tables"><li>destination bank.test = required-verify \(committed: none\)</li><li>sender group relays = required 10.1.0.0/16,127.0.0.2/32 \(committed: none\)</li></ul>' \
    "the pending changes name the table changes"
csrf=${A[3]#X-CSRF-Token: }
ST=$(wcurl -o /dev/null -w '%{http_code}' "${A[@]:0:2}" --data-urlencode "do=delete" \
    --data-urlencode "domain=bank.test" --data-urlencode "csrf=$csrf" "$WURL/destinations")
is "$ST" 303 "the page's delete form: see other"
api GET /api/v1/destinations "" "${A[@]}"
is "$(jget 'j["destinations"]')" "[]" "the entry is gone"
ST=$(wcurl -o /dev/null -w '%{http_code}' "${A[@]:0:2}" --data-urlencode "do=save" \
    --data-urlencode "domain=a b" --data-urlencode "tls=required" --data-urlencode "csrf=$csrf" \
    "$WURL/destinations")
page=$(wcurl "${A[@]}" "$WURL/")
like "$page" 'id="flash">destination &quot;a b&quot;: character &apos; &apos; is not allowed in a domain' \
    "a hostile domain in the form: the one-line error on the page"
done_testing
