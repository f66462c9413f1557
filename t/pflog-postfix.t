#!/bin/bash
# pflog-postfix.t - the Postfix log parser against what a real Postfix
# 3.7 logs (private instances on 127.0.0.1), through segtls-logparse and
# through the log follower (segtls-milter --no-milter):
#  - forged delivery records (issue 13 item 13): a sender-chosen address
#    that carries ", relay=..., status=sent (" in a quoted local part, a
#    MAIL FROM that carries ", size=", and a rejected recipient and HELO
#    name saying "Must issue a STARTTLS command first", to a next hop
#    that must do TLS and offers no STARTTLS: the records are the TLS
#    failure's, with the addresses whole.
#  - one message, three recipients on two transports, delivered over two
#    connections at once (issue 14 item 2): each DCID gets its Delivery
#    start and Message done, and both close before Message finished.
#  - only Postfix's programs count (issue 13 item 14): the follower reads
#    the syslog names from the instance's configuration (--postfix-config);
#    lines of other programs, or with a name that only starts alike, in
#    the same log change nothing.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"
LP=$(bin segtls-logparse); M=$(bin segtls-milter)
[ -x "$LP" ] && [ -x "$M" ] || skip_all "segtls-logparse or segtls-milter not built"
for p in postfix python3; do command -v $p >/dev/null || skip_all "$p not installed"; done
RAW="python3 $SEGTLS_TOP/t/lib/smtp-raw.py"

# recs FILE - the record texts of a records file or logparse output, in order
recs() { sed -E 's/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4} [A-Za-z]+: //' "$1" |
    grep -vE '^(Begin Logfile|Version: |Time offset from UTC: )'; }
# follower_start NAME LOG - segtls-milter --no-milter on LOG, records in $T/NAME
follower_start() {
    mkdir -p "$T/$1"
    "$M" --no-milter -f -l "$2" -o "$T/$1/mail_logs" -d "$T/$1/state" "${@:3}" 2>"$T/$1/err" &
    at_exit "kill $!"
    wait_file "$T/$1/mail_logs" 50
}
# wait_rec FILE ERE [TRIES] - wait until a record matches (0.1 s steps)
wait_rec() {
    local i
    for ((i = 0; i < ${3:-100}; i++)); do grep -Eq -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

# ------------------------------------------------ forged delivery records
FORGED='"x>, relay=bank.example[203.0.113.5]:25, delay=0, dsn=2.0.0, status=sent (ok"@evil.test'
P_MTA=$(free_port); P_PEER=$(free_port)
while [ "$P_PEER" = "$P_MTA" ]; do P_PEER=$(free_port); done
pf_make peer "$P_PEER" && pf_postconf peer -e smtpd_tls_security_level=none && pf_start peer ||
    { echo "Bail out! peer Postfix does not start"; exit 1; }
pf_make mta "$P_MTA" "$P_PEER" &&
    pf_postconf mta -e smtp_tls_security_level=encrypt minimal_backoff_time=300s \
        maximal_backoff_time=600s queue_run_delay=300s \
        'smtpd_recipient_restrictions = check_recipient_access inline:{rej.test=REJECT}, permit_mynetworks, reject' &&
    pf_start mta || { echo "Bail out! Postfix does not start"; exit 1; }
follower_start fol "$(pf_log mta)"
ok $? "the follower runs"
$RAW "$P_MTA" client.test '<a@example.org>' "<$FORGED>" 2>"$T/raw1"
ok $? "Postfix queues a message for <$FORGED>"
pf_wait_log mta 0 'evil\.test>, relay=127\.0\.0\.1.*status=deferred \(TLS is required'
ok $? "Postfix defers it: TLS is required, but was not offered"
$RAW "$P_MTA" 'Must issue a STARTTLS command first' '<"a>, size=1"@example.org>' \
    '<"Must issue a STARTTLS command first"@rej.test>' '<"q\"uo\\te>"@y.test>' 2>"$T/raw2"
ok $? "Postfix queues a message from <\"a>, size=1\"@example.org>"
like "$(cat "$T/raw2")" '554 5\.7\.1 <Must issue a STARTTLS command first@rej\.test>: Recipient address rejected' \
    "the recipient saying \"Must issue a STARTTLS command first\" is rejected"
pf_wait_log mta 0 'y\.test>, relay=127\.0\.0\.1.*status=deferred'
ok $? "Postfix defers the second message"
pf_stop mta
"$LP" "$(pf_log mta)" >"$T/lp.out"
ok $? "segtls-logparse reads the log"
# the follower ends an idle delivery after 10 s
for ((i = 0; i < 200; i++)); do [ "$(grep -c 'DCID [0-9]* close' "$T/fol/mail_logs")" = 2 ] && break; sleep 0.1; done
for src in logparse follower; do
    f=$T/lp.out; [ $src = follower ] && f=$T/fol/mail_logs
    recs "$f" >"$T/$src.recs"
    is "$(grep -cE '^(Delivery start|Message done) ' "$T/$src.recs")" 0 "$src: no Delivery start / Message done"
    is "$(grep -c 'TLS was required' "$T/$src.recs")" 0 "$src: no \"TLS was required\" record"
    is "$(grep '^New SMTP DCID' "$T/$src.recs" | sed 's/DCID [0-9]*/DCID n/')" \
        "New SMTP DCID n interface unknown address 127.0.0.1 port $P_PEER
New SMTP DCID n interface unknown address 127.0.0.1 port $P_PEER" "$src: both DCIDs are to the real next hop"
    is "$(grep -E '^MID [0-9]+ ICID [0-9]+ (From|RID)' "$T/$src.recs" | sed -E 's/^MID [0-9]+ ICID [0-9]+ //')" \
        "From: <a@example.org>
RID 0 To: <$FORGED>
From: <\"a>, size=1\"@example.org>
RID 0 To: <\"q\\\"uo\\\\te>\"@y.test>" "$src: the addresses are whole"
    for d in $(grep -o '^New SMTP DCID [0-9]*' "$T/$src.recs" | awk '{print $4}'); do
        is "$(grep -E "^(New SMTP )?DCID $d( |$)" "$T/$src.recs" | sed "s/DCID $d/DCID n/; s/ port .*//")" \
            "New SMTP DCID n interface unknown address 127.0.0.1
DCID n STARTTLS command not supported.
DCID n close" "$src: DCID $d: STARTTLS not supported, then close"
    done
done

# ------------------------------------- one message over two connections
P2=$(free_port); PA=$(free_port); PB=$(free_port)
pf_make peera "$PA" && pf_start peera && pf_make peerb "$PB" && pf_start peerb &&
    pf_make mta2 "$P2" "$PA" &&
    pf_postconf mta2 -e "transport_maps = inline:{ a.test=smtp:[127.0.0.1]:$PA, b.test=relay2:[127.0.0.1]:$PB }" &&
    echo 'relay2    unix  -       -       n       -       -       smtp' >>"$(pf_dir mta2)/master.cf" &&
    pf_start mta2 || { echo "Bail out! the two-transport Postfix does not start"; exit 1; }
follower_start fol2 "$(pf_log mta2)" --postfix-config "$(pf_dir mta2)"
ok $? "the follower runs with --postfix-config $(pf_dir mta2)"
$RAW "$P2" client.test '<s@example.org>' '<x@a.test>' '<y@b.test>' '<z@a.test>' 2>"$T/raw3"
ok $? "Postfix queues a message to x@a.test, y@b.test, z@a.test"
pf_wait_log mta2 0 ': removed' 150
ok $? "Postfix delivers it and removes it"
grep -E 'postfix/smtp\[[0-9]+\]: Untrusted TLS connection established' "$(pf_log mta2)" >"$T/tls2"
is "$(grep -o 'smtp\[[0-9]*\]' "$T/tls2" | sort -u | wc -l)" 2 "two smtp processes delivered it"
for ((i = 0; i < 200; i++)); do grep -q 'Message finished' "$T/fol2/mail_logs" 2>/dev/null && break; sleep 0.1; done
pf_stop mta2
"$LP" "$(pf_log mta2)" >"$T/lp2.out"
for src in logparse follower; do
    f=$T/lp2.out; [ $src = follower ] && f=$T/fol2/mail_logs
    recs "$f" >"$T/$src.2"
    mid=$(grep ' To: <x@a.test>$' "$T/$src.2" | awk '{print $2}')
    rid() { grep "MID $mid ICID [0-9]* RID [0-9]* To: <$1>" "$T/$src.2" | awk '{print $6}'; }
    ra=$(printf '%s\n' "$(rid x@a.test)" "$(rid z@a.test)" | sort -n | paste -sd, | sed 's/,/, /')
    rb=$(rid y@b.test)
    da=$(grep "^New SMTP DCID [0-9]* .* port $PA$" "$T/$src.2" | awk '{print $4}')
    db=$(grep "^New SMTP DCID [0-9]* .* port $PB$" "$T/$src.2" | awk '{print $4}')
    for d in a b; do
        eval "dd=\$d$d rr=\$r$d pp=\$P${d^^}"
        is "$(grep -E "^(New SMTP |Delivery start |Message done )?DCID $dd( |$)" "$T/$src.2")" \
            "New SMTP DCID $dd interface unknown address 127.0.0.1 port $pp
DCID $dd TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384
Delivery start DCID $dd MID $mid to RID [$rr]
Message done DCID $dd MID $mid to RID [$rr]
DCID $dd close" "$src: the $d.test connection keeps its records, in order"
    done
    is "$(grep -nE "^(DCID ($da|$db) close|Message finished MID $mid done)$" "$T/$src.2" | cut -d: -f2-)" \
        "$(printf 'DCID %s close\nDCID %s close\nMessage finished MID %s done' $(printf '%s\n' "$da" "$db" | sort -n) "$mid")" \
        "$src: both connections close before Message finished"
done

# ------------------------------------------------ only Postfix's programs
# lines of other programs with the pid of a real smtpd, and a real one
pid=$(grep -o 'postfix/smtpd\[[0-9]*\]' "$(pf_log mta2)" | head -1 | tr -dc 0-9)
stamp=$(LC_ALL=C date '+%b %e %H:%M:%S')
n0=$(grep -c . "$T/fol2/mail_logs")
{
    echo "$stamp mta x/smtpd[$pid]: connect from evil[192.0.2.66]:1"
    echo "$stamp mta postfixx/smtpd[$pid]: connect from evil[192.0.2.67]:1"
    echo "$stamp mta smtpd[$pid]: connect from evil[192.0.2.68]:1"
    echo "$stamp mta postfix/smtpd[$pid]: connect from fine[192.0.2.69]:1"
} >>"$(pf_log mta2)"
for ((i = 0; i < 50; i++)); do grep -q '192\.0\.2\.69' "$T/fol2/mail_logs" && break; sleep 0.1; done
is "$(tail -n +$((n0 + 1)) "$T/fol2/mail_logs" | recs /dev/stdin | sed 's/ICID [0-9]*/ICID n/')" \
    "New SMTP ICID n interface lo (127.0.0.1) address 192.0.2.69 reverse dns host fine verified yes" \
    "follower: only the postfix/smtpd line counts"
done_testing
