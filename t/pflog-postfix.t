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
done_testing
