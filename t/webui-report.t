#!/bin/bash
# webui-report.t - Monitor > TLS Connections in the web UI and its REST
# twin (issue 17 item 2), through a private nginx (the shipped server
# block) in front of segtls-policyd, on records with a known truth
# (t/lib/gen-records.py counts the sessions it makes):
#  - GET /api/v1/reports/tls-connections: the known counts (the same
#    numbers as segtls report --csv), the direction and range filters;
#    bad fields 400 with one line naming them; no login 401, an account
#    outside the groups 403; records that cannot be read 503, one line;
#  - in headless Chromium: the header's link opens the page (a day: none
#    of these week-old records), "All records" shows the known counts in
#    tables and two SVG charts laid out, Outbound only outbound;
#    screenshots kept; the requests are in gui_logs under the web user.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/nginx.sh"
source "$(dirname "$0")/lib/webui.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (test accounts, PAM)"
command -v nginx >/dev/null || skip_all "nginx missing"
[ -r /usr/share/nginx/src/conf_flags ] || skip_all "nginx-dev is not installed"
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || skip_all "chromium or chromium-driver missing (make deps)"
/usr/bin/python3 -c 'import selenium' 2>/dev/null || skip_all "python3-selenium missing (make deps)"
[ -x "$(bin segtls-policyd)" ] || skip_all "not built"
ngx_segtls_module
webui_users || { echo "Bail out! cannot create the test accounts"; exit 1; }
ngx_segtls_module
export TZ=UTC
GEN=$SEGTLS_TOP/t/lib/gen-records.py
AS=$SEGTLS_TOP/t/lib/report-as-csv.py
OUT=$T/out
mkdir -p "$OUT" "$T/etc" "$T/log" "$T/run"
chmod 777 "$OUT"
CONF=$T/etc/segtls.conf
WSOCK=$T/run/webui.sock
GUI=$T/log/gui_logs
ML=$T/log/mail_logs
HPORT=$(free_port)
plan 21

python3 "$GEN" "$ML" "$T/expect.csv"
ok $? "records with a known report"
webui_nginx gui "$HPORT" "$WSOCK" "$GUI" || { echo "Bail out! nginx prefix"; exit 1; }
ngx_start gui || { echo "Bail out! nginx does not start"; exit 1; }
printf '[gui]\ncertificate=%s\n' "$CERTS/rsa.pem" >"$CONF"
webui_policyd --config "$CONF" --state-dir "$T/state" --socket "$T/run/policyd.sock" \
    --gui-log "$GUI" --mail-log "$ML" ||
    { echo "Bail out! policyd with the web UI does not start"; cat "$T/policyd.log" >&2; exit 1; }
API=$WURL/api/v1/reports/tls-connections

# api QUERY [USER] - the API's answer: body in $T/api.body, "STATUS" printed
api() { wcurl -u "${2:-$WRO}:$WPASS" -o "$T/api.body" -w '%{http_code}' "$API$1"; }
# api_error - the "error" of the last answer
api_error() { /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["error"])' <"$T/api.body"; }

# --- the API ---
is "$(api '?range=all&top=0')" 200 "API, a read-only account: 200"
python3 "$AS" json <"$T/api.body" >"$T/api.csv"
diff_ref "$T/expect.csv" "$T/api.csv" "API, range all: the known counts per domain and outcome"
is "$(api '?range=all&top=0&direction=outbound')" 200 "API, outbound: 200"
python3 "$AS" json <"$T/api.body" >"$T/got"
grep -v '^inbound,' "$T/expect.csv" >"$T/want"
diff_ref "$T/want" "$T/got" "API, outbound: only the outbound rows"
# the range ends at the request's second: count for the second before and after it
t0=$(date +%s); api '?range=week&top=0' >/dev/null; t1=$(date +%s)
python3 "$AS" json <"$T/api.body" >"$T/got"
python3 "$GEN" --since $((t0 - 7 * 86400)) "$T/x" "$T/week.csv"
cmp -s "$T/week.csv" "$T/got" || python3 "$GEN" --since $((t1 - 7 * 86400)) "$T/x" "$T/week.csv"
diff_ref "$T/week.csv" "$T/got" "API, range week: the connections of the last seven days"
bad() {
    is "$(api "$1")" 400 "API $1: 400"
    is "$(api_error)" "$2" "API $1: says what is wrong"
}
bad '?range=year' 'range "year": hour, day, week, month or all'
bad '?top=-1' 'top "-1": 0 to 1000 rows (0: all)'
bad '?colour=red' 'unknown field "colour": range, direction, domain or top'
is "$(wcurl -o /dev/null -w '%{http_code}' "$API")" 401 "API without credentials: 401"
is "$(api '' "$WOUT")" 403 "API, an account in neither group: 403"
mv "$ML" "$ML.away"
is "$(api '') $(api_error)" "503 cannot read the records $ML: No such file or directory" \
    "API, the records cannot be read: 503, one line"
mv "$ML.away" "$ML"

# --- the page in Chromium ---
SEEN=$(timeout 600 /usr/bin/python3 "$SEGTLS_TOP/t/lib/webui_report.py" "$WURL" "$WRO" "$WPASS" "$OUT" \
    2>"$T/browser.err")
is "$?" 0 "the browser session ran" || sed 's/^/# /' "$T/browser.err" | tail -20 >&2
js() { printf '%s' "$SEEN" | /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
is "$(js 'j["day"]["title"], "|", j["day"]["crumb"], "|", j["day"]["range"], j["day"]["direction"]')" \
    "TLS Connections - segtls | Monitor › TLS Connections | day both" \
    "the header's link: Monitor › TLS Connections, the last day, both directions"
js 'j["day"]["html"]' | python3 "$AS" html >"$T/got"
{ head -1 "$T/expect.csv"; printf '%s\r\n' 'inbound,*,0,0,0,0,0,0,0,,,' 'outbound,*,0,0,0,0,0,0,0,,,'; } >"$T/day.csv"
diff_ref "$T/day.csv" "$T/got" "the last day: no connections (the records end on 2026-11-30)"
js 'j["all"]["html"]' | python3 "$AS" html >"$T/got"
diff_ref "$T/expect.csv" "$T/got" "All records, Show: the known counts in the page's tables"
is "$(js 'j["all"]["charts"], j["outbound"]["charts"], j["outbound"]["direction"]')" "2 1 outbound" \
    "two SVG charts laid out by Chromium; Outbound: one, the direction kept"
like "$(grep "user:$WRO" "$GUI" | grep ' GET /report?' | tail -1)" \
    "Info: req:127\\.0\\.0\\.1 user:$WRO id:[0-9a-f]{16} 200 GET /report\\?range=all&direction=outbound&domain=&top=0 HTTP/1\\.1 Mozilla/5\\.0 " \
    "gui_logs: the browser's report request under the web user"
for f in report-all report-outbound; do
    [ -s "$OUT/$f.png" ] && diag "screenshot: $OUT/$f.png"
done
keep="${SEGTLS_BUILD:-$SEGTLS_TOP/build}/t-out/webui"
mkdir -p "$keep" && cp "$OUT"/report-*.png "$keep/" 2>/dev/null && diag "screenshots copied to $keep/"
done_testing
