#!/bin/bash
# certpath.t - certificate paths named by clients of segtls-policyd
# (issue 13 items 4 and 16).
#
# A FIFO, a device or a huge file as a certificate never blocks the
# daemon: files are opened without blocking and checked on the open
# descriptor, and the analysis runs in a worker thread, so other clients
# are answered meanwhile. A client learns nothing about a file it could
# not read itself: a path outside the certificate directories (--cert-dir)
# is refused by its text alone, and any other new path is opened with the
# client's own rights (a child process that has become its uid).
#
# The second part creates a test group and a member (removed at exit)
# and needs root; the first part runs as any user.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/certs.sh"

POLICYD=$(bin segtls-policyd)
SEGTLS=$(bin segtls)
[ -x "$POLICYD" ] && [ -x "$SEGTLS" ] || skip_all "segtls-policyd or segtls not built"
certs_make "$T/ca" || skip_all "cannot create test certificates"
CD=$T/certs
CONF=$T/etc/segtls.conf
S=$T/run/policyd.sock
mkdir -p "$T/etc" "$CD"
chmod 755 "$CD"
cp "$CERTS/rsa.pem" "$CD/gui.pem"
chmod 644 "$CD/gui.pem"
mkfifo "$CD/fifo.pem"

run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err"); }
# start_policyd ARGS... - a foreground daemon on $S, pid in $PD
start_policyd() {
    local i
    "$POLICYD" --foreground --config "$CONF" --state-dir "$T/state" --socket "$S" \
        --cert-dir "$CD" "$@" 2>>"$T/policyd.log" &
    PD=$!
    at_exit "kill -9 $PD"
    for ((i=0; i<500; i++)); do
        [ -S "$S" ] && "$SEGTLS" --socket "$S" raw '{"op":"clear"}' >/dev/null 2>&1 && return 0
        sleep 0.01
    done
    return 1
}
# ms_since START - milliseconds since START (date +%s%N)
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# --- item 4: a FIFO as the committed certificate -------------------------
printf '[gui]\ncertificate=%s\n' "$CD/fifo.pem" >"$CONF"
start_policyd
ok $? "policyd starts with a FIFO as gui.certificate"
"$SEGTLS" --socket "$S" show >"$T/show.out" 2>&1 &
SHOW=$!
at_exit "kill $SHOW"
t0=$(date +%s%N)
run timeout 1 "$SEGTLS" --socket "$S" status
is "$RC" 0 "while one client's analysis reads the FIFO, status from another answers"
ok "$([ "$(ms_since "$t0")" -lt 1000 ]; echo $?)" "... within a second"
for ((i=0; i<50; i++)); do kill -0 "$SHOW" 2>/dev/null || break; sleep 0.1; done
ok "$(! kill -0 "$SHOW" 2>/dev/null; echo $?)" "show with a FIFO certificate ends"
like "$(cat "$T/show.out")" "Warning: GUI HTTPS: cannot load certificate $CD/fifo.pem: not a regular file" \
    "show: the FIFO is named, not waited on"

# a FIFO, a device, a huge file named by set: refused at once
run timeout 5 "$SEGTLS" --socket "$S" set inbound.certificate "$CD/fifo.pem"
is "$RC $ERR" "1 segtls: inbound.certificate: \"$CD/fifo.pem\": not a regular file" \
    "set of a FIFO: refused, no hang"
if [ "$(id -u)" = 0 ] && mknod "$CD/null" c 1 3 2>/dev/null; then
    run timeout 5 "$SEGTLS" --socket "$S" set inbound.certificate "$CD/null"
    is "$RC $ERR" "1 segtls: inbound.certificate: \"$CD/null\": not a regular file" \
        "set of a character device: refused"
else
    ok 0 "# SKIP mknod needs root"
fi
truncate -s 2M "$CD/huge.pem"
run timeout 5 "$SEGTLS" --socket "$S" set inbound.certificate "$CD/huge.pem"
is "$RC $ERR" "1 segtls: inbound.certificate: \"$CD/huge.pem\": larger than 1048576 bytes" \
    "set of a 2 MB file: refused"
run "$SEGTLS" --socket "$S" set gui.certificate "$CD/gui.pem"
is "$RC $ERR" "0 " "a certificate in the directory: accepted"
run "$SEGTLS" --socket "$S" show
ok "$(! grep -q 'cannot load' <<<"$OUT"; echo $?)" "... and analysed without a loading warning"
"$SEGTLS" --socket "$S" clear -y >/dev/null

# by its text alone: outside the directories, or not canonical
run "$SEGTLS" --socket "$S" set gui.certificate /root/secret
is "$RC $ERR" "1 segtls: gui.certificate: \"/root/secret\": not under a certificate directory ($CD)" \
    "a path outside the certificate directories: refused by name"
run "$SEGTLS" --socket "$S" set gui.certificate "$CD/../etc/segtls.conf"
is "$RC $ERR" "1 segtls: gui.certificate: \"$CD/../etc/segtls.conf\": a certificate path must not hold \".\" or \"..\" components or repeated or trailing \"/\"" \
    "a path with .. : refused"
run "$SEGTLS" --socket "$S" set outbound.ca_file /etc/passwd
like "$RC $ERR" '^1 segtls: outbound.ca_file: "/etc/passwd": not under a certificate directory' \
    "outbound.ca_file follows the same rule"
# a link inside the directory to a file outside: the analysis does not read it
ln -s "$T/etc/segtls.conf" "$CD/link.pem"
printf '[gui]\ncertificate=%s\n' "$CD/link.pem" >"$CONF"
kill -HUP "$PD"
for ((i=0; i<100; i++)); do grep -q reloaded "$T/policyd.log" && break; sleep 0.05; done
run "$SEGTLS" --socket "$S" show
like "$OUT" "Warning: GUI HTTPS: cannot load certificate $CD/link.pem: not under a certificate directory \\($CD\\)" \
    "a committed link out of the directories is not read"
kill -TERM "$PD"; wait "$PD" 2>/dev/null
printf '[gui]\ncertificate=\n' >"$CONF"

# --- item 16: a group member names files it cannot read ------------------
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v runuser >/dev/null; then
    for i in 1 2 3 4 5 6 7 8; do ok 0 "# SKIP needs root, useradd and runuser"; done
    done_testing; exit
fi
G=segtls-t2; M=segtls-t2m
getent group "$G" >/dev/null || { groupadd -r "$G" && at_exit "groupdel $G"; }
getent passwd "$M" >/dev/null || { useradd -r -M -d /nonexistent -s /usr/sbin/nologin -G "$G" "$M" &&
    at_exit "userdel $M"; }
as() { runuser -u "$M" -- "$@"; }
mkdir -m 700 "$CD/private"
cp "$CERTS/rsa.pem" "$CD/private/key.pem"
cp "$CERTS/rsa.pem" "$CD/rootonly.pem"; chmod 600 "$CD/rootonly.pem"
S=$T/run2/policyd.sock                  # a new directory, in group $G
start_policyd --group "$G"
ok $? "policyd with --group $G"
run as "$SEGTLS" --socket "$S" set gui.certificate /root/secret
is "$RC $ERR" "1 segtls: gui.certificate: \"/root/secret\": not under a certificate directory ($CD)" \
    "member: /root/secret is refused by name (nothing about the file)"
run as "$SEGTLS" --socket "$S" set gui.certificate "$CD/private/key.pem"
is "$RC $ERR" "1 segtls: gui.certificate: \"$CD/private/key.pem\": Permission denied" \
    "member: a file in a directory it cannot search: Permission denied"
run as "$SEGTLS" --socket "$S" set gui.certificate "$CD/private/nosuch.pem"
is "$RC $ERR" "1 segtls: gui.certificate: \"$CD/private/nosuch.pem\": Permission denied" \
    "member: a missing file there gives the same answer (existence not revealed)"
run as "$SEGTLS" --socket "$S" set gui.certificate "$CD/rootonly.pem"
is "$RC $ERR" "1 segtls: gui.certificate: \"$CD/rootonly.pem\": Permission denied" \
    "member: a root-only file: Permission denied, its contents not analysed"
run as "$SEGTLS" --socket "$S" set gui.certificate "$CD/gui.pem"
is "$RC" 0 "member: a file it can read: accepted"
run as "$SEGTLS" --socket "$S" set gui.certificate "$CD/missing.pem"
like "$RC $OUT" "^0 Warning: GUI HTTPS: cannot load certificate $CD/missing.pem: No such file or directory" \
    "member: a missing file in a directory it can search: accepted with a warning"
run "$SEGTLS" --socket "$S" set gui.certificate "$CD/rootonly.pem"
is "$RC" 0 "root: the root-only file is accepted"
kill -0 "$PD"
ok $? "policyd still runs"
kill -TERM "$PD"; wait "$PD" 2>/dev/null
done_testing
