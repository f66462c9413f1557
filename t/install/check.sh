#!/bin/bash
# check.sh - the Debian packages installed, configured and removed on a
# bare Debian 12 as README's "Installing on a Postfix host" says, proven
# end to end (issue 14). TAP on stdout. `make check-install` runs it as
# root inside ../shared/testing/fresh-debian.sh's root (a clone of HEAD;
# never on a host of its own: it installs packages and runs the system's
# Postfix and nginx). t/install/README says what it does and how the
# README's steps map onto the test root.
#
# The README's steps are not copied here: t/install/readme-steps.awk
# takes them from README.md and step() runs them as written (only the
# ports are mapped when 25 or 443 are taken on the host), and every step
# of README must have been run by the end.
if [ -z "${SEGTLS_SUBREAPER:-}" ]; then
    # the daemons README starts detach: reap them here, stop any left
    # (python3 is the one tool the bare root needs before anything else)
    if ! command -v python3 >/dev/null; then
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3; } \
            >/tmp/check-install-python3.log 2>&1 </dev/null ||
            { tail -5 /tmp/check-install-python3.log; echo "Bail out! cannot install python3"; exit 1; }
    fi
    export SEGTLS_SUBREAPER=1
    exec python3 "$(dirname "$0")/subreaper.py" bash "$0" "$@"
fi
cd "$(dirname "$0")/../.." || exit 2
TOP=$(pwd)
source t/lib/tap.sh
source t/lib/postfix.sh
source t/install/readme.sh
unset SEGTLS_APPLY_CONFIG               # the installed policyd uses /etc/segtls/apply.conf
[ "$(id -u)" = 0 ] || { echo "Bail out! needs root (it installs packages)"; exit 1; }
[ -f /root/project/Makefile ] && [ "$TOP" = /root/project ] ||
    { echo "Bail out! runs only in fresh-debian.sh's root (make check-install)"; exit 1; }
export DEBIAN_FRONTEND=noninteractive
STEPS=$T/steps
mkdir -p "$STEPS"
ML=/var/log/segtls/mail_logs
GL=/var/log/segtls/gui_logs
SLOG=/var/log/segtls/segtls.log

# --- helpers ------------------------------------------------------------
# bail MSG - stop here, with the last lines of what failed
bail() { echo "Bail out! $*"; exit 1; }
# busy PORT - something listens on 127.0.0.1:PORT (the host's network)
busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# stop_pid FILE - TERM the process of a pid file and wait for it (10 s)
stop_pid() {
    local pid i
    pid=$(live_pid "$1") || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
}
# stop_this PID - TERM a process this test knows by its pid, and wait
stop_this() {
    local i
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null
}
# sock_pid PATH - the pid of the process listening on the unix socket PATH
sock_pid() {
    local ino p
    ino=$(awk -v p="$1" '$NF == p { print $7; exit }' /proc/net/unix)
    [ -n "$ino" ] || return 1
    for p in /proc/[0-9]*; do
        ls -l "$p/fd" 2>/dev/null | grep -q "socket:\[$ino\]" && { echo "${p#/proc/}"; return 0; }
    done
    return 1
}
# mark FILE / since FILE MARK - byte offset now; what was written after it
mark() { stat -c %s "$1" 2>/dev/null || echo 0; }
# settle FILE - wait until FILE has not grown for 1.2 s (at most 15 s): the
# records of what came before (the probes' connections: their TLS record
# and close come from the log follower a second later) are all written
settle() {
    local i last=-1 now still=0
    for ((i = 0; i < 75 && still < 6; i++)); do
        now=$(mark "$1")
        if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0; last=$now; fi
        sleep 0.2
    done
}
since() { tail -c "+$(($2 + 1))" "$1" 2>/dev/null; }
# recs TEXT - records without their time, "Info: ..." each
recs() { sed -E 's/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4} //' <<<"$1"; }
# wait_since FILE MARK ERE [TRIES] - wait (0.1 s steps) until a line after MARK matches
wait_since() {
    local i
    for ((i = 0; i < ${4:-150}; i++)); do
        since "$1" "$2" | grep -Eq -- "$3" && return 0
        sleep 0.1
    done
    return 1
}
# step NAME [DIR] - run README's step NAME (its no-systemd or plain
# blocks, in README's order) as root's shell would: a clean environment,
# bash -e -o pipefail, in DIR (default /root). Output in $T/step.NAME.out
# and .err, status in $RC. The port mapping is applied to the text.
declare -A ran=()
step() {
    local name=$1 dir=${2:-/root} f text=
    for f in "$STEPS"/*."$name".all "$STEPS"/*."$name".no-systemd; do
        [ -e "$f" ] && text+=$(cat "$f")$'\n'
    done
    [ -n "$text" ] || bail "README has no step $name"
    text=${text//127.0.0.1:25 /127.0.0.1:$P25 }
    text=${text//https:\/\/127.0.0.1\//https://127.0.0.1:$P443/}
    printf '%s' "$text" >"$T/step.$name.sh"
    (cd "$dir" && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM=dumb bash -e -o pipefail -c "$STEP_PREAMBLE$text") \
        >"$T/step.$name.out" 2>"$T/step.$name.err" </dev/null
    RC=$?
    ran[$name]=1
    [ "$RC" = 0 ] || { diag "README step $name failed ($RC):"; sed 's/^/#   /' "$T/step.$name.err" >&2; }
}
STEP_PREAMBLE=
out() { tr -d '\r' <"$T/step.$1.out"; }
err() { tr -d '\r' <"$T/step.$1.err"; }

# --- the packages, built here --------------------------------------------
diag "building the packages (make deb-deps, make deb)"
make deb-deps >"$T/deb-deps.log" 2>&1 </dev/null || { tail -20 "$T/deb-deps.log"; bail "make deb-deps failed"; }
# deb-deps installs what building needs, not make deps' test tools
is "$(dpkg-query -W -f='${Status}' chromium valgrind prometheus 2>/dev/null | grep -c 'install ok installed')" 0 \
    "make deb-deps installs debian/control's build dependencies only (no chromium, valgrind, prometheus)"
make deb >"$T/deb.log" 2>&1 </dev/null || { tail -30 "$T/deb.log"; bail "make deb failed"; }
ok "$(ls build/deb/segtls_*.deb build/deb/libnginx-mod-http-segtls_*.deb >/dev/null 2>&1; echo $?)" \
    "make deb: segtls and libnginx-mod-http-segtls in build/deb"
is "$(grep -c '^E: ' build/deb/lintian.txt)" 0 "lintian: no errors"

# --- the administrator's host: Postfix relaying to a sink, nginx ---------
# "Local only" as an administrator answers debconf; then the relay (the
# test's next hops: a private Postfix instance, see t/install/README).
diag "installing postfix, nginx and the tools"
debconf-set-selections <<'SEL'
postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string mta.segtls.test
SEL
apt-get install -y -q postfix nginx swaks curl openssl python3 logrotate >"$T/apt.log" 2>&1 </dev/null ||
    { tail -20 "$T/apt.log"; bail "cannot install postfix and nginx"; }
# apt asks "Do you want to continue?" where an administrator types y
printf 'APT::Get::Assume-Yes "true";\n' >/etc/apt/apt.conf.d/90segtls-test
at_exit "rm -f /etc/apt/apt.conf.d/90segtls-test"

# ports: README's 25 and 443 unless something on the host listens there
P25=25; P443=443
busy 25 && P25=$(free_port)
busy 443 && P443=$(free_port)
PS_A=$(free_port); PS_B=$(free_port); PS_OLD=$(free_port)
SVC=smtp/inet
if [ "$P25" != 25 ]; then
    sed -i -E "s/^smtp( +)inet /127.0.0.1:$P25 inet /" /etc/postfix/master.cf
    SVC=127.0.0.1:$P25/inet
fi
if busy 80; then rm -f /etc/nginx/sites-enabled/default; fi
diag "ports: SMTP 127.0.0.1:$P25, GUI HTTPS 127.0.0.1:$P443, next hops $PS_A $PS_B $PS_OLD"

# the next hops: a private Postfix (t/lib/postfix.sh) that discards what
# it gets, on three ports; the third speaks only TLS 1.0
pf_make sink "$PS_A" || bail "cannot make the sink Postfix"
cat >>"$T/sink/etc/master.cf" <<CF
127.0.0.1:$PS_B inet n - n - - smtpd -o syslog_name=sink-b
127.0.0.1:$PS_OLD inet n - n - - smtpd -o syslog_name=sink-old -o { smtpd_tls_protocols = >=TLSv1 <=TLSv1 }
CF
pf_start sink || bail "the sink Postfix does not start"
postconf -e default_transport=smtp relay_transport=relay "relayhost = [127.0.0.1]:$PS_A" \
    "transport_maps = inline:{ two.test=relay:[127.0.0.1]:$PS_B, old.test=smtp:[127.0.0.1]:$PS_OLD }" ||
    bail "postconf of the host's Postfix failed"
service postfix start >"$T/pf-start.log" 2>&1 || { cat "$T/pf-start.log"; bail "Postfix does not start"; }
at_exit "stop_pid /var/spool/postfix/pid/master.pid"
wait_port "$P25" 100 || bail "Postfix does not listen on 127.0.0.1:$P25"
at_exit "stop_pid /run/nginx.pid"
# an account for the web UI (README: usermod -a -G segtls-admin alice)
useradd -m alice && echo 'alice:Wonder-land-42' | chpasswd || bail "cannot create alice"
# the interface that holds 127.0.0.1, as the milter names it (getifaddrs)
IFACE=$(ip -o -4 addr show to 127.0.0.1/32 2>/dev/null | awk '{ print $2; exit }')
IFACE=${IFACE:-lo}

readme_steps "$STEPS" README.md >"$T/steps.list" 2>"$T/steps.err"
is "$? $(cat "$T/steps.err")" "0 " "README: every block of \"Installing on a Postfix host\" is a step"

# --- 1. the packages -------------------------------------------------------
step packages "$TOP/build/deb"
is "$RC" 0 "README packages: apt install of the two packages"
is "$(getent passwd segtls | cut -d: -f4,6,7)" "$(getent group segtls | cut -d: -f3):/var/lib/segtls:/usr/sbin/nologin" \
    "user segtls: group segtls, home /var/lib/segtls, shell /usr/sbin/nologin"
is "$(getent group segtls-admin | cut -d: -f1) $(getent group segtls-read | cut -d: -f1,4)" \
    "segtls-admin segtls-read:segtls" "groups segtls-admin and segtls-read (segtls a member)"
is "$(stat -c '%n %a %U:%G' /var/lib/segtls /var/lib/segtls/milter /var/lib/segtls/standalone /var/log/segtls | tr '\n' ' ')" \
    "/var/lib/segtls 751 root:root /var/lib/segtls/milter 750 segtls:segtls /var/lib/segtls/standalone 750 segtls:segtls /var/log/segtls 755 segtls:segtls " \
    "directories: policyd's 0751 root, the milter's and standalone's 0750 segtls, the logs"
ok "$([ -L /etc/nginx/modules-enabled/50-mod-http-segtls.conf ] && nginx -t >/dev/null 2>&1; echo $?)" \
    "nginx loads the module: 50-mod-http-segtls.conf enabled, nginx -t passes"
# the systemd steps name units the package ships (the root has no systemd)
units=$(cat "$STEPS"/*.systemd | grep -o 'segtls-[a-z]*' | sort -u | tr '\n' ' ')
ok "$(for u in $units; do [ -f "/lib/systemd/system/$u.service" ] || exit 1; done; echo 0)" \
    "README's systemd steps name shipped units ($units)"
# without systemd README starts the units' own command lines
U=/lib/systemd/system
is "$(readme_cmd segtls-policyd "$STEPS"/*.start.no-systemd)" "$(unit_cmd $U/segtls-policyd.service)" \
    "README starts segtls-policyd as its unit does"
is "$(readme_cmd segtls-milter "$STEPS"/*.start.no-systemd)" \
    "$(unit_cmd $U/segtls-milter.service | sed 's/^segtls-milter/segtls-milter --user segtls/')" \
    "README starts segtls-milter as its unit does, with the unit's User= as --user"
is "$(grep -c '^User=segtls$' /lib/systemd/system/segtls-milter.service)" 1 "the milter's unit runs as segtls"

# --- 2. Postfix -------------------------------------------------------------
step postfix
is "$RC" 0 "README postfix: the socket directory and the main.cf snippet"
is "$(postconf -h smtpd_milters) $(stat -c '%a %U:%G' /var/spool/postfix/segtls-milter)" \
    "unix:segtls-milter/milter.sock 750 segtls:postfix" "smtpd_milters relative to the queue directory; its directory segtls:postfix"
is "$(postconf -Fh "$SVC/chroot")" "y" "smtpd stays chrooted, as Debian's master.cf has it"

# --- 3. the daemons, without systemd ---------------------------------------
if python3 -c 'import socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).connect("/dev/log")' 2>/dev/null; then
    SYSLOG=1; else SYSLOG=0; fi
step start
is "$RC" 0 "README start: policyd, the milter, Postfix restarted"
PD_PID=$(sock_pid /run/segtls/policyd.sock); at_exit "stop_this $PD_PID"
MT_PID=$(sock_pid /var/spool/postfix/segtls-milter/milter.sock); at_exit "stop_this $MT_PID"
ok "$([ -n "$PD_PID" ] && [ -n "$MT_PID" ]; echo $?)" "policyd ($PD_PID) and the milter ($MT_PID) run, detached"
is "$(stat -c %U "/proc/$MT_PID") $(stat -c '%a %U:%G' /var/spool/postfix/segtls-milter/milter.sock)" \
    "segtls 660 segtls:postfix" "the milter runs as segtls; its socket 0660 segtls:postfix"
if [ "$SYSLOG" = 0 ]; then
    # no syslog reads /dev/log here: they say so and write segtls.log
    is "$(err start | grep -c 'warning: no syslog at /dev/log: messages go to /var/log/segtls/segtls.log')" 2 \
        "no syslog: policyd and the milter say where their messages go"
    wait_since $SLOG 0 "segtls-milter\\[$MT_PID\\]: listening" 50
    like "$(cat $SLOG)" "segtls-milter\\[$MT_PID\\]: listening on unix:/var/spool/postfix/segtls-milter/milter.sock, records to $ML" \
        "no syslog: the milter's messages are in segtls.log"
else
    ok "$([ ! -e $SLOG ]; echo $?)" "syslog reads /dev/log: no segtls.log"
    ok 0 "syslog reads /dev/log: the messages went there"
fi

# --- 4. apply --------------------------------------------------------------
step apply
is "$RC" 0 "README apply: segtls apply"
like "$(out apply)" $'reloaded Postfix \\(/etc/postfix\\)\n'"Inbound SMTP $SVC \\(127.0.0.1:$P25\\): TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 negotiated \\(ECDHE-RSA-AES256-GCM-SHA384\\), TLS v1.3 refused; renegotiation allowed"$'\napplied$' \
    "segtls apply: the defaults on Postfix, proven per version"

# --- 5. the web UI ----------------------------------------------------------
if [ "$P443" != 443 ]; then       # the port mapping (t/install/README)
    sed -i "s/^    listen 443 ssl;/    listen 127.0.0.1:$P443 ssl;/" /etc/segtls/nginx-segtls-webui.conf
    printf 'probe-https=127.0.0.1:%s\n' "$P443" >>/etc/segtls/apply.conf
fi
step gui
is "$RC" 0 "README gui: certificate, commit, no-nginx=false, the server block, alice an admin"
step gui-start
is "$RC" 0 "README gui-start: apply, start nginx, apply"
is "$(out gui-start | grep -c 'is not running')" 1 "the first apply: one line for the stopped server"
is "$(out gui-start | grep 'is not running')" \
    "nginx is not running (no pid in /run/nginx.pid): /etc/nginx/snippets/segtls-gui.conf was written and nginx -t accepts it, nothing was proven; start nginx, then apply again (segtls apply)" \
    "the first apply says that nginx is stopped, clearly, and wrote the include"
like "$(out gui-start)" $'\nreloaded nginx\n(.*\n)*GUI HTTPS 127.0.0.1:'"$P443"': TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 negotiated \(ECDHE-RSA-AES256-GCM-SHA384\), TLS v1.3 refused; renegotiation refused'$'\napplied$' \
    "the second apply proves GUI HTTPS on nginx"

# --- 6. sslconfig through a terminal, commit ----------------------------------
# a cipher-string typo first (named, and only Inbound SMTP's warnings
# shown), then the range: Inbound 1.0-1.2 HIGH:!aNULL, Outbound and GUI 1.2-1.3
printf '%s\n' inbound 2-4 'HIGH:MEDUIM:!aNULL' '' inbound 2-4 'HIGH:!aNULL' '' \
    outbound 1-2 '' gui 1-2 '' '' '' >"$T/answers"
STEP_PREAMBLE="sslconfig() { python3 $TOP/t/install/pty-answer.py $T/answers /usr/bin/sslconfig \"\$@\" >$T/sslconfig.tty; }"$'\n'
step commit
STEP_PREAMBLE=
is "$RC" 0 "README commit: sslconfig at a terminal, segtls commit"
tty=$(tr -d '\r' <"$T/sslconfig.tty")
# what the first edit printed after its last answer, up to the next prompt
first=$(sed -n '/enable TLS Renegotiation for inbound SMTP/,/^\[\]> inbound$/p' <<<"$tty" | sed -n '2,/^\[\]>/p' | grep -v '^$')
like "$first" '^Warning: Inbound SMTP: OpenSSL does not know "MEDUIM" in the cipher string and ignores it\.' \
    "sslconfig names the unknown cipher word" || diag "$tty"
is "$(grep -c '^Warning: GUI HTTPS' <<<"$first")" 0 "sslconfig shows no warning of a service the edit did not touch"
like "$(out commit)" '^Changes committed: ' "segtls commit: committed"
like "$(out commit)" $'\n'"Inbound SMTP $SVC \\(127.0.0.1:$P25\\): TLS v1.0 negotiated \\([A-Z0-9-]+\\), TLS v1.1 negotiated \\([A-Z0-9-]+\\), TLS v1.2 negotiated \\([A-Z0-9-]+\\), TLS v1.3 refused" \
    "segtls commit: Inbound SMTP 1.0-1.2 proven"
like "$(out commit)" $'\n''GUI HTTPS 127.0.0.1:'"$P443"': TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 negotiated \([A-Z0-9-]+\), TLS v1.3 negotiated \(TLS_AES_256_GCM_SHA384\)' \
    "segtls commit: GUI HTTPS 1.2-1.3 proven"
like "$(out commit)" $'\napplied$' "segtls commit: applied"

# --- per-version handshakes: what a client sees is what was committed -------
# hs KIND VERSION-FLAG - "PROTOCOL CIPHER" s_client negotiated, or "refused"
hs() {
    local st=() port=$P443 o
    [ "$1" = smtp ] && st=(-starttls smtp) port=$P25
    o=$(printf 'EHLO client.test\nQUIT\n' | timeout 10 openssl s_client -brief -crlf "${st[@]}" \
        -connect "127.0.0.1:$port" "-$2" -cipher 'ALL:@SECLEVEL=0' 2>&1)
    if grep -q '^Protocol version: ' <<<"$o"; then
        echo "$(sed -n 's/^Protocol version: //p' <<<"$o") $(sed -n 's/^Ciphersuite: //p' <<<"$o")"
    else echo refused; fi
}
for v in tls1:TLSv1 tls1_1:TLSv1.1 tls1_2:TLSv1.2 tls1_3:TLSv1.3; do
    settle $ML
    m=$(mark $ML)
    got=$(hs smtp "${v%%:*}")
    if [ "${v%%:*}" = tls1_3 ]; then
        is "$got" refused "Inbound SMTP ${v#*:}: refused"
        wait_since $ML "$m" 'ICID [0-9]+ close$'
        r=$(recs "$(since $ML "$m")")
        n=$(sed -nE 's/^Info: New SMTP ICID ([0-9]+) .*/\1/p' <<<"$r")
        is "$r" "Info: New SMTP ICID $n interface $IFACE (127.0.0.1) address 127.0.0.1 reverse dns host localhost verified yes
Info: ICID $n TLS failed: (167772418, 'error:0A000102:SSL routines::unsupported protocol')
Info: ICID $n close" "Inbound SMTP ${v#*:}: its records, in order"
    else
        like "$got" "^${v#*:} [A-Z0-9-]+\$" "Inbound SMTP ${v#*:}: negotiated ($got)"
        wait_since $ML "$m" 'ICID [0-9]+ close$'
        r=$(recs "$(since $ML "$m")")
        n=$(sed -nE 's/^Info: New SMTP ICID ([0-9]+) .*/\1/p' <<<"$r")
        is "$r" "Info: New SMTP ICID $n interface $IFACE (127.0.0.1) address 127.0.0.1 reverse dns host localhost verified yes
Info: ICID $n TLS success protocol ${got% *} cipher ${got#* }
Info: ICID $n close" "Inbound SMTP ${v#*:}: its records, in order, with what the client saw"
    fi
done
for v in tls1:TLSv1:refused tls1_1:TLSv1.1:refused tls1_2:TLSv1.2:ok tls1_3:TLSv1.3:ok; do
    IFS=: read -r flag name want <<<"$v"
    got=$(hs https "$flag")
    if [ "$want" = refused ]; then is "$got" refused "GUI HTTPS $name: refused"
    else like "$got" "^$name [A-Z0-9_-]+\$" "GUI HTTPS $name: negotiated ($got)"; fi
done

# --- messages: exactly their records, in order ------------------------------
LAST_ICID=0; LAST_MID=0; LAST_DCID=0
# message NAME SWAKS-ARGS... - one message to one recipient at one.test
# (relayed to the sink's first port); its records must be exactly those
# of the gateway, in order; the inbound close may come anywhere after
# Message finished (the client's QUIT races the delivery)
message() {
    local name=$1 m o proto= cipher= r n mid d want rest cl fin; shift
    settle $ML
    m=$(mark $ML)
    o=$(swaks --server "127.0.0.1:$P25" --from a@example.org "$@" 2>&1)
    ok $? "$name: swaks: message accepted" || diag "$(tail -3 <<<"$o")"
    if grep -q '=== TLS started with cipher' <<<"$o"; then
        proto=$(sed -nE 's/.*=== TLS started with cipher ([^:]+):([^:]+):.*/\1/p' <<<"$o")
        cipher=$(sed -nE 's/.*=== TLS started with cipher ([^:]+):([^:]+):.*/\2/p' <<<"$o")
    fi
    wait_since $ML "$m" 'DCID [0-9]+ close$' && wait_since $ML "$m" 'ICID [0-9]+ close$' 50
    r=$(recs "$(since $ML "$m")")
    n=$(sed -nE 's/^Info: New SMTP ICID ([0-9]+) .*/\1/p' <<<"$r" | head -1)
    mid=$(sed -nE 's/^Info: Start MID ([0-9]+) .*/\1/p' <<<"$r" | head -1)
    d=$(sed -nE 's/^Info: New SMTP DCID ([0-9]+) .*/\1/p' <<<"$r" | head -1)
    ok "$( ((n > LAST_ICID && mid > LAST_MID && d > LAST_DCID)); echo $?)" \
        "$name: new ICID $n, MID $mid, DCID $d, each above the last"
    LAST_ICID=${n:-$LAST_ICID}; LAST_MID=${mid:-$LAST_MID}; LAST_DCID=${d:-$LAST_DCID}
    want="Info: New SMTP ICID $n interface $IFACE (127.0.0.1) address 127.0.0.1 reverse dns host localhost verified yes"
    [ -n "$proto" ] && want+=$'\n'"Info: ICID $n TLS success protocol $proto cipher $cipher"
    want+="
Info: Start MID $mid ICID $n
Info: MID $mid ICID $n From: <a@example.org>
Info: MID $mid ICID $n RID 0 To: <$RCPT>
Info: Message finished MID $mid done
Info: New SMTP DCID $d interface unknown address 127.0.0.1 port $PS_A
Info: DCID $d TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384
Info: Delivery start DCID $d MID $mid to RID [0]
Info: Message done DCID $d MID $mid to RID [0]
Info: DCID $d close"
    rest=$(grep -v "^Info: ICID $n close\$" <<<"$r")
    is "$rest" "$want" "$name: exactly its records, in order (${proto:-plaintext}${cipher:+ $cipher})"
    cl=$(grep -n "^Info: ICID $n close\$" <<<"$r" | cut -d: -f1 | tr '\n' ' ')
    fin=$(grep -n "^Info: Message finished MID $mid done\$" <<<"$r" | cut -d: -f1)
    ok "$( [ "$(wc -w <<<"$cl")" = 1 ] && [ "${cl% }" -gt "${fin:-99999}" ]; echo $?)" \
        "$name: ICID $n close once (line ${cl% }), after Message finished (line $fin)"
}

# 7. README's first records: a message over STARTTLS, a page of the web UI
settle $ML
m_gui=$(mark $GL)
m=$(mark $ML)
step first-records
is "$RC" 0 "README first-records: swaks, curl, tail"
wait_since $ML "$m" 'DCID [0-9]+ close$' && wait_since $ML "$m" 'ICID [0-9]+ close$' 50
r=$(recs "$(since $ML "$m")")
like "$r" $'^Info: New SMTP ICID [0-9]+ interface '"$IFACE"$' \\(127.0.0.1\\) address 127.0.0.1 reverse dns host localhost verified yes\nInfo: ICID [0-9]+ TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES256-GCM-SHA384\nInfo: Start MID' \
    "README's message: its records begin as README shows"
like "$(recs "$(since $GL "$m_gui")")" $'^Info: GUI HTTPS TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384 address 127.0.0.1 port [0-9]+\nInfo: req:127.0.0.1 user:- id:- 303 GET / HTTP/1.1 curl/' \
    "README's page: gui_logs has the handshake, then the request"
LAST_ICID=$(sed -nE 's/^Info: New SMTP ICID ([0-9]+) .*/\1/p' <<<"$r" | tail -1)
LAST_MID=$(sed -nE 's/^Info: Start MID ([0-9]+) .*/\1/p' <<<"$r" | tail -1)
LAST_DCID=$(sed -nE 's/^Info: New SMTP DCID ([0-9]+) .*/\1/p' <<<"$r" | tail -1)

# one message over each enabled version, and one in plaintext
SEC0=(--tls-cipher 'DEFAULT:@SECLEVEL=0')
RCPT=v10@one.test message "TLS 1.0" --to v10@one.test --tls --tls-protocol tlsv1 "${SEC0[@]}"
RCPT=v11@one.test message "TLS 1.1" --to v11@one.test --tls --tls-protocol tlsv1_1 "${SEC0[@]}"
RCPT=v12@one.test message "TLS 1.2" --to v12@one.test --tls --tls-protocol tlsv1_2
RCPT=plain@one.test message "plaintext" --to plain@one.test

# one message, two recipients, two transports: two delivery connections
settle $ML
m=$(mark $ML)
swaks --server "127.0.0.1:$P25" --tls --from a@example.org --to x@one.test,y@two.test >"$T/two.out" 2>&1
ok $? "two transports: message accepted"
for ((i = 0; i < 150; i++)); do [ "$(since $ML "$m" | grep -c 'DCID [0-9]* close$')" -ge 2 ] && break; sleep 0.1; done
wait_since $ML "$m" 'ICID [0-9]+ close$' 50
r=$(recs "$(since $ML "$m")")
mid=$(sed -nE 's/^Info: Start MID ([0-9]+) .*/\1/p' <<<"$r")
n=$(sed -nE 's/^Info: New SMTP ICID ([0-9]+) .*/\1/p' <<<"$r")
is "$(grep -E "^Info: (Start MID|MID $mid |Message finished)" <<<"$r")" "Info: Start MID $mid ICID $n
Info: MID $mid ICID $n From: <a@example.org>
Info: MID $mid ICID $n RID 0 To: <x@one.test>
Info: MID $mid ICID $n RID 1 To: <y@two.test>
Info: Message finished MID $mid done" "two transports: the message's records, in order"
for hop in "$PS_A 0 smtp" "$PS_B 1 relay"; do
    set -- $hop
    d=$(sed -nE "s/^Info: New SMTP DCID ([0-9]+) interface unknown address 127.0.0.1 port $1\$/\\1/p" <<<"$r")
    is "$(grep -E "^Info: (New SMTP |Delivery start |Message done )?DCID ${d:-x}( |\$)" <<<"$r")" \
        "Info: New SMTP DCID $d interface unknown address 127.0.0.1 port $1
Info: DCID $d TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384
Info: Delivery start DCID $d MID $mid to RID [$2]
Info: Message done DCID $d MID $mid to RID [$2]
Info: DCID $d close" "two transports: the $3 connection (DCID $d) keeps its records, in order"
done

# --- gui_logs from curl --------------------------------------------------------
CURLV=$(curl --version | sed -n '1s/^curl \([^ ]*\) .*/\1/p')
LP=$(free_port)
m=$(mark $GL)
curl -sk --local-port "$LP" -o /dev/null "https://127.0.0.1:$P443/"
wait_since $GL "$m" 'req:' 50
is "$(recs "$(since $GL "$m")")" "Info: GUI HTTPS TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384 address 127.0.0.1 port $LP
Info: req:127.0.0.1 user:- id:- 303 GET / HTTP/1.1 curl/$CURLV" "curl: the handshake and the request in gui_logs"
LP=$(free_port)
m=$(mark $GL)
curl -sk --local-port "$LP" --tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' -o /dev/null "https://127.0.0.1:$P443/"
wait_since $GL "$m" 'SSL error' 50
is "$(recs "$(since $GL "$m")")" "Warning: SSL error with client 127.0.0.1:$LP - (167772418, 'error:0A000102:SSL routines::unsupported protocol')" \
    "curl with TLS 1.1: one SSL error record"
m=$(mark $GL)
code=$(curl -sk -u 'alice:Wonder-land-42' -o "$T/settings.json" -w '%{http_code}' "https://127.0.0.1:$P443/api/v1/settings")
wait_since $GL "$m" 'req:.*alice' 50
is "$code $(python3 -c 'import json, sys; print(json.load(sys.stdin)["committed"]["inbound.methods"])' <"$T/settings.json" 2>&1)" \
    "200 1.0-1.2" "alice (segtls-admin) reads the committed settings through nginx and PAM"
like "$(recs "$(since $GL "$m")")" "Info: req:127.0.0.1 user:alice id:[^ ]+ 200 GET /api/v1/settings HTTP/1.1 curl/$CURLV" \
    "alice's request is in gui_logs with her name"

# --- friction: the settings file broken on disk, and status says so -----------
cp /etc/segtls/segtls.conf "$T/segtls.conf.good"
sed -i 's/^methods=1.2-1.3$/methods=1.5-1.2/' /etc/segtls/segtls.conf
m=$(mark $SLOG)
start-stop-daemon --stop --signal HUP --quiet --exec /usr/sbin/segtls-policyd
wait_since $SLOG "$m" 'keeping the last good configuration' 50
segtls status >"$T/status.out" 2>&1
like "$(cat "$T/status.out")" $'\nSettings file: invalid on disk: /etc/segtls/segtls.conf:[0-9]+: [^\n]*; the last good configuration stays in force until a valid file is loaded \\(SIGHUP\\)\n' \
    "segtls status says that the settings file on disk is invalid"
cp "$T/segtls.conf.good" /etc/segtls/segtls.conf
m=$(mark $SLOG)
start-stop-daemon --stop --signal HUP --quiet --exec /usr/sbin/segtls-policyd
wait_since $SLOG "$m" 'reloaded /etc/segtls/segtls.conf' 50
segtls status >"$T/status.out" 2>&1
is "$(grep -c 'invalid on disk' "$T/status.out")" 0 "the file put back: status is content again"

# --- logrotate without systemd: every writer reopens its file -----------------
logrotate -f /etc/logrotate.d/segtls >"$T/logrotate.out" 2>&1
is "$? $(cat "$T/logrotate.out")" "0 " "logrotate with the shipped stanza: no error"
for ((i = 0; i < 50; i++)); do [ -s $ML ] && [ -s $GL ] && break; sleep 0.1; done
is "$(head -1 $ML | recs "$(cat)") $(head -1 $GL | recs "$(cat)")" "Info: Begin Logfile Info: Begin Logfile" \
    "after rotation: new mail_logs and gui_logs, each with its header"
RCPT=rot@one.test message "after rotation" --to rot@one.test --tls
LP=$(free_port)
curl -sk --local-port "$LP" -u 'alice:Wonder-land-42' -o /dev/null "https://127.0.0.1:$P443/api/v1/settings"
wait_since $GL 0 'req:.*alice' 50
is "$(recs "$(grep -E "port $LP\$|user:alice" $GL)" | sed -E 's/ protocol .*//; s/ id:.*//')" "Info: GUI HTTPS TLS success
Info: req:127.0.0.1 user:alice" "after rotation: nginx's and policyd's gui_logs records in the new file"

# a next hop that refuses Outbound SMTP's versions (it speaks only TLS 1.0).
# Last of the messages: Postfix logs no outbound disconnect, and the
# follower closes a deferred delivery only when that smtp process works
# again or goes idle (lib/records/pflog_smtp.c), so its close is not
# waited for here
settle $ML
m=$(mark $ML)
swaks --server "127.0.0.1:$P25" --from a@example.org --to z@old.test >"$T/old.out" 2>&1
ok $? "refusing next hop: message accepted"
wait_since $ML "$m" 'TLS deferring'
r=$(recs "$(since $ML "$m")")
d=$(sed -nE 's/^Info: New SMTP DCID ([0-9]+) .*/\1/p' <<<"$r")
is "$(grep -E "^Info: (New SMTP )?DCID ${d:-x}( |:|\$)" <<<"$r")" "Info: New SMTP DCID $d interface unknown address 127.0.0.1 port $PS_OLD
Info: DCID $d TLS deferring: (167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version')" \
    "refusing next hop: DCID $d TLS deferring"

# --- the records files as a whole ---------------------------------------------
cat $ML.1 $ML >"$T/all.rec"
is "$(awk 'BEGIN { split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mo); for (i in mo) mi[mo[i]] = i }
           $2 in mi { k = sprintf("%s %02d %02d %s", $5, mi[$2], $3, $4); if (k < last) n++; last = k }
           END { print n + 0 }' "$T/all.rec")" 0 "mail_logs: time never goes back"
is "$(awk '$7 == "ICID" && $NF == "close" && NF == 9 { closed[$8] = 1; next }
           $7 == "ICID" && ($8 in closed) { n++ } END { print n + 0 }' "$T/all.rec")" 0 \
    "mail_logs: nothing of a connection after its close"
# the smtpd that served the messages ran chrooted in the queue directory
# kids PPID NAME - the pids of PPID's children named NAME
kids() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(cut -d' ' -f4 "$p/stat" 2>/dev/null)" = "$1" ] && [ "$(cat "$p/comm" 2>/dev/null)" = "$2" ] &&
            echo "${p#/proc/}"
    done
}
master=$(live_pid /var/spool/postfix/pid/master.pid)
roots=$(for p in $(kids "$master" smtpd); do readlink "/proc/$p/root"; done | sort -u | tr '\n' ' ')
is "$roots" "/var/spool/postfix " "smtpd ran chrooted in /var/spool/postfix and reached the milter"

# --- removing ---------------------------------------------------------------
step remove
is "$RC" 0 "README remove: milter out of main.cf, the GUI server block out, segtls-apply --remove"
like "$(out remove)" "^put back [0-9]+ master.cf overrides \\(/etc/postfix\\)"$'\n'"reloaded Postfix \\(/etc/postfix\\)"$'\n'"removed /etc/segtls/postfix-tls.cnf"$'\n'"removed /etc/nginx/snippets/segtls-gui.conf"$'\n'"reloaded nginx"$'\n'"removed /etc/segtls/openssl-client.cnf"$'\n'"removed\$" \
    "segtls-apply --remove: what it did"
is "$(postconf -P | grep -c segtls)" 0 "no master.cf override of segtls is left"
step stop
is "$RC" 0 "README stop: the milter and policyd stopped"
ok "$(! kill -0 "$PD_PID" 2>/dev/null && ! kill -0 "$MT_PID" 2>/dev/null; echo $?)" "policyd and the milter are gone"
step purge
is "$RC" 0 "README purge: dpkg --purge"
is "$(getent passwd segtls; getent group segtls segtls-admin segtls-read)" "" "purge: no user segtls, no groups segtls, segtls-admin, segtls-read"
left=$(ls -d /etc/segtls /var/lib/segtls /run/segtls /var/spool/postfix/segtls-milter \
    /etc/nginx/modules-enabled/50-mod-http-segtls.conf* /etc/logrotate.d/segtls /etc/pam.d/segtls \
    /etc/nginx/snippets/segtls-gui.conf /usr/sbin/segtls-policyd 2>/dev/null)
is "$left" "" "purge: nothing of segtls left in /etc, /var/lib, /run, the queue directory, nginx's modules"
is "$(ls /var/log/segtls | sort | tr '\n' ' ')" "gui_logs gui_logs.1 mail_logs mail_logs.1 $([ "$SYSLOG" = 0 ] && echo 'segtls.log ')" \
    "purge: the records stay"
is "$(dpkg-query -W -f='${Status}' segtls libnginx-mod-http-segtls 2>&1 | grep -c 'install ok')" 0 "purge: both packages gone"
# Postfix without segtls: still receives over TLS and delivers
o=$(swaks --server "127.0.0.1:$P25" --tls --from a@example.org --to after@one.test 2>&1)
like "$o" "=== TLS started with cipher" "Postfix after the purge: STARTTLS works"
like "$o" "<~  250 2\\.0\\.0 Ok: queued as" "Postfix after the purge: the message is accepted"

# --- every README step was run ----------------------------------------------------
missing=$(awk '$3 != "systemd" { print $2 }' "$T/steps.list" | sort -u | while read -r s; do
    [ -n "${ran[$s]:-}" ] || echo "$s"; done)
is "$missing" "" "every README step without systemd was run"
done_testing
