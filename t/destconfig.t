#!/bin/bash
# destconfig.t - segtls destconfig and sendergroup through segtls-policyd:
# the gateway's verbs, pending/commit/clear/rollback like every setting,
# hostile entries refused with one line and nothing changed (never a map
# file), a hand-edited file checked with file:line, and segtls-policy
# answering 1,000 concurrent policy requests without a failure.
source "$(dirname "$0")/lib/tap.sh"

for p in segtls-policyd segtls segtls-apply segtls-policy; do
    [ -x "$(bin $p)" ] || skip_all "$p not built"
done
SEGTLS=$(bin segtls)
CONF=$T/segtls.conf
S=$T/policyd.sock
export SEGTLS_SOCKET=$S
: >"$CONF"
"$(bin segtls-policyd)" --foreground --config "$CONF" --state-dir "$T/state" \
    --socket "$S" 2>>"$T/policyd.log" &
PD=$!
at_exit "kill -9 $PD"
for ((i=0; i<500; i++)); do "$SEGTLS" show >/dev/null 2>&1 && break; sleep 0.01; done

# run CMD... - stdout in $OUT, stderr in $ERR, status in $RC
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err"); }
# refused WHAT ERROR CMD... - exit 1, exactly ERROR on one line, nothing pending
refused() {
    local what=$1 want=$2; shift 2
    run "$@"
    is "$RC:$ERR" "1:segtls: $want" "$what: refused with one line"
    is "$("$SEGTLS" status --json | tr -d ' \n' | grep -o '"pending":[a-z]*')" '"pending":false' \
        "$what: nothing pending"
}

run "$SEGTLS" destconfig list
is "$OUT" "Destination Controls:
  default                        preferred        (outbound.tls; versions and ciphers of Outbound SMTP)" \
    "an empty table lists the default"

# --- hostile entries ---
refused "domain with a space" 'destination "bad domain": character '"' '"' is not allowed in a domain' \
    "$SEGTLS" destconfig new "bad domain" --tls required
refused "domain with a newline" 'destination "a\nb.test": character '"'"'\n'"'"' is not allowed in a domain' \
    "$SEGTLS" destconfig new $'a\nb.test' --tls required
refused "domain with [" 'destination "[127.0.0.1]:25": character '"'"'['"'"' is not allowed in a domain' \
    "$SEGTLS" destconfig new "[127.0.0.1]:25" --tls required
refused "domain with ;" 'destination "a.test;b": character '"'"';'"'"' is not allowed in a domain' \
    "$SEGTLS" destconfig new "a.test;b" --tls required
refused "empty label" 'destination "a..test": empty label' \
    "$SEGTLS" destconfig new "a..test" --tls required
refused "the default is not an entry" 'destination "default": the default entry is outbound.tls, outbound.methods and outbound.ciphers (destconfig default)' \
    "$SEGTLS" destconfig new default --tls required
refused "unknown mode" 'tls "sometimes": must be one of no, preferred, required, preferred-verify, required-verify (destination x.test)' \
    "$SEGTLS" destconfig new x.test --tls sometimes
refused "versions outside outbound.methods" 'destination old.test: versions 1.3 are not inside outbound.methods 1.1-1.2' \
    "$SEGTLS" destconfig new old.test --tls preferred --versions 1.3
refused "versions not in sequence" 'versions "1.0,1.2": TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1 (destination old.test)' \
    "$SEGTLS" destconfig new old.test --tls preferred --versions 1.0,1.2
refused "exclude with a blank" 'exclude "RC4 MD5": character '"' '"' is not allowed in a cipher name list (destination x.test)' \
    "$SEGTLS" destconfig new x.test --tls required --exclude "RC4 MD5"
refused "cipher grade" 'ciphers "ALL:eNULL": must be high (outbound.ciphers) or medium (destination x.test)' \
    "$SEGTLS" destconfig new x.test --tls required --ciphers "ALL:eNULL"
refused "CIDR out of range" 'member "10.0.0.0/33": prefix length out of range (0-32)' \
    "$SEGTLS" sendergroup new g1 --tls required 10.0.0.0/33
refused "IPv6 CIDR out of range" 'member "2001:db8::/129": prefix length out of range (0-128)' \
    "$SEGTLS" sendergroup new g1 --tls required 2001:db8::/129
refused "host bits set" 'member "10.1.2.3/16": host bits set beyond the prefix length' \
    "$SEGTLS" sendergroup new g1 --tls required 10.1.2.3/16
refused "member with ;" 'member "mx.test;x": character '"'"';'"'"' is not allowed in a host name' \
    "$SEGTLS" sendergroup new g1 --tls required "mx.test;x"
refused "group name with a blank" 'sender group "my group": character '"' '"' is not allowed in a name (letters, digits, '"'"'_'"'"' and '"'"'-'"'"')' \
    "$SEGTLS" sendergroup new "my group" --tls required 10.0.0.0/8
refused "host name in a no group" 'member "mx.test": sender group g1 has TLS no: Postfix withholds STARTTLS by client address only, so it may hold addresses and networks, not host names' \
    "$SEGTLS" sendergroup new g1 --tls no mx.test
run "$SEGTLS" raw '{"op":"dest_set","domain":"x\ty","tls":"required"}'
is "$OUT" "{\"ok\":false,\"error\":\"destination \\\"x\\\\ty\\\": character '\\\\t' is not allowed in a domain\"}" \
    "a raw request with a tab: refused"

# --- the verbs ---
run "$SEGTLS" set outbound.methods 1.2-1.3
run "$SEGTLS" destconfig new old.test --tls preferred --versions 1.3
is "$RC" 0 "new old.test preferred 1.3 (inside 1.2-1.3 now)"
run "$SEGTLS" destconfig new old.test --tls required
is "$RC:$ERR" '1:segtls: destination "old.test": an entry exists already (use edit)' "new twice: refused"
run "$SEGTLS" destconfig edit old.test --tls required
is "$RC" 0 "edit old.test: required"
run "$SEGTLS" destconfig edit nosuch.test --tls required
is "$RC:$ERR" '1:segtls: destination "nosuch.test": no such entry' "edit of a missing entry: refused"
run "$SEGTLS" destconfig new .Partner.Test --tls required-verify --exclude "3DES:RC4"
is "$RC" 0 "new .partner.test (subdomains), upper case folded"
run "$SEGTLS" set outbound.methods 1.2
is "$RC:$ERR" '1:segtls: outbound.methods: "1.2": destination old.test: versions 1.3 are not inside outbound.methods 1.2' \
    "outbound.methods cannot leave an entry's versions behind"
run "$SEGTLS" destconfig default --tls required-verify
is "$RC" 0 "default: outbound.tls"
run "$SEGTLS" sendergroup new relays --tls required 10.1.0.0/16 192.0.2.7 mx.partner.test
is "$RC" 0 "sendergroup new relays"
run "$SEGTLS" sendergroup new other --tls preferred 10.1.0.0/16
is "$RC:$ERR" '1:segtls: member "10.1.0.0/16": already in sender group relays' "a network in one group only"
run "$SEGTLS" destconfig list
is "$OUT" "Destination Controls:
  default                        required-verify  (outbound.tls; versions and ciphers of Outbound SMTP)
  .partner.test                  required-verify  exclude 3DES:RC4
  old.test                       required         versions 1.3
(with pending changes; commit to apply them)" "list: the pending table"
run "$SEGTLS" sendergroup list
is "$OUT" "Sender groups (clients in none: inbound.tls preferred):
  relays               TLS required   10.1.0.0/16, 192.0.2.7/32, mx.partner.test
(with pending changes; commit to apply them)" "sendergroup list"
run "$SEGTLS" show
like "$OUT" $'\nPending changes:\n  outbound.methods = 1.2-1.3\n  outbound.tls = required-verify\n  destination .partner.test = required-verify exclude 3DES:RC4 \\(committed: none\\)\n  destination old.test = required versions 1.3 \\(committed: none\\)\n  sender group relays = required 10.1.0.0/16,192.0.2.7/32,mx.partner.test \\(committed: none\\)\n' \
    "show: the table changes among the pending changes"
run "$SEGTLS" commit -m "destinations"
is "$RC" 0 "commit"
like "$(cat "$CONF")" $'\\[destination old.test\\]\ntls=required\nmethods=1.3' "committed in the key file"
like "$(cat "$CONF")" $'\\[sendergroup relays\\]\ntls=required\nmembers=10.1.0.0/16,192.0.2.7/32,mx.partner.test' \
    "the sender group too"
run "$SEGTLS" destconfig delete old.test
is "$RC" 0 "delete old.test"
run "$SEGTLS" clear -y
run "$SEGTLS" destconfig list --json
like "$OUT" '"domain" : "old.test"' "clear brings it back"
run "$SEGTLS" destconfig delete old.test
run "$SEGTLS" commit -m "no old.test"
run "$SEGTLS" rollbackconfig list
like "$OUT" "destination old.test = required versions 1.3 \\(committed: none\\)" \
    "the rollback list says how the tables differ"
run "$SEGTLS" rollbackconfig restore "$("$SEGTLS" raw '{"op":"rollback_list"}' | grep -o '"id":[0-9]*' | head -1 | cut -d: -f2)"
is "$RC" 0 "rollbackconfig restore"
run "$SEGTLS" destconfig list --json
like "$OUT" '"domain" : "old.test"' "rollback restores the table"
run "$SEGTLS" clear -y

# --- a hand edit is checked with file:line, and never reaches a map ---
kill -9 "$PD"
printf '[outbound]\nmethods=1.2-1.3\n\n[destination a;b.test]\ntls=required\n' >"$T/bad.conf"
run "$(bin segtls-policyd)" --check-config --config "$T/bad.conf"
like "$ERR" "bad.conf:4: destination \"a;b.test\": character ';' is not allowed in a domain" \
    "a hand-edited hostile domain: file:line"
run "$(bin segtls-apply)" --config "$T/bad.conf" --no-nginx --postfix-dir "$T/nopf" \
    --tls-config-file "$T/pf/tls.cnf" --client-conf "$T/client.cnf" --state-dir "$T/st2"
is "$RC" 1 "segtls-apply refuses it"
ok "$([ ! -e "$T/pf/postfix-tls-policy" ]; echo $?)" "no map file written"
printf '[outbound]\nmethods=1.2\n\n[destination old.test]\ntls=preferred\nmethods=1.3\n' >"$T/bad2.conf"
run "$(bin segtls-policyd)" --check-config --config "$T/bad2.conf"
like "$ERR" "bad2.conf:4: destination old.test: versions 1.3 are not inside outbound.methods 1.2" \
    "versions outside outbound.methods in a hand edit: file:line"
printf '[sendergroup g]\ntls=required\nmembers=10.0.0.0/33\n' >"$T/bad3.conf"
run "$(bin segtls-policyd)" --check-config --config "$T/bad3.conf"
like "$ERR" 'bad3.conf:1: member "10.0.0.0/33": prefix length out of range \(0-32\)' \
    "CIDR out of range in a hand edit: file:line"

# --- segtls-policy: 1,000 concurrent requests ---
PPOL=$(free_port)
printf '#\n*\tpreferred\t*\nrelays\trequired\t127.0.0.2/32,10.1.0.0/16\nnotls\tno\t127.0.0.3/32\n# end\n' >"$T/groups"
"$(bin segtls-policy)" --listen "inet:127.0.0.1:$PPOL" --groups "$T/groups" 2>"$T/policy.log" &
POL=$!
at_exit "kill $POL 2>/dev/null"
wait_port "$PPOL" 100 || { echo "Bail out! segtls-policy"; exit 1; }
run timeout 120 python3 - "$PPOL" <<'PY'
import asyncio, sys
port = int(sys.argv[1])
N = 1000
async def one(i):
    addr = ["127.0.0.2", "10.1.200.9", "127.0.0.3", "192.0.2.1"][i % 4]
    tls = "TLSv1.3" if i % 8 == 0 else ""
    want = "530 5.7.0 Must issue a STARTTLS command first" \
        if addr in ("127.0.0.2", "10.1.200.9") and not tls else "DUNNO"
    r, w = await asyncio.open_connection("127.0.0.1", port)
    await start.wait()                  # every connection is open first
    w.write(("request=smtpd_access_policy\nprotocol_state=MAIL\nprotocol_name=ESMTP\n"
             f"client_address={addr}\nclient_name=unknown\nsender=a@b.test\n"
             f"encryption_protocol={tls}\nencryption_cipher=\n\n").encode())
    await w.drain()
    got = await asyncio.wait_for(r.readuntil(b"\n\n"), 60)
    w.close()
    return got.decode() == f"action={want}\n\n"
async def main():
    global start
    start = asyncio.Event()
    tasks = [asyncio.create_task(one(i)) for i in range(N)]
    await asyncio.sleep(0.5)
    start.set()
    res = await asyncio.gather(*tasks, return_exceptions=True)
    good = sum(1 for x in res if x is True)
    print(f"{good} of {N} answered right")
asyncio.run(main())
PY
is "$OUT" "1000 of 1000 answered right" "segtls-policy: 1,000 concurrent requests, no failure"
# a broken request closes that connection only
run timeout 10 python3 - "$PPOL" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"request=smtpd_access_policy\nBAD NAME=x\n\n")
print(repr(s.recv(100)))
t = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=10.1.0.1\n\n")
print(repr(t.recv(100)))
PY
is "$OUT" "b''
b'action=530 5.7.0 Must issue a STARTTLS command first\\n\\n'" \
    "a broken request is closed; the next client is served"
like "$(cat "$T/policy.log")" "policy request: attribute name with character 0x42; closing" \
    "and the log says why"
# the table changes: read again
printf '#\n*\trequired\t*\n# end\n' >"$T/groups.new" && mv "$T/groups.new" "$T/groups"
run timeout 10 python3 - "$PPOL" <<'PY'
import socket, sys
t = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t.sendall(b"request=smtpd_access_policy\nprotocol_state=MAIL\nclient_address=192.0.2.1\nencryption_protocol=\n\n")
print(repr(t.recv(100)))
PY
is "$OUT" "b'action=530 5.7.0 Must issue a STARTTLS command first\\n\\n'" \
    "a new table is read: inbound.tls required for clients in no group"
printf '#\n*\tpreferred\t*\nx\trequired\t10.0.0.0/33\n# end\n' >"$T/groups.new" && mv "$T/groups.new" "$T/groups"
run timeout 10 python3 - "$PPOL" <<'PY'
import socket, sys
t = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t.sendall(b"request=smtpd_access_policy\nprotocol_state=MAIL\nclient_address=192.0.2.1\nencryption_protocol=\n\n")
print(repr(t.recv(100)))
PY
is "$OUT" "b'action=530 5.7.0 Must issue a STARTTLS command first\\n\\n'" \
    "a broken table: the last good one stays in force"
like "$(cat "$T/policy.log")" "groups:3: member \"10.0.0.0/33\": prefix length out of range \(0-32\); the table read before stays in force" \
    "and the log says why"
done_testing
