#!/bin/bash
# report-live.t - segtls report on the records of a live private-Postfix
# run counts exactly what the test sent.
#
# A private Postfix with segtls-milter (as in milter.t) relays to a sink
# (a second private Postfix) with two listeners: tls.test goes to one
# that offers STARTTLS (TLS 1.3), plain.test to one that does not.
# Connection caching is off, so that each delivery is a connection. The
# test sends, one after the other and each to its end:
#   inbound  swaks TLS 1.3, a message to tls.test
#            swaks TLS 1.2, a message to plain.test
#            swaks plain, one message to tls.test and plain.test
#            openssl s_client TLS 1.3, EHLO and QUIT (no message)
#            openssl s_client TLS 1.1, refused (smtpd_tls_protocols >=TLSv1.2)
#   outbound tls.test twice over TLS 1.3, plain.test twice in plain text
# and checks segtls report --csv, --json and the table on the records the
# milter and its log follower wrote meanwhile against those counts.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"
for p in postfix swaks openssl python3; do command -v $p >/dev/null || skip_all "$p not installed"; done
[ -x "$(bin segtls-milter)" ] && [ -x "$(bin segtls-report)" ] || skip_all "not built"
AS=$SEGTLS_TOP/t/lib/report-as-csv.py
REC=$T/mail_logs
P_MTA=$(free_port); P_PEER=$(free_port); P_PLAIN=$(free_port); P_MILTER=$(free_port)
plan 12

# rec_mark / rec_since MARK - the records written after MARK
rec_mark() { stat -c %s "$REC" 2>/dev/null || echo 0; }
rec_since() { tail -c "+$(($1 + 1))" "$REC"; }
# wait_count MARK REGEX N - until N records after MARK match (20 s)
wait_count() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ "$(rec_since "$1" | grep -Ec -- "$2")" -ge "$3" ] && return 0
        sleep 0.1
    done
    return 1
}
# s_client OPTION... - STARTTLS, EHLO and QUIT
s_client() {
    printf 'EHLO client.test\nQUIT\n' |
        timeout 10 openssl s_client -quiet -crlf -starttls smtp -connect "127.0.0.1:$P_MTA" "$@" >/dev/null 2>&1
}
# session N COMMAND... - one inbound session (its exit status in RC); wait
# until the records of the inbound connections so far are closed and the N
# deliveries of this one done
DONE=0; CLOSED=0
session() {
    local want_done=$1; shift
    "$@" >>"$T/clients.out" 2>&1
    RC=$?
    CLOSED=$((CLOSED + 1)); DONE=$((DONE + want_done))
    wait_count "$M" 'Info: ICID [0-9]+ close$' "$CLOSED" &&
        wait_count "$M" 'Info: Message done DCID [0-9]+ MID' "$DONE"
}

# --- the sink, the MTA, the milter ---------------------------------------
pf_make peer "$P_PEER" || exit 1
cat >>"$T/peer/etc/master.cf" <<CF
127.0.0.1:$P_PLAIN inet n - n - - smtpd -o syslog_name=peer-plain -o smtpd_tls_security_level=none
CF
pf_start peer || { echo "Bail out! the sink does not start"; exit 1; }
pf_make mta "$P_MTA" "$P_PEER" || exit 1
pf_postconf mta -e \
    "transport_maps = inline:{ tls.test=smtp:[127.0.0.1]:$P_PEER, plain.test=smtp:[127.0.0.1]:$P_PLAIN }" \
    "smtpd_tls_protocols = >=TLSv1.2" \
    "smtp_connection_cache_on_demand = no" \
    "smtpd_milters = inet:127.0.0.1:$P_MILTER" \
    "milter_default_action = tempfail" \
    'milter_connect_macros = j {daemon_name} {daemon_addr} v _ {client_addr} {client_port} {client_name} {client_ptr} {client_resolve}' \
    'milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer} {tls_version} {cipher}' || exit 1
"$(bin segtls-milter)" -f -s "inet:$P_MILTER@127.0.0.1" -l "$T/mta/maillog" -o "$REC" \
    -d "$T/state" 2>>"$T/milter.err" &
MPID=$!
at_exit "kill $MPID"
wait_port "$P_MILTER" 50 || { echo "Bail out! the milter does not listen"; exit 1; }
pf_start mta || { echo "Bail out! postfix does not start"; exit 1; }
wait_count 0 'ICID [0-9]+ close$' 1     # pf_start's port probe: not part of the run
M=$(rec_mark)

# --- the run ---------------------------------------------------------------
session 1 swaks --server "127.0.0.1:$P_MTA" --tls --tls-protocol tlsv1_3 -f a@example.org -t r1@tls.test
is "$? $RC" "0 0" "swaks TLS 1.3 to tls.test: sent and delivered"
session 1 swaks --server "127.0.0.1:$P_MTA" --tls --tls-protocol tlsv1_2 -f a@example.org -t r2@plain.test
is "$? $RC" "0 0" "swaks TLS 1.2 to plain.test: sent and delivered"
session 2 swaks --server "127.0.0.1:$P_MTA" -f a@example.org -t r3@tls.test,r4@plain.test
is "$? $RC" "0 0" "swaks plain to tls.test and plain.test: sent, two deliveries"
session 0 s_client -tls1_3
is "$? $RC" "0 0" "s_client TLS 1.3 without a message: closed"
session 0 s_client -tls1_1 -cipher DEFAULT@SECLEVEL=0
is "$? $RC" "0 1" "s_client TLS 1.1: the handshake refused, closed"
rec_since "$M" >"$T/run"
counts="$(grep -c 'New SMTP ICID' "$T/run") $(grep -c 'New SMTP DCID' "$T/run") $(grep -c 'Start MID' "$T/run")"
is "$counts" "5 4 3" "the records: 5 inbound connections, 4 outbound, 3 messages"
[ "$counts" = "5 4 3" ] || {
    # the evidence: the outbound records and what Postfix logged of the deliveries
    sed 's/^/# record: /' "$T/run" >&2
    grep -E 'postfix/(smtp|qmgr|error)\[' "$T/mta/maillog" | sed 's/^/# maillog: /' >&2
}

# --- what the test sent, as segtls report --csv prints it ---------------------
printf '%s\r\n' \
    "direction,domain,connections,tls_success,tls_failed,tls_failed_required,plain,messages,messages_tls,encrypted_percent,versions,ciphers" \
    "inbound,localhost,5,3,1,0,1,3,2,60.0,TLSv1.3=2;TLSv1.2=1,TLS_AES_256_GCM_SHA384=2;ECDHE-RSA-AES256-GCM-SHA384=1" \
    "inbound,*,5,3,1,0,1,3,2,60.0,TLSv1.3=2;TLSv1.2=1,TLS_AES_256_GCM_SHA384=2;ECDHE-RSA-AES256-GCM-SHA384=1" \
    "outbound,plain.test,2,0,0,0,2,2,0,0.0,," \
    "outbound,tls.test,2,2,0,0,0,2,2,100.0,TLSv1.3=2,TLS_AES_256_GCM_SHA384=2" \
    "outbound,*,4,2,0,0,2,4,2,50.0,TLSv1.3=2,TLS_AES_256_GCM_SHA384=2" >"$T/want.csv"

"$(bin segtls-report)" --csv "$T/run" >"$T/got.csv"
ok $? "segtls report --csv: exit 0"
diff_ref "$T/want.csv" "$T/got.csv" "--csv: exactly what the test sent"
"$(bin segtls-report)" --json "$T/run" | python3 "$AS" json >"$T/json.csv"
diff_ref "$T/want.csv" "$T/json.csv" "--json: the same counts"
"$(bin segtls-report)" "$T/run" | python3 "$AS" text >"$T/text.csv"
diff_ref "$T/want.csv" "$T/text.csv" "the table: the same counts"
# the live file as a whole (with pf_start's probe: one more plain connection)
"$(bin segtls-report)" --csv --direction inbound "$REC" | sed -n 2p >"$T/all"
is "$(tr -d '\r' <"$T/all")" \
    "inbound,localhost,6,3,1,0,2,3,2,50.0,TLSv1.3=2;TLSv1.2=1,TLS_AES_256_GCM_SHA384=2;ECDHE-RSA-AES256-GCM-SHA384=1" \
    "the whole records file (header, the port probe): one plain connection more"
kill -TERM "$MPID"; wait "$MPID"
is "$?" 0 "the milter stops cleanly"
