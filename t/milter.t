#!/bin/bash
# milter.t - segtls-milter against a live private Postfix (SPEC §6).
#
# Inbound records come from the milter (real STARTTLS clients: openssl
# s_client per TLS version, swaks), "TLS failed" and all outbound records
# from its log follower, with the ICIDs/MIDs the milter assigned. Also:
# miltertest scripts with odd macros, the milter stopped while Postfix
# runs, SIGHUP, log rotation, and 500 concurrent connections through Postfix.
# Without root only the parts without Postfix run: usage, the state
# directory, miltertest.
# Records are compared in the order they were written: a connection's
# records New -> TLS -> Start MID -> From -> To -> Message finished -> close,
# IDs introduced in increasing order, time never going back in the file.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"

command -v miltertest >/dev/null || skip_all "miltertest not installed"
[ -x "$(bin segtls-milter)" ] || skip_all "segtls-milter not built"

REF=$SEGTLS_TOP/t/data/milter
REC=$T/log/mail_logs                    # its directory is the milter user's
STATE=$T/state
P_MTA=$(free_port); P_PEER=$(free_port); P_V10=$(free_port); P_PLAIN=$(free_port)
P_MILTER=$(free_port); P_MT=$(free_port)
MPID=

# rec_mark / rec_since MARK - the records written after MARK
rec_mark() { stat -c %s "$REC" 2>/dev/null || echo 0; }
rec_since() { tail -c "+$(($1 + 1))" "$REC"; }
# wait_rec MARK REGEX [TRIES] - wait (0.1 s steps) for a record after MARK
wait_rec() {
    local i
    for ((i=0; i<${3:-100}; i++)); do
        rec_since "$1" | grep -Eq -- "$2" && return 0
        sleep 0.1
    done
    return 1
}
# norm - records without times; IDs renumbered per kind in order of appearance
norm() {
    sed -E 's/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4} //' |
        sed -e "s/port $P_PEER\$/port PEER/; s/port $P_V10\$/port V10/; s/port $P_PLAIN\$/port PLAIN/" |
        awk '{ for (i = 1; i < NF; i++) if ($i ~ /^(ICID|DCID|MID)$/ && $(i+1) ~ /^[0-9]+$/) {
                   k = $i SUBSEP $(i+1); if (!(k in id)) id[k] = ++n[$i]; $(i+1) = "#" id[k] }
               print }'
}
# by_conn - normalised records grouped by connection (first seen first),
# each connection's in the order written: connections that overlap (a
# close racing the next connect) may interleave in any way
by_conn() {
    awk '{ c = ""
           for (i = 1; i < NF; i++) if ($i == "ICID" && $(i+1) ~ /^#/) { c = $(i+1); break }
           if (c == "") for (i = 1; i < NF; i++) if ($i == "MID" && ($(i+1) in of)) { c = of[$(i+1)]; break }
           for (i = 1; i < NF; i++) if ($i == "MID" && $(i+1) ~ /^#/ && c != "") of[$(i+1)] = c
           if (!(c in k)) k[c] = ++n
           printf "%d\t%s\n", k[c], $0 }' | sort -s -n -k1,1 | cut -f2-
}
# increasing LIST - "yes" when the numbers in LIST (one a line) strictly increase
increasing() { awk 'NR > 1 && $1 <= last { bad = 1 } { last = $1 } END { print bad ? "no" : "yes" }'; }
# time_backwards FILE - records whose time is before the record above them
time_backwards() {
    awk 'BEGIN { split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", m); for (i in m) mi[m[i]] = i }
         $2 in mi && $5 ~ /^[0-9][0-9][0-9][0-9]$/ {
             k = sprintf("%s %02d %02d %s", $5, mi[$2], $3, $4)
             if (k < last) n++; last = k }
         END { print n + 0 }' "$1"
}
# conn_order FILE - records out of a connection's order (one line each), then their count:
# New SMTP ICID first; TLS before any message; Start MID, From, To, Message
# finished in that order; nothing of a connection after its close (ICID 0:
# mail the milter never saw)
conn_order() {
    awk 'function bad(why) { print NR ": " why ": " $0; n++ }
         function live(i) { if (!(i in st)) bad("before New SMTP ICID"); else if (st[i] == "closed") bad("after close") }
         $7 == "New" && $9 == "ICID" { if ($10 in st) bad("ICID twice"); st[$10] = "new"; next }
         $7 == "ICID" { live($8); if ($NF == "close" && NF == 9) st[$8] = "closed"
                        else if ($9 ~ /^TLS/ && st[$8] != "new") bad("TLS after a message"); next }
         $7 == "Start" && $11 != 0 { live($11); st[$11] = "msg"; icid[$9] = $11; ms[$9] = "start"; next }
         $7 == "MID" && $10 != 0 { live($10); if ($11 == "From:") { if (ms[$8] != "start") bad("From not after Start"); ms[$8] = "from" }
                        else if (ms[$8] != "from" && ms[$8] != "to") bad("To not after From"); else ms[$8] = "to"; next }
         $7 == "Message" && $8 == "finished" && ($10 in icid) { live(icid[$10]); if (ms[$10] != "to") bad("finished before To") }
         END { print n + 0 }' "$1"
}
# milter_start ARGS - start the milter in the foreground, wait for its port
milter_start() {
    "$(bin segtls-milter)" -f -s "inet:$P_MILTER@127.0.0.1" -l "$T/mta/maillog" \
        -o "$REC" -d "$STATE" "$@" 2>>"$T/milter.err" &
    MPID=$!
    at_exit "kill $MPID"
    wait_port "$P_MILTER" 50
}
# s_client VERSION-OPTION... - STARTTLS, then EHLO and QUIT over TLS
s_client() {
    printf 'EHLO client.test\nQUIT\n' |
        timeout 10 openssl s_client -quiet -crlf -starttls smtp -connect "127.0.0.1:$P_MTA" "$@" >/dev/null 2>&1
}
# icid_of TEXT - the ICID of the (only) New SMTP ICID record in TEXT
icid_of() { sed -nE 's/.* New SMTP ICID ([0-9]+) .*/\1/p' <<<"$1" | tail -1; }
dcid_of() { sed -nE 's/.* New SMTP DCID ([0-9]+) .*/\1/p' <<<"$1" | head -1; }

# --- usage ------------------------------------------------------------
"$(bin segtls-milter)" --help >"$T/help.out" 2>&1
is "$? $(grep -c -- '--maillog' "$T/help.out")" "0 1" "--help: exit 0, lists the options"
"$(bin segtls-milter)" --bogus >/dev/null 2>&1
is "$?" 2 "unknown option: exit 2"
"$(bin segtls-milter)" -f --socket "tcp:25" -o "$T/x" -d "$T/x.state" 2>"$T/usage.err"
is "$? $(cat "$T/usage.err")" "2 segtls-milter: error: bad --socket \"tcp:25\": want unix:/PATH or inet:PORT@ADDR" \
    "bad --socket: exit 2 with a one-line error"
timeout 10 "$(bin segtls-milter)" -f --id-block 0 -o "$T/x" -d "$T/x.state" 2>"$T/usage.err"
is "$? $(cat "$T/usage.err")" "2 segtls-milter: error: bad --id-block 0: want 1 to 1000000" \
    "bad --id-block: exit 2 with a one-line error"
like "$(grep -A1 -- '--state-dir' "$T/help.out" | tr -s ' \n' ' ')" "default /var/lib/segtls/milter\)" \
    "--state-dir: its own default, not policyd's /var/lib/segtls"
like "$(grep -A1 -- '--socket' "$T/help.out" | tr -s ' \n' ' ')" "default unix:/var/spool/postfix/segtls-milter/milter.sock\)" \
    "--socket: by default under Postfix's queue directory, where a chrooted smtpd reaches it"
timeout 10 "$(bin segtls-milter)" -f --no-follow -s "unix:$T/nosuch/milter.sock" -g "$(id -gn)" \
    -o "$T/nosock.rec" -d "$T/nosock.state" 2>"$T/usage.err"
is "$? $(cat "$T/usage.err") $(ls -d "$T"/nosock.* 2>/dev/null | wc -l)" \
    "1 segtls-milter: fatal: milter socket unix:$T/nosuch/milter.sock: directory $T/nosuch: No such file or directory (make it: install -d -o $(id -un) -g $(id -gn) -m 0750 $T/nosuch) 0" \
    "a socket directory that is missing: one line saying how to make it, exit 1, nothing made"

# --- the state directory: the milter's own ---------------------------
# policyd's state directory (a real one: a pending change) is refused
PD_DIR=$T/pd
mkdir -p "$PD_DIR" && cp "$SEGTLS_TOP/conf/segtls.conf" "$PD_DIR/segtls.conf"
"$(bin segtls-policyd)" --foreground --config "$PD_DIR/segtls.conf" --state-dir "$PD_DIR/state" \
    --socket "$PD_DIR/p.sock" 2>"$PD_DIR/log" &
pdpid=$!
at_exit "kill $pdpid"
for ((i=0; i<200; i++)); do "$(bin segtls)" --socket "$PD_DIR/p.sock" status >/dev/null 2>&1 && break; sleep 0.05; done
"$(bin segtls)" --socket "$PD_DIR/p.sock" set inbound.methods 1.2-1.3 >/dev/null 2>&1
kill -TERM "$pdpid"; wait "$pdpid" 2>/dev/null
ls -l --time-style=+ "$PD_DIR/state" >"$T/pd.before"
timeout 10 "$(bin segtls-milter)" -f --no-follow -s "inet:$(free_port)@127.0.0.1" -o "$T/x" -d "$PD_DIR/state" 2>"$T/usage.err"
is "$? $(cat "$T/usage.err")" "1 segtls-milter: fatal: state directory $PD_DIR/state holds segtls-policyd's pending.conf: give the milter its own --state-dir (default /var/lib/segtls/milter)" \
    "policyd's state directory: refused with a one-line error, exit 1"
ls -l --time-style=+ "$PD_DIR/state" >"$T/pd.after"
ok "$(cmp -s "$T/pd.before" "$T/pd.after"; echo $?)" "policyd's state directory: nothing added or changed"
if [ "$(id -u)" = 0 ]; then
    # --user: what exists and is not the milter's own is never given away
    mkdir -p "$T/own/state" "$T/own/log" && chmod 755 "$T/own/state" "$T/own/log"
    : >"$T/own/state/ids.lock"; : >"$T/own/state/other"; : >"$T/own/log/mail_logs"
    timeout 10 "$(bin segtls-milter)" -f --no-follow -s "inet:$(free_port)@127.0.0.1" -o "$T/own/log/mail_logs" \
        -d "$T/own/state" --user nobody 2>"$T/usage.err"
    is "$? $(cat "$T/usage.err")" "1 segtls-milter: fatal: state directory $T/own/state: Permission denied for user nobody" \
        "--user: a state directory the user cannot write: refused, exit 1"
    is "$(stat -c %U "$T/own/state" "$T/own/state/ids.lock" "$T/own/state/other" "$T/own/log/mail_logs" | tr '\n' ' ')" \
        "root root root root " "--user: nothing it did not create was given to the user"
    # policyd's /var/lib/segtls 0750 root above the milter's own (issue 14)
    mkdir -m 750 "$T/own/lib"
    timeout 10 "$(bin segtls-milter)" -f --no-follow -s "inet:$(free_port)@127.0.0.1" -o "$T/own/log/x" \
        -d "$T/own/lib/milter" --user nobody 2>"$T/usage.err"
    is "$? $(cat "$T/usage.err") $(ls -A "$T/own/lib" | wc -l)" \
        "1 segtls-milter: fatal: $T/own/lib: Permission denied for user nobody (it holds the state directory) 0" \
        "--user: a parent the user cannot search: refused, nothing made"
    # detached with --user: the log file root made (as policyd does,
    # 0640) is opened before the user is dropped, and written (issue 14)
    mkdir -p "$T/dl" && : >"$T/dl.log" && chmod 640 "$T/dl.log"
    p=$(free_port)
    "$(bin segtls-milter)" --no-follow -s "inet:$p@127.0.0.1" -o "$T/dl/mail_logs" -d "$T/dl/state" \
        --user nobody --log-file "$T/dl.log" 2>"$T/dl.err"
    rc=$?
    for ((i = 0; i < 50; i++)); do grep -q "listening on inet:$p@127.0.0.1" "$T/dl.log" && break; sleep 0.1; done
    dpid=$(sed -nE "s/.* segtls-milter\[([0-9]+)\]: listening on inet:$p@.*/\1/p" "$T/dl.log")
    [ -n "$dpid" ] && at_exit "kill $dpid"
    is "$rc $(stat -c %U "$T/dl.log") $(grep -c "listening on inet:$p@127.0.0.1, records to $T/dl/mail_logs" "$T/dl.log") $(cat "$T/dl.err")" \
        "0 root 1 " "detached as nobody: its messages go to the log file root made"
    [ -n "$dpid" ] && kill "$dpid"
else
    for i in 1 2 3 4; do ok 0 "# SKIP --user needs root"; done
fi

# --- miltertest: missing, empty, huge and malformed macros ---------------
mkdir "$T/mt"
"$(bin segtls-milter)" -f --no-follow -s "inet:$P_MT@127.0.0.1" -o "$T/mt/mail_logs" -d "$T/mt/state" 2>"$T/mt/err" &
mtpid=$!
at_exit "kill $mtpid"
wait_port "$P_MT" 50
for s in "$SEGTLS_TOP"/t/miltertest/*.lua; do
    MILTER="inet:$P_MT@127.0.0.1" timeout 30 miltertest -s "$s" >"$T/mt/out" 2>&1
    ok $? "miltertest $(basename "$s")" || sed 's/^/# /' "$T/mt/out" >&2
done
kill -0 "$mtpid" 2>/dev/null
ok $? "miltertest: milter still runs"
tail -n +4 "$T/mt/mail_logs" | norm | by_conn >"$T/macros.out"
diff_ref "$REF/macros.ref" "$T/macros.out" "miltertest: records of odd macros"

# --- from here on a private Postfix: root only --------------------------
if [ "$(id -u)" != 0 ]; then
    ok 0 "# SKIP the rest needs root (private Postfix)"
    done_testing; exit
fi
for p in swaks openssl smtp-source postfix; do
    command -v "$p" >/dev/null || { ok 0 "# SKIP the rest needs $p"; done_testing; exit; }
done

# --- Postfix: a peer with three listeners, the MTA with the milter -------
pf_make peer "$P_PEER" || exit 1
cat >>"$T/peer/etc/master.cf" <<CF
127.0.0.1:$P_V10 inet n - n - - smtpd -o syslog_name=peer-v10 -o { smtpd_tls_protocols = >=TLSv1 <=TLSv1 }
127.0.0.1:$P_PLAIN inet n - n - - smtpd -o syslog_name=peer-plain -o smtpd_tls_security_level=none
CF
pf_start peer || exit 1
pf_make mta "$P_MTA" "$P_PEER" || exit 1
pf_postconf mta -e \
    "transport_maps = inline:{ v13.test=smtp:[127.0.0.1]:$P_PEER, v10.test=smtp:[127.0.0.1]:$P_V10, plain.test=smtp:[127.0.0.1]:$P_PLAIN }" \
    "smtp_tls_policy_maps = inline:{ [127.0.0.1]:$P_PLAIN=encrypt }" \
    "smtpd_tls_protocols = >=TLSv1.2" \
    "smtp_tls_protocols = >=TLSv1.2" "smtp_tls_mandatory_protocols = >=TLSv1.2" \
    "smtpd_milters = inet:127.0.0.1:$P_MILTER" \
    "milter_default_action = accept" \
    'milter_macro_v = $mail_name $mail_version smtpd-pid=$process_id' \
    'milter_connect_macros = j {daemon_name} {daemon_addr} v _ {client_addr} {client_port} {client_name} {client_ptr} {client_resolve}' \
    'milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer} {tls_version} {cipher}' \
    "smtpd_delay_open_until_valid_rcpt = no" || exit 1
sed -i "s/^\(127.0.0.1:$P_MTA inet  *n  *-  *n  *-  *\)-/\1${LOAD_SESSIONS:-500}/" "$T/mta/etc/master.cf"

NOBODY_UID=$(id -u nobody)
mkdir -p "$T/log" && chown nobody "$T/log"
milter_start --user nobody
ok $? "milter listens"
is "$(awk '/^Uid:/ {print $2}' "/proc/$MPID/status")" "$NOBODY_UID" "milter runs as nobody (--user)"
pf_start mta || exit 1
wait_rec 0 "ICID [0-9]+ close"          # pf_start's probe connection
is "$(head -3 "$REC" | norm | cut -d: -f1 | tr '\n' ' ')" "Info Info Info " "record file starts with its header"

# --- inbound: one exact TLS success line per enabled version ------------
for v in "tls1_2 TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384" "tls1_3 TLSv1.3 TLS_AES_256_GCM_SHA384"; do
    set -- $v
    m=$(rec_mark)
    s_client "-$1"
    wait_rec "$m" "ICID [0-9]+ close"
    got=$(rec_since "$m")
    n=$(icid_of "$got")
    like "$got" "New SMTP ICID $n interface lo \(127.0.0.1\) address 127.0.0.1 reverse dns host localhost verified yes" "$2: New SMTP ICID"
    sleep 0.3                           # the follower has read the log too
    got=$(rec_since "$m")
    is "$(grep -c "Info: ICID $n TLS success protocol $2 cipher $3\$" <<<"$got")" 1 "$2: ICID $n TLS success protocol $2 cipher $3 (once)"
done

# --- inbound: STARTTLS, then QUIT without EHLO (the milter sees no TLS) ---
m=$(rec_mark)
printf 'QUIT\n' | timeout 10 openssl s_client -quiet -crlf -starttls smtp -connect "127.0.0.1:$P_MTA" -tls1_3 >/dev/null 2>&1
wait_rec "$m" "ICID [0-9]+ close"
wait_rec "$m" "TLS success" 30
got=$(rec_since "$m")
n=$(icid_of "$got")
is "$(grep -c "Info: ICID $n TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384\$" <<<"$got")" 1 \
    "no EHLO after STARTTLS: TLS success once, from the log"
is "$(grep -E "ICID $n( |\$)" <<<"$got" | norm | cut -d' ' -f2-5)" "New SMTP ICID #1
ICID #1 TLS success
ICID #1 close" "no EHLO after STARTTLS: New, TLS success, close, in that order"

# --- inbound: a client offering only a disabled version -----------------
# tls11_refused LABEL - a TLSv1.1-only client: one failure record, then close
tls11_refused() {
    local m n got
    m=$(rec_mark)
    s_client -tls1_1 -cipher DEFAULT@SECLEVEL=0
    wait_rec "$m" "TLS failed" 50 && wait_rec "$m" "ICID [0-9]+ close" 50
    got=$(rec_since "$m")
    n=$(icid_of "$got")
    is "$(grep -c "Info: ICID $n TLS failed: (167772418, 'error:0A000102:SSL routines::unsupported protocol')\$" <<<"$got")" 1 \
        "$1: TLS failed with the connection's ICID ($n)"
    is "$(grep -c "ICID $n close" <<<"$got") $(grep -c 'TLS success' <<<"$got")" "1 0" "$1: close, no success"
    is "$(grep -E "ICID $n( |:|\$)" <<<"$got" | norm | cut -d' ' -f2-5)" "New SMTP ICID #1
ICID #1 TLS failed:
ICID #1 close" "$1: New, TLS failed, close, in that order"
}
tls11_refused "TLSv1.1 only"

# --- a message over TLS to a TLSv1.3 peer: the whole record flow --------
m=$(rec_mark)
swaks --server "127.0.0.1:$P_MTA" --tls -f a@example.org -t "b@v13.test,c@v13.test" >/dev/null 2>&1
ok $? "swaks --tls: message accepted"
wait_rec "$m" "DCID [0-9]+ close" 100 && wait_rec "$m" "ICID [0-9]+ close" 50
# flow_check NAME REF AFTER - the records since $m in order; the inbound
# close may come anywhere after the record AFTER (the client's QUIT races
# the delivery), the rest in exactly REF's order
flow_check() {
    local got fin cl
    got=$(rec_since "$m" | norm)
    grep -v 'Info: ICID #1 close$' <<<"$got" >"$T/$1.out"
    diff_ref "$2" "$T/$1.out" "$1: records of one message in order (IDs normalised)"
    fin=$(grep -n -m1 -- "$3" <<<"$got" | cut -d: -f1)
    cl=$(grep -n 'Info: ICID #1 close$' <<<"$got" | cut -d: -f1 | tr '\n' ' ')
    ok "$( [ "$(wc -w <<<"$cl")" = 1 ] && [ "$cl" -gt "${fin:-99999}" ]; echo $?)" \
        "$1: ICID close once (line $cl), after \"$3\" (line $fin)"
}
flow_check flow "$REF/flow.ref" "Message finished MID #1 done"

# --- outbound: a peer that only speaks TLSv1 ----------------------------
m=$(rec_mark)
swaks --server "127.0.0.1:$P_MTA" -f a@example.org -t x@v10.test >/dev/null 2>&1
wait_rec "$m" "TLS deferring" 100
got=$(rec_since "$m")
d=$(dcid_of "$got")
like "$got" "New SMTP DCID $d interface unknown address 127.0.0.1 port $P_V10" "TLSv1 peer: New SMTP DCID"
is "$(grep -c "Info: DCID $d TLS deferring: (167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version')\$" <<<"$got")" 1 \
    "TLSv1 peer: DCID $d TLS deferring"

# --- outbound: a peer without STARTTLS (policy encrypt) ------------------
m=$(rec_mark)
swaks --server "127.0.0.1:$P_MTA" -f a@example.org -t y@plain.test >/dev/null 2>&1
wait_rec "$m" "STARTTLS command not supported" 100
got=$(rec_since "$m")
d=$(dcid_of "$got")
is "$(grep -c "Info: DCID $d STARTTLS command not supported.\$" <<<"$got")" 1 "no STARTTLS: DCID $d STARTTLS command not supported."
like "$got" "New SMTP DCID $d interface unknown address 127.0.0.1 port $P_PLAIN" "no STARTTLS: New SMTP DCID"

# --- the milter stopped while Postfix runs ------------------------------
max_icid=$(sed -nE 's/.*ICID ([0-9]+).*/\1/p' "$REC" | sort -n | tail -1)
max_mid=$(sed -nE 's/.*MID ([0-9]+).*/\1/p' "$REC" | sort -n | tail -1)
kill -TERM "$MPID"
wait "$MPID"
is "$?" 0 "SIGTERM: clean exit"
ok "$(test -s "$STATE/follower"; echo $?)" "follower offset saved"
lm=$(pf_log_mark mta)
swaks --server "127.0.0.1:$P_MTA" -f a@example.org -t z@v13.test >/dev/null 2>&1
ok $? "milter down: message accepted (milter_default_action = accept)"
pf_wait_log mta "$lm" "to=<z@v13.test>.*status=sent" 100
ok $? "milter down: message delivered"
m=$(rec_mark)
milter_start --user nobody
ok $? "milter restarted"
wait_rec "$m" "Message done" 100
got=$(rec_since "$m")
mid=$(sed -nE 's/.* MID ([0-9]+) ICID 0 RID 0 To: <z@v13.test>$/\1/p' <<<"$got")
ok "$( [ -n "$mid" ] && [ "$mid" -gt "$max_mid" ]; echo $?)" "restart: the follower went on at its offset; new MID $mid > $max_mid"
like "$got" "Delivery start DCID [0-9]+ MID $mid to RID \[0\]" "restart: delivery of the mail sent while down carries MID $mid"
m=$(rec_mark)
s_client -tls1_3
wait_rec "$m" "ICID [0-9]+ close"
n=$(icid_of "$(rec_since "$m")")
ok "$( [ -n "$n" ] && [ "$n" -gt "$max_icid" ]; echo $?)" "restart: ICIDs not reused ($n > $max_icid)"

# --- SIGHUP reopens the record file ------------------------------------
mv "$REC" "$REC.1"
kill -HUP "$MPID"
wait_file "$REC" 50
ok $? "SIGHUP: new record file"
kill -0 "$MPID" 2>/dev/null
ok $? "SIGHUP: milter still runs"
m=$(rec_mark)
s_client -tls1_3
wait_rec "$m" "ICID [0-9]+ close"
ok $? "SIGHUP: records go to the new file"

# --- follower: rotation by rename (postfix logrotate) and copytruncate ----
m=$(rec_mark)
pf_cmd mta logrotate >/dev/null 2>&1
ok $? "postfix logrotate"
# postlogd creates the new file 0600 root; the milter runs as nobody here
wait_file "$T/mta/maillog" 50 && chmod 644 "$T/mta/maillog"
swaks --server "127.0.0.1:$P_MTA" -f a@example.org -t r1@v13.test >/dev/null 2>&1
wait_rec "$m" "Message done" 100
ok $? "after rotation by rename: delivery records"
cp "$T/mta/maillog" "$T/maillog.copy" && : >"$T/mta/maillog"
sleep 0.3
m=$(rec_mark)
swaks --server "127.0.0.1:$P_MTA" -f a@example.org -t r2@v13.test >/dev/null 2>&1
wait_rec "$m" "Message done" 100
ok $? "after copytruncate: delivery records"
got=$(rec_since "$m")
is "$(grep -c 'Start MID' <<<"$got") $(grep -c 'Delivery start' <<<"$got")" "1 1" "after copytruncate: nothing read twice"

# --- IDs reserved ahead: no session waits for STATE_DIR/ids ------------
# A copy of the state directory (the same ID marks) and blocks of 7: the first
# blocks are reserved at start-up, the next ones by a thread of the
# milter's own. With ids.lock held by another process (another writer, a
# slow disk) four sessions still get their IDs and records at once.
kill -TERM "$MPID"; wait "$MPID"
cp -a "$STATE" "$T/state.ahead"
STATE=$T/state.ahead
milter_start --user nobody --id-block 7
ok $? "milter restarted with a fresh state directory, --id-block 7"
exec {lockfd}>>"$STATE/ids.lock"
flock -x "$lockfd"                      # this shell holds ids.lock now
m=$(rec_mark)
t0=$(date +%s%N)
timeout 100 smtp-source -s 1 -m 4 -f ahead@example.org -t ahead@v13.test "127.0.0.1:$P_MTA"
took=$(( ($(date +%s%N) - t0) / 1000000 ))
for ((i=0; i<100; i++)); do
    [ "$(rec_since "$m" | grep -c 'ICID [0-9]* close$')" -ge 4 ] &&
        [ "$(rec_since "$m" | grep -c 'Message done')" -ge 4 ] && break
    sleep 0.1
done
got=$(rec_since "$m")
is "$(grep -c 'New SMTP ICID' <<<"$got") $(grep -c 'Start MID [0-9]* ICID [1-9]' <<<"$got") $(grep -c 'ICID [0-9]* close$' <<<"$got")" "4 4 4" \
    "ids.lock held elsewhere: 4 sessions got their IDs and records meanwhile (${took} ms)"
flock -u "$lockfd"; exec {lockfd}>&-

# --- 500 concurrent connections through Postfix and the milter ----------
m=$(rec_mark)
lm=$(pf_log_mark mta)
timeout 120 smtp-source -s "${LOAD_SESSIONS:-500}" -m 500 -f load@example.org -t load@v13.test "127.0.0.1:$P_MTA"
ok $? "smtp-source: 500 messages sent"
for ((i=0; i<300; i++)); do
    [ "$(rec_since "$m" | grep -c ' close$')" -ge 1000 ] && break   # 500 ICID + 500 DCID
    sleep 0.2
done
got=$(rec_since "$m")
is "$(grep -c 'New SMTP ICID' <<<"$got")" 500 "load: 500 New SMTP ICID"
is "$(grep -cE 'Info: ICID [0-9]+ close$' <<<"$got")" 500 "load: 500 ICID close"
is "$(sed -nE 's/.*New SMTP ICID ([0-9]+) .*/\1/p' <<<"$got" | sort -u | wc -l)" 500 "load: 500 distinct ICIDs"
is "$(sed -nE 's/.*Start MID ([0-9]+) .*/\1/p' <<<"$got" | sort -u | wc -l)" 500 "load: 500 distinct MIDs"
is "$(sed -nE 's/.*Start MID ([0-9]+) .*/\1/p' <<<"$got" | sort -n | md5sum)" \
   "$(sed -nE 's/.*Message done DCID [0-9]+ MID ([0-9]+) .*/\1/p' <<<"$got" | sort -n | md5sum)" \
   "load: every delivery carries the MID the milter assigned"
is "$(grep -c 'status=sent' <(pf_log_since mta "$lm"))" 500 "load: 500 messages delivered"
# (deferred mail to v10.test and plain.test is retried meanwhile: 500 DCIDs or more)
for k in "New SMTP ICID" "Start MID" "New SMTP DCID"; do
    ids=$(sed -nE "s/.*Info: $k ([0-9]+)( .*|\$)/\1/p" <<<"$got")
    n=$(wc -l <<<"$ids")
    is "$( ((n >= 500)) && echo 500) $(increasing <<<"$ids")" "500 yes" \
        "load, blocks of 7: $n \"$k\", each above the one before it in the file"
done

kill -TERM "$MPID"; wait "$MPID"
is "$?" 0 "milter stops cleanly"
is "$(grep -c 'could not be written' "$T/milter.err")" 0 "no record was dropped"
cat "$REC.1" "$REC" >"$T/all.rec"
is "$(conn_order "$T/all.rec" | tee "$T/order.err" | tail -1)" 0 \
    "every connection: New, TLS, Start MID, From, To, Message finished, close in that order" ||
    head -5 "$T/order.err" | sed 's/^/# /' >&2
is "$(time_backwards "$T/all.rec")" 0 "time never goes back in the records file"

# --- --no-milter: every record from the log, nothing in the mail path ----
"$(bin segtls-milter)" -f --no-milter --no-follow -o "$T/x" -d "$T/x.state" 2>"$T/usage.err"
is "$? $(cat "$T/usage.err")" "2 segtls-milter: error: --no-milter follows the log only: not with --no-follow" \
    "--no-milter with --no-follow: exit 2 with a one-line error"
pf_postconf mta -e "smtpd_milters =" && pf_reload mta
REC=$T/log/log_only
"$(bin segtls-milter)" -f --no-milter -l "$T/mta/maillog" -o "$REC" -d "$T/state.log_only" \
    --postfix-config "$T/mta/etc" --user nobody 2>>"$T/milter.err" &
MPID=$!
at_exit "kill $MPID"
for ((i = 0; i < 50; i++)); do grep -q "following $T/mta/maillog, records to" "$T/milter.err" && break; sleep 0.1; done
is "$(grep -c "following $T/mta/maillog, records to $REC" "$T/milter.err")" 1 "--no-milter: follows the log"
m=$(rec_mark)
swaks --server "127.0.0.1:$P_MTA" --tls -f a@example.org -t "b@v13.test,c@v13.test" >/dev/null 2>&1
ok $? "--no-milter: swaks --tls: message accepted (no milter in smtpd)"
wait_rec "$m" "DCID [0-9]+ close" 150
flow_check flow-log-only "$REF/flow-log-only.ref" "Start MID #1 ICID #1"
tls11_refused "--no-milter: TLSv1.1 only"
kill -TERM "$MPID"; wait "$MPID"
is "$?" 0 "--no-milter: stops cleanly on SIGTERM"
done_testing
