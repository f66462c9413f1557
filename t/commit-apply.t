#!/bin/bash
# commit-apply.t - `segtls commit` applies through segtls-policyd, and
# `segtls status` compares configured, usable and live versions.
#
# A private Postfix and a private nginx (as in apply.t) and a policyd
# whose apply.conf points at them. A commit runs segtls-apply on the
# pending settings and commits only when it succeeds; while it runs,
# changes are refused. segtls-apply is gated by a wrapper next to a copy
# of segtls-policyd (a FIFO it reads before it execs the real program),
# so that "while it runs" is deterministic. A failing apply (unreadable
# certificate; a main.cf setting the probe disagrees with) leaves the
# committed file, the pending changes and the served versions as they
# were. A change behind segtls's back shows as drift. `segtls apply`
# applies the committed settings after a hand edit and SIGHUP. A
# cipher-string typo is named at set and at commit.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"
source "$(dirname "$0")/lib/nginx.sh"

command -v postfix >/dev/null && command -v nginx >/dev/null || skip_all "postfix or nginx missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"
[ -x "$(bin segtls-policyd)" ] && [ -x "$(bin segtls-apply)" ] || skip_all "not built"

SEGTLS=$(bin segtls)
PORT=$(free_port)
HPORT=$(free_port)
pf_make mta "$PORT" || { echo "1..0 # SKIP cannot create Postfix"; exit 0; }
ngx_make gui "$HPORT" || { echo "1..0 # SKIP cannot create nginx"; exit 0; }
pf_start mta || { echo "Bail out! postfix does not start"; exit 1; }
ngx_start gui || { echo "Bail out! nginx does not start"; exit 1; }
PFD=$(pf_dir mta)
CONF=$T/etc/segtls.conf
S=$T/run/policyd.sock
export SEGTLS_SOCKET=$S
mkdir -p "$T/etc" "$T/pf" "$T/bin"

# policyd runs from $T/bin, next to a segtls-apply that waits for $T/gate
# (when it is a FIFO) and then runs the real one
cp "$(bin segtls-policyd)" "$T/bin/"
cat >"$T/bin/segtls-apply" <<SH
#!/bin/bash
if [ -p "$T/gate" ]; then echo \$\$ >"$T/gate.started"; read -r _ <"$T/gate"; fi
exec "$(bin segtls-apply)" "\$@"
SH
chmod 755 "$T/bin/segtls-apply"

printf '[gui]\ncertificate=%s\n' "$CERTS/rsa.pem" >"$CONF"
cat >"$T/etc/apply.conf" <<CONF
[apply]
enabled=true
postfix-dir=$PFD
smtpd-service=127.0.0.1:$PORT/inet
tls-config-file=$T/pf/tls.cnf
client-conf=$T/client.cnf
nginx-prefix=$T/gui
nginx-conf=conf/nginx.conf
nginx-include=$(ngx_tls_file gui)
probe-https=127.0.0.1:$HPORT
timeout=20
CONF

# start_policyd [APPLY-CONF] - foreground daemon, pid in $PD, log in $T/policyd.log
start_policyd() {
    local i
    "$T/bin/segtls-policyd" --foreground --config "$CONF" --state-dir "$T/state" \
        --socket "$S" --apply-config "${1:-$T/etc/apply.conf}" --cert-dir "$T" \
        2>>"$T/policyd.log" &
    PD=$!
    at_exit "kill -9 $PD"
    for ((i=0; i<500; i++)); do
        "$SEGTLS" show >/dev/null 2>&1 && return 0
        kill -0 "$PD" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}
# run CMD... - stdout in $OUT, stderr in $ERR, status in $RC
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err"); }
# versions - the versions s_client negotiates with the smtpd: "1.2 1.3"
versions() {
    local v got=()
    for v in 1.0:-tls1 1.1:-tls1_1 1.2:-tls1_2 1.3:-tls1_3; do
        if timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" "${v#*:}" \
            -cipher 'ALL:@SECLEVEL=0' </dev/null 2>/dev/null | grep -q '^New, TLSv1'; then
            got+=("${v%%:*}")
        fi
    done
    echo "${got[*]}"
}
# wait_gate - until the wrapper waits at the gate (10 s)
wait_gate() { wait_file "$T/gate.started" 100; }

plan 57

# --- the apply configuration is checked ---
# bad_conf TEXT - policyd with TEXT as its apply configuration: RC and ERR
bad_conf() {
    printf '%s' "$1" >"$T/etc/bad.conf"
    run "$T/bin/segtls-policyd" --foreground --config "$CONF" --state-dir "$T/state" \
        --socket "$S" --apply-config "$T/etc/bad.conf"
}
F="1 segtls-policyd: fatal: $T/etc/bad.conf"
bad_conf "$(printf '[apply]\nenabled=true\npostfix-dir=%s\nfrobnicate=1' "$PFD")"
is "$RC $ERR" "$F:4: unknown key \"frobnicate\" in [apply]" \
    "unknown key: policyd refuses to start, file:line"
bad_conf $'[apply]\nnginx-include=relative/gui.conf\n'
is "$RC $ERR" "$F:2: nginx-include: \"relative/gui.conf\": path must be absolute" \
    "relative path refused"
bad_conf $'[apply]\ngui-log=/var/log/x;y\n'
like "$RC $ERR" "^$F:2: gui-log: .*character ';' is not allowed in a path" \
    "a path that would inject is refused"
bad_conf $'[apply]\ntimeout=5\n\n timeout = 7\n'
is "$RC $ERR" "$F:4: apply.timeout is set twice (first on line 2)" \
    "a key set twice is refused, not silently the last one"
bad_conf $'# apply\n[apply]\nenabled true\n'
is "$RC $ERR" "$F:3: not a [group], key=value or # comment line" \
    "a syntax error names its line"
bad_conf $'[apply]\nenabled=true\n[nginx]\nconf=/x\n'
is "$RC $ERR" "$F:3: unknown group [nginx] (only [apply] and [cluster])" \
    "an unknown group names its line"
bad_conf $'[apply]\nexclude-service=smtps/inet;smtps/tcp\n'
is "$RC $ERR" "$F:2: exclude-service: master.cf service \"smtps/tcp\": unknown service type" \
    "a bad excluded service is refused"
bad_conf $'[apply]\nprobe-smtp=submission/inet=127.0.0.1:587;x y/inet=127.0.0.1:2525\n'
like "$RC $ERR" "^$F:2: probe-smtp: master.cf service \"x y/inet\": character ' ' is not allowed" \
    "a probe target of a bad service name is refused"

start_policyd
ok $? "policyd starts with the apply configuration"
like "$(cat "$T/policyd.log")" "apply configuration $T/etc/apply.conf: commit applies the settings" \
    "policyd says commit applies"

# --- a commit applies; while it runs, changes are refused ---
run "$SEGTLS" set inbound.methods 1.2-1.3
is "$RC" 0 "set inbound.methods 1.2-1.3"
before=$(md5sum <"$CONF")
mkfifo "$T/gate"
"$SEGTLS" commit -m "inbound 1.2-1.3" >"$T/commit.out" 2>"$T/commit.err" &
CPID=$!
wait_gate
ok $? "the commit runs segtls-apply"
run "$SEGTLS" set inbound.methods 1.0-1.3
is "$RC $ERR" "1 segtls: an apply is in progress" "set while applying: refused"
run "$SEGTLS" clear -y
is "$RC $ERR" "1 segtls: an apply is in progress" "clear while applying: refused"
run "$SEGTLS" raw '{"op":"commit"}'
is "$OUT" '{"ok":false,"error":"an apply is in progress"}' "a second commit while applying: refused"
run "$SEGTLS" apply
is "$RC $ERR" "1 segtls: an apply is in progress" "segtls apply while applying: refused"
run "$SEGTLS" show
like "$RC $OUT" $'^0 .*\nPending changes:\n  inbound.methods = 1.2-1.3' "show still answers while applying"
run "$SEGTLS" status --json
like "$OUT" '"applying" : true' "status says an apply is in progress"
is "$(md5sum <"$CONF")" "$before" "nothing committed before the apply is done"
echo go >"$T/gate"; rm -f "$T/gate" "$T/gate.started"
wait "$CPID"
is "$?" 0 "commit: exit 0"
like "$(cat "$T/commit.out")" $'^Changes committed: [^\n]*\nNot shown: 1 warning about GUI HTTPS, which this commit did not touch.\n' \
    "commit prints the apply's warnings about what it changed, sums up the others"
like "$(cat "$T/commit.out")" "Inbound SMTP 127.0.0.1:$PORT/inet \\(127.0.0.1:$PORT\\): TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 negotiated.*TLS v1.3 negotiated" \
    "commit prints what the probes saw"
like "$(cat "$T/commit.out")" $'\napplied$' "commit prints that it applied"
is "$(sed -n '/^\[inbound\]/,/^\[/s/^methods=//p' "$CONF")" "1.2-1.3" "the committed file has the new methods"
is "$(versions)" "1.2 1.3" "Postfix: TLS 1.1 refused, TLS 1.2 and 1.3 negotiate"
like "$(grep 'committed by' "$T/policyd.log")" "configuration committed by root and applied" "policyd logs the commit"
ok "$(ls "$T/state"/commit-apply.* >/dev/null 2>&1; echo $((!$?)))" "no temporary files left"

# --- status: no drift ---
run "$SEGTLS" status
is "$RC" 0 "status after the commit: exit 0"
is "$(sed -n '/^Apply on commit/,$p' <<<"$OUT")" "Apply on commit: yes ($T/etc/apply.conf)
GUI HTTPS: configured 1.1-1.2, usable 1.2, live 1.2 (127.0.0.1:$HPORT)
Inbound SMTP: configured 1.2-1.3, usable 1.2-1.3
Outbound SMTP: configured 1.1-1.2, usable 1.1-1.2
GUI HTTPS TLS renegotiation: Enabled (nginx cannot renegotiate; not applied)
Inbound SMTP TLS renegotiation: Enabled
Postfix services ($PFD):
  127.0.0.1:$PORT/inet (smtpd): Inbound SMTP, live 1.2-1.3 (127.0.0.1:$PORT)
  smtp/unix (smtp): Outbound SMTP
  relay/unix (smtp): Outbound SMTP" \
    "status: configured, usable and live per service; renegotiation; the Postfix services"

# --- an apply that fails before writing: unreadable certificate ---
snapshot() { cat "$CONF" "$PFD/main.cf" "$PFD/master.cf" | md5sum; }
before=$(snapshot)
"$SEGTLS" set gui.certificate "$T/missing/gui.pem" >/dev/null 2>&1
run "$SEGTLS" commit -m broken
is "$RC $ERR" "1 segtls: apply failed: gui.certificate: $T/missing/gui.pem: cannot read the file: No such file or directory
Your changes are still pending." "unreadable certificate: apply failed, the cause named"
is "$(snapshot)" "$before" "unreadable certificate: committed file and Postfix unchanged"
run "$SEGTLS" show
like "$OUT" $'\nPending changes:\n  gui.certificate = '"$T/missing/gui.pem" "unreadable certificate: the change stays pending"
"$SEGTLS" clear -y >/dev/null

# --- an apply the probe disagrees with: restored, nothing committed ---
# (a main.cf setting segtls does not own: no SHA-1 cipher, so no TLS 1.1)
postconf -c "$PFD" -e "smtpd_tls_exclude_ciphers = SHA1"
pf_reload mta
before=$(md5sum <"$CONF")
"$SEGTLS" set inbound.methods 1.1-1.3 inbound.ciphers ALL >/dev/null
run "$SEGTLS" commit -m override
like "$RC $ERR" "^1 segtls: apply failed: Inbound SMTP 127.0.0.1:$PORT/inet \\(127.0.0.1:$PORT\\): TLS v1.1 did not negotiate .*but the policy allows it; the previous configuration was restored
Your changes are still pending.\$" "probe disagreement: apply failed, says why"
is "$(md5sum <"$CONF")" "$before" "probe disagreement: committed file unchanged"
is "$(postconf -c "$PFD" -P "127.0.0.1:$PORT/inet/smtpd_tls_protocols")" "127.0.0.1:$PORT/inet/smtpd_tls_protocols = >=TLSv1.2,<=TLSv1.3" \
    "probe disagreement: the service's protocols restored"
postconf -c "$PFD" -X smtpd_tls_exclude_ciphers
pf_reload mta
is "$(versions)" "1.2 1.3" "probe disagreement: Postfix serves the old versions"
"$SEGTLS" clear -y >/dev/null

# --- drift: Postfix changed behind segtls's back ---
postconf -c "$PFD" -P "127.0.0.1:$PORT/inet/smtpd_tls_protocols=>=TLSv1.2,<=TLSv1.2"
pf_reload mta
run "$SEGTLS" status
like "$RC $OUT" $'^1 .*\n  127.0.0.1:'"$PORT"$'/inet \\(smtpd\\): Inbound SMTP, live 1.2 \\(127.0.0.1:'"$PORT"$'\\): drift\n' \
    "status: drift, exit 1"
run "$SEGTLS" status --json
like "$OUT" '"drift" : true' "status --json: drift"

# --- segtls apply: the committed settings again, proven ---
run "$SEGTLS" apply
is "$RC" 0 "segtls apply: exit 0"
like "$OUT" "Inbound SMTP 127.0.0.1:$PORT/inet \\(127.0.0.1:$PORT\\): TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 negotiated .*TLS v1.3 negotiated.*"$'\napplied$' \
    "segtls apply: proven like a commit"
is "$(versions)" "1.2 1.3" "segtls apply: the drift is gone"
like "$(grep 'applied by' "$T/policyd.log")" "committed configuration applied by root" "policyd logs the apply"

# --- a hand edit of the settings file, SIGHUP, segtls apply ---
sed -i 's/^methods=1.2-1.3$/methods=1.3/' "$CONF"
kill -HUP "$PD"
for ((i=0; i<100; i++)); do grep -q "reloaded $CONF" "$T/policyd.log" && break; sleep 0.05; done
run "$SEGTLS" commit -m nothing
is "$RC $OUT" "0 There is no data to commit." "after a hand edit: nothing to commit"
run "$SEGTLS" status
like "$RC $OUT" $'^1 .*\nInbound SMTP: configured 1.3, usable 1.3\n.*live 1.2-1.3 \\(127.0.0.1:'"$PORT"$'\\): drift' \
    "after a hand edit: status shows the drift"
"$SEGTLS" set gui.ciphers 'HIGH:MEDUIM' >/dev/null
run "$SEGTLS" apply
is "$RC" 0 "segtls apply after the hand edit: exit 0"
is "$(versions)" "1.3" "segtls apply after the hand edit: Postfix serves the edited settings"
like "$OUT" $'\nThe pending changes were not applied; segtls commit applies them.$' \
    "segtls apply: says that pending changes were not applied"
"$SEGTLS" clear -y >/dev/null

# --- a cipher-string typo is named at set and at commit ---
run "$SEGTLS" set inbound.ciphers 'HIGH:MEDUIM:!aNULL'
like "$RC $OUT" '^0 (.*'$'\n'')?Warning: Inbound SMTP: OpenSSL does not know "MEDUIM" in the cipher string and ignores it\.' \
    "set: the unknown word is named"
run "$SEGTLS" commit -m typo
like "$RC $OUT" $'^0 Changes committed: .*\nWarning: Inbound SMTP: OpenSSL does not know "MEDUIM" in the cipher string and ignores it\\.' \
    "commit: the apply names it too"

# --- sslconfig's APPLY: the same as segtls apply ---
run bash -c "printf 'apply\n\n' | '$(bin sslconfig)'"
is "$RC $ERR" "0 " "sslconfig APPLY: exit 0"
like "$OUT" $'\n\\[\\]> \nApplying the committed settings to the servers.\n(.*\n)?Inbound SMTP 127.0.0.1:'"$PORT"$'/inet \\(127.0.0.1:'"$PORT"$'\\): .*TLS v1.3 negotiated.*\napplied\n\nsslconfig settings:' \
    "sslconfig APPLY: what the probes saw, applied, then the listing again"

# --- an edited apply configuration counts at the next apply, no SIGHUP ---
cp "$T/etc/apply.conf" "$T/apply.conf.good"
echo 'no-nginx=true' >>"$T/etc/apply.conf"
run "$SEGTLS" apply
is "$RC $(grep -c '^GUI HTTPS ' <<<"$OUT") $(grep -c '^Inbound SMTP ' <<<"$OUT")" "0 0 1" \
    "apply.conf edited (no-nginx=true), no SIGHUP: segtls apply leaves nginx alone"
like "$(cat "$T/policyd.log")" "$T/etc/apply.conf changed: reading it again" \
    "policyd says that it read the edited apply.conf"
echo 'frobnicate=1' >>"$T/etc/apply.conf"
run "$SEGTLS" apply
is "$RC $ERR" "1 segtls: $T/etc/apply.conf:$(wc -l <"$T/etc/apply.conf"): unknown key \"frobnicate\" in [apply]" \
    "apply.conf broken: segtls apply fails with its file:line error"
cp "$T/apply.conf.good" "$T/etc/apply.conf"
run "$SEGTLS" apply
like "$RC $OUT" "^0 (.*"$'\n'")?GUI HTTPS 127.0.0.1:$HPORT: TLS v1.0 " "apply.conf put back: segtls apply applies to nginx again"

# --- stopping while an apply runs ---
"$SEGTLS" set inbound.methods 1.2 >/dev/null
mkfifo "$T/gate"
"$SEGTLS" commit -m stop >/dev/null 2>&1 &
CPID=$!
wait_gate
kill -TERM "$PD"; wait "$PD"
is "$?" 0 "SIGTERM while applying: policyd exits 0"
like "$(cat "$T/policyd.log")" "stopping while segtls-apply \\(pid [0-9]+\\) runs" "policyd says the apply was left running"
kill "$(cat "$T/gate.started")" 2>/dev/null
wait "$CPID" 2>/dev/null
rm -f "$T/gate" "$T/gate.started"
done_testing
