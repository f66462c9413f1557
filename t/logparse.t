#!/bin/bash
# logparse.t - segtls-logparse on real Postfix 3.7 logs (t/data/pflog/README)
source "$(dirname "$0")/lib/tap.sh"
D=$SEGTLS_TOP/t/data/pflog
LP=$(bin segtls-logparse)
[ -x "$LP" ] || skip_all "segtls-logparse not built"
export TZ=UTC
plan 23

# goldens: the records of each capture, reviewed against SPEC §6 (the
# peer's smtpd services log under three syslog names)
"$LP" --year 2026 "$D/mta-maillog.log" >"$T/mta-maillog.out"; ok $? "mta-maillog: exit 0"
diff_ref "$D/mta-maillog.ref" "$T/mta-maillog.out" "mta-maillog: records"
"$LP" --year 2026 --syslog-name postfix --syslog-name peer-v10 --syslog-name peer-plain \
    "$D/peer-maillog.log" >"$T/peer-maillog.out"; ok $? "peer-maillog: exit 0"
diff_ref "$D/peer-maillog.ref" "$T/peer-maillog.out" "peer-maillog: records"

# only Postfix's programs: by default those under "postfix"; the names
# of a configuration with --postfix-config (main.cf and master.cf, read
# with postconf)
"$LP" --year 2026 "$D/peer-maillog.log" >"$T/peer-default.out"
is "$(grep -c 'interface peer-' "$T/peer-default.out")" 0 "default: peer-v10/ and peer-plain/ lines are not followed"
is "$(grep -c 'interface postfix ' "$T/peer-default.out")" "$(grep -c 'interface postfix ' "$D/peer-maillog.ref")" \
    "default: postfix/ lines are"
mkdir -p "$T/pfconf"
printf 'compatibility_level = 3.7\nsyslog_name = peer-plain\n' >"$T/pfconf/main.cf"
printf '%s\n' 'smtp inet n - n - - smtpd' \
    '10041 inet n - n - - smtpd -o syslog_name=peer-v10' \
    'submission inet n - n - - smtpd -o syslog_name=postfix/$service_name' >"$T/pfconf/master.cf"
"$LP" --year 2026 --postfix-config "$T/pfconf" "$D/peer-maillog.log" >"$T/peer-conf.out"
ok $? "--postfix-config: exit 0"
is "$(grep -c 'interface postfix ' "$T/peer-conf.out") $(grep -c 'interface peer-v10 ' "$T/peer-conf.out") $(grep -c 'interface peer-plain ' "$T/peer-conf.out")" \
    "$(grep -c 'interface postfix/submission ' "$D/peer-maillog.ref") $(grep -c 'interface peer-v10 ' "$D/peer-maillog.ref") $(grep -c 'interface peer-plain ' "$D/peer-maillog.ref")" \
    "--postfix-config: main.cf's and master.cf's names, nothing else"
"$LP" --postfix-config "$T/nonexistent" </dev/null 2>"$T/err"
like "$?:$(cat "$T/err")" "^2:segtls-logparse: --postfix-config $T/nonexistent: postconf -c $T/nonexistent: postconf: fatal: open $T/nonexistent/main.cf: No such file or directory$" \
    "--postfix-config without a main.cf: exit 2, one line"
"$LP" --syslog-name 'a b' </dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" '2:segtls-logparse: --syslog-name: syslog name "a b": want 1-64 characters without spaces, [ or ]' \
    "bad --syslog-name: exit 2, one line"
# the same log as RFC 3339 lines (+01:00), plain and gzip, and on stdin
"$LP" "$D/mta-rfc3339.log" >"$T/3339.out"
diff_ref "$D/mta-maillog.ref" "$T/3339.out" "RFC 3339 lines: same records"
"$LP" <"$D/mta-rfc3339.log.gz" >"$T/gz.out"
diff_ref "$D/mta-maillog.ref" "$T/gz.out" "gzip on stdin: same records"

# --stats
"$LP" --year 2026 --stats "$D/mta-maillog.log" 2>"$T/stats" >/dev/null
is "$(cat "$T/stats")" "lines read: 70
records written: 69
lines skipped: 11" "--stats counts"

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
