#!/bin/bash
# tlsverify.t - segtls-tlsverify against a private Postfix and nginx:
# exact per-version results, policy comparison, STARTTLS missing,
# unreachable host, JSON, renegotiation, and the error tuple shape.
# Without root (a private Postfix needs it) the nginx, unreachable and
# usage parts run; the Postfix parts are skipped.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"
source "$(dirname "$0")/lib/nginx.sh"

TV=$(bin segtls-tlsverify)
[ -x "$TV" ] || skip_all "segtls-tlsverify not built"
command -v nginx >/dev/null || skip_all "nginx not installed"
plan 38

P=$(free_port); P2=$(free_port); N=$(free_port); DEAD=$(free_port)
while [ "$P2" = "$P" ]; do P2=$(free_port); done
while [ "$N" = "$P" ] || [ "$N" = "$P2" ]; do N=$(free_port); done

# tv ARGS - run the probe; $out, $err, $rc
tv() {
    out=$("$TV" --timeout 5 "$@" 2>"$T/tv.err"); rc=$?
    err=$(cat "$T/tv.err")
}
lines() { printf '%s\n' "$@"; }

# the policies of sections 1-3, also used by 4 and 5
printf '[inbound]\nmethods=1.1-1.2\n' >"$T/inb12.conf"
printf '[inbound]\nmethods=1.2-1.3\nrenegotiation=disabled\n[gui]\nmethods=1.2-1.3\n' >"$T/inb13.conf"

if [ "$(id -u)" != 0 ] || ! command -v postfix >/dev/null; then
    skip 25 "a private Postfix needs root"
else
    # 1. Postfix allows TLS 1.2 and 1.3 only
    pf_make mta "$P"
    pf_postconf mta -e 'smtpd_tls_protocols = >=TLSv1.2' 'smtpd_tls_mandatory_protocols = >=TLSv1.2'
    pf_start mta
    ok $? "private Postfix starts"

    tv "127.0.0.1:$P"
    is "$rc" 0 ">=TLSv1.2: exit 0 without a policy"
    is "$out" "$(lines \
        "TLS v1.0  refused     (167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version')" \
        "TLS v1.1  refused     (167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version')" \
        "TLS v1.2  negotiated  TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384" \
        "TLS v1.3  negotiated  TLSv1.3 TLS_AES_256_GCM_SHA384")" ">=TLSv1.2: exactly 1.2 and 1.3 negotiate"

    # the refused version's tuple has the records' shape (SPEC section 6); the
    # client sees the server's protocol_version alert, the server logs its own
    # "unsupported protocol" (both recorded here for the records work)
    tuple=$(sed -n 's/^TLS v1.0  refused     //p' <<<"$out")
    like "$tuple" "^\([0-9]+, 'error:[0-9A-F]{8}:SSL routines::[a-z0-9 ]+'\)$" "error tuple shape (code, 'error:XXXXXXXX:lib::reason')"
    is "$(printf '%d' 0x0A00042E)" 167773230 "code is the packed 0A00042E in decimal"
    pf_wait_log mta 0 'SSL_accept error from localhost\[127\.0\.0\.1\]:[0-9]+: -1' 30
    ok $? "server side logs SSL_accept error"
    like "$(pf_log_since mta 0)" "warning: TLS library problem: error:0A000102:SSL routines::unsupported protocol:" \
        "server side error is 0A000102 unsupported protocol"

    tv "127.0.0.1:$P" --methods 1.2-1.3
    is "$rc" 0 "--methods 1.2-1.3 agrees"
    is "$(tail -1 <<<"$out")" "OK: policy negotiates exactly TLS v1.2, TLS v1.3, as the policy allows" "OK line"

    tv "127.0.0.1:$P" --methods 1.1-1.2
    is "$rc" 1 "--methods 1.1-1.2 disagrees: exit 1"
    is "$(grep '^MISMATCH' <<<"$out")" "$(lines \
        "MISMATCH: TLS v1.1 does not negotiate but the policy enables it" \
        "MISMATCH: TLS v1.3 negotiates but the policy disables it")" "exact MISMATCH lines"

    # policy from a segtls key file: the default cipher string's !TLSv1 leaves
    # only TLS v1.2 usable of 1.1-1.2
    tv "127.0.0.1:$P" --service inbound --config "$T/inb13.conf"
    is "$rc" 0 "--config inbound 1.2-1.3 agrees"
    is "$(tail -1 <<<"$out")" "OK: Inbound SMTP negotiates exactly TLS v1.2, TLS v1.3, as the policy allows" "OK line from the key file"
    tv "127.0.0.1:$P" --service inbound --config "$T/inb12.conf"
    is "$rc" 1 "--config inbound 1.1-1.2: exit 1"
    is "$(grep -v '^TLS v' <<<"$out")" "MISMATCH: TLS v1.3 negotiates but the policy disables it" \
        "usable versions come from the policy (TLS v1.1 unusable with the default ciphers)"

    # renegotiation: OpenSSL 3 refuses client renegotiation by default
    tv "127.0.0.1:$P" --renegotiation --service inbound --config "$T/inb13.conf"
    is "$(grep -v '^TLS v' <<<"$out")" "$(lines \
        "renegotiation at TLS v1.2: refused (167772499, 'error:0A000153:SSL routines::no renegotiation')" \
        "OK: Inbound SMTP negotiates exactly TLS v1.2, TLS v1.3, as the policy allows" \
        "OK: client renegotiation is refused, as inbound.renegotiation = disabled")" "renegotiation refused by default"
    is "$rc" 0 "renegotiation refused agrees with disabled"

    # 2. Postfix allows TLS 1.0 and 1.1 only, with a high cipher list; a second
    #    listener without STARTTLS; client renegotiation allowed. A client
    #    pinned to 1.2 gets the server's TLSv1.1 ServerHello and fails itself
    #    ("unsupported protocol"); pinned to 1.3 it gets the server's alert.
    pf_postconf mta -e 'smtpd_tls_protocols = >=TLSv1, <=TLSv1.1' \
        'smtpd_tls_mandatory_protocols = >=TLSv1, <=TLSv1.1' \
        'smtpd_tls_ciphers = high' 'tls_high_cipherlist = ECDHE-RSA-AES128-SHA' \
        'tls_ssl_options = 0x100'
    pf_postconf mta -M "127.0.0.1:$P2/inet=127.0.0.1:$P2 inet n - n - - smtpd -o smtpd_tls_security_level=none"
    pf_reload mta && wait_port "$P2" 100
    ok $? "reloaded with a second listener"

    tv "127.0.0.1:$P"
    is "$rc" 0 "<=TLSv1.1: exit 0"
    is "$(grep '^TLS v' <<<"$out")" "$(lines \
        "TLS v1.0  negotiated  TLSv1 ECDHE-RSA-AES128-SHA" \
        "TLS v1.1  negotiated  TLSv1.1 ECDHE-RSA-AES128-SHA" \
        "TLS v1.2  refused     (167772418, 'error:0A000102:SSL routines::unsupported protocol')" \
        "TLS v1.3  refused     (167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version')")" \
        "<=TLSv1.1: exactly 1.0 and 1.1 negotiate, with the configured cipher"

    tv "127.0.0.1:$P" --renegotiation --service inbound --config "$T/inb13.conf"
    is "$rc" 1 "policy 1.2-1.3 against a 1.0-1.1 server: exit 1"
    is "$(grep -v '^TLS v' <<<"$out")" "$(lines \
        "renegotiation at TLS v1.1: allowed" \
        "MISMATCH: TLS v1.0 negotiates but the policy disables it" \
        "MISMATCH: TLS v1.1 negotiates but the policy disables it" \
        "MISMATCH: TLS v1.2 does not negotiate but the policy enables it" \
        "MISMATCH: TLS v1.3 does not negotiate but the policy enables it" \
        "MISMATCH: client renegotiation is allowed but inbound.renegotiation = disabled")" \
        "every difference is one line; renegotiation allowed with tls_ssl_options = 0x100"

    # 3. no STARTTLS
    tv "127.0.0.1:$P2"
    is "$rc" 1 "no STARTTLS: exit 1"
    is "$out" "$(lines \
        "TLS v1.0  failed      STARTTLS not offered" \
        "TLS v1.1  failed      STARTTLS not offered" \
        "TLS v1.2  failed      STARTTLS not offered" \
        "TLS v1.3  failed      STARTTLS not offered" \
        "FAIL: the server does not offer STARTTLS")" "no STARTTLS: clear result"
    printf '[inbound]\ntls=no\n' >"$T/notls.conf"
    tv "127.0.0.1:$P2" --service inbound --config "$T/notls.conf"
    is "$rc:$(tail -1 <<<"$out")" "0:OK: STARTTLS is not offered, as inbound.tls = no requires" \
        "inbound.tls = no agrees with a server without STARTTLS"
fi

# 4. nginx, direct TLS
ngx_make web "$N"
ngx_start web
ok $? "private nginx starts"
tv "127.0.0.1:$N" --https --ca-file "$CERTS/ca.crt" --name mta.test.local
is "$rc" 0 "https: exit 0"
is "$out" "$(lines \
    "TLS v1.0  refused     (167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version')" \
    "TLS v1.1  refused     (167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version')" \
    "TLS v1.2  negotiated  TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384" \
    "TLS v1.3  negotiated  TLSv1.3 TLS_AES_256_GCM_SHA384" \
    "certificate /CN=mta.test.local; chain: ok; name mta.test.local: matches")" "https: ssl_protocols TLSv1.2 TLSv1.3"
tv "127.0.0.1:$N" --service gui --config "$T/inb13.conf" --name other.test.local --ca-file "$CERTS/ca.crt"
is "$rc" 1 "a certificate that does not match the name: exit 1"
is "$(tail -1 <<<"$out")" "FAIL: peer certificate does not match other.test.local" "name mismatch line"

# 5. --json
tv "127.0.0.1:$N" --service gui --config "$T/inb13.conf" --renegotiation --json
is "$rc" 0 "--json: exit 0"
js=$(perl -MJSON::PP -e '
    my $j = decode_json(join("", <STDIN>));
    my $v = $j->{versions};
    print join("|", $j->{kind}, $j->{port}, join(",", @{$j->{negotiated}}),
        $j->{policy}{service}, join(",", @{$j->{policy}{usable}}),
        $v->[0]{status}, $v->[0]{error_code}, $v->[0]{error},
        $v->[3]{protocol}, $v->[3]{cipher},
        ($j->{renegotiation}{allowed} ? "true" : "false"), $j->{result}, $j->{exit});' <<<"$out")
is "$js" "https|$N|1.2,1.3|gui|1.2,1.3|refused|167773230|error:0A00042E:SSL routines::tlsv1 alert protocol version|TLSv1.3|TLS_AES_256_GCM_SHA384|false|ok|0" \
    "--json parses and has the fields"

# 6. unreachable, usage
tv "127.0.0.1:$DEAD" --methods 1.2
is "$rc" 3 "unreachable: exit 3"
is "$err" "segtls-tlsverify: error: cannot reach 127.0.0.1:$DEAD: connect to 127.0.0.1:$DEAD: Connection refused" "unreachable: one error line"
tv
is "$rc" 2 "no host: exit 2"
tv "127.0.0.1:$P" --smtp --https
is "$rc:$err" "2:segtls-tlsverify: error: --smtp and --https exclude each other (try --help)" "conflicting options: exit 2"

# 7. a server that resets the connection as its handshake ends: the QUIT
# and close_notify that follow meet a reset socket (EPIPE, not SIGPIPE)
R=$(free_port)
"$SEGTLS_TOP/t/lib/resetpeer.py" "$R" "$CERTS/rsa.pem" >"$T/resetpeer.out" 2>&1 &
RP=$!
at_exit "kill $RP"
wait_port "$R" 50
tv "127.0.0.1:$R" --smtp --methods 1.2-1.3
is "$rc" 0 "a peer that resets after the handshake: exit 0, not killed by SIGPIPE"
is "$(grep -c negotiated <<<"$out")" 2 "a peer that resets after the handshake: TLS 1.2 and 1.3 negotiated"

done_testing
