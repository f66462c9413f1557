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

# the live record follower, with the Destination Controls of the settings
mkdir -p "$T/milter"
"$(bin segtls-milter)" --no-milter -f -l "$(pf_log mta)" -o "$T/milter/mail_logs" \
    -d "$T/milter/state" --config "$CONF" 2>"$T/milter/err" &
at_exit "kill $!"
wait_file "$T/milter/mail_logs" 50

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
# preferred (TLS 1.3 only) to a TLS 1.2 peer: the handshake fails; Postfix
# defers the first attempt and, once the message is older than
# minimal_backoff_time, retries it in plaintext within the same attempt
pf_wait_log mta "$mark" 'to=<u@old.test>.*status=sent' 300 ||
    diag "old.test was not delivered in 30 s"
pf_log_since mta "$mark" >"$T/out.log"
like "$(grep 'to=<u@plain.test>' "$T/out.log")" \
    "status=deferred \(TLS is required, but was not offered by host 127.0.0.1\[127.0.0.1\]\)" \
    "plain.test (required): deferred, TLS not offered"
ok "$(! grep -q 'to=<u@plain.test>.*status=sent' "$T/out.log"; echo $?)" \
    "plain.test: never sent in plaintext"
like "$(grep -A1 "SSL_connect error to 127.0.0.1\[127.0.0.1\]:$PO:" "$T/out.log" | head -2)" \
    "TLS library problem: error:0A00042E:SSL routines::tlsv1 alert protocol version" \
    "old.test (preferred, 1.3 only): the TLS 1.2 peer refuses the handshake"
like "$(grep 'to=<u@old.test>.*status=sent' "$T/out.log")" "relay=127.0.0.1\[127.0.0.1\]:$PO," \
    "old.test: then delivered (preferred falls back to plaintext)"
ok "$(! grep -q "TLS connection established to 127.0.0.1\[127.0.0.1\]:$PO:" "$T/out.log"; echo $?)" \
    "old.test: no TLS 1.2 session was ever made"
like "$(grep "established to 127.0.0.1\[127.0.0.1\]:$PB:" "$T/out.log")" \
    "Verified TLS connection established to 127.0.0.1\[127.0.0.1\]:$PB: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384" \
    "bank.test (required-verify): verified TLS 1.3"
like "$(grep 'to=<u@bank.test>' "$T/out.log")" "status=sent" "bank.test: delivered"
like "$(grep "verification failed for 127.0.0.1\[127.0.0.1\]:$PO2:" "$T/out.log")" \
    "num=62:hostname mismatch" "wrong.test (required-verify): the name does not match"
like "$(grep 'to=<u@wrong.test>' "$T/out.log")" "status=deferred \(Server certificate not verified\)" \
    "wrong.test: deferred"

# the records of the same log, with the Destination Controls
"$(bin segtls-logparse)" --config "$CONF" "$T/out.log" >"$T/recs" 2>"$T/recs.err"
is "$?" 0 "segtls-logparse --config"
# recs_of PORT - the DCID records of the connections to PORT, without time
recs_of() {
    local ids
    ids=$(sed -n "s/.* New SMTP DCID \([0-9]*\) interface unknown address 127.0.0.1 port $1\$/\1/p" "$T/recs")
    for id in $ids; do
        sed -n "s/^.* Info: \(.*DCID $id[ ,].*\)/\1/p;s/^.* Info: \(.*DCID $id\)\$/\1/p" "$T/recs"
    done | sed "s/DCID [0-9]*/DCID n/;s/MID [0-9]*/MID m/"
}
is "$(recs_of "$PP" | sort -u)" "DCID n STARTTLS command not supported.
DCID n TLS required but not available
DCID n close
DCID n destination plain.test TLS required
New SMTP DCID n interface unknown address 127.0.0.1 port $PP" "plain.test: the records"
is "$(recs_of "$PP" | head -4)" "New SMTP DCID n interface unknown address 127.0.0.1 port $PP
DCID n destination plain.test TLS required
DCID n STARTTLS command not supported.
DCID n TLS required but not available" "plain.test: in this order"
like "$(recs_of "$PO")" "DCID n destination old.test TLS preferred" "old.test: its entry named"
like "$(recs_of "$PO")" "DCID n TLS deferring: \(167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version'\)" \
    "old.test: the first attempt, TLS deferring"
like "$(recs_of "$PO")" "DCID n TLS failed: \(167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version'\)" \
    "old.test: the retry, TLS failed, then plaintext"
like "$(recs_of "$PO")" "Delivery start DCID n MID m to RID \[0\]" "old.test: delivered"
is "$(recs_of "$PB" | grep -v close)" "New SMTP DCID n interface unknown address 127.0.0.1 port $PB
DCID n TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384
DCID n destination bank.test TLS required-verify
Delivery start DCID n MID m to RID [0]
Message done DCID n MID m to RID [0]" "bank.test: the records"
is "$(recs_of "$PO2" | grep -v close | head -4)" "New SMTP DCID n interface unknown address 127.0.0.1 port $PO2
DCID n TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES256-GCM-SHA384
DCID n destination wrong.test TLS required-verify
DCID n TLS deferring: (62, 'certificate verify failed: hostname mismatch')" \
    "wrong.test: the records, with the certificate error"

for ((i=0; i<100; i++)); do
    grep -q 'destination wrong.test TLS required-verify' "$T/milter/mail_logs" && break; sleep 0.1
done
ML=$(sed -E 's/^.* Info: //' "$T/milter/mail_logs")
like "$ML" $'DCID ([0-9]+) destination plain.test TLS required\nDCID \\1 STARTTLS command not supported.\nDCID \\1 TLS required but not available' \
    "segtls-milter --config: plain.test's entry and TLS required but not available, live"
like "$ML" "DCID [0-9]+ destination bank.test TLS required-verify" "segtls-milter: bank.test's entry"
like "$ML" "DCID [0-9]+ TLS deferring: \\(62, 'certificate verify failed: hostname mismatch'\\)" \
    "segtls-milter: the verify failure"

# --- segtls tlsverify --destination: the gateway's tlsverify ---
# tv DOMAIN - the report, its exit status in $RC
tv() { run "$SEGTLS" tlsverify --destination "$1" --config "$CONF" --postfix-dir "$PFD"; }
tv plain.test
is "$RC" 1 "tlsverify plain.test: disagrees (exit 1)"
is "$OUT" "Destination plain.test
  entry: plain.test: TLS required, TLS v1.2, TLS v1.3
  route: transport map inline:{ plain.test=smtp:[127.0.0.1]:$PP, old.test=smtp:[127.0.0.1]:$PO, bank.test=smtp:[127.0.0.1]:$PB, wrong.test=smtp:[127.0.0.1]:$PO2 }, key plain.test: smtp:[127.0.0.1]:$PP
  connect: 127.0.0.1 port $PP: connected
  STARTTLS: not offered
FAIL: TLS required but not available (no STARTTLS): delivery would be deferred" \
    "tlsverify plain.test: each step, as Postfix would route it"
tv old.test
is "$RC" 0 "tlsverify old.test: preferred, agrees"
like "$OUT" "  TLS v1.3: refused \\(167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version'\\)
OK: no TLS with the entry's versions: delivered in plaintext \\(preferred\\)" \
    "tlsverify old.test: TLS 1.3 refused, plaintext as preferred allows"
tv bank.test
is "$RC" 0 "tlsverify bank.test: agrees"
like "$OUT" "  TLS v1.3: negotiated, cipher TLS_AES_256_GCM_SHA384
  TLS v1.2: negotiated, cipher ECDHE-RSA-AES256-GCM-SHA384
  certificate: chain verified; name bank.test: matches
OK: delivered with TLSv1.3, certificate verified" "tlsverify bank.test: verified TLS 1.3"
tv wrong.test
is "$RC" 1 "tlsverify wrong.test: disagrees"
like "$OUT" "certificate: chain verified; name wrong.test: does not match
FAIL: the certificate does not verify: delivery would be deferred" \
    "tlsverify wrong.test: the name does not match"
tv other.test
like "$OUT" "  entry: default \\(outbound.tls\\): TLS preferred, TLS v1.2, TLS v1.3
  route: MX of other.test" "tlsverify other.test: the default entry, the MX route"
run "$SEGTLS" tlsverify --destination "a;b" --config "$CONF" --postfix-dir "$PFD"
is "$RC" 2 "tlsverify --destination with a hostile domain: usage error"

# --- inbound: the sender groups ---
# smtp_raw SRC LINES... - a plaintext session from SRC, the server's replies
smtp_raw() {
    local src=$1; shift
    python3 - "$src" "$PM" "$@" <<'PY'
import socket, sys
src, port, lines = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
s = socket.socket(); s.settimeout(10); s.bind((src, 0)); s.connect(("127.0.0.1", port))
f = s.makefile("rb")
def reply():
    out = []
    while True:
        l = f.readline().decode().rstrip("\r\n"); out.append(l)
        if len(l) < 4 or l[3] != "-": return out
print("\n".join(reply()))
for l in lines:
    s.sendall((l + "\r\n").encode()); print("\n".join(reply()))
PY
}
mark=$(pf_log_mark mta)
got=$(smtp_raw 127.0.0.2 "EHLO c2.test" "MAIL FROM:<a@c2.test>" "QUIT")
like "$got" "250-STARTTLS" "relays (127.0.0.2): STARTTLS offered"
like "$got" $'\n530 5.7.0 <a@c2.test>: Sender address rejected: Must issue a STARTTLS command first\n' \
    "relays: plaintext MAIL FROM refused with 530 (Postfix puts the sender before a policy reply)"
pf_wait_log mta "$mark" 'reject: MAIL from .*127.0.0.2.*530 5.7.0 Must issue a STARTTLS command first' 50
like "$(pf_log_since mta "$mark")" "NOQUEUE: reject: MAIL from unknown\\[127.0.0.2\\]:[0-9]+: 530 5.7.0 <a@c2.test>: Sender address rejected: Must issue a STARTTLS command first; from=<a@c2.test> proto=ESMTP helo=<c2.test>" \
    "Postfix logs the refusal"
pf_log_since mta "$mark" >"$T/in.log"
"$(bin segtls-logparse)" "$T/in.log" >"$T/inrecs"
like "$(cat "$T/inrecs")" "Info: ICID ([0-9]+) TLS was required but remote host did not initiate it" \
    "the gateway's ICID record of the refusal"
for ((i=0; i<50; i++)); do
    grep -q 'TLS was required but remote host did not initiate it' "$T/milter/mail_logs" && break; sleep 0.1
done
like "$(cat "$T/milter/mail_logs")" "Info: ICID [0-9]+ TLS was required but remote host did not initiate it" \
    "segtls-milter: the ICID record of the refusal, live"
like "$(cat "$T/policy.log")" "refused MAIL from 127.0.0.2 \(sender group relays, TLS required\): no STARTTLS" \
    "segtls-policy says which group"
run swaks --server 127.0.0.1:$PM --li 127.0.0.2 -tls --from a@c2.test --to u@bank.test
is "$RC" 0 "relays: the STARTTLS session is accepted" || diag "$OUT"
like "$OUT" "<~  250 2.0.0 Ok: queued as" "relays: queued over TLS"
got=$(smtp_raw 127.0.0.3 "EHLO c3.test" "STARTTLS" "MAIL FROM:<a@c3.test>" "QUIT")
ok "$(! grep -qi starttls <<<"${got%%$'\n'502*}"; echo $?)" "notls (127.0.0.3): STARTTLS not offered"
like "$got" $'\n502 5.5.1 Error: command not implemented\n' "notls: STARTTLS refused"
like "$got" $'\n250 2.1.0 Ok\n' "notls: plaintext MAIL FROM accepted"
got=$(smtp_raw 127.0.0.1 "EHLO c1.test" "MAIL FROM:<a@c1.test>" "QUIT")
like "$got" "250-STARTTLS" "a client in no group: STARTTLS offered (inbound.tls preferred)"
like "$got" $'\n250 2.1.0 Ok\n' "a client in no group: plaintext accepted"

# --- segtls-policy stopped: Postfix keeps accepting mail (DUNNO) ---
kill "$POL"; for ((i=0; i<50; i++)); do kill -0 "$POL" 2>/dev/null || break; sleep 0.1; done
mark=$(pf_log_mark mta)
got=$(smtp_raw 127.0.0.2 "EHLO c2.test" "MAIL FROM:<a@c2.test>" "RCPT TO:<u@bank.test>" "QUIT")
like "$got" $'\n250 2.1.0 Ok\n250 2.1.5 Ok\n' "policy service down: the relays' plaintext mail is accepted (default action DUNNO)"
like "$(pf_log_since mta "$mark")" "warning: problem talking to server 127.0.0.1:$PPOL: Connection refused" \
    "and Postfix says why"

# --- the tables emptied: every override segtls set for them goes ---
for d in plain.test old.test bank.test wrong.test; do "$SEGTLS" destconfig delete $d; done
"$SEGTLS" sendergroup delete relays; "$SEGTLS" sendergroup delete notls
run "$SEGTLS" commit -m "no destinations, no groups"
is "$RC" 0 "commit without tables" || diag "$OUT" "$ERR"
is "$(pf_postconf mta -P 2>/dev/null | grep -cE 'tls_policy_maps|discard_ehlo|sender_restrictions|delay_reject|policy_service')" 0 \
    "no table override is left in master.cf"
got=$(smtp_raw 127.0.0.3 "EHLO c3.test" "QUIT")
like "$got" "250-STARTTLS" "127.0.0.3 is offered STARTTLS again"

done_testing
