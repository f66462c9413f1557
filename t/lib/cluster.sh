# cluster.sh - machines of a segtls cluster for the shell tests.
#
# Source after tap.sh, postfix.sh and etcd.sh (etcd_cluster first). A
# machine NAME is a private Postfix (postfix.sh, instance NAME) and a
# segtls-policyd in cluster mode (cluster "mail", machine NAME) whose
# configuration applies to that Postfix, with its own settings file,
# state directory and socket under $T/NAME-pd/. Every policyd started is
# stopped at exit by its pid.
#
#   host_make NAME [GROUP]   the Postfix (started) and the configuration
#   host_conf NAME TEXT      extra lines for [cluster] (before host_start)
#   host_start NAME          start its policyd; wait until it answers
#   host_stop NAME           SIGTERM its policyd and wait
#   hs NAME ARGS...          segtls against NAME's policyd
#   host_versions NAME       what s_client negotiates with its Postfix: "1.2 1.3"
#   cluster_json NAME        clustershow --json as NAME sees it
#   cluster_wait REV N [S]   until N machines report revision REV handled
#                            (S seconds, default 60); "took X.XX s" in WAITED
#   machine_field NAME M F   field F of machine M in NAME's clustershow

declare -A HOST_PORT=() HOST_PID=() HOST_GROUP=()

# host_make NAME [GROUP] - a Postfix and a policyd configuration
host_make() {
    local n=$1 d="$T/$1-pd"
    HOST_PORT[$n]=$(free_port)
    HOST_GROUP[$n]=${2:-Main_Group}
    pf_make "$n" "${HOST_PORT[$n]}" && pf_start "$n" || return 1
    mkdir -p "$d"
    cat >"$d/apply.conf" <<CONF
[apply]
enabled=true
postfix-dir=$(pf_dir "$n")
smtpd-service=127.0.0.1:${HOST_PORT[$n]}/inet
tls-config-file=$d/tls.cnf
client-conf=$d/client.cnf
no-nginx=true
timeout=30

[cluster]
name=mail
endpoints=$ETCD_ENDPOINTS
ca-file=$ETCD_CERTS/ca.crt
cert-file=$ETCD_CERTS/client.crt
key-file=$ETCD_CERTS/client.key
machine=$n
group=${HOST_GROUP[$n]}
CONF
}

# host_conf NAME TEXT - replace [cluster] TLS lines etc.: TEXT appended
host_conf() { printf '%s\n' "$2" >>"$T/$1-pd/apply.conf"; }

# host_start NAME - start its policyd and wait until it answers
host_start() {
    local n=$1 d="$T/$1-pd" i
    "$(bin segtls-policyd)" --foreground --config "$d/segtls.conf" --state-dir "$d/state" \
        --socket "$d/sock" --apply-config "$d/apply.conf" --cert-dir "$T" -v \
        2>>"$d/log" &
    HOST_PID[$n]=$!
    at_exit "kill -9 ${HOST_PID[$n]}; wait ${HOST_PID[$n]}"
    for ((i = 0; i < 500; i++)); do
        "$(bin segtls)" --socket "$d/sock" show >/dev/null 2>&1 && return 0
        kill -0 "${HOST_PID[$n]}" 2>/dev/null || { diag "policyd $n died: $(tail -3 "$d/log")"; return 1; }
        sleep 0.02
    done
    return 1
}

# host_stop NAME - SIGTERM its policyd and wait
host_stop() {
    kill -TERM "${HOST_PID[$1]}" 2>/dev/null
    wait "${HOST_PID[$1]}" 2>/dev/null
    return 0
}

# hs NAME ARGS - segtls against NAME's policyd
hs() { local n=$1; shift; "$(bin segtls)" --socket "$T/$n-pd/sock" "$@"; }

# host_versions NAME - the versions s_client negotiates with NAME's smtpd
host_versions() {
    local v got=()
    for v in 1.0:-tls1 1.1:-tls1_1 1.2:-tls1_2 1.3:-tls1_3; do
        if timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:${HOST_PORT[$1]}" \
            "${v#*:}" -cipher 'ALL:@SECLEVEL=0' </dev/null 2>/dev/null | grep -q '^New, TLSv1'; then
            got+=("${v%%:*}")
        fi
    done
    echo "${got[*]}"
}

# cluster_json NAME - clustershow --json
cluster_json() { hs "$1" clustershow --json 2>/dev/null; }

# _handled REV N - stdin clustershow JSON: N machines report REV (not never)
_handled() {
    perl -MJSON::PP -e '
        my ($rev, $n) = @ARGV;
        my $r = eval { decode_json(join "", <STDIN>) } or exit 1;
        my @m = grep { ($_->{revision} // 0) == $rev && $_->{result} ne "never reported" }
            @{$r->{machines} || []};
        exit(@m >= $n ? 0 : 1);' "$1" "$2"
}

# cluster_wait REV N [SECONDS] - until N machines report REV; WAITED says how long
cluster_wait() {
    local rev=$1 n=$2 limit=${3:-60} start now
    start=$(date +%s.%N)
    while :; do
        for h in "${!HOST_PID[@]}"; do
            kill -0 "${HOST_PID[$h]}" 2>/dev/null || continue
            if cluster_json "$h" | _handled "$rev" "$n"; then
                now=$(date +%s.%N)
                WAITED=$(awk -v a="$start" -v b="$now" 'BEGIN { printf "%.2f", b - a }')
                return 0
            fi
            break
        done
        now=$(date +%s.%N)
        if awk -v a="$start" -v b="$now" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
            diag "cluster_wait $rev $n: not within $limit s"
            return 1
        fi
        sleep 0.1
    done
}

# machine_field NAME M F - field F of machine M in NAME's clustershow
machine_field() {
    cluster_json "$1" | perl -MJSON::PP -e '
        my ($m, $f) = @ARGV;
        my $r = decode_json(join "", <STDIN>);
        for (@{$r->{machines}}) { print $_->{$f} // "" if $_->{machine} eq $m }' "$2" "$3"
}

# revision_of NAME - the cluster revision NAME knows
revision_of() {
    cluster_json "$1" | perl -MJSON::PP -e 'print decode_json(join "", <STDIN>)->{revision}'
}
