#!/bin/bash
# apply.t - segtls-apply against a private Postfix and a private nginx.
#
# For each of the 10 contiguous version ranges (cipher string "ALL", so
# TLS 1.0/1.1 are usable) apply must make exactly those versions
# negotiate, as openssl s_client sees it. The default gateway string at
# 1.1-1.2 warns and leaves only 1.2. A failure before writing (unreadable
# certificate) and a probe that disagrees (a master.cf override that beats
# main.cf) both leave the previous configuration serving, byte for byte.
# Hostile values never reach a file.
#
# Without root (a private Postfix needs it) the same runs with
# --no-postfix against nginx alone: the GUI HTTPS checks run, the Postfix
# ones are skipped.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"
source "$(dirname "$0")/lib/nginx.sh"

command -v nginx >/dev/null || skip_all "nginx missing"
PF=; [ "$(id -u)" = 0 ] && command -v postfix >/dev/null && PF=1   # a private Postfix

A=$(bin segtls-apply)
PORT=$(free_port)
HPORT=$(free_port)
ngx_make gui "$HPORT" || { echo "1..0 # SKIP cannot create nginx"; exit 0; }
ngx_start gui || { echo "Bail out! nginx does not start"; exit 1; }
ARGS=(--client-conf "$T/client.cnf"
      --nginx-prefix "$T/gui" --nginx-conf conf/nginx.conf
      --nginx-include "$(ngx_tls_file gui)" --probe-https "127.0.0.1:$HPORT"
      --state-dir "$T/state")
if [ -n "$PF" ]; then
    pf_make mta "$PORT" || { echo "1..0 # SKIP cannot create Postfix"; exit 0; }
    pf_start mta || { echo "Bail out! postfix does not start"; exit 1; }
    PFD=$(pf_dir mta)
    ARGS+=(--postfix-dir "$PFD" --smtpd-service "127.0.0.1:$PORT/inet" --tls-config-file "$T/pf/tls.cnf")
else
    PFD=$T/no-postfix
    ARGS+=(--no-postfix)
fi
# postfix_only N NAME - N skipped tests without a private Postfix; TRUE with one
postfix_only() { [ -n "$PF" ] || skip "$1" "$2: a private Postfix needs root"; [ -n "$PF" ]; }

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
snapshot() { cat "$PFD/main.cf" "$PFD/master.cf" "$T/pf/tls.cnf" "$(ngx_tls_file gui)" 2>/dev/null | md5sum; }

# dry run: a diff, and nothing changes
settings defaults </dev/null
before=$(snapshot)
apply defaults --dry-run
is "$rc" 0 "dry run exits 0"
if postfix_only 2 "dry run of main.cf and master.cf"; then
    like "$(cat "$T/out")" $'\\+smtpd_tls_protocols = >=TLSv1.1, <=TLSv1.2' "dry run shows the main.cf change"
    like "$(cat "$T/out")" $'\\+    -o tls_config_name=segtls_inbound' "dry run shows the master.cf change"
fi
like "$(cat "$T/out")" $'\n\\+ssl_protocols TLSv1.1 TLSv1.2;\n' "dry run shows the nginx include change"
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
    if [ -n "$PF" ]; then
        got="$rc smtp=[$(versions smtp "$PORT")] https=[$(versions https "$HPORT")]"
        is "$got" "0 smtp=[$(want "$r")] https=[$(want "$r")]" "methods $r: exactly $(want "$r") negotiate"
    else
        is "$rc https=[$(versions https "$HPORT")]" "0 https=[$(want "$r")]" "methods $r: exactly $(want "$r") negotiate (nginx alone)"
    fi
done

# the gateway default: TLS 1.1 enabled but unusable with !TLSv1
apply defaults
is "$rc" 0 "defaults: apply succeeds"
like "$(cat "$T/err")" "Warning: GUI HTTPS: TLS v1.1 is enabled but no cipher in the cipher string can be used with it; only TLS v1.2 can be negotiated." "defaults: warning about TLS v1.1 (GUI HTTPS)"
is "$(versions https "$HPORT")" "1.2" "defaults: only TLS 1.2 negotiates (nginx)"
like "$(cat "$T/out")" "notice: GUI HTTPS: nginx never allows client-initiated renegotiation" "defaults: nginx renegotiation notice"
like "$(cat "$T/out")" "GUI HTTPS 127.0.0.1:$HPORT: TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 negotiated" "defaults: probe result printed (GUI HTTPS)"
if postfix_only 6 "defaults on Postfix"; then
    like "$(cat "$T/err")" "Warning: Inbound SMTP: TLS v1.1 is enabled but no cipher in the cipher string can be used with it; only TLS v1.2 can be negotiated." "defaults: warning about TLS v1.1"
    is "$(versions smtp "$PORT")" "1.2" "defaults: only TLS 1.2 negotiates (smtpd)"
    like "$(cat "$T/out")" "Inbound SMTP 127.0.0.1:$PORT: TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 negotiated" "defaults: probe result printed"
    is "$(postconf -c "$PFD" -h smtpd_tls_protocols)" ">=TLSv1.1, <=TLSv1.2" "defaults: smtpd_tls_protocols in main.cf"
    is "$(postconf -c "$PFD" -P "127.0.0.1:$PORT/inet/tls_config_name")" "127.0.0.1:$PORT/inet/tls_config_name = segtls_inbound" "defaults: tls_config_name in master.cf"
    is "$(postconf -c "$PFD" -P relay/unix/tls_config_name)" "relay/unix/tls_config_name = segtls_outbound" "defaults: relay/unix found and set"
fi

# the service the failure cases change: Inbound SMTP, or GUI HTTPS without Postfix
if [ -n "$PF" ]; then SVC=inbound KIND=smtp P=$PORT; else SVC=gui KIND=https P=$HPORT; fi
printf '[%s]\nmethods=1.0-1.3\nciphers=ALL\n' "$SVC" | settings all

if postfix_only 9 "TLS 1.3 suites, renegotiation and tls=no on Postfix"; then
    # TLS 1.3 suites: exactly the fixed three, from the tls_config_file
    suite() { echo QUIT | timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" -tls1_3 -ciphersuites "$1" 2>/dev/null | sed -n 's/^New, TLSv1.3, Cipher is //p'; }
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
    printf '[inbound]\nmethods=1.0-1.3\nciphers=ALL\nrenegotiation=disabled\n' | settings noreneg
    apply noreneg
    is "$rc" 0 "renegotiation disabled: apply succeeds"
    is "$(reneg)" "1" "renegotiation disabled: the server refuses"
    like "$(cat "$T/out")" "renegotiation refused" "renegotiation disabled: the probe saw it refused"

    # inbound.tls = no: STARTTLS is not offered
    printf '[inbound]\ntls=no\n' | settings notls
    apply notls
    is "$rc" 0 "inbound.tls=no: apply succeeds"
    is "$(echo QUIT | timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" 2>&1 | grep -c "Didn't find STARTTLS in server response")" "1" "inbound.tls=no: no STARTTLS"
fi

# back to everything for the failure cases
apply all
is "$rc" 0 "1.0-1.3 again"
before=$(snapshot)

# a certificate that cannot be read: refused before anything is written
printf '[%s]\nmethods=1.2\ncertificate=%s\n' "$SVC" "$T/missing/mta.pem" >"$T/badcert.conf"
apply badcert
is "$rc" 1 "unreadable certificate: exit 1"
like "$(cat "$T/err")" "$SVC.certificate: $T/missing/mta.pem: cannot read the file: No such file or directory" "unreadable certificate: the cause is named"
is "$(snapshot)" "$before" "unreadable certificate: no file changed"
is "$(versions "$KIND" "$P")" "1.0 1.1 1.2 1.3" "unreadable certificate: the previous settings still serve"

if postfix_only 5 "a master.cf override"; then
    # a master.cf override beats main.cf: the probe disagrees, apply restores
    postconf -c "$PFD" -P "127.0.0.1:$PORT/inet/smtpd_tls_protocols=>=TLSv1.2"
    pf_reload mta
    before=$(snapshot)
    printf '[inbound]\nmethods=1.1-1.3\nciphers=ALL\n' | settings r1.1-1.3
    apply r1.1-1.3
    is "$rc" 1 "probe disagreement: exit 1"
    like "$(cat "$T/err")" "Inbound SMTP 127.0.0.1:$PORT: TLS v1.1 did not negotiate .*but the policy allows it; the previous configuration was restored" "probe disagreement: says what disagreed and that it restored"
    is "$(snapshot)" "$before" "probe disagreement: files restored byte for byte"
    is "$(postconf -c "$PFD" -h smtpd_tls_protocols)" ">=TLSv1, <=TLSv1.3" "probe disagreement: main.cf has the previous protocols"
    postconf -c "$PFD" -PX "127.0.0.1:$PORT/inet/smtpd_tls_protocols"
    pf_reload mta
    is "$(versions smtp "$PORT")" "1.0 1.1 1.2 1.3" "probe disagreement: the previous settings serve again"
fi

# hostile values never reach a file
before=$(snapshot)
printf '[%s]\nciphers=ALL;smtpd_tls_security_level=none\n' "$SVC" >"$T/evil.conf"
apply evil
is "$rc" 1 "hostile cipher string: exit 1"
like "$(cat "$T/err")" "character ';' is not allowed" "hostile cipher string: named"
is "$(snapshot)" "$before" "hostile cipher string: no file changed"
if postfix_only 2 "a hostile smtpd service name"; then
    apply all --smtpd-service "127.0.0.1:$PORT/inet/x=y"
    is "$rc" 1 "hostile service name: exit 1"
    is "$(snapshot)" "$before" "hostile service name: no file changed"
fi
done_testing
