#!/bin/bash
# siem.t - the records as pushed by syslog parse with a public SIEM
# integration's own patterns: the grok patterns of Elastic's
# cisco_secure_email_gateway integration (t/data/siem, source named
# there), applied as Elastic's grok processor does by t/lib/grok.pl. The
# messages are what segtls-milter --no-milter pushes over TCP for a
# captured Postfix log, caught by a TCP listener on loopback.
source "$(dirname "$0")/lib/tap.sh"
MILTER=$(bin segtls-milter)
[ -x "$MILTER" ] || skip_all "segtls-milter not built"
command -v perl >/dev/null || skip_all "perl not installed"
export TZ=UTC
S=$SEGTLS_TOP/t/data/siem
plan 10

PORT=$(free_port)
python3 - "$PORT" "$T/wire" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(20)
open(sys.argv[2] + ".ready", "w").close()
c, _ = s.accept(); c.settimeout(3); data = b""
try:
    while True:
        b = c.recv(65536)
        if not b: break
        data += b
except socket.timeout:
    pass
open(sys.argv[2], "wb").write(data)
PY
catcher=$!
at_exit "kill $catcher"
wait_file "$T/wire.ready"
: >"$T/maillog"
"$MILTER" -f --no-milter -l "$T/maillog" -o "$T/mail_logs" -d "$T/state" --syslog "tcp:127.0.0.1:$PORT" \
    2>"$T/milter.err" &
mpid=$!
at_exit "kill $mpid"
wait_file "$T/mail_logs"; sleep 0.3
cat "$SEGTLS_TOP/t/data/pflog/mta-maillog.log" >>"$T/maillog"
wait $catcher
ok $? "records pushed over TCP and caught"
# octet-counted frames -> one message per line
python3 -c 'import sys
d = open(sys.argv[1], "rb").read().decode()
while d:
    n, rest = d.split(" ", 1); print(rest[:int(n)]); d = rest[int(n):]' "$T/wire" >"$T/messages"
is "$(wc -l <"$T/messages")" "69" "69 messages, one per record"

perl "$SEGTLS_TOP/t/lib/grok.pl" "$S/grok-base.grok" "$S/elastic-cisco-secure-email-gateway.grok" \
    <"$T/messages" >"$T/parsed"
ok $? "the integration's patterns compile and run"
diff_ref "$S/mta-maillog.parsed.ref" "$T/parsed" "every message: the pattern and fields (golden)"
is "$(grep -c '^noheader' "$T/parsed")" "0" "every message: the syslog header pattern, category mail_logs"
is "$(cut -f4 "$T/parsed" | sort -u)" "cisco_secure_email_gateway.log.category.name=mail_logs" \
    "the category (the tag) is mail_logs for all"

# the record kinds the issue names get their fields, not the catch-all
check() {
    local what=$1 re=$2 want=$3 got
    got=$(grep -P "\tcisco_secure_email_gateway\.log\.message=$re" "$T/parsed" | head -1 | cut -f1,7-)
    is "$got" "$want" "$what: its pattern and fields"
}
check "Start MID" 'Start MID' "6	cisco_secure_email_gateway.log.connection_status=Start	email.message_id=1	cisco_secure_email_gateway.log.injection_connection_id=7"
check "From:" 'MID 1 ICID 7 From:' "7	email.message_id=1	cisco_secure_email_gateway.log.injection_connection_id=7	email.from.address=a@example.org"
check "RID ... To:" 'MID 1 ICID 7 RID 1 To:' "8	email.message_id=1	cisco_secure_email_gateway.log.injection_connection_id=7	cisco_secure_email_gateway.log.recipient_id=1	email.to.address=c@example.net"
like "$(grep -P '\t(cisco_secure_email_gateway.log.message=(ICID \d+ close|DCID \d+ close|Message finished MID \d+ done))\t' "$T/parsed" | cut -f1 | sort | uniq -c | tr -s ' ' | tr '\n' ';')" \
    '^ 10 10; 7 13; 3 21;$' "ICID … close (10), DCID … close (7), Message finished (3): their patterns, none the catch-all"
