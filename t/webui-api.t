#!/bin/bash
# webui-api.t - the REST API of segtls-policyd's web UI, through a private
# nginx (the shipped server block, ngx_http_segtls_module) on loopback:
# 401 without credentials, HTTP Basic and sessions with PAM and real test
# accounts, every key through PUT, the hostile values of t/policyd.t,
# t/sslconfig.t and t/unit/render_check.c refused by the API and by the
# form with exactly the CLI's message and nothing changed, 403 for a
# read-only account on every change and without the CSRF token, commit /
# clear / rollback round trips attributed to the web user, 200 reads
# answered while a commit's apply is held, the failed-login throttle,
# idle expiry, logout, and the gui_logs records in the gateway's shapes.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/nginx.sh"
source "$(dirname "$0")/lib/webui.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (test accounts, PAM)"
command -v nginx >/dev/null && command -v curl >/dev/null || skip_all "nginx or curl missing"
[ -r /usr/share/nginx/src/conf_flags ] || skip_all "nginx-dev is not installed"
[ -x "$(bin segtls-policyd)" ] && [ -x /usr/bin/python3 ] || skip_all "not built, or no python3"
webui_users || { echo "Bail out! cannot create the test accounts"; exit 1; }
ngx_segtls_module

SEGTLS=$(bin segtls)
TS='[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}'
mkdir -p "$T/etc" "$T/log" "$T/run" "$T/bin"
CONF=$T/etc/segtls.conf
S=$T/run/policyd.sock
export SEGTLS_SOCKET=$S
WSOCK=$T/run/webui.sock
GUI=$T/log/gui_logs

# policyd runs next to a segtls-apply that waits at $T/gate (a FIFO) when
# it exists, then runs the real one (as in commit-apply.t)
cp "$(bin segtls-policyd)" "$T/bin/"
cat >"$T/bin/segtls-apply" <<SH
#!/bin/bash
if [ -p "$T/gate" ]; then echo \$\$ >"$T/gate.started"; read -r _ <"$T/gate"; fi
exec "$(bin segtls-apply)" "\$@"
SH
chmod 755 "$T/bin/segtls-apply"
cat >"$T/etc/apply.conf" <<CONF
[apply]
enabled=true
no-postfix=true
no-nginx=true
client-conf=$T/client.cnf
CONF

webui_nginx gui "$(free_port)" "$WSOCK" "$GUI" || { echo "Bail out! nginx prefix"; exit 1; }
ngx_start gui || { echo "Bail out! nginx does not start"; exit 1; }
WPOLICYD=$T/bin/segtls-policyd webui_policyd --config "$CONF" --state-dir "$T/state" \
    --socket "$S" --apply-config "$T/etc/apply.conf" --gui-log "$GUI" --web-idle-timeout 10 ||
    { echo "Bail out! policyd with the web UI does not start"; cat "$T/policyd.log" >&2; exit 1; }

# api METHOD PATH [BODY] [CURL-ARGS...] - status in $ST, body in $BODY
api() {
    local m=$1 p=$2 d=${3-}; shift 3 2>/dev/null || shift $#
    local args=(-X "$m" -o "$T/body" -w '%{http_code}')
    [ -n "$d" ] && args+=(-H 'Content-Type: application/json' --data-binary "$d")
    ST=$(wcurl "${args[@]}" "$@" "$WURL$p")
    BODY=$(cat "$T/body")
}
# err - the "error" member of $BODY
err() { printf '%s' "$BODY" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("error"))'; }
# jget EXPR - a Python expression on the JSON body j
jget() { printf '%s' "$BODY" | /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
# logmark / since MARK - gui_logs lines written after MARK, without time
logmark() { stat -c %s "$GUI"; }
# (the TLS records of ngx_http_segtls_module left out)
since() { sleep 0.2; tail -c "+$(($1 + 1))" "$GUI" | sed -E "s/^$TS //" | grep -v '^Info: GUI HTTPS TLS '; }
# session_args - AS=(the curl arguments of the session of the last wlogin)
session_args() { AS=(-H "Cookie: $WCOOKIE" -H "X-CSRF-Token: $WCSRF"); }

plan 83

# --- who: nobody, Basic, sessions ---
api GET /api/v1/settings ""
is "$ST $(err)" "401 authentication required" "no credentials: 401"
like "$(wcurl -D - -o /dev/null "$WURL/api/v1/settings")" $'[Ww][Ww][Ww]-[Aa]uthenticate: Basic realm="segtls"' \
    "401 says Basic"
got=$(sed -nE 's%^ *\{"([A-Z]+)", "/api/v1([^"]*)", WEB_ROLE_(READ|ADMIN).*%\1 \2%p' "$SEGTLS_TOP/policyd/web.c" |
    while read -r m p; do
        printf '%s %s %s\n' "$m" "$p" "$(wcurl -o /dev/null -w '%{http_code}' -X "$m" \
            -H 'Content-Type: application/json' -d '{}' "$WURL/api/v1${p/\{id\}/1}")"
    done | awk '{ n++ } $3 != 401 { bad++ } END { print n, bad + 0 }')
is "$got" "19 0" "no credentials: every API route that needs a login (19) answers 401"
api GET /api/v1/settings "" -u "$WADM:wrong"
is "$ST $(err)" "401 login failed: wrong user name or password" "Basic with a wrong password: 401"
api GET /api/v1/settings "" -u "$WADM:$WPASS"
is "$ST $(jget 'j["pending"]')" "200 None" "Basic with the admin account: 200, nothing pending"
mark=$(logmark)
api POST /api/v1/session "{\"user\":\"$WOUT\",\"password\":\"$WPASS\"}"
is "$ST $(err)" "403 user $WOUT may not use the web UI" "an account outside both groups is refused"
wlogin "$WRO"; RO_COOKIE=$WCOOKIE; RO_CSRF=$WCSRF
ok $? "read-only account logs in"
mark=$(logmark)
wlogin "$WADM"
ok $? "admin account logs in: a cookie and a CSRF token"
session_args
like "$(grep -i '^set-cookie' "$T/login.h")" '^[Ss]et-[Cc]ookie: segtls_session=[0-9a-f]{64}; Path=/; HttpOnly; Secure; SameSite=Strict' \
    "the cookie is HttpOnly, Secure, SameSite=Strict"
got=$(since "$mark")
SID=$(printf '%s\n' "$got" | sed -n 's/.* session:\([0-9a-f]*\) Action: The HTTPS session.*/\1/p')
is "$got" "Info: SourceIP:127.0.0.1 Destination:/api/v1/session Username:$WADM Privilege:admin session:$SID Action: The HTTPS session has been established successfully.
Info: req:127.0.0.1 user:$WADM id:$SID 200 POST /api/v1/session HTTP/1.1 curl/$(curl -V | sed -n '1s/^curl \([^ ]*\).*/\1/p')" \
    "gui_logs: the login line, then the request line with user and session"
like "$SID" '^[0-9a-f]{16}$' "the recorded session id is not the cookie"
api GET /api/v1/session "" "${AS[@]}"
is "$ST $(jget 'j["user"], j["role"], j["csrf_token"] == "'"$WCSRF"'"')" "200 $WADM admin True" \
    "GET session: user, role, the CSRF token"

# --- every key through PUT ---
VALID='{"gui.methods":"1.2-1.3","gui.ciphers":"HIGH:!aNULL","gui.renegotiation":"disabled","gui.certificate":"'$T'/gui.pem","inbound.methods":"1.0-1.2","inbound.ciphers":"ALL","inbound.renegotiation":"disabled","inbound.tls":"required","inbound.certificate":"'$T'/in.pem","outbound.methods":"1.3","outbound.ciphers":"AES256","outbound.tls":"required-verify","outbound.ca_file":"'$T'/ca.pem","other_client.tlsv1_0":"on","peer_cert.fqdn":"on","peer_cert.x509":"on"}'
api PUT /api/v1/settings/pending "$VALID" -H "Cookie: $WCOOKIE"
is "$ST $(err)" "403 missing or wrong CSRF token" "PUT with the session but no CSRF token: 403"
api GET /api/v1/settings/pending "" "${AS[@]}"
is "$(jget 'j["pending"]')" None "... and nothing changed"
api PUT /api/v1/settings/pending "$VALID" -H "Cookie: $WCOOKIE" -H "X-CSRF-Token: 0$WCSRF"
is "$ST" 403 "PUT with a wrong CSRF token: 403"
api PUT /api/v1/settings/pending "$VALID" "${AS[@]}" -H 'Origin: https://evil.example'
is "$ST $(err)" "403 cross-origin request refused" "PUT from a foreign origin, even with the token: 403"
st=$(wcurl -o /dev/null -w '%{http_code}' -H 'Origin: https://evil.example' \
    --data-urlencode "username=$WADM" --data-urlencode "password=$WPASS" "$WURL/login")
is "$st" 403 "a login form posted from a foreign origin: 403"
ST=$(wcurl -o "$T/body" -w '%{http_code}' -X PUT -H 'Content-Type: text/plain' \
    --data-binary "$VALID" "${AS[@]}" "$WURL/api/v1/settings/pending"); BODY=$(cat "$T/body")
is "$ST $(err)" "415 the request body must be application/json" "PUT as text/plain: 415"
mark=$(logmark)
api PUT /api/v1/settings/pending "$VALID" "${AS[@]}"
is "$ST $(jget 'j["pending"]')" "200 True" "PUT every key: 200, pending"
api GET /api/v1/settings/pending "" "${AS[@]}"
is "$(jget 'json.dumps(j["pending"], sort_keys=True)')" \
   "$(printf '%s' "$VALID" | /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')" \
   "every key has the value PUT"
like "$(since "$mark")" "^Info: SourceIP:127.0.0.1 Destination:/api/v1/settings/pending Username:$WADM Privilege:admin session:$SID Action: Pending changes saved: gui.methods=1.2-1.3, gui.ciphers=HIGH:!aNULL, gui.renegotiation=disabled, " \
    "gui_logs: the configuration-change action line names the keys"
is "$("$SEGTLS" show | sed -n '/^Pending changes:/,$p' | grep -c '^  ')" 16 "segtls show sees the 16 pending changes"
api DELETE /api/v1/settings/pending "" "${AS[@]}"
is "$ST $(jget 'j["nothing"]')" "200 False" "DELETE pending: cleared"
api DELETE /api/v1/settings/pending "" "${AS[@]}"
is "$ST $(jget 'j["nothing"]')" "200 True" "DELETE again: nothing to clear"

# --- hostile values: the CLI, the API and the form say the same, change nothing ---
/usr/bin/python3 "$SEGTLS_TOP/t/lib/webui_hostile.py" "$SEGTLS_TOP/t/data/webui/hostile.json" \
    "$SEGTLS" "$WURL" "$WCOOKIE" "$WCSRF" >"$T/hostile.out" 2>"$T/hostile.err"
is "$?" 0 "the hostile-value driver ran"
N=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$SEGTLS_TOP/t/data/webui/hostile.json")
is "$(wc -l <"$T/hostile.out")" "$N" "every hostile case was tried ($N)"
bad=$(/usr/bin/python3 - "$T/hostile.out" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    c = json.loads(line)
    cli, api, form = c["cli"], c["api"], c["form"]
    same = cli["accepted"] == api["accepted"] == form["accepted"]
    if cli["accepted"]:
        good = same and cli["changed"] and api["changed"] and form["changed"]
    else:
        good = (same and cli["message"] and api["message"] == cli["message"]
                and form["message"] == cli["message"] and api["status"] == 400
                and form["status"] == 400
                and not (cli["changed"] or api["changed"] or form["changed"]))
    if not good:
        print(json.dumps(c))
PY
)
is "$bad" "" "each value: the API and the form accept what the CLI accepts, and refuse the rest with a 400 and the CLI's message, changing nothing"
is "$(grep -c '"cli": {"accepted": false' "$T/hostile.out")" "$((N - 1))" \
    "all but one hostile value are refused at set (a switch's trailing newline is ignored)"
like "$(sed -n 1p "$T/hostile.out")" '"api": \{"accepted": false, "message": "inbound.methods: \\"1.0,1.2\\": TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1"' \
    "the API's message for a gap is the CLI's"
api GET /api/v1/settings/pending "" "${AS[@]}"
is "$(jget 'j["pending"]')" None "after all hostile values nothing is pending"

# --- the edit form as a browser without JavaScript submits it ---
NOJS=("$SEGTLS_TOP/t/lib/webui_nojs.py" "$WURL" "$WCOOKIE")
is "$(/usr/bin/python3 "${NOJS[@]}")" "303 /" "the edit form as served, submitted without JavaScript: accepted"
api GET /api/v1/settings/pending "" "${AS[@]}"
is "$(jget 'j["pending"]')" None "... and nothing changed"
is "$(/usr/bin/python3 "${NOJS[@]}" inbound.methods:1.1 inbound.methods:1.3)" "303 /" \
    "without JavaScript: Inbound SMTP TLS v1.1 unchecked, TLS v1.3 checked"
api GET /api/v1/settings/pending "" "${AS[@]}"
is "$(jget 'j["pending"]["inbound.methods"]')" "1.2-1.3" "... pending inbound.methods 1.2-1.3"
"$SEGTLS" clear -y >/dev/null
is "$(/usr/bin/python3 "${NOJS[@]}" inbound.methods:1.2 inbound.methods:1.3)" "400 None" \
    "without JavaScript a gap gets through the form and the server refuses it"

# --- read-only: 403 on every change, reads work ---
RO=(-H "Cookie: $RO_COOKIE" -H "X-CSRF-Token: $RO_CSRF")
for c in "PUT /api/v1/settings/pending {\"inbound.methods\":\"1.2\"}" "DELETE /api/v1/settings/pending" \
         "POST /api/v1/commit {}" "POST /api/v1/rollbacks/1/restore {}"; do
    set -- $c
    api "$1" "$2" "${3-}" "${RO[@]}"
    is "$ST $(err)" "403 user $WRO has read-only access" "read-only: $1 $2 is 403"
done
for f in /edit /commit /clear /rollback; do
    st=$(wcurl -o /dev/null -w '%{http_code}' "${RO[@]}" --data-urlencode "csrf=$RO_CSRF" \
        --data-urlencode 'inbound.methods=1.2' --data-urlencode 'id=1' "$WURL$f")
    is "$st" 403 "read-only: form POST $f is 403"
done
api GET /api/v1/settings "" "${RO[@]}"
is "$ST" 200 "read-only: GET settings is 200"
api PUT /api/v1/settings/pending '{}' -u "$WRO:$WPASS"
is "$ST" 403 "read-only with Basic: PUT is 403"

# --- commit, rollback, clear round trips ---
api PUT /api/v1/settings/pending '{"inbound.methods":"1.2-1.3"}' "${AS[@]}"
is "$ST" 200 "PUT inbound.methods 1.2-1.3"
mark=$(logmark)
api POST /api/v1/commit '{"comment":"inbound 1.3 from the API"}' "${AS[@]}"
is "$ST $(jget 'j["nothing"]')" "200 False" "POST commit: 200"
is "$(sed -n '/^\[inbound\]/,/^\[/s/^methods=//p' "$CONF")" "1.2-1.3" "the committed file has it"
like "$(since "$mark")" "Action: Changes committed: inbound 1.3 from the API"$'\n'"Info: req:127.0.0.1 user:$WADM id:$SID 200 POST /api/v1/commit " \
    "gui_logs: the commit's action line, then its request line"
api GET /api/v1/rollbacks "" "${AS[@]}"
is "$(jget 'j["rollbacks"][0]["user"], j["rollbacks"][0]["comment"], j["rollbacks"][0]["differences"]')" \
    "$WADM inbound 1.3 from the API ['inbound.methods = 1.1-1.2 (committed: 1.2-1.3)']" \
    "the rollback entry: the web user, the comment, what it brings back"
like "$(jget 'j["rollbacks"][0]["restores"]')" "^before: inbound 1\\.3 from the API, committed $TS by $WADM\$" \
    "the entry says which configuration it restores"
like "$("$SEGTLS" rollbackconfig list)" "^1\\. before: inbound 1\\.3 from the API, committed $TS by $WADM"$'\n' \
    "segtls rollbackconfig list shows the web user"
api POST /api/v1/commit '{"comment":"again"}' "${AS[@]}"
is "$ST $(jget 'j["nothing"]')" "200 True" "commit with nothing pending: nothing"
api POST /api/v1/rollbacks/1/restore '{}' "${AS[@]}"
is "$ST" 200 "restore entry 1"
api GET /api/v1/settings/pending "" "${AS[@]}"
is "$(jget 'j["pending"]["inbound.methods"]')" "1.1-1.2" "the restored configuration is pending"
api POST /api/v1/rollbacks/7/restore '{}' "${AS[@]}"
is "$ST $(err)" "404 no saved configuration 7" "restore a missing entry: 404, the CLI's message"
api POST /api/v1/rollbacks/x/restore '{}' "${AS[@]}"
is "$ST" 404 "restore with a non-number: 404"
api DELETE /api/v1/settings/pending "" "${AS[@]}"
is "$ST $(jget 'j["nothing"]')" "200 False" "clear the restored configuration"
api POST /api/v1/commit '{"comment":5}' "${AS[@]}"
is "$ST $(err)" "400 member \"comment\" must be a string and \"keep_rollback\" a boolean" \
    "a commit with a number as comment: 400"
api PUT /api/v1/settings/pending '[1]' "${AS[@]}"
is "$ST $(err)" "400 request is not a JSON object" "PUT an array: 400"
api GET /api/v1/nosuch "" "${AS[@]}"
is "$ST" 404 "unknown path: 404"
api PATCH /api/v1/settings/pending "" "${AS[@]}"
is "$ST" 405 "unknown method on a known path: 405"

# --- 200 reads answered while a commit's apply runs ---
api PUT /api/v1/settings/pending '{"outbound.methods":"1.2"}' "${AS[@]}"
mkfifo "$T/gate"
wcurl -o "$T/commit.body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary '{"comment":"held"}' "${AS[@]}" "$WURL/api/v1/commit" >"$T/commit.status" &
CPID=$!
wait_file "$T/gate.started" 100
ok $? "the commit runs segtls-apply (held at the gate)"
seq 200 | xargs -P 40 -I{} curl -sk --max-time 60 -o /dev/null -w '%{http_code}\n' \
    -H "Cookie: $WCOOKIE" "$WURL/api/v1/settings" >"$T/reads" 2>&1
is "$(sort "$T/reads" | uniq -c | sed 's/^ *//')" "200 200" "200 concurrent reads during the commit: all 200"
api PUT /api/v1/settings/pending '{"outbound.methods":"1.3"}' "${AS[@]}"
is "$ST $(err)" "409 an apply is in progress" "a change during the commit: 409, the CLI's message"
kill -0 "$CPID" 2>/dev/null
ok $? "the commit is still waiting for its apply"
echo go >"$T/gate"; rm -f "$T/gate" "$T/gate.started"
wait "$CPID"
is "$(cat "$T/commit.status")" 200 "the held commit answers 200 once the apply is done"
like "$(cat "$T/commit.body")" '"nothing" : false' "... and it committed"
is "$(sed -n '/^\[outbound\]/,/^\[/s/^methods=//p' "$CONF")" "1.2" "the committed file has outbound 1.2"

# --- hostile request fields reach gui_logs neutralised ---
mark=$(logmark)
wcurl -o /dev/null -A $'evil\x1b[2J\tagent' "$WURL/api/v1/x%0Ay?a=b%0D"
is "$(since "$mark")" 'Info: req:127.0.0.1 user:- id:- 404 GET /api/v1/x\x0Ay?a=b%0D HTTP/1.1 evil\x1B[2J\x09agent' \
    "a hostile path and user agent are escaped in their record"
mark=$(logmark)
wcurl -o /dev/null -H 'X-Real-IP: 6.6.6.6' "$WURL/api/v1/settings"
like "$(since "$mark")" '^Info: req:127\.0\.0\.1 ' "a client's own X-Real-IP is replaced by nginx"

# --- logout, unknown sessions, idle expiry ---
mark=$(logmark)
api DELETE /api/v1/session "" "${AS[@]}"
is "$ST" 200 "logout: 200"
api GET /api/v1/settings "" -H "Cookie: $WCOOKIE"
is "$ST" 401 "the cookie after logout: 401"
is "$(since "$mark" | grep -v '^Info: req:' | grep -F "$SID")" "Info: Action: User $WADM logged out from session $SID
Info: Session $SID user:$WADM expired" "gui_logs: logout, then the ended session's use"
mark=$(logmark)
api GET /api/v1/settings "" -H "Cookie: segtls_session=0123456789abcdef0123"
is "$(since "$mark" | head -1)" "Info: Session 0123456789abcdef from 127.0.0.1 not found Destination:/api/v1/settings" \
    "gui_logs: an unknown session"
wlogin "$WRO"
sid=$(sed -E "s/^$TS //" "$GUI" | sed -n "s/.*Username:$WRO Privilege:readonly session:\\([0-9a-f]*\\) Action: The HTTPS.*/\\1/p" | tail -1)
mark=$(logmark)
sleep 12
api GET /api/v1/settings "" -H "Cookie: $WCOOKIE"
is "$ST" 401 "after the idle timeout the session is gone: 401"
is "$(since "$mark" | grep -v '^Info: req:' | grep -F "$sid")" "Info: Action: User $WRO logged out from session $sid beacuse of inactivity timeout
Info: Session $sid user:$WRO expired" "gui_logs: the inactivity logout, then the expired session"

# --- failed logins are throttled per user name ---
pids=()
for i in 1 2 3 4 5; do
    wcurl -o /dev/null -u "$WTHR:wrong$i" "$WURL/api/v1/settings" &
    pids+=($!)
done
wait "${pids[@]}"
api GET /api/v1/settings "" -u "$WTHR:$WPASS"
like "$ST $(err)" '^429 too many failed logins; try again in [0-9]+ seconds$' \
    "5 failed logins: the right password is refused for a while (429)"
api GET /api/v1/settings "" -u "$WADM:$WPASS"
is "$ST" 200 "another account still logs in"
is "$(grep -c "Username:$WTHR Privilege:- session:- Action: The authentication attempt failed\\.\$" "$GUI")" 5 \
    "gui_logs: five failed-login records"

# --- the OpenAPI description covers every API route ---
api GET /api/v1/openapi.json ""
is "$ST $(jget 'j["openapi"]')" "200 3.0.3" "GET /api/v1/openapi.json: an OpenAPI 3 document"
routes=$(sed -n 's|^ *{"\([A-Z]*\)", "/api/v1\([^"]*\)".*|\1 \2|p' "$SEGTLS_TOP/policyd/web.c" | LC_ALL=C sort)
doc=$(jget '"\n".join(sorted(m.upper() + " " + p for p, o in j["paths"].items() for m in o))')
is "$doc" "$routes" "the description lists exactly the API's routes"
is "$(cmp -s "$T/body" "$SEGTLS_TOP/policyd/webui/openapi.json"; echo $?)" 0 "the served description is the shipped file"

done_testing
