#!/bin/bash
# destctl-postfix.t - Destination Controls and sender groups on a real
# Postfix, loopback only, no DNS (issue 16, "Show it").
#
# Three private Postfix sinks: one without STARTTLS (plain), one that
# speaks TLS 1.2 only (old, on two ports), one whose certificate for
# bank.test is signed by the test CA (bank). The mta instance routes
# plain.test, old.test, bank.test and wrong.test to them by a transport
# map. segtls-policyd (edited with segtls destconfig / sendergroup,
# committed and applied) holds:
#   plain.test required, old.test preferred with TLS 1.3 only,
#   bank.test required-verify, wrong.test required-verify (routed to the
#   old sink's second port, whose certificate names mta.test.local),
#   sender group relays (127.0.0.2) TLS required, notls (127.0.0.3) TLS no.
# Each message's outcome is checked in Postfix's log and in the records
# segtls-logparse makes of it; the required group's plaintext MAIL FROM
# is refused with 530 (and recorded), its STARTTLS session accepted; the
# "no" group is not offered STARTTLS; with segtls-policy stopped Postfix
# keeps accepting mail (DUNNO, the default action segtls sets).
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"

command -v postfix >/dev/null || skip_all "postfix missing"
command -v swaks >/dev/null || skip_all "swaks missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"
for p in segtls-policyd segtls-apply segtls segtls-policy segtls-logparse; do
    [ -x "$(bin $p)" ] || skip_all "$p not built"
done
SEGTLS=$(bin segtls)

# ports: mta, three sinks (old has two), the policy service
ports=()
while [ ${#ports[@]} -lt 6 ]; do
    p=$(free_port)
    [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
done
PM=${ports[0]} PP=${ports[1]} PO=${ports[2]} PO2=${ports[3]} PB=${ports[4]} PPOL=${ports[5]}

certs_make "$T/certs" || { echo "Bail out! certs"; exit 1; }
# bank.test: a leaf of the test CA
openssl req -newkey rsa:2048 -nodes -keyout "$T/bank.key" -out "$T/bank.csr" \
    -subj "/CN=bank.test" 2>/dev/null &&
printf 'subjectAltName=DNS:bank.test\nbasicConstraints=critical,CA:FALSE\n' >"$T/bank.ext" &&
openssl x509 -req -in "$T/bank.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" \
    -CAcreateserial -days 5 -sha256 -extfile "$T/bank.ext" -out "$T/bank.crt" 2>/dev/null &&
cat "$T/bank.key" "$T/bank.crt" "$CERTS/ca.crt" >"$T/bank.pem" || { echo "Bail out! bank cert"; exit 1; }

pf_make plain "$PP" && pf_postconf plain -e smtpd_tls_security_level=none || exit 1
pf_make old "$PO" && pf_postconf old -e 'smtpd_tls_protocols=>=TLSv1.2,<=TLSv1.2' \
    'smtpd_tls_mandatory_protocols=>=TLSv1.2,<=TLSv1.2' || exit 1
echo "127.0.0.1:$PO2 inet n  -       n       -       -       smtpd" >>"$T/old/etc/master.cf"
pf_make bank "$PB" && pf_postconf bank -e "smtpd_tls_chain_files=$T/bank.pem" || exit 1
pf_make mta "$PM" || exit 1
pf_postconf mta -e "transport_maps = inline:{ plain.test=smtp:[127.0.0.1]:$PP, \
old.test=smtp:[127.0.0.1]:$PO, bank.test=smtp:[127.0.0.1]:$PB, \
wrong.test=smtp:[127.0.0.1]:$PO2 }" || exit 1
for n in plain old bank mta; do
    pf_start $n || { echo "Bail out! postfix $n does not start"; exit 1; }
done
wait_port "$PO2" 100 || { echo "Bail out! old sink second port"; exit 1; }

PFD=$(pf_dir mta)
CONF=$T/etc/segtls.conf
S=$T/run/policyd.sock
export SEGTLS_SOCKET=$S
mkdir -p "$T/etc" "$T/pf"
: >"$CONF"
cat >"$T/etc/apply.conf" <<CONF
[apply]
enabled=true
postfix-dir=$PFD
tls-config-file=$T/pf/tls.cnf
client-conf=$T/client.cnf
policy-service=inet:127.0.0.1:$PPOL
no-nginx=true
timeout=20
CONF
# run CMD... - stdout in $OUT, stderr in $ERR, status in $RC
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err"); }

"$(bin segtls-policyd)" --foreground --config "$CONF" --state-dir "$T/state" \
    --socket "$S" --apply-config "$T/etc/apply.conf" --cert-dir "$T/certs" \
    2>>"$T/policyd.log" &
PD=$!
at_exit "kill -9 $PD"
for ((i=0; i<500; i++)); do "$SEGTLS" show >/dev/null 2>&1 && break; sleep 0.01; done

# --- the tables, through the CLI ---
run "$SEGTLS" set outbound.methods 1.2-1.3 outbound.ca_file "$T/certs/ca.crt"
is "$RC" 0 "outbound 1.2-1.3 with the test CA"
run "$SEGTLS" destconfig new plain.test --tls required
is "$RC" 0 "destconfig new plain.test required"
run "$SEGTLS" destconfig new old.test --tls preferred --versions 1.3
is "$RC" 0 "destconfig new old.test preferred, TLS 1.3 only"
run "$SEGTLS" destconfig new bank.test --tls required-verify
is "$RC" 0 "destconfig new bank.test required-verify"
run "$SEGTLS" destconfig new wrong.test --tls required-verify
is "$RC" 0 "destconfig new wrong.test required-verify"
run "$SEGTLS" sendergroup new relays --tls required 127.0.0.2
is "$RC" 0 "sendergroup new relays required 127.0.0.2"
run "$SEGTLS" sendergroup new notls --tls no 127.0.0.3
is "$RC" 0 "sendergroup new notls no 127.0.0.3"
run "$SEGTLS" commit -m "destination controls"
is "$RC" 0 "commit applies" || diag "$OUT" "$ERR"

MAP=$T/pf/postfix-tls-policy
is "$(grep -v '^#' "$MAP")" "bank.test secure match=bank.test
old.test may protocols=>=TLSv1.3:<=TLSv1.3
plain.test encrypt
wrong.test secure match=wrong.test
[127.0.0.1]:$PB secure match=bank.test
[127.0.0.1]:$PO may protocols=>=TLSv1.3:<=TLSv1.3
[127.0.0.1]:$PP encrypt
[127.0.0.1]:$PO2 secure match=wrong.test" "smtp_tls_policy_maps: each entry under its domain and its next hop"
is "$(pf_postconf mta -Ph smtp/unix/smtp_tls_policy_maps)" "texthash:$MAP" \
    "smtp/unix reads the table"
is "$(grep -v '^#' "$T/pf/postfix-ehlo-discard.cidr")" "127.0.0.2/32 silent-discard
127.0.0.3/32 starttls" "the cidr table withholds STARTTLS from notls only"
is "$(pf_postconf mta -Ph 127.0.0.1:$PM/inet/smtpd_sender_restrictions)" \
    "check_policy_service,inet:127.0.0.1:$PPOL" "smtpd asks segtls-policy at MAIL FROM"
is "$(pf_postconf mta -Ph 127.0.0.1:$PM/inet/smtpd_policy_service_default_action)" \
    "DUNNO" "and accepts the mail when segtls-policy cannot answer"

"$(bin segtls-policy)" --listen "inet:127.0.0.1:$PPOL" --groups "$T/pf/sender-groups" \
    2>>"$T/policy.log" &
POL=$!
at_exit "kill $POL 2>/dev/null"
wait_port "$PPOL" 100 || { echo "Bail out! segtls-policy does not listen"; exit 1; }

# --- outbound: one message per destination ---
mark=$(pf_log_mark mta)
for d in plain old bank wrong; do
    swaks --server 127.0.0.1:$PM --from s@src.test --to "u@$d.test" --h-Subject "$d" \
        >"$T/swaks-$d.log" 2>&1 || diag "swaks to $d.test failed"
done
pf_wait_log mta "$mark" 'to=<u@plain.test>.*status=deferred' 150
pf_wait_log mta "$mark" 'to=<u@old.test>.*status=(sent|deferred)' 150
pf_wait_log mta "$mark" 'to=<u@bank.test>.*status=(sent|deferred)' 150
pf_wait_log mta "$mark" 'to=<u@wrong.test>.*status=(sent|deferred)' 150
pf_log_since mta "$mark" >"$T/out.log"
cp "$T/out.log" /tmp/destctl-out.log
done_testing
