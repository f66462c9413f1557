#!/bin/bash
# nginx-module.t - ngx_http_segtls_module writes one gui_logs record per TLS
# connection of a private nginx: successes at each version, the exact
# failure records (disabled version, no shared cipher, plain HTTP, a client
# that rejects the certificate, a client that goes away), one record for a
# keep-alive connection with many requests, nginx -t on bad directives,
# reload, and no leak under valgrind.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/nginx.sh"

KIT=/usr/share/nginx/src
[ -r "$KIT/conf_flags" ] || skip_all "nginx-dev is not installed ($KIT)"
command -v nginx >/dev/null || skip_all "nginx is not installed"
command -v curl >/dev/null || skip_all "curl is not installed"

VERSION=$(sed -n 's/^VERSION *:= *//p' "$SEGTLS_TOP/Makefile")
TS='(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123][0-9] [012][0-9]:[0-5][0-9]:[0-6][0-9] [0-9]{4}'
CONNS=0             # TLS-port connections made to the instance "g"

ngx_segtls_module

plan 43

GUI=$T/g/logs/gui_logs
# records - the gui_logs lines after the header
records() { tail -n +4 "$GUI"; }
nrecords() { records | wc -l; }
# new_records BEFORE - wait for records past BEFORE, print them without time
new_records() {
    local before=$1 i
    for ((i = 0; i < 40; i++)); do
        [ "$(nrecords)" -gt "$before" ] && break
        sleep 0.05
    done
    sleep 0.1
    records | tail -n +$((before + 1)) | sed -E "s/^$TS //"
}
URL_PORT=$(free_port)
URL=https://127.0.0.1:$URL_PORT/

# --- the instance ---------------------------------------------------------
ngx_make g "$URL_PORT"
with_module g "    segtls_gui_log logs/gui_logs;"
out=$(ngx_cmd g -t 2>&1)
ok $? "nginx -t accepts load_module and segtls_gui_log"
ngx_start g
ok $? "nginx starts with the module"
CONNS=1             # ngx_start's port probe: no TLS, so no record

# Header of the new file.
host=$(head -c 12 /etc/machine-id 2>/dev/null | tr a-f A-F)
[ ${#host} = 12 ] || host=$(hostname)
z=$(date +%z)
off=$(( (${z:0:1}1) * (10#${z:1:2} * 3600 + 10#${z:3:2} * 60) ))
head -3 "$GUI" | sed -E "s/^$TS //" >"$T/header"
printf '%s\n' "Info: Begin Logfile" "Info: Version: $VERSION SN: $host" \
    "Info: Time offset from UTC: $off seconds" >"$T/header.want"
diff_ref "$T/header.want" "$T/header" "a new gui_logs starts with the three header lines"
like "$(head -1 "$GUI")" "^$TS Info: Begin Logfile\$" "the time is strftime(\"%a %b %e %H:%M:%S %Y\")"

# curl_record NAME WANT-PATTERN CURL-ARGS... - one connection, one record;
# WANT has @PORT@ for curl's local port
curl_record() {
    local name=$1 want=$2 before port got; shift 2
    before=$(nrecords)
    port=$(curl -s -o /dev/null -w '%{local_port}' "$@")
    CONNS=$((CONNS + 1))
    got=$(new_records "$before")
    is "$got" "${want//@PORT@/$port}" "$name"
}

# --- successes --------------------------------------------------------------
curl_record "curl TLS 1.2: one success record" \
    "Info: GUI HTTPS TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES256-GCM-SHA384 address 127.0.0.1 port @PORT@" \
    -k --tlsv1.2 --tls-max 1.2 "$URL"
curl_record "curl TLS 1.3: one success record" \
    "Info: GUI HTTPS TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384 address 127.0.0.1 port @PORT@" \
    -k --tlsv1.3 --tls-max 1.3 "$URL"
curl_record "curl TLS 1.2 with a chosen cipher: the record names it" \
    "Info: GUI HTTPS TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES128-GCM-SHA256 address 127.0.0.1 port @PORT@" \
    -k --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 "$URL"
curl_record "curl TLS 1.3 with a chosen suite: the record names it" \
    "Info: GUI HTTPS TLS success protocol TLSv1.3 cipher TLS_CHACHA20_POLY1305_SHA256 address 127.0.0.1 port @PORT@" \
    -k --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 "$URL"

# s_client_record NAME PROTO CIPHER ARGS... - a request through s_client;
# the port comes from the access log line of that request
s_client_record() {
    local name=$1 proto=$2 cipher=$3 before amark got port; shift 3
    before=$(nrecords)
    amark=$(ngx_log_mark g access.log)
    printf 'GET /?%s HTTP/1.0\r\n\r\n' "$proto" |
        timeout 10 openssl s_client -quiet -connect "127.0.0.1:$URL_PORT" "$@" >/dev/null 2>&1
    CONNS=$((CONNS + 1))
    got=$(new_records "$before")
    port=$(ngx_log_since g "$amark" access.log | sed -n 's/^127\.0\.0\.1:\([0-9]*\) .*/\1/p' | head -1)
    is "$got" "Info: GUI HTTPS TLS success protocol $proto cipher $cipher address 127.0.0.1 port $port" "$name"
}
s_client_record "openssl s_client -tls1_2: one success record" TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384 -tls1_2
s_client_record "openssl s_client -tls1_3: one success record" TLSv1.3 TLS_AES_256_GCM_SHA384 -tls1_3

# --- failures -----------------------------------------------------------------
curl_record "disabled version (TLS 1.1): the unsupported protocol record" \
    "Warning: SSL error with client 127.0.0.1:@PORT@ - (167772418, 'error:0A000102:SSL routines::unsupported protocol')" \
    -k --tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' "$URL"
curl_record "disabled version (TLS 1.0): the unsupported protocol record" \
    "Warning: SSL error with client 127.0.0.1:@PORT@ - (167772418, 'error:0A000102:SSL routines::unsupported protocol')" \
    -k --tlsv1.0 --tls-max 1.0 --ciphers 'DEFAULT:@SECLEVEL=0' "$URL"
curl_record "cipher mismatch (ECDSA suite, RSA certificate): the no shared cipher record" \
    "Warning: SSL error with client 127.0.0.1:@PORT@ - (167772353, 'error:0A0000C1:SSL routines::no shared cipher')" \
    -k --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 "$URL"
curl_record "plain HTTP to the HTTPS port: the http request record" \
    "Warning: SSL error with client 127.0.0.1:@PORT@ - (167772316, 'error:0A00009C:SSL routines::http request')" \
    "http://127.0.0.1:$URL_PORT/"
curl_record "client rejects the certificate: the unknown ca alert record" \
    "Warning: SSL error with client 127.0.0.1:@PORT@ - (167773208, 'error:0A000418:SSL routines::tlsv1 alert unknown ca')" \
    --tlsv1.2 --tls-max 1.2 "$URL"

before=$(nrecords)
timeout 10 openssl s_client -connect "127.0.0.1:$URL_PORT" -tls1_1 </dev/null >/dev/null 2>&1
CONNS=$((CONNS + 1))
like "$(new_records "$before")" \
    "^Warning: SSL error with client 127\.0\.0\.1:[0-9]+ - \(167772418, 'error:0A000102:SSL routines::unsupported protocol'\)\$" \
    "openssl s_client -tls1_1: one unsupported protocol record"

# A ClientHello cut short, then EOF: recorded when nginx closes.
before=$(nrecords)
(exec 3<>"/dev/tcp/127.0.0.1/$URL_PORT"; printf '\026\003\001\000\377\001\000' >&3; sleep 0.2)
CONNS=$((CONNS + 1))
like "$(new_records "$before")" \
    "^Warning: SSL error with client 127\.0\.0\.1:[0-9]+ - \(167772454, 'error:0A000126:SSL routines::unexpected eof while reading'\)\$" \
    "a handshake the client abandons: one unexpected eof record"

# Every record line has the time stamp and a level.
bad=$(records | grep -Evc "^$TS (Info|Warning): ")
is "$bad" 0 "every record line is '<time> <Level>: <message>'"

# --- keep-alive: many requests, one connection, one record --------------------
before=$(nrecords)
amark=$(ngx_log_mark g access.log)
ports=$(curl -sk -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
    -w '%{local_port}\n' "$URL" "$URL" "$URL" "$URL" "$URL" | sort -u)
CONNS=$((CONNS + 1))
got=$(new_records "$before")
is "$(ngx_log_since g "$amark" access.log | grep -c ' 200 ')" 5 "keep-alive: 5 requests were served"
is "$(echo "$ports" | wc -l)" 1 "keep-alive: curl reused one connection"
is "$got" "Info: GUI HTTPS TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384 address 127.0.0.1 port $ports" \
    "keep-alive: one record for the connection"

is "$(nrecords)" "$((CONNS - 1))" "one record per TLS-port connection ($((CONNS - 1)))"

# --- nginx -t on wrong values ---------------------------------------------------
ngx_make bad "$(free_port)"
cp "$T/bad/conf/nginx.conf" "$T/bad/conf/nginx.conf.orig"
# bad_conf NAME LINE PATTERN [WHERE] - nginx -t fails with PATTERN
bad_conf() {
    local name=$1 line=$2 pat=$3 out rc
    cp "$T/bad/conf/nginx.conf.orig" "$T/bad/conf/nginx.conf"
    if [ "${4:-http}" = location ]; then
        sed -i "1i load_module $MOD;" "$T/bad/conf/nginx.conf"
        sed -i "s|^        root html;|        root html;\n        location / { $line }|" "$T/bad/conf/nginx.conf"
    else
        with_module bad "    $line"
    fi
    out=$(ngx_cmd bad -t 2>&1); rc=$?
    is "$rc" 1 "nginx -t fails: $name"
    like "$out" "$pat" "nginx -t says why: $name"
}
EMERG="\\[emerg\\] [0-9#]+: "
CONFRE="in $T/bad/conf/nginx\\.conf:[0-9]+"
bad_conf "no argument" "segtls_gui_log;" \
    "${EMERG}invalid number of arguments in \"segtls_gui_log\" directive $CONFRE"
bad_conf "two arguments" "segtls_gui_log logs/a logs/b;" \
    "${EMERG}invalid number of arguments in \"segtls_gui_log\" directive $CONFRE"
bad_conf "a directory" "segtls_gui_log $T;" \
    "${EMERG}log file \"$T\" is a directory $CONFRE"
bad_conf "an empty name" "segtls_gui_log \"\";" \
    "${EMERG}invalid log file name \"\" $CONFRE"
bad_conf "twice in one block" "segtls_gui_log logs/a; segtls_gui_log logs/b;" \
    "${EMERG}\"segtls_gui_log\" directive is duplicate $CONFRE"
bad_conf "in a location" "segtls_gui_log logs/a;" \
    "${EMERG}\"segtls_gui_log\" directive is not allowed here $CONFRE" location

# --- reload -------------------------------------------------------------------
ngx_reload g
ok $? "nginx reload with the module"
curl_record "after reload a new connection still gets its record" \
    "Info: GUI HTTPS TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES256-GCM-SHA384 address 127.0.0.1 port @PORT@" \
    -k --tlsv1.2 --tls-max 1.2 "$URL"
cp "$T/g/conf/nginx.conf" "$T/g/conf/nginx.conf.good"
sed -i "s|segtls_gui_log logs/gui_logs;|segtls_gui_log $T;|" "$T/g/conf/nginx.conf"
ngx_cmd g -s reload >/dev/null 2>&1
is "$?" 1 "reload with a directory as the log is refused"
cp "$T/g/conf/nginx.conf.good" "$T/g/conf/nginx.conf"
curl_record "after the refused reload the old configuration still records" \
    "Info: GUI HTTPS TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384 address 127.0.0.1 port @PORT@" \
    -k "$URL"
mv "$GUI" "$GUI.1"
ngx_cmd g -s reopen 2>/dev/null
for ((i = 0; i < 40; i++)); do [ -e "$GUI" ] && break; sleep 0.05; done
sleep 0.2
curl_record "after rotation and USR1 the record goes to the new file" \
    "Info: GUI HTTPS TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384 address 127.0.0.1 port @PORT@" \
    -k "$URL"
like "$(head -1 "$GUI")" "^$TS Info: Begin Logfile\$" "the new file starts with the header"
ngx_stop g

# --- valgrind -------------------------------------------------------------------
# nginx itself does not free at exit what ngx_set_environment and the event
# module's init_process (the connection array) allocate: those two are
# suppressed; anything else definitely lost fails.
VG_PORT=$(free_port)
VURL=https://127.0.0.1:$VG_PORT/
cat >"$T/nginx.supp" <<'SUPP'
{
   nginx-exit-environment
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   fun:ngx_alloc
   fun:ngx_set_environment
   fun:ngx_single_process_cycle
}
{
   nginx-exit-event-process-init
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   fun:ngx_alloc
   obj:/usr/sbin/nginx
   fun:ngx_single_process_cycle
}
SUPP
# vg_start LOG - the instance "vg" in the foreground of valgrind
vg_start() {
    valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
        --suppressions="$T/nginx.supp" --log-file="$1" nginx -p "$T/vg" -c conf/nginx.conf &
    VG_PID=$!
    at_exit "kill -KILL $VG_PID"
    wait_port "$VG_PORT" 300 && wait_file "$T/vg/logs/gui_logs" 50 ||
        { diag "nginx under valgrind did not start:"; sed 's/^/# /' "$1" "$T/vg/logs/error.log" >&2; }
}
# vg_stop - graceful stop; the exit status of valgrind
vg_stop() { kill -QUIT "$VG_PID"; wait "$VG_PID"; }
# urls N URL - a curl config for N transfers of URL
urls() { local i; for ((i = 0; i < $1; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$2"; done; }

if ! command -v valgrind >/dev/null; then
    for i in 1 2 3; do ok 0 "# SKIP valgrind is not installed"; done
else
    ngx_make vg "$VG_PORT"
    with_module vg "    segtls_gui_log logs/gui_logs;"
    sed -i '1i master_process off;\ndaemon off;' "$T/vg/conf/nginx.conf"
    start=$SECONDS
    vg_start "$T/vg.log"
    # New connections: successes at 1.2 and 1.3, a refused version, plain HTTP.
    urls 120 "$VURL" | curl -sk -H 'Connection: close' --tlsv1.2 --tls-max 1.2 -K - >/dev/null
    urls 120 "$VURL" | curl -sk -H 'Connection: close' -K - >/dev/null
    urls 40 "$VURL" | curl -sk --tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' -K - >/dev/null 2>&1
    urls 20 "http://127.0.0.1:$VG_PORT/" | curl -s -K - >/dev/null 2>&1
    sleep 0.5
    n=$(tail -n +4 "$T/vg/logs/gui_logs" | wc -l)
    is "$n" 300 "under valgrind: 300 connections, one record each"
    vg_stop; rc=$?
    diag "valgrind: 300 connections, $((SECONDS - start)) s in all"
    is "$rc" 0 "valgrind: no memory error, nothing definitely lost"
    [ "$rc" = 0 ] && grep -q 'definitely lost: 0 bytes' "$T/vg.log"
    ok $? "valgrind: leak summary says definitely lost: 0 bytes"
    [ "$rc" = 0 ] || sed 's/^/# /' "$T/vg.log" | head -60 >&2
fi

done_testing
