#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Two unprivileged uids with different grants in the host namespace: each
# gets exactly the PIDs granted to it, and neither the other's nor any
# outside; a PID given as 0 needs no grant; a batch with one ungranted PID
# creates nothing. pidrestorectl policy --check agrees with what happened.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv timeout
setup
user_programs

OTHER_UID=$((TEST_UID + 1))
AS_OTHER=(setpriv --reuid="$OTHER_UID" --regid="$OTHER_UID" --clear-groups --)
A_LO=20000 A_HI=22499   # TEST_UID's
B_LO=22500 B_HI=24999   # OTHER_UID's
C_LO=25000 C_HI=30000   # nobody's

CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
[Policy]
RootOnlyBelow=1000

[Grant]
User=$TEST_UID
PIDs=$A_LO-$A_HI
Namespace=host

[Grant]
User=$OTHER_UID
PIDs=$B_LO-$B_HI
Namespace=host
CONF
start_daemon --config "$CONF"

# try WHO-NAME PID USER-PREFIX...: spawns "echo $$" at PID.
try() {
	local pid=$1
	shift
	run "$@" "$USER_CTL" --socket "$SOCK" spawn --pid "$pid" -- sh -c 'echo $$'
}
granted() { # DESC PID PREFIX...
	local desc=$1 pid=$2
	shift 2
	try "$pid" "$@"
	assert_eq "$desc: PID $pid granted" "$RUN_OUT" "$pid"
}
refused() { # DESC PID PREFIX...
	local desc=$1 pid=$2
	shift 2
	try "$pid" "$@"
	assert_eq "$desc: PID $pid refused (exit 125)" "$RUN_RC" 125
	assert_match "$desc: PID $pid refused with EPERM" "$RUN_ERR" '\(EPERM\)'
}

for who in A B; do
	if [ $who = A ]; then
		uid=$TEST_UID prefix=("${AS_USER[@]}") own_lo=$A_LO own_hi=$A_HI other_lo=$B_LO other_hi=$B_HI
	else
		uid=$OTHER_UID prefix=("${AS_OTHER[@]}") own_lo=$B_LO own_hi=$B_HI other_lo=$A_LO other_hi=$A_HI
	fi
	pick_pid_in P "$own_lo" "$own_hi"
	granted "uid $uid, its own range" "$P" "${prefix[@]}"
	for edge in "$own_lo" "$own_hi"; do
		if ! pid_exists "$edge" && ! pid_soon_taken "$edge"; then
			granted "uid $uid, the edge of its range" "$edge" "${prefix[@]}"
		else
			# Held, or about to be taken by the next forks: ask the
			# policy alone, which does not care whether it is free.
			run "$PR_CTL" --socket "$SOCK" policy --check --uid "$uid" --pid "$edge"
			assert_eq "uid $uid, the edge of its range: PID $edge granted (policy --check)" "$RUN_RC" 0
		fi
	done
	pick_pid_in P "$other_lo" "$other_hi"
	refused "uid $uid, the other user's range" "$P" "${prefix[@]}"
	pick_pid_in P "$C_LO" "$C_HI"
	refused "uid $uid, nobody's range" "$P" "${prefix[@]}"
	# A refusal comes before any clone, so a busy PID is refused too.
	refused "uid $uid, one below its range" $((own_lo - 1)) "${prefix[@]}"
	run "${prefix[@]}" "$USER_CTL" --socket "$SOCK" spawn --pid 0 -- true
	assert_eq "uid $uid, any free PID (0) needs no grant" "$RUN_RC" 0
done

# A batch mixing a granted and an ungranted PID: all or nothing.
pick_pid_in P "$A_LO" "$A_HI"
pick_pid_in Q "$B_LO" "$B_HI"
run timeout 10 "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" reserve "$P" "$Q" --ttl 1
assert_match "uid $TEST_UID: a batch with the other user's PID is refused" "$RUN_ERR" '\(EPERM\)'
assert_match "the refusal names the process and its PID" "$RUN_ERR" "process 1 of 2: pid $Q at level 0"
check "nothing holds PID $P from the refused batch" wait_pid_gone "$P" 1

# policy --check says the same, for root asking about either uid.
pick_pid_in P "$A_LO" "$A_HI"
run "$PR_CTL" --socket "$SOCK" policy --check --uid "$TEST_UID" --pid "$P"
assert_eq "policy --check: uid $TEST_UID may take $P (exit 0)" "$RUN_RC" 0
assert_match "policy --check names the rule" "$RUN_OUT" "grant #1 \\(pidrestored.conf:4\\)"
run "$PR_CTL" --socket "$SOCK" policy --check --uid "$OTHER_UID" --pid "$P"
assert_eq "policy --check: uid $OTHER_UID may not take $P (exit 1)" "$RUN_RC" 1
assert_match "policy --check says why" "$RUN_OUT" "denied: pid $P at level 0 .*no grant for uid $OTHER_UID covers pid $P"

finish
