#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# --new-pidns from inside a pid namespace that is not the daemon's (unshare
# -pf, a container that shares the host's user namespace): the kernel makes
# a pid namespace only below its creator's active one, so the daemon has a
# helper there make it. Root asks for --pid 1,42, 1,42,P and 1,0,P; a PID in
# use there is named. Then RootOnlyBelow= spares pid 1 of the new namespace
# (it squats on nothing) but not the PIDs of the namespace it is made in.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv unshare timeout
setup

FLOOR=300
CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
# written by $TEST_NAME
[Policy]
RootOnlyBelow=$FLOOR

[Grant]
User=$TEST_UID
PIDs=1-400
Namespace=any
CONF
start_daemon --config "$CONF"
user_programs

# in_pidns CMD...: CMD as root in a new pid namespace of the host's user
# namespace, with its own /proc.
in_pidns() {
	unshare -pf --mount-proc "$@"
}

# NSpid of host PID $1 once it exists (up to 5 s), or nothing.
nspid_of() {
	local i
	for ((i = 0; i < 50; i++)); do
		if [ -e "/proc/$1/status" ]; then
			sed -n 's/^NSpid:[[:space:]]*//p' "/proc/$1/status" | tr '\t' ' '
			return 0
		fi
		sleep 0.1
	done
}

# --- root, --pid 1,42: pid 1 below, 42 in the namespace the request is made in
run in_pidns "$PR_CTL" --socket "$SOCK" spawn --new-pidns --pid 1,42 -- \
	sh -c 'echo "pid=$$"; exec grep NSpid /proc/self/status'
assert_eq "root in a pid namespace, --new-pidns --pid 1,42: exits 0" "$RUN_RC" 0
assert_match "the child is pid 1 of its namespace" "$RUN_OUT" '^pid=1$'
assert_match "and pid 42 in the requester's namespace" "$RUN_OUT" $'^NSpid:\t42\t1$'
assert_no_match "no 'kernel refused' error" "$RUN_ERR" 'refused'

# spawn_bg PIDS HOSTPID: root in a pid namespace spawns --new-pidns --pid
# PIDS (a sleep) in the background; sets NSPID to HOSTPID's NSpid as the
# host sees it, and BG_RC to the spawn's exit status.
spawn_bg() {
	local bg
	in_pidns "$PR_CTL" --socket "$SOCK" spawn --new-pidns --pid "$1" -- sleep 3 \
		>"$T/bg.out" 2>&1 </dev/null &
	bg=$!
	NSPID=$(nspid_of "$2")
	BG_RC=0
	wait "$bg" || BG_RC=$?
}

# --- root, --pid 1,42,P: every level chosen, checked from the host
pick_pid HP
spawn_bg "1,42,$HP" "$HP"
assert_eq "--pid 1,42,$HP: host PID $HP is the child at all three levels" "$NSPID" "$HP 42 1"
assert_eq "--pid 1,42,$HP: exits 0" "$BG_RC" 0

# --- root, --pid 1,0,P: the middle level the daemon's choice
pick_pid HP2
spawn_bg "1,0,$HP2" "$HP2"
assert_match "--pid 1,0,$HP2: host PID $HP2, any PID in the middle, 1 inside" "$NSPID" "^$HP2 [0-9]+ 1\$"
assert_eq "--pid 1,0,$HP2: exits 0" "$BG_RC" 0

# --- a PID in use in the requester's namespace is named, not blamed on the kernel
run in_pidns sh -c '
	"$1" --socket "$2" spawn --new-pidns --pid 1,42 -- sleep 3 &
	for i in $(seq 50); do [ -e /proc/42 ] && break; sleep 0.1; done
	"$1" --socket "$2" spawn --new-pidns --pid 1,42 -- true
	echo "second=$?"
	wait
' sh "$PR_CTL" "$SOCK"
assert_match "a second --pid 1,42 in the same namespace fails" "$RUN_OUT" '^second=[1-9]'
assert_match "it says pid 42 is in use at level 1" "$RUN_ERR" 'EEXIST.*pid 42 is in use in pid namespace level 1'

# --- RootOnlyBelow=: pid 1 of the new namespace is no squat; 350 is granted
run in_pidns "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" spawn --new-pidns --pid 1,350 -- sh -c 'echo "pid=$$"'
assert_eq "uid $TEST_UID, RootOnlyBelow=$FLOOR, grant 1-400: --new-pidns --pid 1,350 exits 0" "$RUN_RC" 0
assert_match "the child is pid 1 of its namespace" "$RUN_OUT" '^pid=1$'
assert_no_match "pid 1 is not refused by the floor" "$RUN_ERR" 'reserved for root'

run in_pidns "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" spawn --new-pidns --pid 1,250 -- true
assert_ne "--new-pidns --pid 1,250: refused" "$RUN_RC" 0
assert_match "the floor still guards the namespace the request is made in" "$RUN_ERR" \
	'EPERM.*pid 250 at level 1 \(pid:\[[0-9]+\]\): uid '"$TEST_UID"' may not take it: PIDs below '"$FLOOR"' are reserved for root'

run in_pidns "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" spawn --pid 1,250 -- true
assert_ne "without --new-pidns, pid 1 of an existing namespace: refused" "$RUN_RC" 0
assert_match "by the floor" "$RUN_ERR" 'pid 1 at level 1 .*PIDs below '"$FLOOR"' are reserved for root'

run "$PR_CTL" --socket "$SOCK" status
assert_eq "the daemon answers status afterwards" "$RUN_RC" 0
finish
