#!/bin/bash
# records.t - the record writer holds whatever producers hand it:
#  - a next hop's reply with CR, ESC and BEL bytes (segtls-standalone's
#    relay client writes it in its "Bounced:" record) stays one line,
#    with '?' for each control character: no forged second record and no
#    terminal escape in mail_logs (issue 13 item 15).
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/lib/certs.sh"

SA=$(bin segtls-standalone)
[ -x "$SA" ] || skip_all "segtls-standalone not built"
for p in swaks python3; do command -v $p >/dev/null || skip_all "$p not installed"; done
certs_make "$T/certs" || skip_all "cannot create test certificates"
plan 6

STAMP='[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4} (Info|Warning|Critical|Debug): '

# ------------------------------------------- a hostile next hop's reply
NH=$(free_port); IN=$(free_port)
while [ "$IN" = "$NH" ]; do IN=$(free_port); done
printf '550 5.1.1 no such user\rWed Dec  2 10:00:00 2026 Info: DCID 999 TLS success protocol TLSv1.3 cipher X\033[2J\033]0;owned\007' >"$T/reply"
python3 "$SEGTLS_TOP/t/lib/nexthop.py" "$NH" "$T/reply" >"$T/nexthop.out" 2>&1 &
at_exit "kill $!"
mkdir -p "$T/sa"
printf '[outbound]\nmethods=1.2-1.3\ntls=preferred\n' >"$T/sa.conf"
"$SA" --config "$T/sa.conf" --cert "$CERTS/rsa.pem" --smtp-listen "127.0.0.1:$IN" \
    --relay "127.0.0.1:$NH" --spool "$T/sa/spool" --state-dir "$T/sa/state" \
    --mail-log "$T/sa/mail_logs" --gui-log "$T/sa/gui_logs" --timeout 3 >"$T/sa/stderr" 2>&1 &
at_exit "kill $!"
wait_port "$NH" && wait_port "$IN"
ok $? "standalone and the next hop listen"
swaks --server "127.0.0.1:$IN" --from a@example.org --to b@example.net >"$T/swaks" 2>&1
for ((i = 0; i < 300; i++)); do grep -q 'Bounced:' "$T/sa/mail_logs" && break; sleep 0.1; done
got=$(grep 'Bounced:' "$T/sa/mail_logs" | sed -E "s/^$STAMP//")
is "$got" 'Bounced: DCID 1 MID 1 to RID [0] - 550 5.1.1 no such user?Wed Dec  2 10:00:00 2026 Info: DCID 999 TLS success protocol TLSv1.3 cipher X?[2J?]0;owned?' \
    "the reply is in one Bounced record, each control character a '?'"
is "$(grep -cE "^${STAMP}DCID 999" "$T/sa/mail_logs")" 0 "no forged DCID 999 record of its own"
is "$(LC_ALL=C grep -c $'[\x01-\x09\x0b-\x1f\x7f]' "$T/sa/mail_logs")" 0 "no control byte in mail_logs"
is "$(grep -cvE "^$STAMP" "$T/sa/mail_logs")" 0 "every line of mail_logs is a whole record"
# a reader that treats CR as a line end (awk with RS) sees the same lines
is "$(awk 'BEGIN { RS = "[\r\n]" } END { print NR }' "$T/sa/mail_logs")" "$(wc -l <"$T/sa/mail_logs")" \
    "CR-splitting readers see no extra line"
done_testing
