# certs.sh - test certificates for segtls shell tests (source after tap.sh).
#
#   certs_make DIR   create (once per test run) in DIR:
#     ca.crt ca.key             test CA "segtls Test CA"
#     rsa.key rsa.crt rsa.pem   RSA-2048 leaf, CN mta.test.local,
#                               SAN mta.test.local + peer.test.local;
#                               rsa.pem = key, leaf, CA (Postfix chain file)
#     ecdsa.key ecdsa.crt ecdsa.pem   the same with a P-256 key
#     rsa-chain.crt ecdsa-chain.crt    leaf + CA (nginx ssl_certificate)
#   Sets CERTS=DIR. A second call with the same DIR does nothing.

# _certs_leaf DIR NAME KEYALG... - one leaf signed by the test CA
_certs_leaf() {
    local d=$1 name=$2; shift 2
    openssl req -new -newkey "$@" -nodes -keyout "$d/$name.key" \
        -out "$d/$name.csr" -subj "/CN=mta.test.local" 2>/dev/null || return 1
    printf '%s\n' 'subjectAltName=DNS:mta.test.local,DNS:peer.test.local' \
        'basicConstraints=critical,CA:FALSE' \
        'keyUsage=critical,digitalSignature,keyEncipherment' \
        'extendedKeyUsage=serverAuth,clientAuth' >"$d/$name.ext"
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 \
        -extfile "$d/$name.ext" -out "$d/$name.crt" 2>/dev/null || return 1
    cat "$d/$name.crt" "$d/ca.crt" >"$d/$name-chain.crt"
    cat "$d/$name.key" "$d/$name.crt" "$d/ca.crt" >"$d/$name.pem"
    rm -f "$d/$name.csr" "$d/$name.ext"
}

# certs_make DIR - test CA and leaf certificates (cached per DIR)
certs_make() {
    local d=$1
    CERTS=$d
    [ -e "$d/.done" ] && return 0
    mkdir -p "$d" || return 1
    chmod 755 "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" \
        -days 30 -sha256 -subj "/CN=segtls Test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
    _certs_leaf "$d" rsa rsa:2048 || return 1
    _certs_leaf "$d" ecdsa ec -pkeyopt ec_paramgen_curve:prime256v1 || return 1
    chmod 644 "$d"/*.crt
    chmod 600 "$d"/*.key "$d"/*.pem
    touch "$d/.done"
}
