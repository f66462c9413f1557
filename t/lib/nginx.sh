# nginx.sh - private nginx instances for segtls shell tests.
#
# Source after tap.sh. One instance lives in $T/NAME (the -p prefix) with
# conf/nginx.conf, logs/, temp/, html/. Its one server block listens on
# 127.0.0.1:PORT with ssl and includes conf/tls.conf, the per-test TLS
# settings (by default: the test RSA certificate, TLSv1.2 TLSv1.3).
#
#   ngx_make NAME PORT             create the instance
#   ngx_tls NAME < TEXT            replace conf/tls.conf with stdin
#   ngx_tls_file NAME              path of conf/tls.conf
#   ngx_start NAME / ngx_reload NAME / ngx_stop NAME
#   ngx_cmd NAME ARGS...           nginx -p PREFIX -c conf/nginx.conf ARGS
#   ngx_log_mark NAME [LOG] / ngx_log_since NAME MARK [LOG]
#                                  LOG: error.log (default) or access.log
#   ngx_segtls_module              build ngx_http_segtls_module, copy it to
#                                  $T/modules; its path in MOD
#   with_module NAME HTTP-LINES    load $MOD, add lines to the http block
# Every started instance is stopped at exit by the pid in logs/nginx.pid.

source "$(dirname "${BASH_SOURCE[0]}")/certs.sh"

declare -A _ngx_port=()
declare -A _ngx_started=()

ngx_tls_file() { echo "$T/$1/conf/tls.conf"; }
ngx_cmd() { local n=$1; shift; timeout 30 nginx -p "$T/$n" -c conf/nginx.conf "$@"; }

# ngx_tls NAME - write conf/tls.conf atomically from stdin
ngx_tls() {
    local f="$T/$1/conf/tls.conf"
    cat >"$f.tmp" && mv "$f.tmp" "$f"
}

# ngx_make NAME PORT - create an nginx prefix with one TLS server
ngx_make() {
    local n=$1 port=$2 p="$T/$1"
    certs_make "$T/certs" || { diag "ngx_make: certs_make failed"; return 1; }
    mkdir -p "$p/conf" "$p/logs" "$p/temp" "$p/html" || return 1
    chmod 755 "$p" "$p/html"
    echo "segtls test" >"$p/html/index.html"
    chmod 644 "$p/html/index.html"
    cat >"$p/conf/nginx.conf" <<CONF
worker_processes 1;
pid logs/nginx.pid;
lock_file logs/nginx.lock;
error_log logs/error.log info;
events { worker_connections 64; }
http {
    client_body_temp_path temp/body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
    log_format tls '\$remote_addr:\$remote_port "\$request" \$status proto=\$ssl_protocol cipher=\$ssl_cipher conn=\$connection';
    access_log logs/access.log tls;
    server {
        listen 127.0.0.1:$port ssl;
        server_name mta.test.local;
        root html;
        include tls.conf;
    }
}
CONF
    ngx_tls "$n" <<CONF
ssl_certificate     $CERTS/rsa-chain.crt;
ssl_certificate_key $CERTS/rsa.key;
ssl_protocols TLSv1.2 TLSv1.3;
ssl_ciphers 'HIGH:!aNULL:!MD5';
ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256;
CONF
    _ngx_port[$n]=$port
}

# _ngx_pid NAME - the master pid, if it runs
_ngx_pid() { live_pid "$T/$1/logs/nginx.pid"; }

# ngx_start NAME - test the configuration, start, wait for the port
ngx_start() {
    local n=$1 out
    if ! out=$(ngx_cmd "$n" -t 2>&1); then diag "nginx -t $n failed: $out"; return 1; fi
    if ! out=$(ngx_cmd "$n" 2>&1); then diag "nginx start $n failed: $out"; return 1; fi
    if [ -z "${_ngx_started[$n]:-}" ]; then
        _ngx_started[$n]=1
        at_exit "ngx_stop $n"
    fi
    wait_port "${_ngx_port[$n]}" 100 || { diag "nginx $n: port ${_ngx_port[$n]} not up"; return 1; }
}

# ngx_reload NAME - test, reload, wait until the old workers are gone
ngx_reload() {
    local n=$1 pid kids out i k alive
    pid=$(_ngx_pid "$n") || { diag "ngx_reload: $n does not run"; return 1; }
    if ! out=$(ngx_cmd "$n" -t 2>&1); then diag "nginx -t $n failed: $out"; return 1; fi
    kids=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ')
    if ! out=$(ngx_cmd "$n" -s reload 2>&1); then diag "nginx reload $n failed: $out"; return 1; fi
    for ((i=0; i<100; i++)); do
        alive=
        for k in $kids; do kill -0 "$k" 2>/dev/null && alive=1; done
        [ -z "$alive" ] && break
        sleep 0.05
    done
    # and a new worker is there
    for ((i=0; i<100; i++)); do
        [ -n "$(pgrep -P "$pid" 2>/dev/null)" ] && return 0
        sleep 0.05
    done
    return 1
}

# ngx_stop NAME - stop by the pid file (TERM, then KILL)
ngx_stop() {
    local n=$1 pid i
    pid=$(_ngx_pid "$n") || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i=0; i<50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    return 0
}

ngx_log_mark() { stat -c %s "$T/$1/logs/${2:-error.log}" 2>/dev/null || echo 0; }
ngx_log_since() { tail -c "+$(($2 + 1))" "$T/$1/logs/${3:-error.log}"; }

# ngx_segtls_module - the module built by make (a no-op when up to date),
# copied under a name of our own (the build may be replaced while we run):
# MOD. A failed build bails out.
ngx_segtls_module() {
    local so=${SEGTLS_BUILD:-$SEGTLS_TOP/build}/nginx/ngx_http_segtls_module.so out
    if ! out=$(make -s -C "$SEGTLS_TOP" BUILD="${SEGTLS_BUILD:-$SEGTLS_TOP/build}" "$so" 2>&1); then
        echo "Bail out! make $so failed: $out"
        exit 1
    fi
    mkdir -p "$T/modules"
    MOD=$T/modules/ngx_http_segtls_module-t$$.so
    cp "$so" "$MOD"
}

# with_module NAME HTTP-LINES - load the module, add lines to the http block
with_module() {
    local f="$T/$1/conf/nginx.conf"
    sed -i "1i load_module $MOD;" "$f"
    awk -v add="$2" '{ print } /^http \{/ { print add }' "$f" >"$f.new" && mv "$f.new" "$f"
}
