#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# libpidrestore's public queries, from a program built with the public
# header only against the shared library, against a real daemon: the stats
# count what was asked; the kernel check has the daemon's pid and the
# features it needs; the policy shows root every grant and a user only its
# own; a policy check allows and refuses by the rules and refuses a user
# asking about another (EPERM); kill_report tells a reservation released
# from a program signalled; a program bound to the first version of
# pidrestore_wait_event gets its events in the smaller struct it knows.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
require_root
require_tools setpriv
setup
API=$top_builddir/tests/docs/api-program
[ -x "$API" ] || { echo "missing $API: run make check" >&2; exit 99; }
# The test user runs a copy it can reach (the program, not libtool's
# wrapper), with the library beside it.
REAL=$top_builddir/tests/docs/.libs/api-program
[ -x "$REAL" ] || REAL=$API
mkdir -p "$T/bin"
cp "$REAL" "$T/bin/api-program"
cp -L "$top_builddir"/client/.libs/libpidrestore.so.0 "$T/bin/"
chmod 755 "$T/bin" "$T/bin"/*
USER_API=(env LD_LIBRARY_PATH="$T/bin" "$T/bin/api-program")

pick_pid P
pick_pid Q
CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
# written by $TEST_NAME
[Grant]
User=$TEST_UID
PIDs=$P
Namespace=host

[Grant]
User=$((TEST_UID + 1))
PIDs=$Q
Namespace=host
CONF
start_daemon --config "$CONF"
export PIDRESTORE_SOCKET=$SOCK

run "$API" check
assert_eq "check: exit 0" "$RUN_RC" 0
assert_match "check: the daemon's pid" "$RUN_OUT" "probed_by_pid=$DAEMON_PID"
# valgrind does not emulate clone3(): the daemon's probe under it sees none.
SET_TID_AVAILABLE=${PR_VALGRIND:+0}
assert_match "check: clone3 set_tid is there (${SET_TID_AVAILABLE:-1}) and required" "$RUN_OUT" \
	"feature name=clone3-set-tid available=${SET_TID_AVAILABLE:-1} required=1"

run "$API" policy
assert_eq "policy as root: exit 0" "$RUN_RC" 0
assert_match "policy as root: both grants, nothing hidden" "$RUN_OUT" "^files=1 own_namespaces=1 root_only_below=[0-9]+ grants=2 not_shown=0"
assert_match "policy as root: the file" "$RUN_OUT" "file $CONF"
assert_match "policy as root: the first grant, its uid and PIDs" "$RUN_OUT" "grant rule=.*uids=1:$TEST_UID pids=$P-$P ns=host"
run "${AS_USER[@]}" "${USER_API[@]}" policy
assert_match "policy as the user: its own grant only" "$RUN_OUT" "^files=1 .* grants=1 not_shown=1"
assert_no_match "policy as the user: not the other's" "$RUN_OUT" "pids=$Q-$Q"

run "$API" verdict "$TEST_UID" "$P"
assert_match "verdict: uid $TEST_UID may take $P" "$RUN_OUT" "^allowed=1 uid=$TEST_UID levels=1 message=\(none\)"
assert_match "verdict: by its grant" "$RUN_OUT" "level depth=0 pid=$P rule=grant"
run "$API" verdict "$TEST_UID" "$Q"
assert_eq "verdict refused: still exit 0, the answer is the verdict" "$RUN_RC" 0
assert_match "verdict: uid $TEST_UID may not take $Q, and why" "$RUN_OUT" "^allowed=0 uid=$TEST_UID levels=1 message=[^(]"
assert_match "verdict: no rule for that level" "$RUN_OUT" "level depth=0 pid=$Q rule=\(refused\)"
run "${AS_USER[@]}" "${USER_API[@]}" verdict self "$P"
assert_match "verdict as the user for itself" "$RUN_OUT" "^allowed=1 uid=$TEST_UID "
run "${AS_USER[@]}" "${USER_API[@]}" verdict 0 "$P"
assert_eq "verdict as the user about root: refused, exit 1" "$RUN_RC" 1
assert_match "verdict as the user about root: EPERM and why" "$RUN_ERR" "pidrestore_check_policy: .*\(Operation not permitted\)"

run "$API" kill "$P"
assert_eq "kill_report: exit 0" "$RUN_RC" 0
assert_match "kill_report: a reservation is released, not signalled" "$RUN_OUT" "reservation killed=1 signalled=0 released=1"
assert_match "kill_report: a program is signalled" "$RUN_OUT" "program killed=1 signalled=1 released=0"

run "$API" old-event "$P"
assert_eq "the first version of pidrestore_wait_event: exit 0" "$RUN_RC" 0
assert_eq "it fills the old struct, and nothing past it" "$RUN_OUT" "got=1 type=2 id_matches=1 pid=$P guard=intact"

run "$API" stats
assert_eq "stats: exit 0" "$RUN_RC" 0
assert_match "stats: the daemon's uptime" "$RUN_OUT" "^uptime=yes"
assert_match "stats: the kills just made" "$RUN_OUT" "request type=kill outcome=ok count=2"
assert_match "stats: the refused policy check" "$RUN_OUT" "request type=policy outcome=EPERM count=1"
assert_match "stats: reserve latencies" "$RUN_OUT" "latency type=reserve count=[1-9][0-9]* ordered=yes"

run env PIDRESTORE_SOCKET="$T/no-such.sock" "$API" stats
assert_eq "no daemon: exit 1" "$RUN_RC" 1
assert_match "no daemon: says where it looked" "$RUN_ERR" "cannot connect to $T/no-such.sock"
finish
