#!/bin/bash
# destctl-atomic.t - a TLS policy map written half-way is never seen by
# Postfix: segtls-apply writes smtp_tls_policy_maps to a temporary file
# and renames it. Each round applies a large table (4096 entries, some
# 4 MB of map) to a private Postfix instance (stopped, so that the
# rounds are quick) and kills segtls-apply with SIGKILL the moment its
# temporary file appears; afterwards the map Postfix reads is whole: the
# previous table or the new one, ending in its "# end" line, and
# postmap reads it. A quarter of the rounds or more must kill segtls-apply while its
# temporary file exists (before the rename), or the test proves nothing
# and fails; how often the file was caught half written is told too.
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
A=$(md5sum <"$MAP") SA=$(stat -c %s "$MAP")
apply "$T/b.conf"
B=$(md5sum <"$MAP") SB=$(stat -c %s "$MAP")
ok "$([ "$A" != "$B" ]; echo $?)" "the two tables differ"

torn=0 half=0 killed=0
for ((r=1; r<=ROUNDS; r++)); do
    conf=$T/a.conf size=$SA; ((r % 2)) && conf=$T/b.conf size=$SB
    out=$(timeout 60 python3 - "$(bin segtls-apply)" "$conf" "$PFD" "$T" <<'PY'
import os, signal, subprocess, sys, time
apply, conf, pfd, t = sys.argv[1:]
d = t + "/pf"
# a temporary file a killed apply left is not this apply's (it removes it)
old = {n: os.stat(os.path.join(d, n)).st_ino for n in os.listdir(d)
       if n.startswith(".postfix-tls-policy.")}
p = subprocess.Popen([apply, "--config", conf, "--no-nginx", "--postfix-dir", pfd,
                      "--tls-config-file", t + "/pf/tls.cnf", "--client-conf", t + "/client.cnf",
                      "--state-dir", t + "/state"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
seen = ""
while p.poll() is None:
    for n in os.listdir(d):
        if n.startswith(".postfix-tls-policy."):
            try:
                st = os.stat(os.path.join(d, n))
            except FileNotFoundError:
                continue
            if old.get(n) == st.st_ino:
                continue
            size = st.st_size
            os.kill(p.pid, signal.SIGKILL)
            seen = "half %d" % size
            break
    if seen:
        break
p.wait()
print(seen or "done")
PY
)
    case $out in half*) sz=${out#half }
        # killed before its rename: the temporary file is still there
        ls -a "$T/pf" | grep -q '^\.postfix-tls-policy\.' && killed=$((killed + 1))
        [ "$sz" -gt 0 ] && [ "$sz" -lt "$size" ] && half=$((half + 1)) ;; esac
    now=$(md5sum <"$MAP")
    if [ "$now" != "$A" ] && [ "$now" != "$B" ]; then torn=$((torn + 1)); fi
    if ! tail -1 "$MAP" | grep -qx '# end'; then torn=$((torn + 1)); fi
    postmap -c "$PFD" -q .d4095.test "texthash:$MAP" >/dev/null || torn=$((torn + 1))
done
diag "$ROUNDS rounds: killed before the rename $killed, with the temporary file seen half written $half"
is "$torn" 0 "after every kill the map Postfix reads is whole (one of the two tables)"
ok "$([ "$killed" -ge $((ROUNDS / 4)) ]; echo $?)" \
    "segtls-apply was killed while writing its map (before the rename) in a quarter of the rounds or more"
apply "$T/a.conf"
is "$?" 0 "the next apply succeeds"
is "$(md5sum <"$MAP")" "$A" "and writes the table"
is "$(ls -a "$T/pf" | grep -c '^\.postfix-tls-policy\.')" 0 "no temporary file is left after it"
done_testing
