#!/bin/bash
# apply.t - segtls-apply against a private Postfix and a private nginx.
#
# For each of the 10 contiguous version ranges (cipher string "ALL", so
# TLS 1.0/1.1 are usable) apply must make exactly those versions
# negotiate, as openssl s_client sees it. The default gateway string at
# 1.1-1.2 warns and leaves only 1.2. A failure before writing (unreadable
# certificate) and a probe that disagrees (a main.cf setting segtls does
# not own that takes TLS 1.1 away) both leave the previous configuration
# serving: every Postfix parameter as it was, segtls's own files byte for
# byte. Hostile values never reach a file. A cipher-string typo is named.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"
source "$(dirname "$0")/lib/nginx.sh"

command -v postfix >/dev/null && command -v nginx >/dev/null || skip_all "postfix or nginx missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"

A=$(bin segtls-apply)
PORT=$(free_port)
HPORT=$(free_port)
pf_make mta "$PORT" || { echo "1..0 # SKIP cannot create Postfix"; exit 0; }
ngx_make gui "$HPORT" || { echo "1..0 # SKIP cannot create nginx"; exit 0; }
pf_start mta || { echo "Bail out! postfix does not start"; exit 1; }
ngx_start gui || { echo "Bail out! nginx does not start"; exit 1; }
PFD=$(pf_dir mta)
ARGS=(--postfix-dir "$PFD" --smtpd-service "127.0.0.1:$PORT/inet"
      --tls-config-file "$T/pf/tls.cnf" --client-conf "$T/client.cnf"
      --nginx-prefix "$T/gui" --nginx-conf conf/nginx.conf
      --nginx-include "$(ngx_tls_file gui)" --probe-https "127.0.0.1:$HPORT"
      --state-dir "$T/state")

# settings NAME < TEXT - a settings file; the GUI uses the test certificate
settings() { { cat; printf '[gui]\ncertificate=%s\n' "$CERTS/rsa.pem"; } >"$T/$1.conf"; }
# apply NAME [OPTIONS] - run segtls-apply; output in $T/out, $T/err, rc in $rc
apply() { local n=$1; shift; "$A" --config "$T/$n.conf" "${ARGS[@]}" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
# versions KIND PORT - the versions s_client negotiates: "1.1 1.2"
versions() {
    local kind=$1 port=$2 v flag got=() st
    for v in 1.0:-tls1 1.1:-tls1_1 1.2:-tls1_2 1.3:-tls1_3; do
        flag=${v#*:}
        if [ "$kind" = smtp ]; then st=(-starttls smtp); else st=(); fi
        if timeout 10 openssl s_client "${st[@]}" -connect "127.0.0.1:$port" "$flag" \
            -cipher 'ALL:@SECLEVEL=0' </dev/null 2>/dev/null | grep -q '^New, TLSv1'; then
            got+=("${v%%:*}")
        fi
    done
    echo "${got[*]}"
}
# snapshot - every Postfix parameter and service, and segtls's own files
snapshot() {
    { postconf -c "$PFD" -n; postconf -c "$PFD" -P; postconf -c "$PFD" -M
      cat "$T/pf/tls.cnf" "$(ngx_tls_file gui)"; } 2>/dev/null | md5sum
}

plan 52

# dry run: a diff, and nothing changes
settings defaults </dev/null
before=$(snapshot)
apply defaults --dry-run
is "$rc" 0 "dry run exits 0"
like "$(cat "$T/out")" $'\\+    -o smtpd_tls_protocols=>=TLSv1.1,<=TLSv1.2' "dry run shows the master.cf change"
like "$(cat "$T/out")" $'\\+    -o tls_config_name=segtls_inbound' "dry run shows tls_config_name"
is "$(snapshot)" "$before" "dry run changes nothing"
ok "$([ ! -e "$T/pf/tls.cnf" ]; echo $?)" "dry run writes no tls_config_file"

# every contiguous range, cipher string ALL, inbound and GUI alike
ranges=(1.0 1.1 1.2 1.3 1.0-1.1 1.1-1.2 1.2-1.3 1.0-1.2 1.1-1.3 1.0-1.3)
want() {    # want RANGE - the versions of a range, "1.0 1.1"
    local lo=${1%-*} hi=${1#*-} v out=() in=
    for v in 1.0 1.1 1.2 1.3; do
        [ "$v" = "$lo" ] && in=1
        [ -n "$in" ] && out+=("$v")
        [ "$v" = "$hi" ] && in=
    done
    echo "${out[*]}"
}
for r in "${ranges[@]}"; do
    settings "r$r" <<CONF
[inbound]
methods=$r
ciphers=ALL
[gui]
methods=$r
ciphers=ALL
CONF
    apply "r$r"
    if [ "$rc" != 0 ]; then diag "$(cat "$T/err")"; fi
    got="$rc smtp=[$(versions smtp "$PORT")] https=[$(versions https "$HPORT")]"
    is "$got" "0 smtp=[$(want "$r")] https=[$(want "$r")]" "methods $r: exactly $(want "$r") negotiate"
done

# the gateway default: TLS 1.1 enabled but unusable with !TLSv1
apply defaults
is "$rc" 0 "defaults: apply succeeds"
like "$(cat "$T/err")" "Warning: Inbound SMTP: TLS v1.1 is enabled but no cipher in the cipher string can be used with it; only TLS v1.2 can be negotiated." "defaults: warning about TLS v1.1"
is "$(versions smtp "$PORT")" "1.2" "defaults: only TLS 1.2 negotiates (smtpd)"
is "$(versions https "$HPORT")" "1.2" "defaults: only TLS 1.2 negotiates (nginx)"
like "$(cat "$T/out")" "notice: GUI HTTPS: nginx never allows client-initiated renegotiation" "defaults: nginx renegotiation notice"
like "$(cat "$T/out")" "Inbound SMTP 127.0.0.1:$PORT/inet \\(127.0.0.1:$PORT\\): TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 negotiated" "defaults: probe result printed"
is "$(postconf -c "$PFD" -P "127.0.0.1:$PORT/inet/smtpd_tls_protocols")" "127.0.0.1:$PORT/inet/smtpd_tls_protocols = >=TLSv1.1,<=TLSv1.2" "defaults: smtpd_tls_protocols on the service"
is "$(postconf -c "$PFD" -n smtpd_tls_protocols)" "" "defaults: main.cf keeps its own (no) smtpd_tls_protocols"
is "$(postconf -c "$PFD" -P "127.0.0.1:$PORT/inet/tls_config_name")" "127.0.0.1:$PORT/inet/tls_config_name = segtls_inbound" "defaults: tls_config_name in master.cf"
is "$(postconf -c "$PFD" -P relay/unix/tls_config_name)" "relay/unix/tls_config_name = segtls_outbound" "defaults: relay/unix found and set"

# TLS 1.3 suites: exactly the fixed three, from the tls_config_file
suite() { echo QUIT | timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" -tls1_3 -ciphersuites "$1" 2>/dev/null | sed -n 's/^New, TLSv1.3, Cipher is //p'; }
settings all <<CONF
[inbound]
methods=1.0-1.3
ciphers=ALL
CONF
apply all
is "$rc" 0 "1.0-1.3: apply succeeds"
is "$(suite TLS_AES_128_GCM_SHA256)" "TLS_AES_128_GCM_SHA256" "TLS 1.3: TLS_AES_128_GCM_SHA256 negotiates"
is "$(suite TLS_AES_128_CCM_SHA256)" "" "TLS 1.3: TLS_AES_128_CCM_SHA256 does not"

# renegotiation: enabled allows it, disabled refuses it
reneg() {
    (sleep 1; echo R; sleep 1; echo QUIT) | timeout 10 openssl s_client -starttls smtp \
        -connect "127.0.0.1:$PORT" -tls1_2 2>&1 | grep -c 'no renegotiation'
}
is "$(reneg)" "0" "renegotiation enabled: the server renegotiates"
settings noreneg <<CONF
[inbound]
methods=1.0-1.3
ciphers=ALL
renegotiation=disabled
CONF
apply noreneg
is "$rc" 0 "renegotiation disabled: apply succeeds"
is "$(reneg)" "1" "renegotiation disabled: the server refuses"
like "$(cat "$T/out")" "renegotiation refused" "renegotiation disabled: the probe saw it refused"

# inbound.tls = no: STARTTLS is not offered
settings notls <<CONF
[inbound]
tls=no
CONF
apply notls
is "$rc" 0 "inbound.tls=no: apply succeeds"
is "$(echo QUIT | timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" 2>&1 | grep -c "Didn't find STARTTLS in server response")" "1" "inbound.tls=no: no STARTTLS"

# a cipher-string typo: applied (OpenSSL skips the word), and named
settings typo <<CONF
[inbound]
methods=1.2
ciphers=HIGH:MEDUIM:!aNULL
CONF
apply typo
is "$rc" 0 "cipher-string typo: apply succeeds"
like "$(cat "$T/err")" 'Warning: Inbound SMTP: OpenSSL does not know "MEDUIM" in the cipher string and ignores it\.' \
    "cipher-string typo: the unknown word is named"
is "$(versions smtp "$PORT")" "1.2" "cipher-string typo: what the rest of the string allows"

# back to everything for the failure cases
apply all
is "$rc" 0 "1.0-1.3 again"
before=$(snapshot)

# a certificate that cannot be read: refused before anything is written
settings badcert <<CONF
[inbound]
methods=1.2
certificate=$T/missing/mta.pem
CONF
apply badcert
is "$rc" 1 "unreadable certificate: exit 1"
like "$(cat "$T/err")" "inbound.certificate: $T/missing/mta.pem: cannot read the file: No such file or directory" "unreadable certificate: the cause is named"
is "$(snapshot)" "$before" "unreadable certificate: no file changed"
is "$(versions smtp "$PORT")" "1.0 1.1 1.2 1.3" "unreadable certificate: the previous settings still serve"

# a main.cf setting segtls does not own takes TLS 1.1 away (no SHA-1
# cipher): the probe disagrees, apply restores
postconf -c "$PFD" -e "smtpd_tls_exclude_ciphers = SHA1"
pf_reload mta
before=$(snapshot)
settings r1.1-1.3 <<CONF
[inbound]
methods=1.1-1.3
ciphers=ALL
CONF
apply r1.1-1.3
is "$rc" 1 "probe disagreement: exit 1"
like "$(cat "$T/err")" "Inbound SMTP 127.0.0.1:$PORT/inet \\(127.0.0.1:$PORT\\): TLS v1.1 did not negotiate .*but the policy allows it; the previous configuration was restored\$" "probe disagreement: says what disagreed and that it restored"
is "$(snapshot)" "$before" "probe disagreement: every parameter and file restored"
is "$(postconf -c "$PFD" -P "127.0.0.1:$PORT/inet/smtpd_tls_protocols")" "127.0.0.1:$PORT/inet/smtpd_tls_protocols = >=TLSv1,<=TLSv1.3" "probe disagreement: the service has the previous protocols"
postconf -c "$PFD" -X smtpd_tls_exclude_ciphers
pf_reload mta
is "$(versions smtp "$PORT")" "1.0 1.1 1.2 1.3" "probe disagreement: the previous settings serve again"

# hostile values never reach a file
before=$(snapshot)
printf '[inbound]\nciphers=ALL;smtpd_tls_security_level=none\n' >"$T/evil.conf"
apply evil
is "$rc" 1 "hostile cipher string: exit 1"
like "$(cat "$T/err")" "character ';' is not allowed" "hostile cipher string: named"
is "$(snapshot)" "$before" "hostile cipher string: no file changed"
apply all --smtpd-service "127.0.0.1:$PORT/inet/x=y"
is "$rc" 1 "hostile service name: exit 1"
is "$(snapshot)" "$before" "hostile service name: no file changed"
done_testing
