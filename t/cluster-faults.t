#!/bin/bash
# cluster-faults.t - cluster mode under faults (issue 19): a real
# three-member etcd cluster on loopback and three machines, each a private
# Postfix and a segtls-policyd in cluster mode (t/lib/etcd.sh,
# t/lib/cluster.sh).
#
#  - an etcd member killed while commits go on: every commit answers ok,
#    none is lost (the rollback history holds each one, in order), and
#    every machine ends on the same last revision, proven by s_client;
#  - a policyd stopped while two commits are made: started again, it
#    applies the latest (not the one in between) and reports it;
#  - an apply that fails on one machine only (its Postfix has a master.cf
#    override the probe disagrees with): that machine rolls back and
#    reports why, the others keep the new settings, clustershow and its
#    status show the split; once the override is gone it follows again;
#  - two commits at once from two machines: exactly one wins, the other
#    is told which revision came first, keeps its changes pending and
#    commits them afterwards;
#  - etcd gone altogether: every machine keeps serving what it applied
#    and says so in status; changes are refused; when etcd is back the
#    machines follow again.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/postfix.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

command -v postfix >/dev/null || skip_all "postfix missing"
command -v etcd >/dev/null && command -v etcdctl >/dev/null || skip_all "etcd-server or etcd-client missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (private Postfix)"
[ -x "$(bin segtls-policyd)" ] && [ -x "$(bin segtls-apply)" ] || skip_all "not built"

BOUND=30
L="[^"$'\n'"]*"                 # the rest of a line, in a regex
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err"); }
# all_versions - what s_client negotiates with h1, h2, h3
all_versions() { echo "$(host_versions h1) / $(host_versions h2) / $(host_versions h3)"; }

plan 37

etcd_cluster 3 || { echo "Bail out! the etcd cluster does not start"; exit 1; }
for h in h1 h2 h3; do
    host_make "$h" && host_start "$h" || { echo "Bail out! machine $h does not start"; exit 1; }
    hs "$h" cluster join >/dev/null || { echo "Bail out! $h cannot join"; exit 1; }
done

# --- an etcd member killed during commits: none lost, none diverges ---
# e1 is the first endpoint of every machine: all of them talk to it
values=(1.2 1.2-1.3 1.3 1.2 1.2-1.3 1.3)
fails=0
for i in 0 1 2 3 4 5; do
    hs h1 set inbound.methods "${values[$i]}" >/dev/null 2>&1
    hs h1 commit -m "commit $i" >"$T/c$i.out" 2>"$T/c$i.err" &
    CPID=$!
    if [ "$i" = 2 ]; then
        sleep 0.2
        etcd_kill e1
    fi
    wait "$CPID" || { fails=$((fails + 1)); diag "commit $i: $(cat "$T/c$i.err")"; }
done
is "$fails" 0 "six commits, e1 killed during the third: every commit answers ok"
R=$(revision_of h1)
cluster_wait "$R" 3 "$BOUND"
ok $? "all three machines report the last revision $R"
is "$(all_versions)" "1.3 / 1.3 / 1.3" "s_client: all three serve the last commit's TLS 1.3"
run hs h2 rollbackconfig list
is "$(sed -n 's/^[0-9]*\. before: \(commit [0-9]\), .*/\1/p' <<<"$OUT" | head -6 | tr '\n' ' ')" \
    "commit 5 commit 4 commit 3 commit 2 commit 1 commit 0 " \
    "the rollback history holds every commit, newest first: none was lost"
run etcdctl_t get --print-value-only /segtls/mail/config
like "$OUT" '"comment":"commit 5"' "etcd's committed configuration is the last commit's (etcdctl)"
live=$(cluster_json h2 | perl -MJSON::PP -e '
    my $r = decode_json(join "", <STDIN>);
    print join " ", map { "$_->{machine}:$_->{revision}:$_->{result}:$_->{live}{inbound}" } @{$r->{machines}}')
is "$live" "h1:$R:applied:1.3 h2:$R:applied:1.3 h3:$R:applied:1.3" \
    "clustershow: the same revision, applied, the same live versions everywhere"
etcd_start e1
etcd_wait e1
ok $? "e1 comes back with its data and rejoins"

# --- a machine that was down catches up with the latest ---
host_stop h3
hs h1 set inbound.methods 1.2 >/dev/null
hs h1 commit -m "while h3 is down 1" >/dev/null
RX=$(revision_of h1)
hs h1 set inbound.methods 1.2-1.3 >/dev/null
hs h1 commit -m "while h3 is down 2" >/dev/null
RY=$(revision_of h1)
cluster_wait "$RY" 2 "$BOUND"
is "$(host_versions h3)" "1.3" "h3 down: its Postfix still serves what it had"
run hs h2 clustershow
like "$OUT" "  h3 \\(group Main_Group\\): revision $R applied $L; behind: the cluster is at revision $RY" \
    "clustershow: h3 is behind"
mark=$(wc -l <"$T/h3-pd/log")
host_start h3
cluster_wait "$RY" 3 "$BOUND"
ok $? "h3 started again reports revision $RY within $BOUND s"
is "$(host_versions h3)" "1.2 1.3" "h3 serves the latest commit"
log=$(tail -n "+$((mark + 1))" "$T/h3-pd/log")
like "$log" "cluster revision $RY: running" "h3 applied revision $RY"
[[ $log == *"cluster revision $RX:"* ]]
is "$?" 1 "h3 did not apply revision $RX, which was already replaced"
run hs h3 status
like "$RC $OUT" $'^0 .*\nCluster mail: revision '"$RY"$' applied here\n' "h3's status: the latest applied, exit 0"

# --- an apply that fails on one machine only ---
# (a main.cf setting segtls does not own: no SHA-1 cipher, so no TLS 1.1)
postconf -c "$(pf_dir h2)" -e "smtpd_tls_exclude_ciphers = SHA1"
pf_reload h2
hs h1 set inbound.methods 1.1-1.3 inbound.ciphers 'ALL:@SECLEVEL=0' >/dev/null
run hs h1 commit -m "TLS 1.1 again"
is "$RC" 0 "the commit succeeds on h1"
RF=$(revision_of h1)
cluster_wait "$RF" 3 "$BOUND"
ok $? "all three report revision $RF"
is "$(all_versions)" "1.1 1.2 1.3 / 1.2 1.3 / 1.1 1.2 1.3" \
    "s_client: h1 and h3 serve TLS 1.1-1.3; h2 kept what it had"
run hs h2 clustershow
like "$OUT" "  h2 \\(group Main_Group\\): revision $RF rolled back: Inbound SMTP 127.0.0.1:${HOST_PORT[h2]}/inet \\(127.0.0.1:${HOST_PORT[h2]}\\): TLS v1.1 did not negotiate ${L}the previous configuration was restored; serves revision $RY \\(" \
    "clustershow: h2 rolled back revision $RF, says why, serves $RY"
like "$OUT" "  h1 \\(group Main_Group\\): revision $RF applied \\([^)]*\\); live Inbound SMTP 1.1-1.3" \
    "clustershow: h1 applied it"
like "$OUT" "  h3 \\(group Main_Group\\): revision $RF applied \\([^)]*\\); live Inbound SMTP 1.1-1.3" \
    "clustershow: h3 applied it"
run hs h2 status
like "$RC $OUT" $'^1 .*\nCluster mail: revision '"$RF"' failed here: Inbound SMTP '"$L"'; serving revision '"$RY"$'\n' \
    "h2's status: the failure, exit 1"
is "$(machine_field h1 h2 applied_revision)" "$RY" "h2 reports the revision it serves"
postconf -c "$(pf_dir h2)" -X smtpd_tls_exclude_ciphers
pf_reload h2
hs h3 set peer_cert.fqdn on >/dev/null
hs h3 commit -m "after the override" >/dev/null
RG=$(revision_of h3)
cluster_wait "$RG" 3 "$BOUND"
is "$(all_versions)" "1.1 1.2 1.3 / 1.1 1.2 1.3 / 1.1 1.2 1.3" "the next commit: h2 follows again"
run hs h2 status
like "$RC $OUT" $'^0 .*\nCluster mail: revision '"$RG"$' applied here\n' "h2's status: in step, exit 0"

# --- two commits at once from two machines ---
hs h1 set gui.methods 1.2 >/dev/null
hs h3 set outbound.methods 1.2 >/dev/null
hs h1 commit -m "from h1" >"$T/a.out" 2>"$T/a.err" &
A=$!
hs h3 commit -m "from h3" >"$T/b.out" 2>"$T/b.err" &
B=$!
wait "$A"; RA=$?
wait "$B"; RB=$?
is "$((RA + RB))" 1 "two commits at once: exactly one fails"
if [ "$RA" = 0 ]; then WIN=h1; LOSE=h3; ERRF=$T/b.err; KEY=outbound.methods; else WIN=h3; LOSE=h1; ERRF=$T/a.err; KEY=gui.methods; fi
RW=$(revision_of "$WIN")
like "$(cat "$ERRF")" "^segtls: commit conflict: another commit came first: your changes were made on revision $RG, the cluster is now at revision $RW, committed $L by root on $WIN\\. Nothing was committed; your changes stay pending\\. Check them \\(segtls show\\) and commit again\\.\$" \
    "the loser ($LOSE) is told which revision came first, and from where"
run hs "$LOSE" show
like "$OUT" $'\nPending changes:\n  '"$KEY"$' = 1.2($|\n)' "the loser's change stays pending"
run hs "$LOSE" commit -m "again"
is "$RC" 0 "committed again, it goes through"
RH=$(revision_of "$LOSE")
cluster_wait "$RH" 3 "$BOUND"
ok $? "all three report revision $RH"
run hs h2 show
like "$OUT" $'\ngui.methods = 1.2\n(.*\n)*outbound.methods = 1.2\n' "both changes are in the cluster's configuration"

# --- etcd gone: every machine keeps serving what it applied ---
before=$(all_versions)
for e in e1 e2 e3; do etcd_stop "$e"; done
sleep 3
run hs h1 status
like "$RC $OUT" $'^1 .*\nCluster mail: etcd unreachable since '"$L"$'; serving the last applied configuration \\(revision '"$RH"$'\\)\n' \
    "etcd gone: status says so and what is served, exit 1"
is "$(all_versions)" "$before" "etcd gone: every Postfix serves what it served"
run hs h1 set inbound.methods 1.2
like "$RC $ERR" "^1 segtls: cannot reach etcd \\(https://" "etcd gone: a change is refused with the reason"
run hs h1 show
like "$RC $OUT" $'^0 Cluster mail, revision '"$RH"$', as machine h1 sees it:\n' "etcd gone: show answers from what was last read"
for e in e1 e2 e3; do etcd_start "$e"; done
for e in e1 e2 e3; do etcd_wait "$e"; done
ok=1
for ((i = 0; i < 100; i++)); do hs h1 status >/dev/null 2>&1 && { ok=0; break; }; sleep 0.2; done
is "$ok" 0 "etcd back: h1's status is in step again"
hs h2 set inbound.methods 1.2-1.3 >/dev/null
run hs h2 commit -m "etcd is back"
is "$RC" 0 "etcd back: a commit goes through"
RI=$(revision_of h2)
cluster_wait "$RI" 3 "$BOUND"
is "$(all_versions)" "1.2 1.3 / 1.2 1.3 / 1.2 1.3" "etcd back: the commit reaches all three"
done_testing
