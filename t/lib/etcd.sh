# etcd.sh - a private etcd cluster for segtls shell tests (Debian's etcd).
#
# Source after tap.sh. Every member listens on 127.0.0.1 only: its client
# URL is https with client certificate authentication (--client-cert-auth,
# the test CA of certs.sh), its peer URL plain http. Data and logs live in
# $T/etcd/NAME; every member started is stopped at exit by its pid.
#
#   etcd_certs                 server (IP 127.0.0.1) and client certificates
#                              under $ETCD_CERTS, signed by the test CA
#   etcd_cluster N             start members e1..eN as one new cluster; sets
#                              ETCD_ENDPOINTS ("https://127.0.0.1:P1;...")
#                              and waits until every member answers
#   etcd_start NAME            start a member again (after etcd_kill/stop)
#   etcd_kill NAME             SIGKILL a member
#   etcd_stop NAME             SIGTERM a member and wait for it
#   etcd_wait NAME             until the member answers /health (10 s)
#   etcdctl_t ARGS...          etcdctl against the cluster, with the client
#                              certificate
source "$(dirname "${BASH_SOURCE[0]}")/certs.sh"

declare -A _etcd_client=() _etcd_peer=() _etcd_pid=()
_etcd_initial=

# etcd_certs - CA-signed certificates for etcd and its clients
etcd_certs() {
    certs_make "$T/certs" || return 1
    ETCD_CERTS=$T/etcd-certs
    [ -e "$ETCD_CERTS/.done" ] && return 0
    mkdir -p "$ETCD_CERTS" || return 1
    local n
    for n in server client; do
        openssl req -new -newkey rsa:2048 -nodes -keyout "$ETCD_CERTS/$n.key" \
            -out "$ETCD_CERTS/$n.csr" -subj "/CN=etcd-$n" 2>/dev/null || return 1
        printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
            'basicConstraints=critical,CA:FALSE' \
            'keyUsage=critical,digitalSignature,keyEncipherment' \
            'extendedKeyUsage=serverAuth,clientAuth' >"$ETCD_CERTS/$n.ext"
        openssl x509 -req -in "$ETCD_CERTS/$n.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" \
            -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 \
            -extfile "$ETCD_CERTS/$n.ext" -out "$ETCD_CERTS/$n.crt" 2>/dev/null || return 1
        rm -f "$ETCD_CERTS/$n.csr" "$ETCD_CERTS/$n.ext"
    done
    cp "$CERTS/ca.crt" "$ETCD_CERTS/ca.crt"
    chmod 644 "$ETCD_CERTS"/*.crt
    chmod 600 "$ETCD_CERTS"/*.key
    touch "$ETCD_CERTS/.done"
}

# etcd_start NAME - start a member (its data directory decides whether new)
etcd_start() {
    local n=$1 d="$T/etcd/$1"
    mkdir -p "$d"
    etcd --name "$n" --data-dir "$d/data" \
        --listen-client-urls "https://127.0.0.1:${_etcd_client[$n]}" \
        --advertise-client-urls "https://127.0.0.1:${_etcd_client[$n]}" \
        --cert-file "$ETCD_CERTS/server.crt" --key-file "$ETCD_CERTS/server.key" \
        --client-cert-auth --trusted-ca-file "$ETCD_CERTS/ca.crt" \
        --listen-peer-urls "http://127.0.0.1:${_etcd_peer[$n]}" \
        --initial-advertise-peer-urls "http://127.0.0.1:${_etcd_peer[$n]}" \
        --initial-cluster "$_etcd_initial" --initial-cluster-token "segtls-test-$$" \
        --initial-cluster-state new >>"$d/log" 2>&1 &
    _etcd_pid[$n]=$!
    at_exit "etcd_kill $n"
}

# etcd_health NAME - does the member answer /health with true?
etcd_health() {
    curl -s --max-time 2 --cacert "$ETCD_CERTS/ca.crt" --cert "$ETCD_CERTS/client.crt" \
        --key "$ETCD_CERTS/client.key" "https://127.0.0.1:${_etcd_client[$1]}/health" 2>/dev/null |
        grep -q '"health":"true"'
}

# etcd_wait NAME - until the member answers (10 s)
etcd_wait() {
    local i
    for ((i = 0; i < 100; i++)); do etcd_health "$1" && return 0; sleep 0.1; done
    diag "etcd $1 does not answer: $(tail -3 "$T/etcd/$1/log")"
    return 1
}

# etcd_cluster N - members e1..eN, one new cluster
etcd_cluster() {
    local i n eps=() init=()
    etcd_certs || { diag "etcd_certs failed"; return 1; }
    for ((i = 1; i <= $1; i++)); do
        n=e$i
        _etcd_client[$n]=$(free_port)
        _etcd_peer[$n]=$(free_port)
        eps+=("https://127.0.0.1:${_etcd_client[$n]}")
        init+=("$n=http://127.0.0.1:${_etcd_peer[$n]}")
    done
    _etcd_initial=$(IFS=,; echo "${init[*]}")
    ETCD_ENDPOINTS=$(IFS=';'; echo "${eps[*]}")
    ETCD_CTL_ENDPOINTS=$(IFS=,; echo "${eps[*]}")
    for ((i = 1; i <= $1; i++)); do etcd_start "e$i"; done
    for ((i = 1; i <= $1; i++)); do etcd_wait "e$i" || return 1; done
}

# etcd_kill NAME - SIGKILL the member
etcd_kill() {
    kill -9 "${_etcd_pid[$1]}" 2>/dev/null
    wait "${_etcd_pid[$1]}" 2>/dev/null
    return 0
}

# etcd_stop NAME - SIGTERM the member and wait
etcd_stop() {
    kill -TERM "${_etcd_pid[$1]}" 2>/dev/null
    wait "${_etcd_pid[$1]}" 2>/dev/null
    return 0
}

# etcdctl_t ARGS - etcdctl against the cluster
etcdctl_t() {
    ETCDCTL_API=3 etcdctl --endpoints "$ETCD_CTL_ENDPOINTS" --cacert "$ETCD_CERTS/ca.crt" \
        --cert "$ETCD_CERTS/client.crt" --key "$ETCD_CERTS/client.key" \
        --command-timeout 5s "$@"
}
