#!/bin/bash
# destctl-atomic.t - a TLS policy map written half-way is never seen by
# Postfix: segtls-apply writes smtp_tls_policy_maps to a temporary file
# and renames it. Each round applies a large table (4096 entries, some
# 4 MB of map) to a private Postfix instance (stopped, so that the
# rounds are quick) and kills segtls-apply with SIGKILL the moment its
# temporary file appears; afterwards the map Postfix reads is whole: the
# previous table or the new one, ending in its "# end" line, and
# postmap reads it. The rounds must catch the temporary file half
# written at least once, or the test proves nothing and fails.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"

command -v postfix >/dev/null || skip_all "postfix missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"
[ -x "$(bin segtls-apply)" ] || skip_all "segtls-apply not built"
ROUNDS=${SEGTLS_ATOMIC_ROUNDS:-12}

pf_make mta "$(free_port)" || exit 1
PFD=$(pf_dir mta)
mkdir -p "$T/pf"
# table MODE FILE - 4096 subdomain entries with long exclude lists
table() {
    local ex
    ex=$(printf 'CIPHER%04d:' $(seq 1 90)); ex=${ex%:}
    {
        printf '[outbound]\nmethods=1.2-1.3\n'
        for ((i=0; i<4096; i++)); do
            printf '\n[destination .d%04d.test]\ntls=%s\nmethods=1.3\nexclude=%s\n' "$i" "$1" "$ex"
        done
    } >"$2"
}
table required "$T/a.conf"
table preferred "$T/b.conf"
apply() {
    "$(bin segtls-apply)" --config "$1" --no-nginx --postfix-dir "$PFD" \
        --tls-config-file "$T/pf/tls.cnf" --client-conf "$T/client.cnf" \
        --state-dir "$T/state" >"$T/apply.out" 2>&1
}
apply "$T/a.conf"
is "$?" 0 "a whole apply of 4096 entries" || diag "$(cat "$T/apply.out")"
MAP=$T/pf/postfix-tls-policy
tail -1 "$MAP" | grep -qx '# end'
ok $? "the map ends in its end line"
A=$(md5sum <"$MAP")
apply "$T/b.conf"
B=$(md5sum <"$MAP")
ok "$([ "$A" != "$B" ]; echo $?)" "the two tables differ"

torn=0 half=0 killed=0
for ((r=1; r<=ROUNDS; r++)); do
    conf=$T/a.conf; ((r % 2)) && conf=$T/b.conf
    out=$(timeout 60 python3 - "$(bin segtls-apply)" "$conf" "$PFD" "$T" <<'PY'
import os, signal, subprocess, sys, time
apply, conf, pfd, t = sys.argv[1:]
p = subprocess.Popen([apply, "--config", conf, "--no-nginx", "--postfix-dir", pfd,
                      "--tls-config-file", t + "/pf/tls.cnf", "--client-conf", t + "/client.cnf",
                      "--state-dir", t + "/state"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
d = t + "/pf"
seen = ""
while p.poll() is None:
    for n in os.listdir(d):
        if n.startswith(".postfix-tls-policy."):
            try:
                size = os.stat(os.path.join(d, n)).st_size
            except FileNotFoundError:
                continue
            os.kill(p.pid, signal.SIGKILL)
            seen = "half %d" % size
            break
    if seen:
        break
p.wait()
print(seen or "done")
PY
)
    case $out in half*) killed=$((killed + 1)); sz=${out#half }
        [ "$sz" -lt "$(stat -c %s "$MAP")" ] && half=$((half + 1)) ;; esac
    now=$(md5sum <"$MAP")
    if [ "$now" != "$A" ] && [ "$now" != "$B" ]; then torn=$((torn + 1)); fi
    if ! tail -1 "$MAP" | grep -qx '# end'; then torn=$((torn + 1)); fi
    postmap -c "$PFD" -q .d4095.test "texthash:$MAP" >/dev/null || torn=$((torn + 1))
done
diag "$ROUNDS rounds: killed while writing $killed, the temporary file half written $half"
is "$torn" 0 "after every kill the map Postfix reads is whole (one of the two tables)"
ok "$([ "$half" -gt 0 ]; echo $?)" "segtls-apply was killed with its map half written at least once"
apply "$T/a.conf"
is "$?" 0 "the next apply succeeds"
is "$(md5sum <"$MAP")" "$A" "and writes the table"
is "$(ls -a "$T/pf" | grep -c '^\.postfix-tls-policy\.')" 0 "no temporary file is left after it"
done_testing
