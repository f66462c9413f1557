# postfix.sh - private Postfix instances for segtls shell tests.
#
# Source after tap.sh (and certs.sh, which this file sources itself).
# Recipes and pitfalls: /work/shared/testing/private-postfix-and-nginx.md.
# One instance lives in $T/NAME/{etc,spool,data,maillog}; everything is on
# 127.0.0.1, no chroot, logging through postlogd into $T/NAME/maillog.
#
#   pf_make NAME PORT [PEER-PORT]  create; with PEER-PORT all mail is relayed
#                                  to 127.0.0.1:PEER-PORT, else discarded
#   pf_peer NAME PORT              create + start a discarding peer instance
#   pf_start NAME / pf_stop NAME / pf_reload NAME / pf_restart NAME
#   pf_postconf NAME ARGS...       postconf -c $T/NAME/etc ARGS...
#   pf_dir NAME                    the config directory (absolute)
#   pf_log NAME                    the maillog path
#   pf_log_mark NAME               byte offset of the maillog now
#   pf_log_since NAME MARK         maillog text written after MARK
#   pf_wait_log NAME MARK REGEX [TRIES]  wait until the text since MARK matches
#   pf_cmd NAME postfix-args...    postfix -c DIR ARGS under a tty (errors visible)
# Every started instance is stopped at exit by its master pid.

source "$(dirname "${BASH_SOURCE[0]}")/certs.sh"

declare -A _pf_port=()
declare -A _pf_started=()

pf_dir() { echo "$T/$1/etc"; }
pf_log() { echo "$T/$1/maillog"; }
pf_postconf() { local n=$1; shift; postconf -c "$T/$n/etc" "$@"; }

# pf_cmd NAME ARGS - run the postfix command with a tty so errors show
pf_cmd() {
    local n=$1; shift
    timeout 30 script -qec "postfix -c $T/$n/etc $*" /dev/null
}

# _pf_main_cf NAME PORT PEER-PORT - the main.cf text
_pf_main_cf() {
    local b="$T/$1" route
    cat <<CF
compatibility_level = 3.7
queue_directory = $b/spool
data_directory = $b/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.test.local
mydomain = test.local
myorigin = \$myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
biff = no
smtp_dns_support_level = disabled
maillog_file = $b/maillog
maillog_file_prefixes = $T
smtpd_tls_security_level = may
smtpd_tls_chain_files = $CERTS/rsa.pem
smtpd_tls_loglevel = 1
smtpd_client_port_logging = yes
smtp_tls_security_level = may
smtp_tls_loglevel = 1
minimal_backoff_time = 3s
maximal_backoff_time = 6s
queue_run_delay = 3s
CF
    if [ -n "$3" ]; then
        route="smtp:[127.0.0.1]:$3"
        cat <<CF
relayhost = [127.0.0.1]:$3
default_transport = $route
relay_transport = $route
local_transport = error:local delivery disabled
transport_maps = inline:{ *=$route }
CF
    else
        cat <<CF
default_transport = discard:$1 discards
relay_transport = discard:$1 discards
local_transport = discard:$1 discards
transport_maps = inline:{ *=discard:$1 }
CF
    fi
}

# _pf_master_cf PORT - the master.cf text
_pf_master_cf() {
    cat <<CF
127.0.0.1:$1 inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CF
}

# pf_make NAME PORT [PEER-PORT] - create an instance directory
pf_make() {
    local n=$1 port=$2 peer=${3:-} b="$T/$1"
    certs_make "$T/certs" || { diag "pf_make: certs_make failed"; return 1; }
    mkdir -p "$b/etc" "$b/spool" "$b/data" || return 1
    chown root:root "$b/spool"
    chown postfix:postfix "$b/data"
    chmod 755 "$b"
    _pf_main_cf "$n" "$port" "$peer" >"$b/etc/main.cf.tmp" && mv "$b/etc/main.cf.tmp" "$b/etc/main.cf"
    _pf_master_cf "$port" >"$b/etc/master.cf.tmp" && mv "$b/etc/master.cf.tmp" "$b/etc/master.cf"
    : >"$b/maillog"
    _pf_port[$n]=$port
}

# _pf_master_pid NAME - the master pid from its pid file, if it runs
_pf_master_pid() { live_pid "$T/$1/spool/pid/master.pid"; }

# pf_start NAME - check, start, wait for the SMTP port
pf_start() {
    local n=$1 out
    # check creates the queue directories (slow: only the first time)
    if [ ! -d "$T/$n/spool/public" ] && ! out=$(pf_cmd "$n" check 2>&1); then
        diag "postfix check $n failed: $out"; return 1
    fi
    if ! out=$(pf_cmd "$n" start 2>&1); then diag "postfix start $n failed: $out"; return 1; fi
    if [ -z "${_pf_started[$n]:-}" ]; then
        _pf_started[$n]=1
        at_exit "pf_stop $n"
    fi
    wait_port "${_pf_port[$n]}" 100 || { diag "postfix $n: port ${_pf_port[$n]} not up"; return 1; }
}

# pf_stop NAME - stop by the master pid (TERM, then KILL of its group)
pf_stop() {
    local n=$1 pid i
    pid=$(_pf_master_pid "$n") || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i=0; i<50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
    # children of the master share its process group
    for ((i=0; i<50; i++)); do kill -0 -- "-$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null
    return 0
}

# pf_restart NAME - full stop + start (clears throttling, import_environment)
pf_restart() { pf_stop "$1"; pf_start "$1"; }

# pf_reload NAME - reload and wait until the old smtpd processes are gone
pf_reload() {
    local n=$1 pid kids out i k alive
    pid=$(_pf_master_pid "$n") || { diag "pf_reload: $n does not run"; return 1; }
    kids=$(pgrep -P "$pid" -x smtpd 2>/dev/null | tr '\n' ' ')
    if ! out=$(pf_cmd "$n" reload 2>&1); then diag "postfix reload $n failed: $out"; return 1; fi
    for ((i=0; i<100; i++)); do
        alive=
        for k in $kids; do kill -0 "$k" 2>/dev/null && alive=1; done
        [ -z "$alive" ] && break
        sleep 0.05
    done
    return 0
}

pf_log_mark() { stat -c %s "$T/$1/maillog"; }
pf_log_since() { tail -c "+$(($2 + 1))" "$T/$1/maillog"; }

# pf_wait_log NAME MARK REGEX [TRIES] - wait for a log line (0.1 s steps)
pf_wait_log() {
    local i
    for ((i=0; i<${4:-100}; i++)); do
        pf_log_since "$1" "$2" | grep -Eq -- "$3" && return 0
        sleep 0.1
    done
    return 1
}

# pf_peer NAME PORT - a started instance that accepts and discards all mail
pf_peer() { pf_make "$1" "$2" && pf_start "$1"; }
