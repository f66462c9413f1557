#!/bin/bash
# follower.t - segtls-milter's log follower (--no-milter) on a Postfix log
# written by the test: no Postfix, no root needed.
#
# The lines are t/data/pflog/mta-maillog.log (a real Postfix 3.7 log),
# stamped with the current time; segtls-logparse on the same lines says
# which records they make. Copytruncate regrown past the old offset
# between two polls, and while the milter is stopped: the follower
# notices by the first line's identity (the size alone does not tell),
# reads the new file from its start, and loses or mis-reads nothing.
source "$(dirname "$0")/lib/tap.sh"

MILTER=$(bin segtls-milter); LOGPARSE=$(bin segtls-logparse)
[ -x "$MILTER" ] && [ -x "$LOGPARSE" ] || skip_all "segtls-milter or segtls-logparse not built"
SRC=$SEGTLS_TOP/t/data/pflog/mta-maillog.log
L=$T/maillog; REC=$T/mail_logs; STATE=$T/state
MP=

# lines A B [SECONDS] - lines A..B of the sample log, stamped now (or
# SECONDS ago), RFC 3164 as postlogd writes them
lines() { sed -n "$1,$2p" "$SRC" | cut -c16- | sed "s/^/$(LC_ALL=C date -d "-${3:-0} sec" '+%b %e %H:%M:%S')/"; }
# stamps FILE - the records' times as "YYYY MM DD HH:MM:SS", one a line
stamps() {
    awk 'BEGIN { split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", m); for (i in m) mi[m[i]] = i }
         $2 in mi && $5 ~ /^[0-9][0-9][0-9][0-9]$/ { printf "%s %02d %02d %s\n", $5, mi[$2], $3, $4 }' "$1"
}
# records FILE - the records of a records file, without times and header
records() { sed -E 's/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4} //' "$1" |
    grep -vE '^Info: (Begin Logfile|Version: |Time offset from UTC: )'; }
# renumber - IDs per kind in order of appearance (#1, #2, ...)
renumber() {
    awk '{ for (i = 1; i < NF; i++) if ($i ~ /^(ICID|DCID|MID)$/ && $(i+1) ~ /^[0-9]+$/ && $(i+1) != 0) {
               k = $i SUBSEP $(i+1); if (!(k in id)) id[k] = ++n[$i]; $(i+1) = "#" id[k] }
           print }'
}
# expect FILE... - what segtls-logparse makes of the log text in FILE...
expect() { cat "$@" >"$T/expect.log" && "$LOGPARSE" "$T/expect.log" >"$T/expect.rec" && records "$T/expect.rec"; }
# start - the follower alone; waits until it follows
start() {
    "$MILTER" -f --no-milter -l "$L" -o "$REC" -d "$STATE" 2>>"$T/err" &
    MP=$!
    at_exit "kill $MP"
    for ((i=0; i<100; i++)); do [ "$(cat "$T/err" 2>/dev/null | grep -c 'following')" -ge "$1" ] && return 0; sleep 0.05; done
    return 1
}
stop() { kill -TERM "$MP"; wait "$MP"; }
# wait_records N - until N records past the header are written
wait_records() {
    for ((i=0; i<100; i++)); do [ "$(records "$REC" | wc -l)" -ge "$1" ] && return 0; sleep 0.1; done
    return 1
}
# regrow FILE - copytruncate: the log truncated in place and at once
# written again with FILE (longer than before), in one process
regrow() {
    python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    data = open(sys.argv[2], "rb").read()
    f.truncate(0); f.write(data)' "$L" "$1"
}

plan 10

: >"$L"
start 1
ok $? "segtls-milter --no-milter follows $L"
lines 3 16 >"$T/a"                     # four inbound sessions
cat "$T/a" >>"$L"
expect "$T/a" >"$T/want.a"
wait_records "$(wc -l <"$T/want.a")"
records "$REC" >"$T/got.a"
diff_ref "$T/want.a" "$T/got.a" "appended lines: the records segtls-logparse makes of them"

# copytruncate, regrown past the old offset before the next poll
lines 17 36 >"$T/b"                     # two failed handshakes, a message
ino=$(stat -c %i "$L")
size_a=$(stat -c %s "$L")
regrow "$T/b"
is "$(stat -c %i "$L") $(( $(stat -c %s "$L") > size_a ))" "$ino 1" "copytruncate: same inode, regrown past the old offset ($size_a)"
expect "$T/a" "$T/b" >"$T/want.b"
wait_records "$(wc -l <"$T/want.b")"
sleep 0.3                               # nothing more may come
records "$REC" >"$T/got.b"
diff_ref "$T/want.b" "$T/got.b" "copytruncate regrown between two polls: every line of the new file read from its start, once"
is "$(grep -c 'was truncated; reading it from the start' "$T/err")" 1 "copytruncate: said so once"

# a line logged earlier than one read before it (syslog from several
# processes, a clock step): its records never go back in time in the file
mark=$(records "$REC" | wc -l)
{ lines 3 5; lines 9 12 90; } >>"$L"
wait_records $((mark + 5))
is "$(records "$REC" | tail -n +$((mark + 1)) | cut -d' ' -f2-4 | tr '\n' '|')" \
    "New SMTP ICID|ICID 8 close|New SMTP ICID|ICID 9 TLS|ICID 9 close|" "an older line after a newer one: its records"
is "$(stamps "$REC" | sort -c 2>&1 && echo sorted)" sorted "time never goes back in the records file"

# the same while the milter is stopped: its saved offset is not for this file
stop
ok $? "stops cleanly (offset saved)"
lines 3 36 >"$T/c"                      # all of the above, from another first line
regrow "$T/c"
mark=$(records "$REC" | wc -l)
start 2
expect "$T/c" | renumber >"$T/want.c"
wait_records $((mark + $(wc -l <"$T/want.c")))
sleep 0.3
records "$REC" | tail -n +$((mark + 1)) | renumber >"$T/got.c"
diff_ref "$T/want.c" "$T/got.c" "copytruncate regrown while stopped: the new file read from its start (IDs renumbered)"
stop
is "$(grep -c 'warning\|error' "$T/err")" 0 "no warning or error"
