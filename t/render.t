#!/bin/bash
# render.t - segtls-apply --render output against golden files.
#
# Each t/data/render/NAME.conf is a settings file; NAME.ref is what
# `segtls-apply --render --config NAME.conf` prints (main.cf and master.cf
# parameters, the Postfix tls_config_file, the nginx include, the OpenSSL
# client configuration and the notices). SEGTLS_UPDATE_REF=1 rewrites them.
# The master-cf case reads t/data/render/pf/master.cf (postconf -c, nothing
# runs): every inet smtpd service but the excluded one and every smtp and
# lmtp client service governed, submission keeping its own security level.
source "$(dirname "$0")/lib/tap.sh"

D=$SEGTLS_TOP/t/data/render
A=$(bin segtls-apply)
# fixed paths, so that the output does not depend on SYSCONFDIR
PATHS=(--tls-config-file /etc/segtls/postfix-tls.cnf
       --nginx-include /etc/nginx/snippets/segtls-gui.conf
       --client-conf /etc/segtls/openssl-client.cnf)

# name and extra options of each case
cases=(
    "defaults|"
    "all-versions|"
    "tls13-only|"
    "reneg-off|"
    "verify-fqdn|"
    "verify-chain|"
    "preferred-verify|"
    "other-client|"
    "gui-log|--gui-log /var/log/segtls/gui_logs"
    "services|--smtpd-service 127.0.0.1:20025/inet --smtpd-service submission/inet --smtp-service smtp/unix --smtp-service relay/unix --tls-config-file /srv/pf/tls.cnf --nginx-include /srv/ngx/gui.conf --client-conf /srv/client.cnf"
    "master-cf|--postfix-dir $D/pf --exclude-service 127.0.0.1:10025/inet"
    "destinations|--policy-service unix:/var/spool/postfix/private/segtls-policy"
)
command -v postconf >/dev/null || skip_all "postconf missing"
plan $(( ${#cases[@]} * 2 + 10 ))

for c in "${cases[@]}"; do
    name=${c%%|*}
    read -r -a extra <<<"${c#*|}"
    "$A" --render --config "$D/$name.conf" "${PATHS[@]}" "${extra[@]}" >"$T/$name.out" 2>"$T/$name.err"
    is "$?" 0 "$name: exit 0"
    diff_ref "$D/$name.ref" "$T/$name.out" "$name: output matches $name.ref"
done

# values that would inject are refused before anything is rendered
bad() {     # bad NAME KEYFILE-TEXT REGEX [OPTIONS...]
    local name=$1 text=$2 re=$3; shift 3
    printf '%s\n' "$text" >"$T/bad.conf"
    "$A" --render --config "$T/bad.conf" "$@" >"$T/bad.out" 2>"$T/bad.err"
    local rc=$? err
    err=$(cat "$T/bad.err")
    if [ "$rc" = 1 ] && [ ! -s "$T/bad.out" ] && [[ $err =~ $re ]]; then ok 0 "$name"
    else ok 1 "$name"; diag "rc=$rc out=$(head -c 200 "$T/bad.out") err=$err"; fi
}
bad "cipher string with ';' refused" $'[inbound]\nciphers=HIGH;smtpd_tls_security_level=none' "not allowed in a cipher string"
bad "certificate path with a blank refused" $'[inbound]\ncertificate=/etc/a b.pem' "inbound.certificate"
bad "service name with a blank refused" "" "service" --smtpd-service "smtp/inet -o x=y"
bad "unknown service type refused" "" "unknown service type" --smtpd-service "smtp/tcp"
bad "relative tls_config_file refused" "" "tls_config_file.*absolute" --tls-config-file "pf/tls.cnf"
bad "tls_config_file with ',' refused" "" "tls_config_file.*','" --tls-config-file "/a,b"
bad "a service master.cf does not have" "" "^segtls-apply: error: smtpd-service: .*/pf/master.cf has no service submision/inet\$" \
    --postfix-dir "$D/pf" --smtpd-service submision/inet
bad "an smtpd service that runs something else" "" "^segtls-apply: error: smtpd-service: master.cf service pickup/unix runs pickup, not smtpd\$" \
    --postfix-dir "$D/pf" --smtpd-service pickup/unix
bad "an excluded service master.cf does not have" "" "exclude-service: .*/pf/master.cf has no service smtsp/inet" \
    --postfix-dir "$D/pf" --exclude-service smtsp/inet

# a governed smtpd service apply cannot probe is refused before anything is written
cp -r "$D/pf" "$T/pf2"
printf 'nosuchservice inet n - n - - smtpd\n' >>"$T/pf2/master.cf"
"$A" --dry-run --config "$D/defaults.conf" --postfix-dir "$T/pf2" --no-nginx \
    --state-dir "$T/state" --tls-config-file "$T/tls.cnf" --client-conf "$T/client.cnf" \
    >"$T/nsp.out" 2>"$T/nsp.err"
is "$? $(tail -1 "$T/nsp.err")" "1 segtls-apply: error: cannot tell where service nosuchservice/inet listens; name it with probe-smtp nosuchservice/inet=HOST:PORT" \
    "a governed service with no address to probe: refused, the way out named"
done_testing
