#!/bin/bash
# report.t - segtls report: the TLS Connections report on records with a
# known truth (t/lib/gen-records.py counts the sessions it makes), in
# every output format, with its filters, on plain, rotated, gzip and
# followed files, and its errors.
source "$(dirname "$0")/lib/tap.sh"
RP=$(bin segtls-report)
[ -x "$RP" ] || skip_all "segtls-report not built"
export TZ=UTC
D=$SEGTLS_TOP/t/data/report
GEN=$SEGTLS_TOP/t/lib/gen-records.py
AS=$SEGTLS_TOP/t/lib/report-as-csv.py
plan 30

python3 "$GEN" "$T/mail_logs" "$T/expect.csv"
ok $? "generate records with a known report"

# exact counts, every format the same numbers
"$RP" --csv "$T/mail_logs" >"$T/csv"; ok $? "--csv: exit 0"
diff_ref "$T/expect.csv" "$T/csv" "--csv: the known counts per domain and outcome"
"$RP" --json "$T/mail_logs" | python3 "$AS" json >"$T/json.csv"
diff_ref "$T/expect.csv" "$T/json.csv" "--json: the same numbers"
"$RP" "$T/mail_logs" >"$T/text"
python3 "$AS" text <"$T/text" >"$T/text.csv"
diff_ref "$T/expect.csv" "$T/text.csv" "table: the same numbers"
diff_ref "$D/known.txt.ref" "$T/text" "table: golden"
"$RP" --html "$T/mail_logs" >"$T/html"
python3 "$AS" html <"$T/html" >"$T/html.csv"
diff_ref "$T/expect.csv" "$T/html.csv" "--html: the same numbers"
diff_ref "$D/known.html.ref" "$T/html" "--html: golden"
python3 -c 'import re,sys,xml.dom.minidom as m
s = open(sys.argv[1]).read()
svgs = re.findall(r"<svg.*?</svg>", s, re.S)
assert len(svgs) == 2, len(svgs)
for v in svgs: m.parseString(v)
assert "<script" not in s and "http://" not in s.replace("http://www.w3.org/2000/svg", "")' "$T/html"
ok $? "--html: two well-formed SVG charts, no script, nothing external"
# the JSON chart: every connection in one bucket
n=$("$RP" --json "$T/mail_logs" | python3 -c 'import json,sys
j = json.load(sys.stdin)
print(*[sum(sum(b["versions"].values()) + b["failed"] + b["plain"] for b in j[d]["chart"]["buckets"])
        for d in ("inbound", "outbound")], j["inbound"]["chart"]["bucket_seconds"])')
is "$n" "37 22 3600" "--json chart: every connection in one hourly bucket"

# time range, direction, domain, top
python3 "$GEN" --since 1795867200 --until 1795953600 "$T/x" "$T/range.csv"
"$RP" --csv --since "2026-11-28 12:00" --until "2026-11-29T12:00:00" "$T/mail_logs" >"$T/got"
diff_ref "$T/range.csv" "$T/got" "--since/--until: the connections of the range"
"$RP" --csv --since 2026-11-29 "$T/mail_logs" >"$T/a"
"$RP" --csv --until 2026-11-28 "$T/mail_logs" >"$T/b"
python3 "$GEN" --since 1795910400 "$T/x" "$T/a.exp"
python3 "$GEN" --until 1795910400 "$T/x" "$T/b.exp"
diff_ref "$T/a.exp" "$T/a" "--since DATE: from its midnight"
diff_ref "$T/b.exp" "$T/b" "--until DATE: to the end of that day"
"$RP" --csv --direction outbound "$T/mail_logs" >"$T/got"
grep -v '^inbound,' "$T/expect.csv" >"$T/want"
diff_ref "$T/want" "$T/got" "--direction outbound: outbound only"
"$RP" --csv --domain Alpha.Example "$T/mail_logs" >"$T/got"
{ head -1 "$T/expect.csv"; grep '^inbound,alpha.example,' "$T/expect.csv"
  grep '^inbound,alpha.example,' "$T/expect.csv" | sed 's/^inbound,alpha.example,/inbound,*,/'
  printf 'outbound,*,0,0,0,0,0,0,0,,,\r\n'; } >"$T/want"
diff_ref "$T/want" "$T/got" "--domain: one domain, its totals"
"$RP" --csv --top 1 "$T/mail_logs" >"$T/got"
grep -E '^(direction|inbound,alpha|inbound,\*|outbound,delta|outbound,\*)' "$T/expect.csv" >"$T/want"
diff_ref "$T/want" "$T/got" "--top 1: the first row, totals of all"
like "$("$RP" --top 1 "$T/mail_logs" | grep '^Inbound')" "top 1 of 3 domains" "--top: the table says how many"

# rotated, gzip, stdin: the same report
n=$(wc -l <"$T/mail_logs")
head -$((n / 3)) "$T/mail_logs" | gzip >"$T/mail_logs.2.gz"
sed -n "$((n / 3 + 1)),$((2 * n / 3))p" "$T/mail_logs" >"$T/mail_logs.1"
tail -n +$((2 * n / 3 + 1)) "$T/mail_logs" >"$T/mail_logs.0"
"$RP" --csv "$T/mail_logs.2.gz" "$T/mail_logs.1" "$T/mail_logs.0" >"$T/got"
diff_ref "$T/expect.csv" "$T/got" "rotated files, the oldest gzip: the same report"
"$RP" --csv - <"$T/mail_logs" >"$T/got"
diff_ref "$T/expect.csv" "$T/got" "stdin: the same report"
"$SEGTLS_BIN/segtls" report --csv "$T/mail_logs" >"$T/got"
diff_ref "$T/expect.csv" "$T/got" "segtls report runs segtls-report"

# hostile names: cleaned, escaped
cat >"$T/evil" <<'REC'
Sat Nov 28 10:00:00 2026 Info: New SMTP DCID 1 interface 127.0.0.1 address 192.0.2.1 port 25
Sat Nov 28 10:00:00 2026 Info: MID 1 ICID 0 RID 0 To: <x@EVIL<script>,"x".example>
Sat Nov 28 10:00:00 2026 Info: DCID 1 TLS success protocol TLSv1.3<b> cipher A&B
Sat Nov 28 10:00:00 2026 Info: Delivery start DCID 1 MID 1 to RID [0]
Sat Nov 28 10:00:01 2026 Info: DCID 1 close
REC
"$RP" --csv "$T/evil" >"$T/got"
is "$(grep '^outbound,evil' "$T/got" | tr -d '\r')" 'outbound,evil?script???x?.example,1,1,0,0,0,1,1,100.0,TLSv1.3?b?=1,A?B=1' \
    "a hostile recipient domain and TLS names: cleaned"
"$RP" --html "$T/evil" | grep -c '<script\|&B' >"$T/n"
is "$(cat "$T/n")" "0" "--html: nothing of them as markup"

# --follow: appended lines, a rename rotation, then SIGTERM prints the report
head -$((n / 2)) "$T/mail_logs" >"$T/live"
"$RP" --csv --follow --interval 1 "$T/live" >"$T/follow.out" 2>"$T/follow.err" &
fpid=$!
at_exit "kill $fpid"
sleep 1.5
mv "$T/live" "$T/live.1"
tail -n +$((n / 2 + 1)) "$T/mail_logs" | head -20 >>"$T/live.1"   # written before the writer reopened
tail -n +$((n / 2 + 21)) "$T/mail_logs" >"$T/live"
sleep 2
kill -TERM $fpid; wait $fpid; ok $? "--follow: exit 0 at SIGTERM"
awk 'BEGIN { RS = "direction,"; } END { printf "direction,%s", $0 }' "$T/follow.out" >"$T/got"
diff_ref "$T/expect.csv" "$T/got" "--follow: across rotation, the report of every record"
ok $([ "$(grep -c '^direction,' "$T/follow.out")" -ge 3 ]; echo $?) "--follow: a report every --interval"

# errors: one line, exit 2 (usage) or 1 (unreadable), no report
chk() {
    local want=$1 msg=$2; shift 2
    "$RP" "$@" >"$T/out" 2>"$T/err"; local rc=$?
    is "$rc:$(cat "$T/err"):$(wc -c <"$T/out")" "$want:$msg:0" "error: $*"
}
chk 2 'segtls report: --direction "sideways": inbound, outbound or both (try segtls report --help)' --direction sideways "$T/mail_logs"
chk 2 'segtls report: --since "2026-02-30": not a time (YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS]) (try segtls report --help)' --since 2026-02-30 "$T/mail_logs"
chk 2 'segtls report: --since must be before --until (try segtls report --help)' --since 2026-11-29 --until 2026-11-28 "$T/mail_logs"
chk 2 'segtls report: --json, --csv and --html: choose one (try segtls report --help)' --json --csv "$T/mail_logs"
chk 1 "segtls report: error: open $T/nonexistent: No such file or directory" "$T/mail_logs" "$T/nonexistent"
