# tap.sh - TAP helpers for segtls shell tests (source it from bash).
#
#   plan N | no_plan; ok COND-STATUS "name"; is GOT WANT "name";
#   like GOT REGEX "name"; diff_ref FILE.ref GOT-FILE "name"; done_testing;
#   skip N "reason" (N tests that cannot run here); skip_all "reason"
#   tmpdir: $T (removed at exit unless SEGTLS_KEEP=1)
#   bin NAME: path of a built program
#   cleanup hooks: at_exit "command ..." (run in reverse order)
#   live_pid FILE: the pid in a pid file, if that process runs
set -u
_tap_n=0
_tap_fail=0
_tap_planned=
_tap_exit_hooks=()
SEGTLS_TOP=${SEGTLS_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SEGTLS_BIN=${SEGTLS_BIN:-$SEGTLS_TOP/build/bin}
T=$(mktemp -d "${TMPDIR:-/tmp}/segtls-t.XXXXXX")
chmod 755 "$T"
# A policyd a test starts never applies to this host's Postfix or nginx
# unless the test names an apply configuration itself.
export SEGTLS_APPLY_CONFIG="$T/no-apply.conf"

at_exit() { _tap_exit_hooks+=("$*"); }
live_pid() {
    local pid
    [ -r "$1" ] || return 1
    pid=$(tr -d ' \n' <"$1")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}
_tap_cleanup() {
    local i
    for ((i=${#_tap_exit_hooks[@]}-1; i>=0; i--)); do eval "${_tap_exit_hooks[$i]}" >/dev/null 2>&1 || true; done
    [ "${SEGTLS_KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap _tap_cleanup EXIT

bin() { echo "$SEGTLS_BIN/$1"; }
plan() { _tap_planned=$1; echo "1..$1"; }
diag() { printf '# %s\n' "$@" >&2; }
# each assertion returns its outcome, so "is ... || diag ..." shows the
# evidence of a failure
_tap_result() {
    _tap_n=$((_tap_n+1))
    # a failed assertion always fails: its name's '#' is escaped, so that
    # neither prove nor this count can read a TODO or SKIP directive in it
    # (a skipped check is "ok N - # SKIP why", status 0: see skip)
    if [ "$1" = 0 ]; then echo "ok $_tap_n - $2"; else echo "not ok $_tap_n - ${2//#/\\#}"
        _tap_fail=$((_tap_fail+1)); return 1; fi
}
ok() { _tap_result "$1" "$2"; }
is() {
    if [ "$1" = "$2" ]; then _tap_result 0 "$3"; else
        _tap_result 1 "$3"; diag "got:  '$1'" "want: '$2'"; return 1; fi
}
like() {
    if [[ "$1" =~ $2 ]]; then _tap_result 0 "$3"; else
        _tap_result 1 "$3"; diag "got:  '$1'" "want match: '$2'"; return 1; fi
}
# diff_ref REF GOT NAME - compare a file with its golden .ref
diff_ref() {
    if [ "${SEGTLS_UPDATE_REF:-0}" = 1 ]; then cp "$2" "$1"; fi
    if diff -u "$1" "$2" >"$T/diff.out" 2>&1; then _tap_result 0 "$3"; else
        _tap_result 1 "$3"; sed 's/^/# /' "$T/diff.out" >&2; return 1; fi
}
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
# skip N REASON - N tests skipped for REASON (a part that cannot run here)
skip() { local i; for ((i=0; i<$1; i++)); do _tap_result 0 "# SKIP $2"; done; }
done_testing() {
    [ -n "$_tap_planned" ] || echo "1..$_tap_n"
    [ "$_tap_fail" = 0 ]
}
# wait_port PORT [TRIES] - wait until 127.0.0.1:PORT accepts
wait_port() {
    local i
    for ((i=0; i<${2:-100}; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# wait_file FILE [TRIES]
wait_file() {
    local i
    for ((i=0; i<${2:-100}; i++)); do [ -e "$1" ] && return 0; sleep 0.1; done
    return 1
}
# free_port - an unused loopback TCP port
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}
# SEGTLS_VALGRIND=1 (opt-in, `make check-valgrind`): bin NAME returns a
# wrapper that runs the program under valgrind memcheck (same pid); one
# log per process in $SEGTLS_VALGRIND_LOG (default $T/valgrind); a
# memory error or a definite leak makes the program exit 97.
if [ "${SEGTLS_VALGRIND:-0}" = 1 ]; then
    _vg_log=${SEGTLS_VALGRIND_LOG:-$T/valgrind}
    mkdir -p "$_vg_log" "$T/vgbin" && chmod 1777 "$_vg_log"   # programs may drop root
    bin() {
        local w="$T/vgbin/$1"
        [ -x "$SEGTLS_BIN/$1" ] || { echo "$SEGTLS_BIN/$1"; return; }
        [ -e "$w" ] || printf '#!/bin/sh\nG_SLICE=always-malloc G_DEBUG=gc-friendly exec valgrind -q --vgdb=no --child-silent-after-fork=yes --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --log-file=%s/%s.%%p.log %s "$@"\n' \
            "$_vg_log" "$1" "$SEGTLS_BIN/$1" >"$w.$BASHPID" && chmod 755 "$w.$BASHPID" && mv "$w.$BASHPID" "$w"
        echo "$w"
    }
fi
