# webui.sh - the web UI of segtls-policyd behind a private nginx, for tests.
#
# Source after tap.sh and nginx.sh. Needs root (useradd, chpasswd, PAM).
#
#   webui_users                  test accounts, removed at exit:
#                                $WADM (in group $WADMG: admin), $WRO (in
#                                $WROG: read only), $WOUT (in neither),
#                                $WTHR (for the throttle); password $WPASS
#   webui_nginx NAME PORT SOCK GUILOG
#                                a private nginx whose one server is the
#                                shipped conf/nginx-segtls-webui.conf (port,
#                                socket, gui_logs and include of this test),
#                                workers nobody:nogroup; the include is
#                                conf/tls.conf as ngx_make made it; it
#                                loads $MOD (ngx_segtls_module, nginx.sh)
#   webui_policyd ARGS...        segtls-policyd ($WPOLICYD, default the
#                                build's) in the foreground with its
#                                web UI on $WSOCK (group nogroup, admin
#                                group $WADMG, read group $WROG); pid in
#                                $WPD, log in $T/policyd.log; waits until
#                                the web socket answers
#   wcurl ARGS...                curl -sk against https://127.0.0.1:$WPORT
#                                (prefix paths with $WURL)
#   wlogin USER                  POST /api/v1/session: cookie in $WCOOKIE,
#                                CSRF token in $WCSRF

WPASS="Pw-$(openssl rand -hex 6)"
WSUF=$$

# webui_users - accounts and groups of this test run
webui_users() {
    WADMG=sgtadm$WSUF; WROG=sgtro$WSUF
    WADM=sgtad$WSUF; WRO=sgtrd$WSUF; WOUT=sgtou$WSUF; WTHR=sgtth$WSUF
    groupadd "$WADMG" && groupadd "$WROG" || return 1
    at_exit "groupdel $WADMG; groupdel $WROG"
    local u name grp
    for u in "$WADM:$WADMG" "$WRO:$WROG" "$WOUT:" "$WTHR:$WROG"; do
        name=${u%%:*}; grp=${u#*:}
        useradd -M -N -s /usr/sbin/nologin "$name" || return 1
        at_exit "userdel $name"
        [ -z "$grp" ] || usermod -a -G "$grp" "$name" || return 1
        echo "$name:$WPASS" | chpasswd || return 1
    done
}

# webui_nginx NAME PORT SOCK GUILOG - nginx with the shipped web UI server block
webui_nginx() {
    local n=$1 port=$2 sock=$3 log=$4 p="$T/$1"
    ngx_make "$n" "$port" || return 1
    sed -e "s|listen 443 ssl;|listen 127.0.0.1:$port ssl;|" \
        -e "s|@NGINX_INCLUDE@|$p/conf/tls.conf|" \
        -e "s|segtls_gui_log @LOCALSTATEDIR@/log/segtls/gui_logs;|segtls_gui_log $log;|" \
        -e "s|http://unix:@RUNDIR@/webui.sock:|http://unix:$sock:|" \
        "$SEGTLS_TOP/conf/nginx-segtls-webui.conf" >"$p/conf/segtls-webui.conf"
    if grep -v '^ *#' "$p/conf/segtls-webui.conf" | grep -q '@'; then
        diag "webui_nginx: a placeholder is left: $(grep -v '^ *#' "$p/conf/segtls-webui.conf" | grep '@')"
        return 1
    fi
    cat >"$p/conf/nginx.conf" <<CONF
load_module $MOD;
user nobody nogroup;
worker_processes 1;
pid logs/nginx.pid;
lock_file logs/nginx.lock;
error_log logs/error.log info;
events { worker_connections 512; }
http {
    client_body_temp_path temp/body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
    access_log logs/access.log;
    include $p/conf/segtls-webui.conf;
}
CONF
    WPORT=$port
    WURL=https://127.0.0.1:$port
}

# webui_policyd ARGS... - the daemon with its web UI; FALSE when it does not come up
webui_policyd() {
    local i
    "${WPOLICYD:-$(bin segtls-policyd)}" --foreground --web-socket "$WSOCK" --web-group nogroup \
        --web-admin-group "$WADMG" --web-read-group "$WROG" --pam-service segtls-test \
        --cert-dir "$T" \
        "$@" 2>>"$T/policyd.log" &
    WPD=$!
    at_exit "kill -9 $WPD"
    for ((i = 0; i < 500; i++)); do
        [ -S "$WSOCK" ] && curl -s --unix-socket "$WSOCK" -o /dev/null http://x/login && return 0
        kill -0 "$WPD" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}

wcurl() { curl -sk --max-time 60 "$@"; }

# wlogin USER - a session of USER: $WCOOKIE, $WCSRF
wlogin() {
    local out
    out=$(wcurl -D "$T/login.h" -H 'Content-Type: application/json' \
        -d "{\"user\":\"$1\",\"password\":\"$WPASS\"}" "$WURL/api/v1/session")
    WCOOKIE=$(sed -n 's/^[Ss]et-[Cc]ookie: \(segtls_session=[0-9a-f]*\);.*/\1/p' "$T/login.h")
    WCSRF=$(printf '%s' "$out" | sed -n 's/.*"csrf_token" : "\([0-9a-f]*\)".*/\1/p')
    [ -n "$WCOOKIE" ] && [ -n "$WCSRF" ]
}
