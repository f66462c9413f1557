#!/bin/bash
# logparse.t - segtls-logparse on real Postfix 3.7 logs (t/data/pflog/README)
source "$(dirname "$0")/lib/tap.sh"
D=$SEGTLS_TOP/t/data/pflog
LP=$(bin segtls-logparse)
[ -x "$LP" ] || skip_all "segtls-logparse not built"
export TZ=UTC
plan 17

# goldens: the records of each capture, reviewed against SPEC §6
for f in mta-maillog peer-maillog; do
    "$LP" --year 2026 "$D/$f.log" >"$T/$f.out"; ok $? "$f: exit 0"
    diff_ref "$D/$f.ref" "$T/$f.out" "$f: records"
done
# the same log as RFC 3339 lines (+01:00), plain and gzip, and on stdin
"$LP" "$D/mta-rfc3339.log" >"$T/3339.out"
diff_ref "$D/mta-maillog.ref" "$T/3339.out" "RFC 3339 lines: same records"
"$LP" <"$D/mta-rfc3339.log.gz" >"$T/gz.out"
diff_ref "$D/mta-maillog.ref" "$T/gz.out" "gzip on stdin: same records"

# --stats
"$LP" --year 2026 --stats "$D/mta-maillog.log" 2>"$T/stats" >/dev/null
is "$(cat "$T/stats")" "lines read: 70
records written: 69
lines skipped: 13" "--stats counts"

# -o FILE: header once, then records; a second run appends
"$LP" --year 2026 -o "$T/mail_logs" "$D/mta-maillog.log"
"$LP" --year 2026 -o "$T/mail_logs" "$D/mta-maillog.log"
hdr=$(head -3 "$T/mail_logs" | sed 's/^... ... .. ..:..:.. .... //')
sn=$(head -c 12 /etc/machine-id | tr a-f A-F)
is "$hdr" "Info: Begin Logfile
Info: Version: 0.1.0 SN: $sn
Info: Time offset from UTC: 0 seconds" "-o: header of a new file"
is "$(wc -l <"$T/mail_logs")" "$((3 + 2 * 69))" "-o: second run appends without a header"
is "$(sed -n 4p "$T/mail_logs")" "$(head -1 "$D/mta-maillog.ref")" "-o: records as on stdout"

# --state-dir: IDs persist and are never reused
mkdir "$T/state"
"$LP" --year 2026 --state-dir "$T/state" "$D/mta-maillog.log" >/dev/null
"$LP" --year 2026 --state-dir "$T/state" "$D/mta-maillog.log" >"$T/second"
like "$(head -1 "$T/second")" "New SMTP ICID 1001 " "--state-dir: a second run starts after the reserved block"
is "$(cat "$T/state/ids")" "icid 2001
dcid 2001
mid 2001" "--state-dir: high-water marks"

# junk is skipped, never fatal
head -c 200000 /dev/urandom >"$T/junk"
"$LP" --stats "$T/junk" >"$T/junk.out" 2>"$T/junk.stats"
ok $? "random bytes: exit 0"
like "$(cat "$T/junk.stats")" "records written: 0" "random bytes: no records"

# usage and errors
"$LP" --bogus 2>/dev/null; is $? 2 "unknown option: exit 2"
"$LP" --year 12 </dev/null 2>/dev/null; is $? 2 "bad --year: exit 2"
"$LP" "$T/nonexistent" 2>"$T/err"; is "$?:$(cat "$T/err")" "1:segtls-logparse: error: open $T/nonexistent: No such file or directory" "missing file: exit 1"
done_testing
