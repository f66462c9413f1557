#!/bin/bash
# apply-services.t - Inbound SMTP governs a list of smtpd services, all of
# their TLS settings or none (issue 22), through segtls-policyd.
#
# A private Postfix with smtp (P1), submission (P2, its own
# smtpd_tls_security_level=encrypt) and smtps (P3, wrapper mode) on
# loopback ports; segtls-policyd applies through apply.conf.
#  1. Inbound SMTP at TLS 1.3 only with a reduced cipher string, smtps
#     excluded in apply.conf: smtp and submission negotiate exactly TLS
#     1.3 with the fixed suites (s_client), submission keeps its own
#     level, smtps behaves exactly as before; segtls status lists every
#     Postfix service with what governs it and its live versions.
#  2. smtps governed too (apply.conf edited, SIGHUP, `segtls apply`).
#  3. The administrator gives smtps an ECDSA certificate, which the RSA
#     cipher string leaves without a TLS 1.2 cipher: the probe of smtps
#     disagrees, the commit fails and all three services are rolled back.
#  4. Without it the commit succeeds: TLS 1.2 on every service with
#     exactly the one cipher of the string.
#  5. smtps excluded again: it gets back exactly what it had before segtls.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"

command -v postfix >/dev/null || skip_all "postfix missing"
command -v swaks >/dev/null || skip_all "swaks missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"
[ -x "$(bin segtls-policyd)" ] && [ -x "$(bin segtls-apply)" ] || skip_all "not built"

SEGTLS=$(bin segtls)
P1=$(free_port); P2=$(free_port); P3=$(free_port)
while [ "$P2" = "$P1" ]; do P2=$(free_port); done
while [ "$P3" = "$P1" ] || [ "$P3" = "$P2" ]; do P3=$(free_port); done
pf_make mta "$P1" || { echo "1..0 # SKIP cannot create Postfix"; exit 0; }
cat >>"$T/mta/etc/master.cf" <<CF
127.0.0.1:$P2 inet n  -       n       -       -       smtpd
  -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt
127.0.0.1:$P3 inet n  -       n       -       -       smtpd
  -o syslog_name=postfix/smtps -o smtpd_tls_wrappermode=yes
CF
pf_start mta || { echo "Bail out! postfix does not start"; exit 1; }
wait_port "$P2" 100 && wait_port "$P3" 100 || { echo "Bail out! submission/smtps not up"; exit 1; }
PFD=$(pf_dir mta)
S1=127.0.0.1:$P1/inet S2=127.0.0.1:$P2/inet S3=127.0.0.1:$P3/inet
CONF=$T/etc/segtls.conf
S=$T/run/policyd.sock
export SEGTLS_SOCKET=$S
mkdir -p "$T/etc" "$T/pf"
: >"$CONF"

# apply_conf [EXTRA-LINE] - apply.conf for the private instance
apply_conf() {
    cat >"$T/etc/apply.conf" <<CONF
[apply]
enabled=true
postfix-dir=$PFD
tls-config-file=$T/pf/tls.cnf
client-conf=$T/client.cnf
no-nginx=true
timeout=20
${1:-}
CONF
}
# run CMD... - stdout in $OUT, stderr in $ERR, status in $RC
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err"); }
# hs PORT KIND ARGS... - one s_client handshake: "TLSv1.3 TLS_AES_256_GCM_SHA384" or "-"
hs() {
    local port=$1 kind=$2 st=(); shift 2
    [ "$kind" = smtp ] && st=(-starttls smtp)
    echo QUIT | timeout 10 openssl s_client "${st[@]}" -connect "127.0.0.1:$port" "$@" 2>/dev/null |
        sed -n 's/^New, \(TLSv1[.0-9]*\), Cipher is \(.*\)/\1 \2/p' | grep . || echo -
}
# versions PORT KIND - the versions that negotiate: "1.2 1.3"
versions() {
    local v got=()
    for v in 1.0:-tls1 1.1:-tls1_1 1.2:-tls1_2 1.3:-tls1_3; do
        [ "$(hs "$1" "$2" "${v#*:}" -cipher 'ALL:@SECLEVEL=0')" != - ] && got+=("${v%%:*}")
    done
    echo "${got[*]}"
}
# fp PORT KIND - everything a client sees: per version what negotiates,
# TLS 1.2 with AES256-GCM alone, TLS 1.3 with each of two suites alone
fp() {
    local v
    for v in -tls1 -tls1_1 -tls1_2 -tls1_3; do
        echo "$v: $(hs "$1" "$2" "$v" -cipher 'ALL:@SECLEVEL=0')"
    done
    echo "aes256: $(hs "$1" "$2" -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384)"
    echo "gcm128: $(hs "$1" "$2" -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256)"
    echo "ccm128: $(hs "$1" "$2" -tls1_3 -ciphersuites TLS_AES_128_CCM_SHA256)"
}
# params - every main.cf parameter and master.cf override
params() { postconf -c "$PFD" -n; postconf -c "$PFD" -P; }

plan 41

B1=$(fp "$P1" smtp); B2=$(fp "$P2" smtp); B3=$(fp "$P3" tls)
like "$B3" "-tls1_2: TLSv1.2 " "before segtls: smtps speaks TLS 1.2 in wrapper mode"

apply_conf "exclude-service=$S3"
"$(bin segtls-policyd)" --foreground --config "$CONF" --state-dir "$T/state" \
    --socket "$S" --apply-config "$T/etc/apply.conf" 2>>"$T/policyd.log" &
PD=$!
at_exit "kill -9 $PD"
for ((i=0; i<500; i++)); do "$SEGTLS" show >/dev/null 2>&1 && break; sleep 0.01; done

# --- 1. TLS 1.3 only, a reduced cipher string; smtps excluded ---
run "$SEGTLS" set inbound.methods 1.3 inbound.ciphers ECDHE-RSA-AES128-GCM-SHA256
is "$RC" 0 "set inbound 1.3, ECDHE-RSA-AES128-GCM-SHA256"
run "$SEGTLS" commit -m "inbound 1.3"
is "$RC" 0 "commit applies: exit 0"
like "$OUT" "Inbound SMTP $S1 \\(127.0.0.1:$P1\\): TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 refused, TLS v1.3 negotiated \\(TLS_AES_256_GCM_SHA384\\)" \
    "commit: smtp probed"
like "$OUT" "Inbound SMTP $S2 \\(127.0.0.1:$P2\\): TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 refused, TLS v1.3 negotiated" \
    "commit: submission probed"
ok "$(grep -c "$S3" <<<"$OUT")" "commit: the excluded smtps is not probed"
for p in "$P1" "$P2"; do
    is "$(versions "$p" smtp)" "1.3" "port $p: exactly TLS 1.3 negotiates"
    is "$(hs "$p" smtp -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256)" "TLSv1.3 TLS_AES_128_GCM_SHA256" \
        "port $p: TLS_AES_128_GCM_SHA256, one of the fixed suites, negotiates"
    is "$(hs "$p" smtp -tls1_3 -ciphersuites TLS_AES_128_CCM_SHA256)" "-" \
        "port $p: TLS_AES_128_CCM_SHA256 does not"
done
is "$(postconf -c "$PFD" -P "$S2/smtpd_tls_security_level")" "$S2/smtpd_tls_security_level = encrypt" \
    "submission keeps its own security level"
like "$(swaks --server "127.0.0.1:$P2" --quit-after MAIL -f a@example.org -t b@example.net 2>&1)" \
    "<\\*\\* 530 5\\.7\\.0 Must issue a STARTTLS command first" "submission still refuses mail without TLS"
is "$(postconf -c "$PFD" -P | grep -c "^$S1/")" 9 "smtp: every TLS setting segtls owns is its own override"
is "$(postconf -c "$PFD" -P | grep "^$S2/" | sed 's/ = .*//' | tr '\n' ' ')" \
    "$S2/smtpd_tls_ciphers $S2/smtpd_tls_mandatory_ciphers $S2/smtpd_tls_mandatory_protocols $S2/smtpd_tls_protocols $S2/smtpd_tls_security_level $S2/syslog_name $S2/tls_config_file $S2/tls_config_name $S2/tls_high_cipherlist $S2/tls_ssl_options " \
    "submission: the same settings, its own level"
is "$(postconf -c "$PFD" -P | grep "^$S3/" | tr '\n' ' ')" \
    "$S3/smtpd_tls_wrappermode = yes $S3/syslog_name = postfix/smtps " "smtps: no override of segtls's"
is "$(postconf -c "$PFD" -n smtpd_tls_protocols smtpd_tls_ciphers tls_high_cipherlist tls_config_file)" "" \
    "main.cf keeps its own TLS values"
is "$(fp "$P3" tls)" "$B3" "the excluded smtps behaves exactly as before"

run "$SEGTLS" status
is "$RC" 0 "status: exit 0, no drift"
is "$(sed -n '/^Postfix services/,$p' <<<"$OUT")" "Postfix services ($PFD):
  $S1 (smtpd): Inbound SMTP, live 1.3 (127.0.0.1:$P1)
  smtp/unix (smtp): Outbound SMTP
  relay/unix (smtp): Outbound SMTP
  $S2 (smtpd): Inbound SMTP, live 1.3 (127.0.0.1:$P2)
  $S3 (smtpd): not governed, live 1.0-1.3 (127.0.0.1:$P3, TLS wrapper)" \
    "status: each Postfix service, what governs it, its live versions"

# --- 2. smtps governed too: apply.conf edited, SIGHUP, segtls apply ---
apply_conf
kill -HUP "$PD"
for ((i=0; i<100; i++)); do grep -q "apply configuration .*: commit applies" <(tail -1 "$T/policyd.log") && break; sleep 0.05; done
run "$SEGTLS" apply
is "$RC" 0 "segtls apply: exit 0"
like "$OUT" "Inbound SMTP $S3 \\(127.0.0.1:$P3, TLS wrapper\\): TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 refused, TLS v1.3 negotiated" \
    "segtls apply: smtps probed with direct TLS"
like "$OUT" $'\napplied$' "segtls apply: applied"
is "$(versions "$P3" tls)" "1.3" "smtps: exactly TLS 1.3 negotiates"
run "$SEGTLS" status
like "$OUT" "  $S3 \\(smtpd\\): Inbound SMTP, live 1.3 \\(127.0.0.1:$P3, TLS wrapper\\)" "status: smtps governed"

# --- 3. the probe of smtps disagrees: all three rolled back ---
postconf -c "$PFD" -P "$S3/smtpd_tls_chain_files=$CERTS/ecdsa.pem"
pf_reload mta
before=$(params)
"$SEGTLS" set inbound.methods 1.2-1.3 >/dev/null
run "$SEGTLS" commit -m "inbound 1.2-1.3"
like "$RC $ERR" "^1 segtls: apply failed: Inbound SMTP $S3 \\(127.0.0.1:$P3, TLS wrapper\\): TLS v1.2 did not negotiate .*but the policy allows it; the previous configuration was restored
Your changes are still pending.\$" "a disagreeing probe on smtps: the commit fails, says why"
is "$(params)" "$before" "every parameter of all three services is back"
for p in "$P1:smtp" "$P2:smtp" "$P3:tls"; do
    is "$(versions "${p%:*}" "${p#*:}")" "1.3" "port ${p%:*}: TLS 1.3 only again"
done

# --- 4. without the ECDSA certificate: TLS 1.2 with exactly the one cipher ---
postconf -c "$PFD" -PX "$S3/smtpd_tls_chain_files"
pf_reload mta
run "$SEGTLS" commit -m "inbound 1.2-1.3"
is "$RC" 0 "commit 1.2-1.3: exit 0"
[ "$RC" = 0 ] || diag "$ERR"
for p in "$P1:smtp" "$P2:smtp" "$P3:tls"; do
    is "$(hs "${p%:*}" "${p#*:}" -tls1_2 -cipher 'ALL:@SECLEVEL=0')" "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256" \
        "port ${p%:*}: TLS 1.2 negotiates the one cipher of the string"
    is "$(hs "${p%:*}" "${p#*:}" -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384)" "-" \
        "port ${p%:*}: a cipher outside the string is refused"
done

# --- 5. smtps excluded again: what it had before segtls ---
apply_conf "exclude-service=$S3"
kill -HUP "$PD"
sleep 0.5
run "$SEGTLS" apply
is "$RC" 0 "segtls apply with smtps excluded: exit 0"
is "$(postconf -c "$PFD" -P | grep "^$S3/" | tr '\n' ' ')" \
    "$S3/smtpd_tls_wrappermode = yes $S3/syslog_name = postfix/smtps " "smtps: segtls's overrides are gone"
is "$(fp "$P3" tls)" "$B3" "smtps behaves exactly as before segtls"
done_testing
