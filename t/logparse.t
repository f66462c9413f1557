#!/bin/bash
# logparse.t - segtls-logparse on real Postfix 3.7 logs (t/data/pflog/README)
source "$(dirname "$0")/lib/tap.sh"
D=$SEGTLS_TOP/t/data/pflog
LP=$(bin segtls-logparse)
[ -x "$LP" ] || skip_all "segtls-logparse not built"
export TZ=UTC
plan 28

# goldens: the records of each capture, reviewed against SPEC §6 (the
# peer's smtpd services log under three syslog names)
"$LP" --year 2026 "$D/mta-maillog.log" >"$T/mta-maillog.out"; ok $? "mta-maillog: exit 0"
diff_ref "$D/mta-maillog.ref" "$T/mta-maillog.out" "mta-maillog: records"
"$LP" --year 2026 --syslog-name postfix --syslog-name peer-v10 --syslog-name peer-plain \
    "$D/peer-maillog.log" >"$T/peer-maillog.out"; ok $? "peer-maillog: exit 0"
diff_ref "$D/peer-maillog.ref" "$T/peer-maillog.out" "peer-maillog: records"
# one smtp process delivers one message to two next hops in turn, the
# second in plain text: two connections, each with its own recipient
"$LP" --year 2026 "$D/two-hops.log" >"$T/two-hops.out"; ok $? "two-hops: exit 0"
diff_ref "$D/two-hops.ref" "$T/two-hops.out" "two-hops: a DCID for each next hop, each with its own RID"

# only Postfix's programs: by default those under "postfix"; the names
# of a configuration with --postfix-config (main.cf and master.cf, read
# with postconf)
# connects NAME... - the smtpd connections that programs NAME/smtpd logged
connects() {
    local n=0 name
    for name in "$@"; do
        n=$((n + $(grep -cE " $name/smtpd\[[0-9]+\]: connect from" "$D/peer-maillog.log")))
    done
    echo $n
}
"$LP" --year 2026 "$D/peer-maillog.log" >"$T/peer-default.out"
is "$(grep -c 'New SMTP ICID' "$T/peer-default.out")" "$(connects postfix)" \
    "default: the postfix/ connections only, not peer-v10/ or peer-plain/ ones"
mkdir -p "$T/pfconf"
printf 'compatibility_level = 3.7\nsyslog_name = peer-plain\n' >"$T/pfconf/main.cf"
printf '%s\n' 'smtp inet n - n - - smtpd' \
    '10041 inet n - n - - smtpd -o syslog_name=peer-v10' \
    'submission inet n - n - - smtpd -o syslog_name=postfix/$service_name' >"$T/pfconf/master.cf"
"$LP" --year 2026 --postfix-config "$T/pfconf" "$D/peer-maillog.log" >"$T/peer-conf.out"
ok $? "--postfix-config: exit 0"
is "$(grep -c 'New SMTP ICID' "$T/peer-conf.out")" "$(connects peer-plain peer-v10 postfix/submission)" \
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

# --postfix-config: the interface of each smtpd service, smtp's source
# address (issue 13: no more "interface postfix (unknown)"). The capture's
# instance: smtpd on 127.0.0.1:14025, submission on 127.0.0.1:14027.
mkdir -p "$T/pfc"
printf 'syslog_name = postfix\nsmtp_bind_address = 127.0.0.1\n' >"$T/pfc/main.cf"
cat >"$T/pfc/master.cf" <<'MASTER'
127.0.0.1:14025 inet n - n - - smtpd
127.0.0.1:14027 inet n - n - - smtpd
  -o syslog_name=postfix/submission
smtp      unix  -       -       n       -       -       smtp
MASTER
"$LP" --year 2026 --postfix-config "$T/pfc" "$D/mta-maillog.log" >"$T/pfc.out"
sed -e 's/ interface unknown (unknown) / interface lo (127.0.0.1) /' \
    -e 's/\(New SMTP DCID [0-9]*\) interface unknown /\1 interface 127.0.0.1 /' \
    "$D/mta-maillog.ref" >"$T/pfc.want"
ok "$(cmp -s "$T/pfc.want" "$T/pfc.out"; echo $?)" \
    "--postfix-config: ICIDs name lo (127.0.0.1), DCIDs smtp_bind_address"
is "$(grep -c 'interface lo (127.0.0.1)' "$T/pfc.out")" "$(grep -c 'New SMTP ICID' "$D/mta-maillog.ref")" \
    "--postfix-config: every ICID has its interface"
# one syslog name on two addresses, or a service on every address: unknown
printf '0.0.0.0:14026 inet n - n - - smtpd\n  -o syslog_name=postfix/submission\n' >>"$T/pfc/master.cf"
printf 'syslog_name = postfix\ninet_interfaces = all\n' >"$T/pfc/main.cf"
sed -i 's/^127.0.0.1:14025/14025/' "$T/pfc/master.cf"
"$LP" --year 2026 --postfix-config "$T/pfc" "$D/mta-maillog.log" >"$T/pfc2.out"
is "$(grep -o 'interface [^ ]* ([^)]*)' "$T/pfc2.out" | sort -u | tr '\n' ';')" "interface unknown (unknown);" \
    "--postfix-config: several addresses give unknown, never a guess"
is "$(grep -c 'DCID [0-9]* interface unknown ' "$T/pfc2.out")" "$(grep -c 'New SMTP DCID' "$D/mta-maillog.ref")" \
    "--postfix-config: inet_interfaces = all: the source address is unknown"

# usage and errors
"$LP" --bogus 2>/dev/null; is $? 2 "unknown option: exit 2"
"$LP" --year 12 </dev/null 2>/dev/null; is $? 2 "bad --year: exit 2"
"$LP" "$T/nonexistent" 2>"$T/err"; is "$?:$(cat "$T/err")" "1:segtls-logparse: error: open $T/nonexistent: No such file or directory" "missing file: exit 1"
done_testing
