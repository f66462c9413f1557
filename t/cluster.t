#!/bin/bash
# cluster.t - cluster mode (issue 19, SPEC 9.3): one SSL configuration for
# three machines, kept in a real three-member etcd cluster.
#
# etcd (Debian's etcd-server) runs three members on loopback ports, client
# URLs over TLS with client certificate authentication (t/lib/etcd.sh).
# Each machine is a private Postfix and a segtls-policyd in cluster mode
# applying to it (t/lib/cluster.sh). Shown here: [cluster] is checked;
# `segtls cluster join` moves each machine's settings into the cluster
# without changing what it serves (h3 serves TLS 1.3 only before and
# after); a commit at cluster level reaches every machine, proven by
# s_client against each Postfix, within a bound; a machine-level value
# stays on its machine; --level on show and set; clustershow, clusterset,
# commitdetail and rollbackconfig with levels; sslconfig at cluster level
# with "(Cluster mail)> ", CLUSTERSET and CLUSTERSHOW; a policyd without
# the client certificate etcd asks for says etcd is unreachable; and
# without [cluster] nothing of this applies. The faults are in
# cluster-faults.t.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

command -v postfix >/dev/null || skip_all "postfix missing"
command -v etcd >/dev/null && command -v etcdctl >/dev/null || skip_all "etcd-server or etcd-client missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"
[ -x "$(bin segtls-policyd)" ] && [ -x "$(bin segtls-apply)" ] || skip_all "not built"

BOUND=30                        # seconds a commit may take to reach every machine
# run CMD... - stdout in $OUT, stderr in $ERR, status in $RC
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err"); }

plan 64

etcd_cluster 3 || { echo "Bail out! the etcd cluster does not start"; exit 1; }
for h in h1 h2 h3; do host_make "$h" || { echo "Bail out! Postfix $h does not start"; exit 1; }; done

# --- [cluster] is checked like [apply] ---
# bad_conf TEXT - policyd with TEXT as its configuration: RC and ERR
bad_conf() {
    printf '%s\n' "$1" >"$T/bad.conf"
    run "$(bin segtls-policyd)" --foreground --config "$T/bad.segtls.conf" --state-dir "$T/bad-state" \
        --socket "$T/bad.sock" --apply-config "$T/bad.conf"
}
F="1 segtls-policyd: fatal: $T/bad.conf"
bad_conf $'[cluster]\nendpoints=https://127.0.0.1:1'
is "$RC $ERR" "$F:1: [cluster] needs name= (the cluster's name)" "[cluster] without a name: refused, file:line"
bad_conf $'[cluster]\nname=mail\nendpoints=https://127.0.0.1:1;ftp://x'
is "$RC $ERR" "$F:3: cluster.endpoints: etcd endpoint \"ftp://x\": expected http://HOST:PORT or https://HOST:PORT" \
    "an endpoint that is no http(s) URL: refused"
bad_conf $'[cluster]\nname=mail\nendpoints=https://127.0.0.1:1\ncert-file=/etc/x.crt'
is "$RC $ERR" "$F:4: cluster.cert-file and cluster.key-file go together" "a client certificate without its key: refused"
bad_conf $'[cluster]\nname=mail\nendpoints=https://127.0.0.1:1\nmachine=a b'
is "$RC $ERR" "$F:4: cluster.machine: machine \"a b\": a machine name is 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit" \
    "a machine name with a blank: refused"
bad_conf $'[cluster]\nname=mail\nendpoints=https://127.0.0.1:1\nleader=yes'
is "$RC $ERR" "$F:4: unknown key \"leader\" in [cluster]" "an unknown key in [cluster]: refused"

# --- h3 serves TLS 1.3 only before it joins (its own segtls-apply) ---
printf '[inbound]\nmethods=1.3\n' >"$T/h3-pd/segtls.conf"
"$(bin segtls-apply)" --config "$T/h3-pd/segtls.conf" --postfix-dir "$(pf_dir h3)" \
    --smtpd-service "127.0.0.1:${HOST_PORT[h3]}/inet" --tls-config-file "$T/h3-pd/tls.cnf" \
    --client-conf "$T/h3-pd/client.cnf" --no-nginx --state-dir "$T/h3-pd/state" >/dev/null 2>&1
is "$(host_versions h3)" "1.3" "h3 serves TLS 1.3 only before it joins"

for h in h1 h2 h3; do host_start "$h" || { echo "Bail out! policyd $h does not start"; exit 1; }; done

# --- before joining ---
run hs h1 status
like "$RC $OUT" $'^1 .*\nCluster mail: machine h1 in group Main_Group, etcd https://127\\.0\\.0\\.1:[0-9]+\nCluster mail: this machine has not joined \\(segtls cluster join\\)\n' \
    "status before joining: not joined, exit 1"
run hs h1 set inbound.methods 1.2
is "$RC $ERR" "1 segtls: cluster mail has no configuration yet: run segtls cluster join" \
    "a change before the cluster exists: refused"

# --- join: each machine keeps serving what it serves ---
run hs h1 cluster join
like "$RC $OUT" "^0 Machine h1 joined group Main_Group of cluster mail as revision [0-9]+; it serves what it served before.\$" \
    "h1 joins: the cluster takes its settings"
run hs h2 cluster join
like "$RC $OUT" "^0 Machine h2 joined group Main_Group of cluster mail as revision [0-9]+; it serves what it served before.\$" \
    "h2 joins"
before=$(md5sum <"$(pf_dir h3)/main.cf")
run hs h3 cluster join
like "$RC $OUT" $'^0 Machine h3 joined group Main_Group of cluster mail as revision [0-9]+; it serves what it served before.\nSet at machine level, where it differs from the cluster: inbound.methods$' \
    "h3 joins: its difference becomes a machine-level value"
is "$(md5sum <"$(pf_dir h3)/main.cf")" "$before" "h3's join changes nothing in its Postfix"
is "$(host_versions h3)" "1.3" "h3 still serves TLS 1.3 only after joining"
run hs h1 cluster join
like "$RC $OUT" "^0 Machine h1 is already in group Main_Group of cluster mail \\(revision [0-9]+\\)\\.\$" \
    "joining again: already a member"
run hs h2 clustershow
like "$OUT" $'\n  inbound.methods        cluster            1.1-1.2\n  inbound.methods        machine:h3         1.3\n' \
    "clustershow: inbound.methods at cluster level, and h3's own value"

# --- one commit at cluster level reaches every machine ---
hs h1 set inbound.methods 1.2-1.3 >/dev/null
run hs h1 commit -m "TLS 1.3 for all"
like "$RC $OUT" $'^0 Changes committed as revision [0-9]+: [^\n]+\n' "h1 commits at cluster level"
like "$OUT" "Inbound SMTP 127.0.0.1:${HOST_PORT[h1]}/inet \\(127.0.0.1:${HOST_PORT[h1]}\\): TLS v1.0 refused, TLS v1.1 refused, TLS v1.2 negotiated .*TLS v1.3 negotiated" \
    "the commit answers with h1's own probes"
R1=$(revision_of h1)
cluster_wait "$R1" 3 "$BOUND"
ok $? "every machine reports revision $R1 within $BOUND s"
diag "revision $R1 reported by all 3 machines $WAITED s after the commit returned"
is "$(host_versions h1) / $(host_versions h2) / $(host_versions h3)" "1.2 1.3 / 1.2 1.3 / 1.3" \
    "s_client: h1 and h2 negotiate 1.2 and 1.3; h3 keeps its own 1.3"
run hs h2 clustershow
like "$OUT" $'\nMachines:\n  h1 \\(group Main_Group\\): revision '"$R1"$' applied \\([^)]+\\); live Inbound SMTP 1.2-1.3\n  h2 \\(group Main_Group\\): revision '"$R1"$' applied \\([^)]+\\); live Inbound SMTP 1.2-1.3\n  h3 \\(group Main_Group\\): revision '"$R1"$' applied \\([^)]+\\); live Inbound SMTP 1.3$' \
    "clustershow: every machine at the revision, with its live versions"

# --- h3's own value deleted: it inherits the cluster's ---
run hs h2 clusterset --delete inbound machine:h3
is "$RC $OUT" "0 The inbound values set at machine:h3 are deleted; it inherits them again (pending: commit to apply)." \
    "clusterset --delete inbound machine:h3"
run hs h2 clustershow
like "$OUT" $'\nPending changes of this machine:\n  inbound.methods        machine:h3         \\(removed: inherited again\\)\n\nMachines:' \
    "clustershow lists the pending removal"
hs h2 commit -m "h3 like everyone" >/dev/null
R2=$(revision_of h2)
cluster_wait "$R2" 3 "$BOUND"
ok $? "every machine reports revision $R2"
is "$(host_versions h1) / $(host_versions h2) / $(host_versions h3)" "1.2 1.3 / 1.2 1.3 / 1.2 1.3" \
    "s_client: all three negotiate 1.2 and 1.3"

# --- a machine-level value stays on its machine ---
run hs h1 set --level machine:h2 inbound.methods 1.3
is "$RC" 0 "set --level machine:h2 inbound.methods 1.3 (from h1)"
run hs h1 show --level machine:h2
like "$OUT" $'^Cluster mail, revision '"$R2"$', at machine:h2:\n.*\nPending changes:\n  inbound.methods = 1.3\n' \
    "show --level machine:h2: the pending value there"
run hs h1 show
like "$OUT" $'^Cluster mail, revision '"$R2"$', as machine h1 sees it:\n.*\ninbound.methods = 1.2-1.3\n.*\nPending changes at other levels \\(segtls clustershow\\).' \
    "show on h1: its own settings unchanged, the change is elsewhere"
hs h1 commit -m "h2 TLS 1.3 only" >/dev/null
R3=$(revision_of h1)
cluster_wait "$R3" 3 "$BOUND"
is "$(host_versions h1) / $(host_versions h2) / $(host_versions h3)" "1.2 1.3 / 1.3 / 1.2 1.3" \
    "s_client: only h2 changed"
hs h3 set inbound.methods 1.2 >/dev/null
hs h3 commit -m "TLS 1.2 for the cluster" >/dev/null
R4=$(revision_of h3)
cluster_wait "$R4" 3 "$BOUND"
ok $? "every machine reports revision $R4"
is "$(host_versions h1) / $(host_versions h2) / $(host_versions h3)" "1.2 / 1.3 / 1.2" \
    "s_client: the cluster commit reaches h1 and h3; h2 keeps its own value"
run hs h1 show --level group:Main_Group
like "$OUT" $'\ninbound.methods = 1.2\n' "show --level group:Main_Group: the cluster's value"
run hs h1 commitdetail
like "$OUT" $'^Last commit: .* by root\nComment: TLS 1.2 for the cluster\nChanges:\n  inbound.methods at cluster: 1.2-1.3 -> 1.2\nThe configuration before it is saved for rollback as '"$R3"'\.$' \
    "commitdetail: the change and its level; the saved configuration is the revision before"

# --- rollback at cluster level: the saved revision becomes pending ---
run hs h1 rollbackconfig list
like "$OUT" "^$R3\\. before: TLS 1.2 for the cluster, committed .* by root
    inbound.methods = 1.2-1.3 \\(committed: 1.2\\)" "rollbackconfig list: by revision, what it restores here"
run hs h1 rollbackconfig restore "$R3"
is "$RC" 0 "rollbackconfig restore $R3"
run hs h1 clustershow
like "$OUT" $'\nPending changes of this machine:\n  inbound.methods        cluster            1.2-1.3\n' \
    "the restored configuration is pending at cluster level"
hs h1 clear -y >/dev/null
run hs h1 show
like "$OUT" $'\nNo pending changes.\n' "clear drops it"

# --- the dialog at cluster level ---
SSLC=$(bin sslconfig)
printf '\n' | "$SSLC" --socket "$T/h1-pd/sock" >"$T/dlg" 2>&1
like "$(cat "$T/dlg")" $'\n- CLUSTERSET - Set how ssl settings are configured in a cluster.\n- CLUSTERSHOW - Display how ssl settings are configured in a cluster.\n\\(Cluster mail\\)> $' \
    "sslconfig: CLUSTERSET, CLUSTERSHOW and the prompt (Cluster mail)>"
like "$(cat "$T/dlg")" $'^sslconfig settings:\n  GUI HTTPS method:  tlsv1_1tlsv1_2\n(.*\n)*  Inbound SMTP method:  tlsv1_2\n' \
    "sslconfig lists the cluster level"
printf '\n' | "$SSLC" --socket "$T/h1-pd/sock" --level machine:h2 >"$T/dlg" 2>&1
like "$(cat "$T/dlg")" $'  Inbound SMTP method:  tlsv1_3\n(.*\n)*\\(Machine h2\\)> $' \
    "sslconfig --level machine:h2: h2's view, prompt (Machine h2)>"
printf 'clustershow\n\n' | "$SSLC" --socket "$T/h1-pd/sock" >"$T/dlg" 2>&1
like "$(cat "$T/dlg")" $'\\(Cluster mail\\)> \nssl settings of cluster mail \\(revision '"$R4"$'\\):\n  Cluster mail: every setting\n  Machine h2:\n    inbound.methods = 1.3\n\n' \
    "CLUSTERSHOW: where the ssl settings are set"
printf 'clusterset\n4\n1\n1\n\n' | "$SSLC" --socket "$T/h1-pd/sock" >"$T/dlg" 2>&1
RC=$?
like "$(cat "$T/dlg")" $'\nWhich settings do you want to move\\?\n1. All ssl settings\n2. GUI HTTPS\n3. Inbound SMTP\n4. Outbound SMTP\n5. Other TLS client services\n6. Peer certificate validation\n\\[1\\]> \nMove them from:\n1. Cluster mail\n\\[1\\]> \nMove them to:\n1. Group Main_Group\n2. Machine h1\n3. Machine h2\n4. Machine h3\n\\[\\]> \nOutbound SMTP settings of Cluster mail now set at Group Main_Group.\n' \
    "CLUSTERSET: Outbound SMTP from the cluster to the group"
like "$RC $(cat "$T/dlg")" $'^0 .*\nYou have uncommitted changes. Use "segtls commit" to commit them or "segtls clear" to discard them.$' \
    "sslconfig leaves with the change pending"
run hs h1 clustershow
like "$OUT" $'\nPending changes of this machine:\n  outbound.methods       group:Main_Group   1.1-1.2\n  outbound.ciphers       group:Main_Group   ECDH' \
    "the group now holds the Outbound SMTP values (pending)"
printf 'inbound\n1-3\nALL:@SECLEVEL=0\nN\n\n' | "$SSLC" --socket "$T/h1-pd/sock" --level machine:h3 >/dev/null 2>&1
run hs h1 clustershow
like "$OUT" $'\n  inbound.methods        machine:h3         1.1-1.3\n  inbound.ciphers        machine:h3         ALL:@SECLEVEL=0\n  inbound.renegotiation  machine:h3         disabled\n' \
    "an edit in sslconfig --level machine:h3 is set at that level"
hs h1 clear -y >/dev/null

# --- status ---
run hs h1 status
like "$RC $OUT" $'^0 .*\nCluster mail: machine h1 in group Main_Group, etcd https://127\\.0\\.0\\.1:[0-9]+\nCluster mail: revision '"$R4"$' applied here\n' \
    "status: the revision applied here, exit 0"
run hs h1 status --json
like "$OUT" '"cluster" : \{[^}]*"reachable" : true' "status --json: the cluster member"

# --- levels are checked ---
run hs h1 set --level rack:1 inbound.methods 1.2
is "$RC $ERR" "2 segtls: set: --level: level \"rack:1\": expected cluster, group:NAME or machine:NAME (try segtls set --help)" \
    "a bad level: usage error, exit 2"
run hs h1 set --level machine:h2 inbound.methods 1.0,1.2
is "$RC $ERR" "1 segtls: inbound.methods: \"1.0,1.2\": TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1" \
    "a bad value at a machine level: refused as anywhere"
run hs h1 clusterset inbound.methods machine:h1 cluster
is "$RC $ERR" "1 segtls: inbound.methods: not set at machine:h1" "clusterset from a level that does not hold it: refused"
run hs h1 clusterset tls13 cluster machine:h1
like "$RC $ERR" "^2 segtls: clusterset: \"tls13\": not a setting, a service" "clusterset of something that is no setting: usage error"
run hs h1 raw '{"op":"clusterset","keys":["inbound.methods"],"from":"cluster","to":7}'
is "$OUT" '{"ok":false,"error":"member \"to\" must be a string or null"}' "clusterset over the socket: types checked"
run hs h1 show
like "$OUT" $'\nNo pending changes.\n' "refused changes left nothing pending"

# --- the etcd client certificate: without it etcd refuses ---
mkdir -p "$T/h4-pd"
cat >"$T/h4-pd/apply.conf" <<CONF
[cluster]
name=mail
endpoints=$ETCD_ENDPOINTS
ca-file=$ETCD_CERTS/ca.crt
machine=h4
CONF
HOST_PORT[h4]=0
host_start h4
ok $? "a policyd without the client certificate starts"
run hs h4 status
CERT_REFUSED='(Server required TLS certificate|Peer sent fatal TLS alert: Certificate is bad)'
like "$RC $OUT" $'^1 .*\nCluster mail: etcd unreachable since [^(]+ \\((cannot reach etcd \\(https://127\\.0\\.0\\.1:[0-9]+(, https://127\\.0\\.0\\.1:[0-9]+){2}\\)|etcd watch at https://127\\.0\\.0\\.1:[0-9]+): '"$CERT_REFUSED"$'\\); serving the last applied configuration \\(revision 0\\)\n' \
    "without the client certificate: etcd unreachable, said in status, exit 1"
run hs h4 cluster join
like "$RC $ERR" "^1 segtls: cannot reach etcd \\(https://[^)]+\\): $CERT_REFUSED\$" \
    "join without the client certificate: refused, the certificate named as the reason"
host_stop h4
unset 'HOST_PID[h4]'

# --- without [cluster] everything stays as it was ---
mkdir -p "$T/plain"
"$(bin segtls-policyd)" --foreground --config "$T/plain/segtls.conf" --state-dir "$T/plain/state" \
    --socket "$T/plain/sock" --apply-config "$T/plain/none.conf" 2>"$T/plain/log" &
PLAIN=$!
at_exit "kill -9 $PLAIN; wait $PLAIN"
wait_file "$T/plain/sock"
run "$(bin segtls)" --socket "$T/plain/sock" set --level cluster inbound.methods 1.2
is "$RC $ERR" "1 segtls: not in a cluster: level cluster needs cluster mode ([cluster] in segtls-policyd's configuration)" \
    "file store: --level refused"
run "$(bin segtls)" --socket "$T/plain/sock" clustershow
is "$RC $ERR" "1 segtls: not in a cluster: segtls-policyd runs without [cluster] in its configuration" \
    "file store: clustershow refused"
run "$(bin segtls)" --socket "$T/plain/sock" set inbound.methods 1.2
is "$RC" 0 "file store: set as before"
run "$(bin segtls)" --socket "$T/plain/sock" show
like "$OUT" $'^gui.methods = 1.1-1.2\n(.*\n)*Pending changes:\n  inbound.methods = 1.2\n' \
    "file store: show as before (no cluster line)"
run "$(bin segtls)" --socket "$T/plain/sock" status
unlike_cluster=$([[ $OUT == *"Cluster "* ]] && echo yes || echo no)
is "$unlike_cluster" "no" "file store: status has no cluster line"

# --- Destination Controls are one machine's: refused in cluster mode ---
run hs h1 destconfig new partner.test --tls required
is "$RC $ERR" "1 segtls: Destination Controls and sender groups are not kept in cluster mode yet: edit them on a machine without [cluster]" \
    "cluster mode: a Destination Controls entry is refused, says why"

# --- the three machines' logs: no error, no warning ---
for h in h1 h2 h3; do
    bad=$(grep -E 'error|fatal|warning' "$T/$h-pd/log" | head -3)
    is "$bad" "" "policyd $h logged no error or warning"
done
done_testing
