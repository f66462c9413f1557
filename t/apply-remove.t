#!/bin/bash
# apply-remove.t - segtls-apply --remove takes segtls out of a private
# Postfix and nginx again, as README's removal does before the package is
# purged: every master.cf override segtls set gets its value from before
# segtls back (an administrator's own override included), Postfix is
# reloaded and still offers TLS, the files segtls wrote are removed and
# nothing else. The nginx include stays while a server block still
# includes it (nginx -t would fail), and goes once none does.
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
PFD=$(pf_dir mta)
INC=$(ngx_tls_file gui)
SVC=127.0.0.1:$PORT/inet
# the administrator's own override, from before segtls
postconf -c "$PFD" -P "$SVC/smtpd_tls_protocols=>=TLSv1.2" || exit 1
pf_start mta || { echo "Bail out! postfix does not start"; exit 1; }
ngx_start gui || { echo "Bail out! nginx does not start"; exit 1; }
ARGS=(--postfix-dir "$PFD" --smtpd-service "$SVC"
      --tls-config-file "$T/pf/tls.cnf" --client-conf "$T/client.cnf"
      --nginx-prefix "$T/gui" --nginx-conf conf/nginx.conf
      --nginx-include "$INC" --probe-https "127.0.0.1:$HPORT"
      --state-dir "$T/state")
mkdir -p "$T/pf"
printf '[inbound]\nmethods=1.2-1.3\n[gui]\ncertificate=%s\n' "$CERTS/rsa.pem" >"$T/s.conf"
# run ARGS... - segtls-apply; stdout in $OUT, stderr in $ERR, status in $RC
run() { "$A" "${ARGS[@]}" "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err"); }
# overrides - the master.cf overrides of the smtpd and smtp services
overrides() { postconf -c "$PFD" -P | grep -E "^($SVC|smtp/unix|relay/unix)/" | sort; }
# starttls - the version s_client negotiates on the smtpd, or "none"
starttls() {
    timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" </dev/null 2>/dev/null |
        sed -n 's/^New, \(TLSv1[.0-9]*\), .*/\1/p' | grep . || echo none
}

plan 14

before=$(overrides)
run --config "$T/s.conf"
is "$RC" 0 "apply: exit 0" || diag "$ERR"
is "$(postconf -c "$PFD" -Ph "$SVC/smtpd_tls_protocols")" ">=TLSv1.2,<=TLSv1.3" "apply set segtls's value over the administrator's"
ok "$([ "$(overrides)" != "$before" ]; echo $?)" "apply added overrides"

# a server block still includes the include: it stays, Postfix is done
run --remove
like "$RC $ERR" "^1 segtls-apply: error: nginx still needs $INC \(put back: remove the server block that includes it first\): nginx -p $T/gui -c \.\.\. failed \(exit 1\): [^"$'\n'"]*\$" \
    "--remove while nginx includes the include: exit 1, one line, include put back"
ok "$(wrote=$(head -1 "$INC"); [[ $wrote == *"written by segtls-apply"* ]]; echo $?)" "the include is still segtls's"
is "$(overrides)" "$before" "--remove: every override as it was before segtls, the administrator's included"
is "$(starttls)" "TLSv1.3" "--remove: Postfix reloaded, still offers TLS (smtpd_tls_protocols >=TLSv1.2 again)"
ok "$([ ! -e "$T/pf/tls.cnf" ]; echo $?)" "--remove: tls_config_file removed"

# the server block without the include: now it goes, and nginx is reloaded
sed -i "s|include tls.conf;|ssl_certificate $CERTS/rsa-chain.crt; ssl_certificate_key $CERTS/rsa.key;|" \
    "$T/gui/conf/nginx.conf"
printf '# the administrator own file\n' >"$T/client.cnf.admin"
run --remove
is "$RC" 0 "--remove again: exit 0" || diag "$ERR"
is "$OUT" "put back 0 master.cf overrides ($PFD)
reloaded Postfix ($PFD)
removed $INC
reloaded nginx
removed $T/client.cnf
removed" "--remove again: what it did, one line each"
ok "$([ ! -e "$INC" ] && [ ! -e "$T/client.cnf" ]; echo $?)" "--remove: the include and the client configuration removed"
is "$(grep -vc '^#' "$T/state/apply/postfix-params")" 0 "--remove: the ledger is empty"

# a file segtls did not write is left
cp "$T/client.cnf.admin" "$T/client.cnf"
run --remove --no-postfix --no-nginx
is "$RC $OUT" "0 left $T/client.cnf: segtls-apply did not write it
removed" "--remove: a file segtls did not write is named and left"
is "$(cat "$T/client.cnf")" "# the administrator own file" "--remove: that file is unchanged"
done_testing
