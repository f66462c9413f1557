#!/bin/bash
# access.t - privileges and access (issue 8 item 4): who may use the
# policyd control socket (SO_PEERCRED checked by the daemon itself, even
# with a mis-set socket mode), the modes of state, record and socket
# files, the milter and the standalone server running unprivileged, and
# the hardening of the systemd units.
#
# Test users and a group are created when absent (and removed at exit):
#   segtls-t1    group (and user) that --group names
#   segtls-t1m   member of segtls-t1 (supplementary)
#   segtls-t1x   not a member
# Without root (no test users) the same daemons run as the user running
# the test: its own socket, the modes of every file, the static checks.
source "$(dirname "$0")/lib/tap.sh"

POLICYD=$(bin segtls-policyd)
SEGTLS=$(bin segtls)
[ -x "$POLICYD" ] && [ -x "$SEGTLS" ] || skip_all "segtls-policyd or segtls not built"
ROOT=; [ "$(id -u)" = 0 ] && ROOT=1
if [ -n "$ROOT" ]; then
    for p in useradd userdel groupdel runuser setpriv; do
        command -v "$p" >/dev/null || skip_all "$p not installed"
    done
    # The programs must be reachable by the test users.
    runuser -u nobody -- test -x "$SEGTLS" || skip_all "$SEGTLS is not executable by other users"
    G=segtls-t1; M=segtls-t1m; X=segtls-t1x
else
    # the user running the test stands for all three
    G=$(id -gn); M=$(id -un); X=$M
fi
# mkuser NAME [useradd-args] - create a system user unless it exists
mkuser() {
    local n=$1; shift
    getent passwd "$n" >/dev/null && return 0
    useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$@" "$n" || return 1
    at_exit "userdel $n; groupdel $n"
}
if [ -n "$ROOT" ]; then
    mkuser "$G" || skip_all "useradd $G failed"
    mkuser "$M" -G "$G" || skip_all "useradd $M failed"
    mkuser "$X" || skip_all "useradd $X failed"
    id -nG "$M" | grep -qw "$G" || usermod -aG "$G" "$M"
fi

S=$T/run/policyd.sock
CONF=$T/etc/segtls.conf
STATE=$T/state
mkdir -p "$T/etc"
cp "$SEGTLS_TOP/conf/segtls.conf" "$CONF"

# run CMD... - stdout in $OUT, stderr in $ERR, status in $RC
run() {
    "$@" >"$T/out" 2>"$T/err"
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}
# as USER CMD... - run as another user (supplementary groups from the group file)
as() {
    local u=$1; shift
    if [ -n "$ROOT" ]; then runuser -u "$u" -- "$@"; else "$@"; fi
}
# root_only N NAME - N skipped tests when not root
root_only() { [ -n "$ROOT" ] || skip "$1" "$2 needs root (test users)"; [ -n "$ROOT" ]; }

# --- policyd with --group: the socket and its directory -----------------
if root_only 12 "group access"; then
    "$POLICYD" --foreground --config "$CONF" --state-dir "$STATE" --socket "$S" \
        --group "$G" 2>>"$T/policyd.log" &
    PD=$!
    at_exit "kill -9 $PD"
    for ((i=0; i<500; i++)); do "$SEGTLS" --socket "$S" status >/dev/null 2>&1 && break; sleep 0.01; done
    is "$(stat -c '%a %U %G' "$S")" "660 root $G" "socket 0660 root:$G"
    is "$(stat -c '%a %U %G' "$T/run")" "750 root $G" "socket directory 0750 root:$G"

    run "$SEGTLS" --socket "$S" show
    ok $RC "root is allowed"
    run as "$M" "$SEGTLS" --socket "$S" show
    is "$RC $(grep -c inbound.methods <<<"$OUT")" "0 1" "member of $G (supplementary) is allowed"
    run setpriv --reuid="$X" --regid="$G" --clear-groups "$SEGTLS" --socket "$S" status
    is "$RC" 0 "a process whose gid is $G is allowed"
    run as "$X" "$SEGTLS" --socket "$S" show
    is "$RC $ERR" "1 segtls: cannot reach segtls-policyd at $S: Permission denied" \
        "non-member: refused by the file modes"

    # A mis-set mode lets the non-member reach the socket: the daemon refuses.
    chmod 0755 "$T/run"; chmod 0666 "$S"
    run as "$X" "$SEGTLS" --socket "$S" show
    is "$RC $ERR" "1 segtls: permission denied: user $X is not in group $G" \
        "mode 0666: non-member refused by policyd (SO_PEERCRED), one-line error"
    run as "$X" "$SEGTLS" --socket "$S" set inbound.methods 1.2-1.3
    is "$RC $ERR" "1 segtls: permission denied: user $X is not in group $G" \
        "mode 0666: non-member cannot set either"
    is "$(grep -c "warning: control: permission denied: user $X is not in group $G" "$T/policyd.log")" 2 \
        "policyd logs each refusal"
    run as "$M" "$SEGTLS" --socket "$S" status
    ok $RC "member still allowed"
    run "$SEGTLS" --socket "$S" show
    ok $RC "root still allowed"
    kill -0 $PD
    ok $? "policyd still runs"

else
    # the user running the test owns the socket and may use it
    "$POLICYD" --foreground --config "$CONF" --state-dir "$STATE" --socket "$S" 2>>"$T/policyd.log" &
    PD=$!
    at_exit "kill -9 $PD"
    for ((i=0; i<500; i++)); do "$SEGTLS" --socket "$S" status >/dev/null 2>&1 && break; sleep 0.01; done
    run "$SEGTLS" --socket "$S" show
    is "$RC $(grep -c inbound.methods <<<"$OUT")" "0 1" "the socket's owner ($M) is allowed"
    is "$(stat -c '%a %U' "$S")" "660 $M" "socket 0660, its owner's"
fi

# --- state file modes ----------------------------------------------------
as "$M" "$SEGTLS" --socket "$S" set inbound.methods 1.2-1.3 >/dev/null 2>&1
is "$(stat -c %a "$STATE/pending.conf" 2>&1)" 640 "pending.conf 0640"
as "$M" "$SEGTLS" --socket "$S" commit -m access >/dev/null 2>&1
is "$(grep -c '^methods=1.2-1.3' "$CONF")" 1 "member commits"
is "$(stat -c %a "$CONF")" 644 "committed file 0644"
is "$(stat -c %a "$STATE")" 750 "state directory 0750"
is "$(stat -c %a "$STATE/rollback")" 750 "rollback/ 0750"
is "$(stat -c %a "$STATE"/rollback/*.conf | sort -u)" 640 "rollback entries 0640"
like "$(grep -h '^user=' "$STATE"/rollback/*.conf)" "^user=$M\$" "rollback entry names the SO_PEERCRED user"
kill -TERM $PD; wait $PD 2>/dev/null

# --- policyd owner: --user makes the socket that user's -----------------
if root_only 4 "policyd --user"; then
    mkdir -p "$T/own"
    chown "$X" "$T/own"
    cp "$CONF" "$T/own/segtls.conf"; chown "$X" "$T/own/segtls.conf"
    "$POLICYD" --foreground --config "$T/own/segtls.conf" --state-dir "$T/own/state" \
        --socket "$T/own/run/p.sock" --user "$X" 2>>"$T/policyd2.log" &
    PD2=$!
    at_exit "kill -9 $PD2"
    for ((i=0; i<500; i++)); do "$SEGTLS" --socket "$T/own/run/p.sock" status >/dev/null 2>&1 && break; sleep 0.01; done
    is "$(awk '/^Uid:/ {print $2}' "/proc/$PD2/status")" "$(id -u "$X")" "policyd --user $X drops root"
    run as "$X" "$SEGTLS" --socket "$T/own/run/p.sock" status
    is "$RC" 0 "the socket's owner is allowed"
    chmod 0755 "$T/own/run"; chmod 0666 "$T/own/run/p.sock"
    run as "$M" "$SEGTLS" --socket "$T/own/run/p.sock" status
    is "$RC $ERR" "1 segtls: permission denied: user $M is not in group root" \
        "neither owner nor in the socket's group: refused"
    kill -TERM $PD2; wait $PD2 2>/dev/null
fi

# --- the milter unprivileged: its files ----------------------------------
if [ -x "$(bin segtls-milter)" ]; then
    mkdir -p "$T/ml/log"
    user=(); [ -n "$ROOT" ] && user=(-u "$X")
    "$(bin segtls-milter)" -f --no-follow -s "unix:$T/ml/milter.sock" -g "$G" \
        -o "$T/ml/log/mail_logs" -d "$T/ml/state" "${user[@]}" 2>"$T/ml/err" &
    MP=$!
    at_exit "kill -9 $MP"
    wait_file "$T/ml/milter.sock" 50
    sleep 0.2
    is "$(awk '/^Uid:/ {print $2}' "/proc/$MP/status" 2>&1)" "$(id -u "$X")" "milter runs as $X${ROOT:+ (--user)}"
    is "$(stat -c '%a %U %G' "$T/ml/milter.sock" 2>&1)" "660 $X $G" "milter socket 0660, group from --socket-group"
    is "$(stat -c '%a %U' "$T/ml/state" 2>&1)" "750 $X" "milter state dir 0750, its user's"
    is "$(stat -c '%a %U' "$T/ml/log/mail_logs" 2>&1)" "640 $X" "mail_logs 0640"
    kill -TERM $MP; wait $MP 2>/dev/null
    [ -s "$T/ml/err" ] && sed 's/^/# milter: /' "$T/ml/err" >&2
else
    for i in 1 2 3 4; do ok 0 "# SKIP segtls-milter not built"; done
fi

# --- ids file and the standalone server as an unprivileged user ----------
SA=$(bin segtls-standalone)
if [ -x "$SA" ]; then
    source "$(dirname "$0")/lib/certs.sh"
    certs_make "$T/certs" >/dev/null 2>&1
    mkdir -p "$T/sa"; chown "$X" "$T/sa"
    cp "$CERTS/rsa.pem" "$T/sa/cert.pem"; chown "$X" "$T/sa/cert.pem"; chmod 600 "$T/sa/cert.pem"
    P=$(free_port)
    as "$X" "$SA" --config "$CONF" --cert "$T/sa/cert.pem" --smtp-listen "127.0.0.1:$P" \
        --spool "$T/sa/spool" --state-dir "$T/sa/state" --mail-log "$T/sa/mail_logs" \
        --gui-log "$T/sa/gui_logs" >"$T/sa/err" 2>&1 &
    SP=$!
    at_exit "kill -9 $SP"
    wait_port "$P" 100
    ok $? "standalone runs as $X (unprivileged)"
    printf 'EHLO a\r\nQUIT\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P; cat >&3; cat <&3" >/dev/null 2>&1
    wait_file "$T/sa/state/ids" 50
    is "$(stat -c '%a %U' "$T/sa/state/ids" 2>&1)" "600 $X" "ids file 0600, its user's"
    is "$(stat -c %a "$T/sa/state" "$T/sa/spool" 2>&1 | tr '\n' ' ')" "750 700 " "standalone: state 0750, spool 0700"
    is "$(stat -c %a "$T/sa/mail_logs" 2>&1)" 640 "standalone: mail_logs 0640"
    kill -TERM $SP 2>/dev/null; kill -TERM "$(pgrep -u "$X" -f "segtls-standalone.*$P" | head -1)" 2>/dev/null
else
    for i in 1 2 3 4; do ok 0 "# SKIP segtls-standalone not built"; done
fi

# --- only policyd writes Postfix/nginx configuration ----------------------
# The milter and the standalone server have no code that writes it ...
hits=$(grep -lE 'seg_apply|seg_render|"[^"]*(main\.cf|master\.cf|postconf|nginx\.conf|/etc/postfix|/etc/nginx)' \
    "$SEGTLS_TOP"/milter/*.c "$SEGTLS_TOP"/standalone/*.c 2>/dev/null | tr '\n' ' ')
is "$hits" "" "milter/ and standalone/ never touch Postfix/nginx configuration"
# ... and their units could not: ProtectSystem=strict, writable only their own dirs.
U=$SEGTLS_TOP/conf
for u in segtls-milter segtls-standalone; do
    f=$U/$u.service
    if [ ! -e "$f" ]; then ok 1 "$u.service exists"; continue; fi
    caps=; [ $u = segtls-standalone ] && caps=CAP_NET_BIND_SERVICE  # ports 25, 443
    is "$(grep -E '^(User|ProtectSystem|NoNewPrivileges|PrivateTmp|ProtectHome|CapabilityBoundingSet)=' "$f" | sort | tr '\n' ' ')" \
       "CapabilityBoundingSet=$caps NoNewPrivileges=yes PrivateTmp=yes ProtectHome=yes ProtectSystem=strict User=segtls " \
       "$u.service: User=segtls and hardening"
    like "$(grep '^ReadWritePaths=' "$f" || echo none)" '^(ReadWritePaths=[^ ]*segtls[^ ]*( [^ ]*segtls[^ ]*)*|none)$' \
       "$u.service: writes only segtls paths"
done
# The internet-facing standalone reads its settings on the read-only socket
# (issue 13 item 18): never in a group that may set and commit.
f=$U/segtls-standalone.service
like "$(sed -n '/^ExecStart=/,/[^\\]$/p' "$f" | tr -d '\\\n')" '--socket /run/segtls/policyd-read\.sock ' \
    "segtls-standalone.service: settings from policyd's read-only socket"
is "$(grep -E '^(SupplementaryGroups|Group)=' "$f" | sort | tr '\n' ' ')" "Group=segtls SupplementaryGroups=segtls-read " \
    "segtls-standalone.service: in the read group only"
like "$(sed -n '/^ExecStart=/,/[^\\]$/p' "$U/segtls-policyd.service" | tr -d '\\\n')" \
    '--read-socket /run/segtls/policyd-read\.sock +--read-group segtls-read' \
    "segtls-policyd.service: serves the read-only socket to group segtls-read"
f=$U/segtls-policyd.service
is "$(grep -E '^(NoNewPrivileges|PrivateTmp|ProtectHome|ProtectSystem)=' "$f" | sort | tr '\n' ' ')" \
   "NoNewPrivileges=yes PrivateTmp=yes ProtectHome=yes ProtectSystem=full " \
   "segtls-policyd.service: hardening"
like "$(grep '^ReadWritePaths=' "$f")" '/etc/postfix.*/etc/nginx' "segtls-policyd.service: the one that may write /etc/postfix and /etc/nginx"
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/units"
    for f in "$U"/*.service; do
        sed "s,@SBINDIR@,$SEGTLS_BIN,g; s,@BINDIR@,$SEGTLS_BIN,g" "$f" >"$T/units/${f##*/}"
    done
    out=$(cd "$T/units" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no ./*.service 2>&1 |
          grep -v -e 'not found' -e 'unit file .* is not' -e 'Failed to .* bus' -e 'System has not been booted' )
    is "$out" "" "systemd-analyze verify: no complaints about the units"
fi
done_testing
