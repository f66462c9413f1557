#!/bin/bash
# rollback.t - saved configurations are named by a stable id, say what
# they restore, and `segtls commitdetail` shows the last commit (issue 13
# item 17 and its fidelity items).
#
# A commit between `rollbackconfig list` and `restore ID` must not make
# ID name another configuration; the list names each entry by what it
# brings back ("before: COMMENT, committed TIME by USER") and how that
# differs from the committed settings; the control protocol's
# rollback_list, rollback_restore and commit_detail carry the same.
source "$(dirname "$0")/lib/tap.sh"

POLICYD=$(bin segtls-policyd)
SEGTLS=$(bin segtls)
[ -x "$POLICYD" ] && [ -x "$SEGTLS" ] || skip_all "segtls-policyd or segtls not built"
CONF=$T/etc/segtls.conf
S=$T/run/policyd.sock
export SEGTLS_SOCKET=$S
mkdir -p "$T/etc"
DATE='[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}'

run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err"); }

"$POLICYD" --foreground --config "$CONF" --state-dir "$T/state" --socket "$S" \
    2>>"$T/policyd.log" &
PD=$!
at_exit "kill -9 $PD"
for ((i=0; i<500; i++)); do "$SEGTLS" status >/dev/null 2>&1 && break; sleep 0.01; done

run "$SEGTLS" commitdetail
is "$RC $OUT" "0 There is no commit to show." "commitdetail before any commit"

# three commits: A (inbound 1.2-1.3), B (outbound required), C (gui 1.2)
"$SEGTLS" set inbound.methods 1.2-1.3 >/dev/null
"$SEGTLS" commit -m "enable tls13 inbound" >/dev/null
"$SEGTLS" set outbound.tls required >/dev/null
"$SEGTLS" commit -m "outbound tls required" >/dev/null

run "$SEGTLS" rollbackconfig list
like "$RC $OUT" "^0 2\\. before: outbound tls required, committed $DATE by root
    outbound\\.tls = preferred \\(committed: required\\)
1\\. before: enable tls13 inbound, committed $DATE by root
    inbound\\.methods = 1\\.1-1\\.2 \\(committed: 1\\.2-1\\.3\\)
    outbound\\.tls = preferred \\(committed: required\\)\$" \
    "list: ids, what each entry restores and how it differs from committed"
run "$SEGTLS" raw '{"op":"rollback_list"}'
like "$OUT" '"id":2,.*"restores":"before: outbound tls required, committed [^"]* by root","settings":\{' \
    "rollback_list carries id, restores and the saved settings"

# the admin looked at the list and picks 1 (before "enable tls13 inbound");
# meanwhile someone else commits
"$SEGTLS" set gui.methods 1.2 >/dev/null
"$SEGTLS" commit -m "gui 1.2 only" >/dev/null
run "$SEGTLS" rollbackconfig restore 1
is "$RC $OUT" "0 Configuration 1 restored as pending changes. Use commit to apply it." \
    "restore 1 after another commit"
run "$SEGTLS" raw '{"op":"show"}'
like "$OUT" '"pending":\{[^}]*"inbound.methods":"1.1-1.2"' \
    "restore 1 brings back what list showed as 1 (inbound 1.1-1.2)"
like "$OUT" '"pending":\{[^}]*"outbound.tls":"preferred"' \
    "... with outbound preferred, as it was before commit A"
"$SEGTLS" clear -y >/dev/null

# the dialog takes ids from the list only
run bash -c "printf '5\n2\n' | '$SEGTLS' rollbackconfig"
like "$OUT" $'\nPlease enter one of the numbers listed: 3, 2, 1.\nEnter the number of the configuration to restore.\n\\[\\]> \nConfiguration 2 restored as pending changes.' \
    "dialog: an id not listed is refused, a listed one restored"
"$SEGTLS" clear -y >/dev/null

# an id that was pruned stays unknown, whatever is committed after it
for i in $(seq 1 10); do
    "$SEGTLS" set gui.ciphers "HIGH:!aNULL:!MD5:@STRENGTH:!RC$i" >/dev/null
    "$SEGTLS" commit -m "round $i" >/dev/null
done
run "$SEGTLS" rollbackconfig restore 1
is "$RC $ERR" "1 segtls: no saved configuration 1" "a pruned id is not reused"
run "$SEGTLS" raw '{"op":"rollback_restore","id":13}'
is "$OUT" '{"ok":true,"id":13}' "the newest id restores"
"$SEGTLS" clear -y >/dev/null

# commitdetail: who, when, comment, what changed
"$SEGTLS" set inbound.methods 1.2 inbound.tls required >/dev/null
"$SEGTLS" commit -m "inbound 1.2 required" >/dev/null
run "$SEGTLS" commitdetail
like "$RC $OUT" "^0 Last commit: $DATE by root
Comment: inbound 1\\.2 required
Changes:
  inbound\\.methods: 1\\.2-1\\.3 -> 1\\.2
  inbound\\.tls: preferred -> required
The configuration before it is saved for rollback as 14\\.\$" "commitdetail: the last commit"
run "$SEGTLS" raw '{"op":"commit_detail"}'
like "$OUT" '"changes":\[\{"key":"inbound.methods","before":"1.2-1.3","after":"1.2"\},\{"key":"inbound.tls","before":"preferred","after":"required"\}\]' \
    "commit_detail: the changes as JSON"
"$SEGTLS" set inbound.tls preferred >/dev/null
"$SEGTLS" commit -m "" --no-rollback >/dev/null
run "$SEGTLS" commitdetail
like "$OUT" $'\nComment: \\(none\\)\nChanges:\n  inbound.tls: required -> preferred\nThe configuration before it was not saved for rollback.$' \
    "commitdetail: no comment, nothing saved"

kill -TERM $PD; wait $PD
done_testing
