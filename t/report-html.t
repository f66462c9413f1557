#!/bin/bash
# report-html.t - the report page (segtls report --html) in Debian's
# headless Chromium, through chromium-driver and python3-selenium: its
# tables and SVG charts are there, and a screenshot is saved as
# $SEGTLS_BUILD/t/report.png.
source "$(dirname "$0")/lib/tap.sh"
RP=$(bin segtls-report)
[ -x "$RP" ] || skip_all "segtls-report not built"
for f in /usr/bin/chromium /usr/bin/chromedriver; do
    [ -x "$f" ] || skip_all "$f not installed (make deps)"
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null || skip_all "python3-selenium not installed (make deps)"
export TZ=UTC
plan 7

python3 "$SEGTLS_TOP/t/lib/gen-records.py" "$T/mail_logs" "$T/expect.csv"
"$RP" --html "$T/mail_logs" >"$T/report.html"
ok $? "segtls report --html"
OUT=${SEGTLS_BUILD:-$SEGTLS_TOP/build}/t/report.png
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT"
timeout 120 /usr/bin/python3 "$SEGTLS_TOP/t/lib/screenshot.py" "file://$T/report.html" "$OUT" \
    "$T/profile" 'table#inbound tr' 'table#outbound tr' 'svg.chart' 'svg.chart rect title' \
    >"$T/seen" 2>"$T/browser.err"
ok $? "Chromium opened the page"
is "$(sed -n 1p "$T/seen")" "table#inbound tr 5" "inbound table: heading, 3 domains, total"
is "$(sed -n 2p "$T/seen")" "table#outbound tr 5" "outbound table: heading, 3 domains, total"
is "$(sed -n 3p "$T/seen")" "svg.chart 2" "two charts"
is "$(sed -n 4p "$T/seen")" "svg.chart rect title $(grep -o '"><title>' "$T/report.html" | wc -l)" \
    "every bar segment rendered, with its tooltip"
ok $([ -s "$OUT" ] && [ "$(head -c 8 "$OUT" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]; echo $?) \
    "screenshot saved: $OUT"
