#!/bin/bash
# policyd.t - segtls-policyd and the segtls CLI end to end: show, set
# (all or nothing, exact errors), commit, clear, rollback, the control
# protocol's error answers, SIGHUP with a broken file, SIGTERM, daemon
# mode, and the CLI with the daemon down.
source "$(dirname "$0")/lib/tap.sh"

POLICYD=$(bin segtls-policyd)
SEGTLS=$(bin segtls)
[ -x "$POLICYD" ] && [ -x "$SEGTLS" ] || skip_all "segtls-policyd or segtls not built"
REF=$SEGTLS_TOP/t/data/policyd
CONF=$T/etc/segtls.conf
S=$T/run/policyd.sock
export SEGTLS_SOCKET=$S
mkdir -p "$T/etc"

# wait_policyd - until the daemon answers on $S (5 s)
wait_policyd() {
    local i
    for ((i=0; i<500; i++)); do
        "$SEGTLS" status >/dev/null 2>&1 && return 0
        sleep 0.01
    done
    return 1
}
# start_policyd - foreground daemon, log in $T/policyd.log, pid in $PD
start_policyd() {
    "$POLICYD" --foreground --config "$CONF" --state-dir "$T/state" \
        --socket "$S" --pidfile "$T/policyd.pid" --apply-config "$T/etc/apply.conf" \
        2>>"$T/policyd.log" &
    PD=$!
    at_exit "kill -9 $PD"
    wait_policyd
}
# run CMD... - stdout in $OUT, stderr in $ERR, status in $RC
run() {
    "$@" >"$T/out" 2>"$T/err"
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}

# --- programs and the default file ---
run "$POLICYD" --help
ok $RC "segtls-policyd --help exits 0"
run "$SEGTLS" --help
like "$RC $OUT" '^0 .*rollbackconfig' "segtls --help lists the commands"
run "$SEGTLS" commit --help
like "$RC $OUT" '^0 .*--no-rollback' "segtls commit --help"
run "$SEGTLS" frobnicate
is "$RC $ERR" '2 segtls: unknown command "frobnicate" (try segtls --help)' "unknown command: usage, exit 2"
run "$SEGTLS" $'frob\nX-Injected: 1\e[2J'
is "$RC $ERR" '2 segtls: unknown command "frob\nX-Injected: 1\033[2J" (try segtls --help)' \
    "unknown command with a newline and an escape: shown escaped, on one line"
run "$POLICYD" --check-config --config "$SEGTLS_TOP/conf/segtls.conf"
is "$RC $ERR" "0 " "conf/segtls.conf passes --check-config"

# --- daemon down ---
run "$SEGTLS" show
is "$RC $ERR" "1 segtls: cannot reach segtls-policyd at $S: No such file or directory" \
    "CLI with the daemon down: exact error, exit 1"

# --- start ---
start_policyd
ok $? "policyd answers on its socket"
is "$(stat -c %a "$S")" 660 "socket mode 0660"
is "$(stat -c %a "$T/run")" 750 "socket directory created 0750"
is "$(cat "$T/policyd.pid")" "$PD" "pidfile holds the pid"
run "$POLICYD" --foreground --config "$CONF" --state-dir "$T/state" --socket "$S"
is "$RC $ERR" "1 segtls-policyd: fatal: another segtls-policyd answers on $S" \
    "a second policyd on the same socket is refused"

run "$SEGTLS" show
ok $RC "show exits 0"
echo "$OUT" >"$T/show-defaults"
diff_ref "$REF/show-defaults.ref" "$T/show-defaults" "show: defaults, no pending, warnings"
run "$SEGTLS" show --json
like "$OUT" '"pending" : null' "show --json: pending null"
like "$OUT" '"inbound.methods" : "1.1-1.2"' "show --json: committed values"
run "$SEGTLS" rollbackconfig
is "$RC $OUT" "0 There are no saved configurations to roll back to." "rollbackconfig with none saved"
run "$SEGTLS" commit
is "$RC $OUT" "0 There is no data to commit." "commit with nothing pending"

# --- set ---
run "$SEGTLS" set inbound.methods 1.0,1.2
is "$RC $ERR" '1 segtls: inbound.methods: "1.0,1.2": TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1' \
    "set: gap in versions refused, exit 1"
run "$SEGTLS" set gui.ciphers 'HIGH;rm'
is "$RC $ERR" "1 segtls: gui.ciphers: \"HIGH;rm\": character ';' is not allowed in a cipher string" \
    "set: injection character refused"
run "$SEGTLS" set foo.bar 1
is "$RC $ERR" "1 segtls: foo.bar: no such setting" "set: unknown key"
run "$SEGTLS" set inbound.methods 1.1-1.3 inbound.tls bogus
is "$RC $ERR" '1 segtls: inbound.tls: "bogus": must be one of no, preferred, required' \
    "set: one bad pair of two refused"
run "$SEGTLS" show
like "$OUT" $'\nNo pending changes.\n' "refused sets changed nothing"
run "$SEGTLS" set inbound.methods
is "$RC" 2 "set KEY without VALUE: exit 2"

run "$SEGTLS" set inbound.methods 1.1-1.3
is "$RC $OUT" "0 Warning: Inbound SMTP: TLS v1.1 is enabled but no cipher in the cipher string can be used with it; only TLS v1.2 and TLS v1.3 can be negotiated.
Not shown: 1 warning about GUI HTTPS, which this change did not touch." \
    "set: accepted, warnings of the touched service, the others summed up"
run "$SEGTLS" set outbound.tls required
is "$RC $OUT" "0 Not shown: 2 warnings about GUI HTTPS and Inbound SMTP, which this change did not touch." \
    "set of a service without warnings: only the summary"
"$SEGTLS" set outbound.tls preferred >/dev/null
run "$SEGTLS" show
like "$OUT" $'\nPending changes:\n  inbound.methods = 1.1-1.3\n' "show lists the pending change"
like "$OUT" $'\ninbound.methods = 1.1-1.2\n' "committed value unchanged"
run "$SEGTLS" set inbound.methods 1.1-1.2
run "$SEGTLS" show
like "$OUT" $'\nNo pending changes.\n' "setting back the committed value clears pending"

# --- commit ---
"$SEGTLS" set inbound.methods 1.1-1.3 outbound.tls required >/dev/null
run "$SEGTLS" commit -m "enable TLS 1.3"
like "$RC $OUT" '^0 Changes committed: [A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}'$'\n''Warning: Inbound SMTP: [^'$'\n'']*'$'\n''Not shown: 1 warning about GUI HTTPS, which this commit did not touch.$' \
    "commit -m: date line, warnings of the changed services, the others summed up"
run grep -A1 '^\[inbound\]' "$CONF"
is "$OUT" $'[inbound]\nmethods=1.1-1.3' "committed file has the new value"
run "$POLICYD" --check-config --config "$CONF"
is "$RC $ERR" "0 " "committed file passes --check-config"
run "$SEGTLS" rollbackconfig list
like "$RC $OUT" '^0 1\. before: enable TLS 1\.3, committed [A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] [0-9:]{8} [0-9]{4} by root'$'\n' \
    "rollback list: entry with the comment, time and user of its commit"
run "$SEGTLS" commit -m again
is "$RC $OUT" "0 There is no data to commit." "nothing to commit after commit"

# dialog-style commit from a pipe: comment, then no rollback copy
"$SEGTLS" set gui.renegotiation disabled >/dev/null
run bash -c "printf 'piped comment\nN\n' | '$SEGTLS' commit"
like "$RC $OUT" $'^0 Please enter some comments describing your changes:\n\\[\\]> \nDo you want to save the current configuration for rollback\\? \\[Y\\]> \nChanges committed: ' \
    "commit reads comment and rollback answer from stdin"
run grep -c '^renegotiation=disabled' "$CONF"
is "$OUT" 1 "piped commit reached the file"
run "$SEGTLS" rollbackconfig list
is "$(grep -c '^[0-9]*\. ' <<<"$OUT")" 1 "answer N kept no rollback copy"

"$SEGTLS" set gui.renegotiation enabled >/dev/null
run "$SEGTLS" commit </dev/null
is "$RC $ERR" "1 segtls: commit abandoned, nothing committed" "EOF at the comment prompt abandons"
run grep -c '^renegotiation=disabled' "$CONF"
is "$OUT" 1 "abandoned commit changed nothing"

# --- clear ---
run bash -c "printf '\n' | '$SEGTLS' clear"
is "$RC $OUT" "0 Are you sure you want to clear all changes since the last commit? [Y]> 
Changes cleared." "clear: Y default clears"
run "$SEGTLS" clear
is "$RC $OUT" "0 There are no changes to clear." "clear with nothing pending"
"$SEGTLS" set gui.renegotiation enabled >/dev/null
run bash -c "printf 'n\n' | '$SEGTLS' clear"
run "$SEGTLS" status
like "$OUT" $'\nPending changes: yes\n' "clear answered N keeps the changes"
run "$SEGTLS" clear -y
is "$RC $OUT" "0 Changes cleared." "clear -y does not ask"

# --- rollback restore ---
run "$SEGTLS" rollbackconfig restore 1
is "$RC $OUT" "0 Configuration 1 restored as pending changes. Use commit to apply it." \
    "rollbackconfig restore 1"
run "$SEGTLS" show
like "$OUT" $'\nPending changes:\n  gui.renegotiation = enabled \\(nginx cannot renegotiate; not applied\\)\n  inbound.methods = 1.1-1.2\n  outbound.tls = preferred\n' \
    "restored configuration is pending"
run "$SEGTLS" rollbackconfig restore 7
is "$RC $ERR" "1 segtls: no saved configuration 7" "restore of a missing entry"
"$SEGTLS" clear -y >/dev/null
run bash -c "printf '1\n' | '$SEGTLS' rollbackconfig"
like "$OUT" $'\nEnter the number of the configuration to restore.\n\\[\\]> \nConfiguration 1 restored as pending changes.' \
    "rollbackconfig dialog restores the chosen entry"
"$SEGTLS" clear -y >/dev/null

# --- status ---
run "$SEGTLS" status
is "$RC $OUT" "0 segtls-policyd is running (pid $PD).
Socket: $S
Committed settings: $CONF
State directory: $T/state
Pending changes: no
Connected as: root
Apply on commit: no (no $T/etc/apply.conf)
GUI HTTPS: configured 1.1-1.2, usable 1.2
Inbound SMTP: configured 1.1-1.3, usable 1.2-1.3
Outbound SMTP: configured 1.1-1.2, usable 1.1-1.2
GUI HTTPS TLS renegotiation: Disabled
Inbound SMTP TLS renegotiation: Enabled" "status"
run "$SEGTLS" apply
is "$RC $ERR" "1 segtls: no apply configuration $T/etc/apply.conf: nothing says where Postfix and nginx are (see segtls-policyd(8))" \
    "apply without an apply configuration: refused, says why"

# --- protocol errors ---
run "$SEGTLS" raw '{"op":"show"'
like "$OUT" '^\{"ok":false,"error":"malformed JSON request: ' "malformed JSON: error answer"
run "$SEGTLS" raw '[1,2]'
is "$OUT" '{"ok":false,"error":"request is not a JSON object"}' "non-object request"
run "$SEGTLS" raw '{"op":"launch"}'
is "$OUT" '{"ok":false,"error":"unknown op \"launch\""}' "unknown op"
run "$SEGTLS" raw '{"op":"set","settings":{"inbound.methods":13}}'
is "$OUT" '{"ok":false,"error":"inbound.methods: value must be a string"}' "wrong value type"
run "$SEGTLS" raw '{"op":"rollback_restore","id":"1"}'
is "$OUT" '{"ok":false,"error":"member \"id\" must be an integer"}' "wrong id type"
run "$SEGTLS" raw "$(head -c 70000 /dev/zero | tr '\0' x)"
is "$OUT" '{"ok":false,"error":"request too long"}' "request over the limit"
"$SEGTLS" raw --stall 10 '{"op":' &
STALL=$!
at_exit "kill $STALL"
sleep 0.2
SECONDS=0
run timeout 5 "$SEGTLS" status
ok $RC "a stalled client does not block others"
kill "$STALL"; wait "$STALL" 2>/dev/null

# --- SIGHUP with a hand-broken file ---
cp "$CONF" "$T/good.conf"
sed -i '/^\[inbound\]/,/^\[/s/^methods=.*/methods=1.0,1.2/' "$CONF"
LINE=$(grep -n '^methods=1.0,1.2' "$CONF" | cut -d: -f1)
kill -HUP "$PD"
for ((i=0; i<100; i++)); do grep -q ':'"$LINE"': inbound' "$T/policyd.log" && break; sleep 0.05; done
run grep -F "segtls-policyd: error: $CONF:$LINE: inbound.methods: \"1.0,1.2\": TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1; keeping the last good configuration" "$T/policyd.log"
ok $RC "SIGHUP: broken file logged with file:line"
run "$SEGTLS" show
like "$OUT" $'\ninbound.methods = 1.1-1.3\n' "SIGHUP: last good configuration stays"
run "$SEGTLS" status
like "$RC $OUT" "^1 .*"$'\n'"Settings file: invalid on disk: $CONF:$LINE: inbound.methods: \"1.0,1.2\": TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1; the last good configuration stays in force until a valid file is loaded \\(SIGHUP\\)"$'\n' \
    "status says the file on disk is invalid, exit 1"
run "$SEGTLS" status --json
like "$OUT" '"config_error" : "'"$CONF:$LINE"': inbound.methods' "status --json: config_error"
sed -i '/^\[inbound\]/,/^\[/s/^methods=.*/methods=1.2/' "$CONF"
kill -HUP "$PD"
for ((i=0; i<100; i++)); do grep -q 'reloaded' "$T/policyd.log" && break; sleep 0.05; done
run "$SEGTLS" show
like "$OUT" $'\ninbound.methods = 1.2\n' "SIGHUP: a good hand edit is loaded"

# --- SIGTERM ---
kill -TERM "$PD"
wait "$PD"
is $? 0 "SIGTERM: exit 0"
ok "$([ ! -e "$S" ]; echo $?)" "SIGTERM: socket removed"
ok "$([ ! -e "$T/policyd.pid" ]; echo $?)" "SIGTERM: pidfile removed"
run "$SEGTLS" status
is "$RC $ERR" "1 segtls: cannot reach segtls-policyd at $S: No such file or directory" \
    "CLI after stop: exact error"

# --- kill -9 leaves a stale socket; a restart replaces it ---
start_policyd
kill -9 "$PD"; wait "$PD" 2>/dev/null
ok "$([ -S "$S" ]; echo $?)" "kill -9 leaves the socket file"
start_policyd
run "$SEGTLS" show
like "$RC $OUT" $'^0 .*\ninbound.methods = 1.2\n' "restart over a stale socket; settings kept"
kill -TERM "$PD"; wait "$PD"

# --- daemon mode ---
rm -f "$T/policyd.pid"
"$POLICYD" --config "$CONF" --state-dir "$T/state" --socket "$S" \
    --pidfile "$T/policyd.pid" --log-file "$T/detached.log" 2>"$T/detach.err"
is $? 0 "daemon mode: parent exits 0"
wait_file "$T/policyd.pid" 50 && DPID=$(cat "$T/policyd.pid")
[ -n "${DPID:-}" ] && at_exit "kill -9 $DPID"
run "$SEGTLS" status
like "$OUT" "^segtls-policyd is running \\(pid ${DPID:-none}\\)" "daemon answers, pidfile right"
[ -n "${DPID:-}" ] && kill -TERM "$DPID"
for ((i=0; i<100; i++)); do [ -e "$S" ] || [ -e "$T/policyd.pid" ] || break; sleep 0.05; done
ok "$([ ! -e "$S" ] && [ ! -e "$T/policyd.pid" ]; echo $?)" "daemon stops on SIGTERM, cleans up"
# detached, its messages go to --log-file (a host without syslog sees them)
like "$(cat "$T/detached.log")" "^[A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} segtls-policyd\\[${DPID:-none}\\]: listening on $S .*"$'\n'"[A-Z][a-z]{2} [ 1-3][0-9] [0-9:]{8} segtls-policyd\\[${DPID:-none}\\]: stopping\$" \
    "detached: messages in the --log-file, with time and pid"
is "$(cat "$T/detach.err")" "segtls-policyd: no apply configuration $T/no-apply.conf: commit only stores the settings" \
    "detached with --log-file: only what came before detaching on stderr"

done_testing
