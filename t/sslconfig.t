#!/bin/bash
# sslconfig.t - the sslconfig dialog (SPEC section 4), byte for byte.
#
# Each t/data/sslconfig/NAME.in is fed to sslconfig on a pipe, against a
# real segtls-policyd with its own fresh config, state dir and socket.
# Stdout must equal NAME.ref; the exit status, stderr and the pending
# settings the transcript leaves behind are checked too.
source "$(dirname "$0")/lib/tap.sh"

DATA=$SEGTLS_TOP/t/data/sslconfig
SSLCONFIG=$(bin sslconfig)
POLICYD=$(bin segtls-policyd)
TLS13=TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256

# start_policyd DIR - a policyd of its own under DIR; sets SOCK and PID
start_policyd() {
    mkdir -p "$1/state"
    SOCK=$1/policyd.sock
    "$POLICYD" --foreground --config "$1/segtls.conf" --state-dir "$1/state" \
        --socket "$SOCK" >"$1/policyd.log" 2>&1 &
    PID=$!
    at_exit "kill $PID"
    wait_file "$SOCK" 100 || diag "policyd did not create $SOCK: $(cat "$1/policyd.log")"
}

# stop_policyd - stop the policyd of start_policyd
stop_policyd() {
    kill "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
}

# ctl SOCK JSON - one control request; the response line on stdout
ctl() {
    perl -MIO::Socket::UNIX -e '
        my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect $ARGV[0]: $!\n";
        print $s $ARGV[1], "\n";
        my $line = <$s>;
        print $line;' "$1" "$2"
}

# changes SOCK - "none" without pending settings, else the KEY=VALUE
# pairs in which pending differs from committed, sorted, space separated
changes() {
    ctl "$1" '{"op":"show"}' | perl -MJSON::PP -e '
        my $r = decode_json(join "", <STDIN>);
        my ($c, $p) = ($r->{committed}, $r->{pending});
        if (!defined $p) { print "none"; exit }
        print join " ", map { "$_=$p->{$_}" }
            grep { $p->{$_} ne $c->{$_} } sort keys %$p;'
}

# committed SOCK - the committed settings, one KEY=VALUE a line
committed() {
    ctl "$1" '{"op":"show"}' | perl -MJSON::PP -e '
        my $c = decode_json(join "", <STDIN>)->{committed};
        print map { "$_=$c->{$_}\n" } sort keys %$c;'
}

# transcript NAME STATUS STDERR CHANGES - run NAME.in, check everything
transcript() {
    local name=$1 d=$T/$1 status
    start_policyd "$d"
    "$SSLCONFIG" --socket "$SOCK" <"$DATA/$name.in" >"$d/out" 2>"$d/err"
    status=$?
    diff_ref "$DATA/$name.ref" "$d/out" "$name: transcript"
    is "$status" "$2" "$name: exit status"
    is "$(cat "$d/err")" "$3" "$name: stderr"
    is "$(changes "$SOCK")" "$4" "$name: pending settings"
    stop_policyd
}

EOF_EDIT="sslconfig: end of input, edit abandoned"

transcript eof_main 0 "" none
transcript leave 0 "" none
transcript gui 0 "" "gui.methods=1.2-1.3 gui.renegotiation=disabled"
transcript inbound 0 "" "inbound.ciphers=HIGH:!aNULL inbound.methods=1.1-1.3"
transcript outbound 0 "" "outbound.methods=1.0-1.2"
transcript other_client_tlsv10 0 "" "other_client.tlsv1_0=on"
transcript peer_cert_fqdn 0 "" "peer_cert.fqdn=on"
transcript peer_cert_x509 0 "" none
transcript verify 0 "" none
transcript gap 0 "" "inbound.methods=1.2"
transcript menu_refused 0 "" "gui.methods=1.3"
transcript cipher_refused 0 "" "inbound.ciphers=HIGH"
transcript eof_edit 1 "$EOF_EDIT" none
transcript eof_toggle 1 "$EOF_EDIT" none
transcript unknown 0 "" none
transcript odd_input 0 "" "gui.methods=1.2"
# a cipher-string typo: accepted, and the word OpenSSL skips is named
transcript cipher_typo 0 "" "inbound.ciphers=HIGH:MEDUIM:!aNULL"
# APPLY without an apply configuration: refused, the dialog goes on
transcript apply_none 1 "sslconfig: no apply configuration $SEGTLS_APPLY_CONFIG: nothing says where Postfix and nginx are (see segtls-policyd(8))" none

# VERIFY prints what `openssl ciphers -v` prints for the same string.
openssl ciphers -v -ciphersuites "$TLS13" AES256-SHA >"$T/want"
grep -F -x -f "$T/want" "$T/verify/out" >"$T/got"
ok "$(cmp -s "$T/want" "$T/got"; echo $?)" "verify: AES256-SHA lines equal openssl ciphers -v"
like "$(cat "$T/want")" "^TLS_AES_256_GCM_SHA384 .*AES256-SHA " "verify: openssl lists the suites"

# A newline in a cipher string never reaches the pending settings.
start_policyd "$T/inject"
committed "$SOCK" >"$T/inject/before"
resp=$(ctl "$SOCK" '{"op":"set","settings":{"inbound.ciphers":"HIGH\nsmtpd_milters = inet:evil:1"}}')
like "$resp" '"ok" *: *false' "set with a newline in inbound.ciphers is refused"
resp=$(ctl "$SOCK" '{"op":"set","settings":{"inbound.methods":"1.2-1.3","inbound.ciphers":"HIGH; smtpd_milters = inet:evil:1"}}')
like "$resp" '"ok" *: *false' "set with ';' in inbound.ciphers is refused"
"$(bin segtls)" --socket "$SOCK" set inbound.ciphers "$(printf 'HIGH\nsmtpd_milters = inet:evil:1')" \
    >/dev/null 2>"$T/inject/err"
is "$?" 1 "segtls set with a newline in inbound.ciphers: exit status 1"
like "$(cat "$T/inject/err")" "not allowed in a cipher string" "segtls set: the message names the rule"
is "$(changes "$SOCK")" none "refused sets leave no pending settings"
committed "$SOCK" >"$T/inject/after"
ok "$(cmp -s "$T/inject/before" "$T/inject/after"; echo $?)" "refused sets leave committed unchanged"

# SEGTLS_SOCKET is the default socket.
SEGTLS_SOCKET=$SOCK "$SSLCONFIG" <"$DATA/leave.in" >"$T/inject/out" 2>&1
is "$?" 0 "SEGTLS_SOCKET: exit status"
diff_ref "$DATA/leave.ref" "$T/inject/out" "SEGTLS_SOCKET: transcript"
stop_policyd

# No policyd: one line on stderr, exit 1, nothing on stdout.
"$SSLCONFIG" --socket "$T/nosuch.sock" </dev/null >"$T/out" 2>"$T/err"
is "$?" 1 "no policyd: exit status"
like "$(cat "$T/err")" "^sslconfig: cannot reach segtls-policyd at $T/nosuch.sock: " "no policyd: message"
is "$(wc -l <"$T/err")" 1 "no policyd: one line"
is "$(cat "$T/out")" "" "no policyd: no dialog"

# Options.
"$SSLCONFIG" --help >"$T/out" 2>&1
is "$?" 0 "--help: exit status"
like "$(cat "$T/out")" "--socket=PATH" "--help: names --socket"
"$SSLCONFIG" --no-such-option </dev/null >/dev/null 2>"$T/err"
is "$?" 2 "unknown option: exit status 2"
"$SSLCONFIG" extra </dev/null >/dev/null 2>"$T/err"
is "$?" 2 "extra argument: exit status 2"

done_testing
